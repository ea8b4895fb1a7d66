from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "civicgrid.common"
    label = "common"
    verbose_name = "CivicGrid"
