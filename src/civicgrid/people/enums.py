from django.db import models
from django.utils.translation import gettext_lazy as _


class Gender(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class ResidenceType(models.TextChoices):
    REGISTERED = "registered", _("户籍人口")
    FLOATING = "floating", _("流动人口")
    OVERSEAS = "overseas", _("境外人员")


class PoliticalStatus(models.TextChoices):
    PARTY_MEMBER = "party_member", _("中共党员")
    PROBATIONARY = "probationary", _("中共预备党员")
    LEAGUE_MEMBER = "league_member", _("共青团员")
    OTHER_PARTY = "other_party", _("民主党派")
    MASSES = "masses", _("群众")


class PersonTagKind(models.TextChoices):
    ELDERLY = "elderly", _("老年人")
    EMPTY_NEST = "empty_nest", _("空巢老人")
    LIVING_ALONE = "living_alone", _("独居老人")
    DISABLED = "disabled", _("残疾人")
    MINOR = "minor", _("未成年人")
    LEFT_BEHIND_CHILD = "left_behind_child", _("留守儿童")
    UNEMPLOYED = "unemployed", _("失业人员")
    PARTY_MEMBER = "party_member", _("党员")
    MOBILE_PARTY_MEMBER = "mobile_party_member", _("流动党员")
    LOW_INCOME = "low_income", _("低保户")
    VETERAN = "veteran", _("退役军人")
    KEY_CARE = "key_care", _("重点关注人员")


class DisabilityCategory(models.TextChoices):
    VISUAL = "visual", _("视力残疾")
    HEARING = "hearing", _("听力残疾")
    SPEECH = "speech", _("言语残疾")
    PHYSICAL = "physical", _("肢体残疾")
    INTELLECTUAL = "intellectual", _("智力残疾")
    MENTAL = "mental", _("精神残疾")
    MULTIPLE = "multiple", _("多重残疾")


class DisabilityLevel(models.IntegerChoices):
    LEVEL_1 = 1, _("一级")
    LEVEL_2 = 2, _("二级")
    LEVEL_3 = 3, _("三级")
    LEVEL_4 = 4, _("四级")
