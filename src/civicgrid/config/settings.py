"""Project settings. Everything a deployment changes comes from the environment (12-factor).

With nothing set, CivicGrid runs on an embedded SQLite database under var/ with
development-only keys, so `make demo` needs no set-up at all.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = Path(os.environ.get("CIVICGRID_HOME", Path.cwd()))
VAR_DIR = Path(os.environ.get("CIVICGRID_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


DEBUG = env_bool("CIVICGRID_DEBUG", False)
# The fallback key is for the embedded demo only; production sets CIVICGRID_SECRET_KEY.
SECRET_KEY = os.environ.get("CIVICGRID_SECRET_KEY", "insecure-demo-only-secret-key-change-me-in-production")
ALLOWED_HOSTS = os.environ.get("CIVICGRID_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CIVICGRID_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_filters",
    "import_export",
    "civicgrid.common",
    "civicgrid.accounts",
    "civicgrid.audit",
    "civicgrid.territory",
    "civicgrid.people",
    "civicgrid.cases",
    "civicgrid.notifications",  # notifications helper: outbox, inbox, subscriptions
    "civicgrid.patrols",  # patrols helper (issue 4): patrols, tracks, duty
    "civicgrid.mobile",  # mobile helper (issue 4 §3): the grid worker's phone app (PWA at /m/)
    "civicgrid.cameras",  # cameras helper (issue 4): registry, alert rules, alerts → cases
    "civicgrid.indicators",  # indicators helper (issue 5): district indicators register
    "civicgrid.assessment",  # dashboards helper (issue 5): assessment schemes
    "civicgrid.dashboards",  # dashboards helper (issue 5): wall screen, rankings (no models)
    "civicgrid.reports",  # reports helper (issue 5 §3): monthly/half-year/yearly reports, schedules
    "civicgrid.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "civicgrid.accounts.middleware.HtmxAuthRedirectMiddleware",
    "civicgrid.audit.middleware.RequestContextMiddleware",
    "civicgrid.accounts.middleware.IdleTimeoutMiddleware",
    "civicgrid.accounts.middleware.PasswordExpiryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes must be last: it turns lock-outs into responses.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "civicgrid.config.urls"
WSGI_APPLICATION = "civicgrid.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "civicgrid.accounts.context_processors.navigation",
                # notifications helper: the unread badge in the nav (lazy COUNT)
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'civicgrid.sqlite3'}")
DATABASES: dict[str, dict[str, Any]] = {"default": dict(dj_database_url.parse(DATABASE_URL, conn_max_age=60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers and one writer work at once; IMMEDIATE avoids lock upgrades.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (process-local by default; Redis in production) ----------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Auth and security ----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
PASSWORD_MIN_LENGTH = env_int("CIVICGRID_PASSWORD_MIN_LENGTH", 8)
PASSWORD_MIN_CLASSES = env_int("CIVICGRID_PASSWORD_MIN_CLASSES", 3)
PASSWORD_HISTORY_COUNT = env_int("CIVICGRID_PASSWORD_HISTORY", 5)
PASSWORD_MAX_AGE_DAYS = env_int("CIVICGRID_PASSWORD_MAX_AGE_DAYS", 90)
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "civicgrid.accounts.passwords.CharacterClassValidator", "OPTIONS": {"min_classes": PASSWORD_MIN_CLASSES}},
    {"NAME": "civicgrid.accounts.passwords.PasswordHistoryValidator", "OPTIONS": {"history": PASSWORD_HISTORY_COUNT}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AXES_FAILURE_LIMIT = env_int("CIVICGRID_LOCKOUT_FAILURES", 5)
AXES_COOLOFF_TIME = env_int("CIVICGRID_LOCKOUT_MINUTES", 30) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False
# accounts: the lock-out is per account (username), as the password policy requires; axes warns
# that no per-IP lock is set. A per-IP lock would lock whole offices behind one NAT address, so
# IP-level rate limiting is left to the reverse proxy (docs/accounts-and-audit.md).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
SESSION_IDLE_TIMEOUT_SECONDS = env_int("CIVICGRID_SESSION_IDLE_MINUTES", 30) * 60
SESSION_COOKIE_AGE = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("CIVICGRID_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# --- Field encryption of personal data (GB/T 39786: SM4 by default) -------------------
# CIVICGRID_FIELD_KEYS="k1:<base64 16-byte key>,k2:<...>"; the active key encrypts new values.
_DEMO_FIELD_KEY = "k0:Y2l2aWNncmlkLWRlbW8tMA=="  # base64("civicgrid-demo-0"): demo only
FIELD_ENCRYPTION_KEYS = os.environ.get("CIVICGRID_FIELD_KEYS", _DEMO_FIELD_KEY)
FIELD_ENCRYPTION_ACTIVE_KEY = os.environ.get("CIVICGRID_FIELD_ACTIVE_KEY", "")
FIELD_ENCRYPTION_CIPHER = os.environ.get("CIVICGRID_FIELD_CIPHER", "SM4-GCM")  # or AES-GCM
BLIND_INDEX_KEY = os.environ.get("CIVICGRID_BLIND_INDEX_KEY", "Y2l2aWNncmlkLWRlbW8tYmxpbmQtaW5kZXgta2V5LTA=")

# --- Audit ----------------------------------------------------------------------------
AUDIT_RETENTION_DAYS = max(180, env_int("CIVICGRID_AUDIT_RETENTION_DAYS", 180))

# --- Internationalisation: Simplified Chinese first, English second --------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("CIVICGRID_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request without it
# (people helper) The project-level static folder (app.css, vendor/htmx, vendor/echarts) is not
# inside an installed app, so name it here; otherwise finders (and WhiteNoise) never serve it.
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Background work ------------------------------------------------------------------
# Production: Celery with Redis. Embedded default: tasks run eagerly in-process.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
# Periodic jobs (civicgrid.common.scheduler): without Redis, `civicgrid serve` runs them in a
# daemon thread of each worker; set CIVICGRID_EMBEDDED_SCHEDULER=false to switch that off.
EMBEDDED_SCHEDULER = env_bool("CIVICGRID_EMBEDDED_SCHEDULER", True)

# --- API ------------------------------------------------------------------------------
NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 500  # the largest ?limit= of a limit/offset list (422 above it)
NINJA_MAX_PER_PAGE_SIZE = 500  # the largest ?page_size= of a page-number list (ninja's own name)

# --- Territory (territory app; see docs/territory.md) ----------------------------------
# Seconds between a process's checks of BoundaryVersion (its locate index rebuilds on change).
TERRITORY_LOCATE_CHECK_SECONDS = float(os.environ.get("CIVICGRID_LOCATE_CHECK_SECONDS", "5"))
# GeoJSON import: overlaps, gaps and children outside their parent above this (m²) are errors.
TERRITORY_TOPOLOGY_TOLERANCE_M2 = float(os.environ.get("CIVICGRID_TOPOLOGY_TOLERANCE_M2", "1.0"))

# --- Cases (cases app; see docs/cases.md) ----------------------------------------------
# Channels whose cases are registered and routed at intake (others wait in "received").
CASES_AUTO_REGISTER_CHANNELS = [
    c for c in os.environ.get("CIVICGRID_CASES_AUTO_REGISTER", "hotline,patrol,camera,walk_in,api").split(",") if c
]
# Warn when this fraction of a deadline's span is left; escalate one tier when a deadline has
# passed by after_hours (at most once per deadline); never more than CASES_MAX_ESCALATIONS.
CASES_WARN_BEFORE_FRACTION = float(os.environ.get("CIVICGRID_CASES_WARN_FRACTION", "0.2"))
CASES_ESCALATION_POLICY: dict[str, dict[str, float]] = {
    "acknowledge": {"after_hours": float(os.environ.get("CIVICGRID_CASES_ESCALATE_ACK_HOURS", "2"))},
    "handle": {"after_hours": float(os.environ.get("CIVICGRID_CASES_ESCALATE_HANDLE_HOURS", "4"))},
}
# How long a worker remembers a verified API key (0: look it up on every request). A revoked
# key is refused at once by the process that revoked it, by the others within this time.
CASES_APIKEY_CACHE_SECONDS = env_int("CIVICGRID_APIKEY_CACHE_SECONDS", 5)
CASES_MAX_ESCALATIONS = env_int("CIVICGRID_CASES_MAX_ESCALATIONS", 3)
CASES_MAX_EXTENSIONS = 2
CASES_MAX_EXTENSION_HOURS = 168
CASES_SWEEP_INTERVAL_SECONDS = env_int("CIVICGRID_CASES_SWEEP_SECONDS", 60)
CASES_DUPLICATE_RADIUS_M = 300
CASES_DUPLICATE_MIN_SIMILARITY = 0.35
# (cases pages helper) Photos: checked by content, size-limited, re-encoded. Staff copies keep
# EXIF and live OUTSIDE MEDIA_ROOT (served by a scoped view); public copies have no EXIF at all.
CASES_PHOTO_MAX_BYTES = env_int("CIVICGRID_CASES_PHOTO_MAX_BYTES", 8 * 1024 * 1024)
CASES_PHOTO_MAX_PIXELS = env_int("CIVICGRID_CASES_PHOTO_MAX_PIXELS", 40_000_000)
CASES_PHOTO_MAX_PER_REPORT = 3
CASES_PHOTO_PRIVATE_ROOT = Path(os.environ.get("CIVICGRID_CASES_PHOTO_PRIVATE_ROOT", VAR_DIR / "private-media"))
# (cases pages helper) Anonymous resident reports: at most COUNT per client IP per SECONDS.
CASES_PUBLIC_RATE_LIMIT = (env_int("CIVICGRID_CASES_REPORT_LIMIT", 10), env_int("CIVICGRID_CASES_REPORT_WINDOW", 3600))
if REDIS_URL:
    CELERY_BEAT_SCHEDULE = {
        "cases.deadline_sweep": {"task": "cases.deadline_sweep", "schedule": float(CASES_SWEEP_INTERVAL_SECONDS)},
        "cases.aggregates_refresh": {"task": "cases.aggregates_refresh", "schedule": 60.0},  # metrics aggregates
        "cases.intake_drain": {"task": "cases.intake_drain", "schedule": 5.0},  # accepted machine intake
    }

# --- Notifications (notifications app; see docs/notifications.md) ------------------------
# Gateways per external channel (dotted paths of classes with send(message)); the defaults log.
NOTIFICATION_GATEWAYS: dict[str, str] = {
    "sms": os.environ.get("CIVICGRID_SMS_GATEWAY", "civicgrid.notifications.gateways.LoggingSmsGateway"),
    "wechat": os.environ.get("CIVICGRID_WECHAT_GATEWAY", "civicgrid.notifications.gateways.LoggingWeChatGateway"),
}
NOTIFICATIONS_DELIVER_INTERVAL_SECONDS = env_int("CIVICGRID_NOTIFICATIONS_SECONDS", 10)
NOTIFICATIONS_LEASE_SECONDS = env_int("CIVICGRID_NOTIFICATIONS_LEASE_SECONDS", 300)  # a claimed row's lease
NOTIFICATIONS_MAX_ATTEMPTS = 6  # then "failed"
NOTIFICATIONS_BACKOFF_SECONDS = 30  # 30 s, 60 s, 120 s ... capped at NOTIFICATIONS_BACKOFF_MAX_SECONDS
NOTIFICATIONS_BACKOFF_MAX_SECONDS = 3600
NOTIFICATIONS_SMS_TO_HANDLERS = env_bool("CIVICGRID_NOTIFICATIONS_SMS_TO_HANDLERS", True)
if REDIS_URL:
    CELERY_BEAT_SCHEDULE["notifications.deliver_pending"] = {
        "task": "notifications.deliver_pending",
        "schedule": float(NOTIFICATIONS_DELIVER_INTERVAL_SECONDS),
    }

# --- Open311 and alert webhooks (cases app; see docs/open311.md) ------------------------
# A signed webhook delivery older (or newer) than this is refused as a replay.
CASES_WEBHOOK_TOLERANCE_SECONDS = env_int("CIVICGRID_WEBHOOK_TOLERANCE_SECONDS", 300)
# Shown in the Open311 discovery document.
OPEN311_CONTACT = os.environ.get("CIVICGRID_OPEN311_CONTACT", "玉泉区网格化服务管理指挥中心 960116")
OPEN311_KEY_SERVICE = os.environ.get(
    "CIVICGRID_OPEN311_KEY_SERVICE", "api_key 由平台管理员用 civicgrid apikey create 签发"
)

# --- Patrols (patrols app, issue 4; see docs/patrols.md) ---------------------------------
PATROLS_DEFAULT_TIMES_PER_DAY = env_int("CIVICGRID_PATROLS_TIMES_PER_DAY", 2)  # without a PatrolPolicy
PATROLS_DEFAULT_COVERAGE_THRESHOLD = 0.8  # share of assigned roads/grids the track must cover
PATROLS_DEFAULT_WINDOWS: list[dict[str, str]] = []  # e.g. [{"end": "10:00"}, {"start": "15:00"}]
PATROLS_ROAD_BUFFER_M = 30  # a road chief's track covers road within this distance
PATROLS_GRID_BUFFER_M = 50  # a grid/area chief's track covers the grid area within this distance
PATROLS_MAX_SPEED_KMH = 25  # faster than walking or cycling between two fixes: flagged
PATROLS_SPEED_MIN_SEGMENT_M = 20  # shorter steps are GPS jitter, not speed
PATROLS_OUTSIDE_TOLERANCE_M = 200  # a fix farther than this from the assigned roads/grids is outside
PATROLS_OUTSIDE_MAX_SHARE = 0.1  # more than this share of fixes outside: flagged
PATROLS_MAX_POINTS_PER_BATCH = 10000
PATROLS_CLOCK_SKEW_SECONDS = 120  # phone clocks may run this far ahead
PATROLS_MAX_BACKDATE_SECONDS = 12 * 3600  # an offline start may be this old when it arrives
PATROLS_AUTOCLOSE_INTERVAL_SECONDS = env_int("CIVICGRID_PATROLS_AUTOCLOSE_SECONDS", 300)
if REDIS_URL:
    CELERY_BEAT_SCHEDULE["patrols.autoclose_stale"] = {
        "task": "patrols.autoclose_stale",
        "schedule": float(PATROLS_AUTOCLOSE_INTERVAL_SECONDS),
    }

if REDIS_URL:  # cameras helper: the offline sweep (its other settings: cameras/conf.py)
    _cameras_sweep = float(env_int("CIVICGRID_CAMERAS_SWEEP_SECONDS", 60))
    CELERY_BEAT_SCHEDULE["cameras.offline_sweep"] = {"task": "cameras.offline_sweep", "schedule": _cameras_sweep}

if REDIS_URL:  # reports helper: scheduled reports (its other settings: reports/conf.py)
    CELERY_BEAT_SCHEDULE["reports.run_schedules"] = {"task": "reports.run_schedules", "schedule": 900.0}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CIVICGRID_LOG_LEVEL", "WARNING")},
}
