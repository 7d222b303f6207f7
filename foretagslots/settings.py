"""Settings for Företagslotsen, read from the environment (12-factor).

Defaults serve development on embedded services: SQLite, a filesystem Celery broker and
console e-mail. Production sets DEBUG=0 and must then provide SECRET_KEY, DATABASE_URL and
ALLOWED_HOSTS, or the process refuses to start. `.env.example` lists every variable.
"""

import contextlib
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime files (the embedded broker, beat's schedule, collected static files); created here
# so that the web server, worker and beat each start from a fresh clone.
VAR_DIR = BASE_DIR / "var"
# (A read-only installation keeps its runtime files elsewhere: STATIC_ROOT, a Redis broker.)
with contextlib.suppress(OSError):
    VAR_DIR.mkdir(exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

if not DEBUG:
    missing = [name for name in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS") if name not in env]
    if missing:
        raise ImproperlyConfigured(f"With DEBUG=0 these must be set: {', '.join(missing)}")

SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijkl")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# A refused form gets the portal's own Swedish page: what happened, nothing saved, a way back.
CSRF_FAILURE_VIEW = "foretagslots.views.csrf_failure"

# The address companies and officers reach the portal on; used for links in e-mails.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "foretagslots",
    "departments",
    "outbox",
    "cases",
    "routing",
    "followup",
    "records",
    "meetings",
    "insights",
    "inbound",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "foretagslots.middleware.HostileInputMiddleware",
    "foretagslots.middleware.PrivateCacheMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "foretagslots.middleware.SessionRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "foretagslots.urls"
WSGI_APPLICATION = "foretagslots.wsgi.application"

TEMPLATES = [
    {
        # Django's, with DRF's tag library imported only where a template loads it
        "BACKEND": "foretagslots.template_backend.DjangoTemplates",
        "NAME": "django",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "foretagslots.context_processors.portal",
            ],
        },
    },
]

# Widgets render through their own engine: the same backend, for the same reason.
FORM_RENDERER = "foretagslots.template_backend.FormRenderer"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
# A persistent connection the database killed (restart, failover, idle timeout) is noticed
# and replaced at the start of a request instead of failing it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Let the web server and the Celery worker share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://foretagslots")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, permissions in one query instead of two
    "foretagslots.auth_backends.PortalModelBackend",
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "staff:home"
LOGOUT_REDIRECT_URL = "home"

# Staff sessions end after a period of inactivity (seconds); requests extend them. The session
# row is rewritten (its expiry pushed forward) only once SESSION_REFRESH_SECONDS have passed
# since it was last written (foretagslots.middleware.SessionRefreshMiddleware), not on every
# request: a session ends between AGE - REFRESH and AGE after the last request.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT", default=2 * 60 * 60)
SESSION_REFRESH_SECONDS = env.int("SESSION_REFRESH_SECONDS", default=SESSION_COOKIE_AGE // 24)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Login throttling (django-axes): lock a username from one address after repeated failures.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("LOGIN_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env.bool("LOGIN_THROTTLING", default=True)
AXES_VERBOSE = False
# Behind the proxy every request comes from the proxy: use the client address the trusted
# proxies recorded (TRUSTED_PROXY_COUNT), as the public rate limits do.
AXES_CLIENT_IP_CALLABLE = "foretagslots.login_throttle.axes_client_ip"

LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", "Svenska"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="Europe/Stockholm")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "staticfiles")
# Attachments: never under a public URL (served by a permission-checking view only).
# Production may use S3-compatible storage: ATTACHMENTS_STORAGE_BACKEND=
# storages.backends.s3.S3Storage with django-storages installed and its AWS_* settings.
ATTACHMENTS_STORAGE_BACKEND = env(
    "ATTACHMENTS_STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "attachments": {
        "BACKEND": ATTACHMENTS_STORAGE_BACKEND,
        "OPTIONS": (
            {"location": str(env.path("ATTACHMENTS_DIR", default=VAR_DIR / "attachments"))}
            if ATTACHMENTS_STORAGE_BACKEND.endswith("FileSystemStorage")
            else {}
        ),
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Production: collectstatic keeps only the hashed copies (what every page links to through
# the manifest) and deletes the originals, so WhiteNoise's index of the files, which every
# web worker holds, is half the size. An unhashed /static/... URL answers 404.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# E-mail: console by default; production sets EMAIL_URL=smtp://user:pass@host:587/?tls=True
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env(
    "DEFAULT_FROM_EMAIL", default="Företagslotsen <foretagslotsen@norrtalje.se>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# Celery: Redis in production; an embedded filesystem broker otherwise (no server needed).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem"):
    _broker_dir = VAR_DIR / "celery-broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # kombu's exchange table; without this it is written to ./control wherever started.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # A broker that does not answer is given up on quickly (a LAN connect takes milliseconds);
    # what publishes after a commit tries once only (outbox.services.publish_or_leave).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 0.5}
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Without a worker (tasks run eagerly) nobody runs the outbox relay: a change's mails are then
# sent by the process that made it, right after its commit.
OUTBOX_SEND_ON_COMMIT = env.bool("OUTBOX_SEND_ON_COMMIT", default=CELERY_TASK_ALWAYS_EAGER)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_IMPORTS = ["records.retention"]
# How often the worker's relays send the new mails, scan the new files and POST the new
# webhook deliveries that requests wrote (requests never publish to the broker).
OUTBOX_RELAY_SECONDS = env.float("OUTBOX_RELAY_SECONDS", default=1.0)
# Beat's schedule: "schedule" is seconds, or a dict of crontab fields (made into
# celery.schedules.crontab by foretagslots/celery.py, so that loading the settings does not
# import Celery: a web worker never needs it).
CELERY_BEAT_SCHEDULE = {
    # The outbox relay: sends the mails that changes (a submission's receipt, a reply, …)
    # queued, about a second after their commit; requests do not publish to the broker.
    "outbox-relay": {
        "task": "outbox.tasks.email_relay_task",
        "schedule": OUTBOX_RELAY_SECONDS,
        # A relay not started within this time is dropped: the next one does its work.
        "options": {"expires": 10},
    },
    # The same for the virus scan of uploaded files (nothing to do unless CLAMAV_URL is set)
    # and for webhook deliveries; each its own task, so a slow clamd or receiver does not
    # hold up the mail.
    "attachment-scan-relay": {
        "task": "cases.tasks.attachment_scan_relay_task",
        "schedule": OUTBOX_RELAY_SECONDS,
        "options": {"expires": 10},
    },
    "webhook-relay": {
        "task": "api.tasks.webhook_relay_task",
        "schedule": OUTBOX_RELAY_SECONDS,
        "options": {"expires": 10},
    },
    # Retrain the router on the newest corrections: nightly, and early (checked hourly) when
    # ROUTER_RETRAIN_AFTER_CORRECTIONS officers' corrections have come in since the last model.
    "router-retrain": {
        "task": "routing.tasks.retrain_router_task",
        "schedule": {"minute": 15},
    },
    "reminder-sweep": {
        "task": "followup.tasks.reminder_sweep_task",
        "schedule": env.int("REMINDER_SWEEP_SECONDS", default=15 * 60),
    },
    "morning-digest": {
        "task": "followup.tasks.morning_digest_task",
        "schedule": {"hour": 7, "minute": 0, "day_of_week": "mon-fri"},
    },
    "retention": {
        "task": "records.retention.retention_sweep_task",
        "schedule": {"hour": 2, "minute": 30},
    },
    # Replies by e-mail from an IMAP mailbox; does nothing unless INBOUND_IMAP_URL is set.
    "inbound-imap-poll": {
        "task": "inbound.tasks.imap_poll_task",
        "schedule": env.int("INBOUND_IMAP_POLL_SECONDS", default=120),
    },
    # Webhook deliveries that are due: retries (the relay makes the first attempt).
    "webhook-sweep": {
        "task": "api.tasks.webhook_sweep_task",
        "schedule": env.int("WEBHOOK_SWEEP_SECONDS", default=60),
    },
    # Recompute the dashboard's period figures before they leave the cache, so the
    # coordinator never waits for a year's aggregates (see insights.services.dashboard_warm).
    "dashboard-warm": {
        "task": "insights.tasks.dashboard_warm_task",
        "schedule": env.int("INSIKT_DASHBOARD_WARM_SECONDS", default=240),
    },
}

# Content Security Policy: no inline script, nothing from other hosts.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Security headers; production (DEBUG=0) gets the full set that `check --deploy` asks for.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Optional single sign-on through OpenID Connect; off unless OIDC_RP_CLIENT_ID is set.
OIDC_ENABLED = bool(env("OIDC_RP_CLIENT_ID", default=""))
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")
    AUTHENTICATION_BACKENDS.append("foretagslots.oidc.PortalOIDCBackend")
    OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID")
    OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET", default="")
    OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", default="RS256")
    OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT")
    OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT")
    OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT")
    OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT", default="")
# Whether a first OIDC login creates the staff account (otherwise an administrator adds it first).
OIDC_CREATE_USER = env.bool("OIDC_CREATE_USER", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Tracking tokens are in public URLs: paths in log lines have them replaced by "[dolt]".
    "filters": {
        "redact_tokens": {"()": "foretagslots.log_filters.RedactTokensFilter"},
        "quiet_relays": {"()": "foretagslots.log_filters.QuietRelaysFilter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_tokens"]},
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Tracking tokens are in public URLs: never write request lines to the log.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.server": {"handlers": [], "level": "ERROR", "propagate": False},
        # The relays run every second: Celery's "sent / received / succeeded" lines for them
        # are left out (their warnings and errors are not).
        "celery.beat": {"filters": ["quiet_relays"]},
        "celery.worker.strategy": {"filters": ["quiet_relays"]},
        "celery.app.trace": {"filters": ["quiet_relays"]},
    },
}

# --- The portal's own settings -------------------------------------------------------------

# The unit whose triage queue receives inquiries the router is unsure of.
TRIAGE_DEPARTMENT_SLUG = env("TRIAGE_DEPARTMENT_SLUG", default="naringslivsenheten")
# The router is retrained at this local hour, and early after this many officers' corrections.
ROUTER_RETRAIN_HOUR = env.int("ROUTER_RETRAIN_HOUR", default=3)
ROUTER_RETRAIN_AFTER_CORRECTIONS = env.int("ROUTER_RETRAIN_AFTER_CORRECTIONS", default=25)
ROUTER_KEEP_MODELS = 5  # trained models kept in the database (the newest active one is used)
# Where a process writes the trained model it loads, for the processes of the machine to map
# (memory-map) and share; without write access each reads it into its own memory.
ROUTER_CACHE_DIR = Path(env("ROUTER_CACHE_DIR", default="") or VAR_DIR / "routers")
# Pattern of case references; the number is sequential per year.
CASE_REFERENCE_PREFIX = env("CASE_REFERENCE_PREFIX", default="FL")
# Cases per page in staff lists.
CASES_PER_PAGE = env.int("CASES_PER_PAGE", default=25)
# Insikt areas (e.g. bygglov,livsmedelskontroll) that the official Insikt survey covers: the
# portal sends no survey of its own for cases closed in them, so companies are not asked twice.
INSIKT_HOLD_BACK_AREAS = env.list("INSIKT_HOLD_BACK_AREAS", default=[])

# Rate limits on the public forms, per client address, in the cache (foretagslots.ratelimit).
# A rate is "N/period": period 30s, 15m, 1h, 1d or plain seconds.
RATELIMIT_ENABLED = env.bool("RATELIMIT_ENABLED", default=True)
RATELIMITS = {
    "ask": env("RATELIMIT_ASK", default="10/h"),
    "tracking": env("RATELIMIT_TRACKING", default="30/h"),
    "feedback": env("RATELIMIT_FEEDBACK", default="10/h"),
    # Failed staff logins per client address across all usernames (password spraying).
    "login-failures": env("RATELIMIT_LOGIN_FAILURES", default="20/15m"),
}
# A person needs longer than this (seconds) to fill in the question form; bots usually do not.
FORM_MIN_FILL_SECONDS = env.int("FORM_MIN_FILL_SECONDS", default=3)
# Each copy of the question form is accepted once; off only for load tests that post one copy.
FORM_STARTED_SINGLE_USE = env.bool("FORM_STARTED_SINGLE_USE", default=True)
# Proxies in front of gunicorn that append to X-Forwarded-For (0: use REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Request bodies: form fields in memory, number of fields and files, and the whole body (also
# set the same limit in the proxy in front, e.g. nginx client_max_body_size 25m).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FILES = 20
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=25 * 1024 * 1024)
# Pages never stored by browsers or proxies (Cache-Control: private, no-store): the staff
# side, exports, the admin, the login page and the company's tracking pages.
PRIVATE_PATH_PREFIXES = ("/handlaggning/", "/lots/", "/admin/", "/konto/", "/arende/", "/omdome/")

# Reminders and escalation (followup/reminders/): working days overdue before the unit lead,
# and as many again before the lots coordinator, is told; working days a company may take to
# answer a request for more information before it is reminded (the owner is told at twice).
REMINDER_ESCALATE_AFTER_DAYS = env.int("REMINDER_ESCALATE_AFTER_DAYS", default=2)
COMPANY_REMINDER_DAYS = env.int("COMPANY_REMINDER_DAYS", default=5)
# Local hour at which the working day ends: an inquiry arriving later counts from the next
# working day (cases/deadlines.py).
WORKDAY_END_HOUR = env.int("WORKDAY_END_HOUR", default=16)
# Seconds within which a second view of the same case by the same person is not logged again.
AUDIT_VIEW_DEDUP_SECONDS = env.int("AUDIT_VIEW_DEDUP_SECONDS", default=60)
# Password of the demo logins `seed_demo` creates (never used in production).
DEMO_PASSWORD = env("DEMO_PASSWORD", default="lotsdemo-2026")
# The Celery queue tasks go to (tests give a real worker a queue of its own).
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", default="celery")
# Seconds the dashboard keeps a period's aggregates before computing them again (0: never keeps).
INSIKT_DASHBOARD_CACHE_SECONDS = env.int("INSIKT_DASHBOARD_CACHE_SECONDS", default=300)

# --- E-mail replies and attachments (issue 18) ---------------------------------------------

# Every e-mail to a company carries a reply address naming the follower and the case by an
# opaque, signed token: REPLY_ADDRESS_TEMPLATE with {token} and {domain}. Replies land in the
# case (inbound app: `manage.py receive_email` from an MTA pipe, or the IMAP poll below).
INBOUND_EMAIL_DOMAIN = env(
    "INBOUND_EMAIL_DOMAIN", default=DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >")
)
REPLY_ADDRESS_TEMPLATE = env("REPLY_ADDRESS_TEMPLATE", default="svar+{token}@{domain}")
# imaps://user:password@host:993/INBOX; empty: no polling.
INBOUND_IMAP_URL = env("INBOUND_IMAP_URL", default="")
# A reply to a closed case: "reopen" it, or start a linked "new_case".
INBOUND_CLOSED_CASE_ACTION = env("INBOUND_CLOSED_CASE_ACTION", default="reopen")

# Attachments: size per file (bytes), files per message, accepted types (checked from content).
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENT_MAX_FILES = env.int("ATTACHMENT_MAX_FILES", default=5)
# Optional virus scan through clamd (tcp://host:3310 or unix:///run/clamav/clamd.ctl); while
# a file waits for its scan it is quarantined and the company sees "granskas".
CLAMAV_URL = env("CLAMAV_URL", default="")
# The REST API (api/): token-authenticated clients, JSON only, problem details on errors.
# Optional: API clients may also call with an access token from the municipality's identity
# provider (OIDC client-credentials grant); off unless API_OIDC_ISSUER is set.
API_OIDC_ISSUER = env("API_OIDC_ISSUER", default="")
API_OIDC_JWKS_URL = env("API_OIDC_JWKS_URL", default="")
API_OIDC_AUDIENCE = env("API_OIDC_AUDIENCE", default="")
# Seconds the identity provider's signing keys are kept before they are fetched again.
API_OIDC_JWKS_CACHE_SECONDS = env.int("API_OIDC_JWKS_CACHE_SECONDS", default=300)
if API_OIDC_ISSUER and not (API_OIDC_JWKS_URL and API_OIDC_AUDIENCE):
    raise ImproperlyConfigured("API_OIDC_ISSUER needs API_OIDC_JWKS_URL and API_OIDC_AUDIENCE.")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiClientAuthentication",
        "api.authentication.OidcClientAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.CanRead"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiClientRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.NewestFirst",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Företagslotsen API",
    "DESCRIPTION": (
        "Ärenden, enheter och ansvarsområden för kommunens andra system. "
        "Cases, units and responsibility areas for the municipality's other systems. "
        "`Authorization: Bearer <token>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": True},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.document_problems",
    ],
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "cases.models.Case.Status",
        "CaseChannelEnum": "cases.models.Case.Channel",
    },
}
# Webhooks: seconds to wait for a receiver, and hours to keep retrying before giving up.
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
WEBHOOK_RETRY_HOURS = env.int("WEBHOOK_RETRY_HOURS", default=24)
