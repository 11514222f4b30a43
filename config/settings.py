"""Bulwark settings: one module, driven by environment variables.

With no variable set this is the *embedded default*: SQLite under var/, Celery tasks run
eagerly in the web process and emails are written to files under var/mail/. Setting
DATABASE_URL, CELERY_BROKER_URL and EMAIL_URL switches the same code to PostgreSQL,
real workers and a real mail server.
"""

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    env.read_env(BASE_DIR / ".env")

VAR_DIR = Path(env("BULWARK_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)


def _local_secret_key() -> str:
    """A development secret generated once and kept under var/, never committed."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if DEBUG:
    SECRET_KEY = SECRET_KEY or _local_secret_key()
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]"]
else:
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set; set it to a long random value (or DEBUG=1 for local development)."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS is not set; give the host names this site answers to, comma-separated."
        )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "django_htmx",
    "auditlog",
    # Bounded contexts, lowest first: each may import only those above it in this list
    # (the contract is [tool.importlinter] in pyproject.toml, checked by `make lint`).
    "core",
    "audit",
    "accounts",
    "notifications",
    "incidents",
    "campaigns",
    "breaches",
    "alerts",
    "reporting",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.PermissionsPolicyMiddleware",
    "config.middleware.RefuseNulCharactersMiddleware",
    "config.middleware.RedactCardNumbersInRequestMiddleware",  # no card number in a URL or User-Agent
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "audit.context.RequestContextMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.registry.AuditlogContextMiddleware",
    "accounts.agent_loading.AgentOTPMiddleware",  # django-otp's, without a statement of its own
    "django.contrib.messages.middleware.MessageMiddleware",  # before ours: they tell the agent why
    "accounts.middleware.AgentSessionMiddleware",
    "accounts.middleware.RequireTwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

# `make bench` only: query counts in response headers and the floor view (config/benchmark.py).
BULWARK_BENCH = env.bool("BULWARK_BENCH", default=False)
if BULWARK_BENCH:
    MIDDLEWARE.insert(0, "config.benchmark.QueryCountMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.navigation",
                "alerts.context_processors.sla_banner",
            ],
            "builtins": ["core.bidi"],
        },
    },
]

# --- Database ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'bulwark.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE transactions take the write lock up front, so concurrent writers queue
        # instead of failing with "database is locked" half-way through.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts and authentication -----------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend reading the agent, their roles and their session's device in one statement.
    "accounts.agent_loading.AgentBackend",
    # Sessions signed in before AgentBackend name ModelBackend: they stay valid (and sign in anew
    # through AgentBackend), instead of every agent being signed out by the deploy.
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "incidents:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"

OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Bulwark")
OTP_TOTP_THROTTLE_FACTOR = 1  # exponential back-off: 1 s, 2 s, 4 s ... after each failure
OTP_STATIC_THROTTLE_FACTOR = 1
BACKUP_CODE_COUNT = 10

# django-axes: repeated password failures lock the account and, separately, the client IP.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "accounts.signals.axes_username"  # card numbers redacted, as stored
AXES_VERBOSE = False
# Behind a proxy, set AXES_IPWARE_META_PRECEDENCE_ORDER via code only once the proxy is
# known to overwrite X-Forwarded-For; by default the socket address is trusted.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# --- Audit trail ---------------------------------------------------------------------------
# Model changes (django-auditlog). Models are registered in code with audit.registry.track().
AUDITLOG_STORE_JSON_CHANGES = True
AUDITLOG_CID_GETTER = "audit.context.current_request_id"
AUDITLOG_MASK_CALLABLE = "audit.registry.mask"
AUDITLOG_DISABLE_REMOTE_ADDR = False
# The chain head is appended here within about a second of every append, by every process that
# appends (audit/anchors.py), and every 30 s by beat; keep it on storage the database owner cannot
# rewrite (another host, an append-only or WORM volume).
AUDIT_ANCHOR_PATH = Path(env("AUDIT_ANCHOR_PATH", default=str(VAR_DIR / "audit-anchors.jsonl")))
# At most one anchor line per process per this many seconds; appends meanwhile are coalesced.
AUDIT_ANCHOR_INTERVAL_SECONDS = env.float("AUDIT_ANCHOR_INTERVAL_SECONDS", default=1.0)
# verify_audit fails when an entry older than this has no anchor at or after it.
AUDIT_ANCHOR_MAX_AGE_SECONDS = env.int("AUDIT_ANCHOR_MAX_AGE_SECONDS", default=60)
# inline: each entry is chained in its own request, under the chain lock (one process, SQLite,
# `make run`). background: requests only insert pending entries and `manage.py run_audit_sequencer`
# chains them within a second (production: appends from many processes do not wait on each other).
AUDIT_SEQUENCER = env.str("AUDIT_SEQUENCER", default="inline")
if AUDIT_SEQUENCER not in ("inline", "background"):
    raise ImproperlyConfigured(f"AUDIT_SEQUENCER must be inline or background, not {AUDIT_SEQUENCER!r}.")
# verify_audit fails when an entry has waited longer than this to be chained (the sequencer stopped).
AUDIT_MAX_PENDING_SECONDS = env.int("AUDIT_MAX_PENDING_SECONDS", default=60)

# Campaign detection: how far back the same attacker IP or network links other customers' incidents.
CAMPAIGN_WINDOW_DAYS = env.int("CAMPAIGN_WINDOW_DAYS", default=14)
# No one-time code goes to an email of record set less than this many days ago (0: no hold),
# unless a supervisor overrides with a reason (incidents/customers.py).
EMAIL_OF_RECORD_HOLD_DAYS = env.int("EMAIL_OF_RECORD_HOLD_DAYS", default=30)
if EMAIL_OF_RECORD_HOLD_DAYS < 0:
    raise ImproperlyConfigured("EMAIL_OF_RECORD_HOLD_DAYS must be 0 or more days.")

# --- Sessions: 30 idle minutes, 12 hours in all (the absolute limit is in AgentSessionMiddleware)
SESSION_COOKIE_AGE = 30 * 60
SESSION_ABSOLUTE_SECONDS = 12 * 60 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- Transport security ----------------------------------------------------------------
# HTTPS means "served over TLS, directly or behind a proxy that sets X-Forwarded-Proto".
HTTPS = env.bool("HTTPS", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

# --- Static files ------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise expects it; collectstatic fills it for production
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Internationalization ----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("pl", "Polski"), ("nb", "Norsk bokmål"), ("fa", "فارسی")]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Email ---------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Bulwark Support <support@bulwark.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_FILE_PATH = VAR_DIR / "mail"
if env("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# Customer emails: first retry after about this many seconds, doubling each time (5 tries in all).
EMAIL_RETRY_BASE_SECONDS = env.float("EMAIL_RETRY_BASE_SECONDS", default=10.0)

# SLA alerts go to each team's shared mailbox (alerts/services.py); links in them start with SITE_URL.
TEAM_MAILBOXES = {
    "tier1": env("TEAM_MAILBOX_TIER1", default="tier1@bulwark.localhost"),
    "tier2": env("TEAM_MAILBOX_TIER2", default="tier2@bulwark.localhost"),
    "security": env("TEAM_MAILBOX_SECURITY", default="security@bulwark.localhost"),
}
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Where the outbox keeps its "accepted" marks and worker leases (notifications.marks); empty: the
# broker's Redis. Without either (the embedded default) there are none.
OUTBOX_REDIS_URL = env("OUTBOX_REDIS_URL", default="")
CELERY_BEAT_SCHEDULE = {
    # Copy the audit chain head outside the database (audit/anchors.py).
    # Every process also anchors its own appends within a second; this covers one that died first.
    "audit-anchor-chain-head": {"task": "audit.anchor_chain_head", "schedule": 30.0},
    # AUDIT_SEQUENCER=background: chain what is pending while run_audit_sequencer is down.
    "audit-chain-pending": {"task": "audit.chain_pending", "schedule": 10.0},
    # Re-enqueue customer emails left queued (broker down) or sending (worker killed).
    # Every 5 s: a row a dead worker left comes back within seconds (notifications.tasks).
    "outbox-sweep": {"task": "incidents.tasks.sweep_customer_updates", "schedule": 5.0},
    # SLA and breach-notification clocks about to run out or run out: alert each team once.
    "sla-breach-tick": {"task": "incidents.tasks.sla_breach_tick", "schedule": 60.0},
}

# --- Logging ---------------------------------------------------------------------------------
# No card number reaches a log: every handler carries the redacting filter (a test checks that
# every handler of every logger has it). Django's own loggers are configured here too, so its
# runserver access lines (django.server) and error mails (mail_admins) pass the filter.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_card_numbers": {"()": "config.logging.RedactCardNumbers"},
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
    },
    "formatters": {
        "plain": {
            "()": "config.logging.SingleLineFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_card_numbers"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_card_numbers"],
        },
        "mail_admins": {
            "class": "django.utils.log.AdminEmailHandler",
            "level": "ERROR",
            "filters": ["redact_card_numbers", "require_debug_false"],
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
    },
}
# Error reports (the DEBUG page, mails to ADMINS): card numbers redacted from the request's GET,
# POST and META, the traceback's frame variables and the whole rendered report.
DEFAULT_EXCEPTION_REPORTER = "config.error_reports.RedactingExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.RedactingExceptionReporterFilter"
