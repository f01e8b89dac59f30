"""Settings shared by every profile, read from the environment.

Every variable has a development default that works on an empty machine: SQLite under var/, Celery on
kombu's filesystem transport (a real broker in another process, not eager mode), files under var/media.
The README lists every variable.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
DEBUG = env.bool("DEBUG", default=DJANGO_ENV == "development")
# Development only: the production profile refuses to start without a real one.
SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789abcdef")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "auditlog",
    "axes",
    "marketplace.core",
    "marketplace.accounts",
    "marketplace.places",
    "catalog",
    "catalog.documents",
    "catalog.ocop",
    "catalog.gis",
    "catalog.photos",
    "integrations",
    "sales",
    "kpi",
    "storefront",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "auditlog.middleware.AuditlogMiddleware",
    # Last, as django-axes requires: it turns a lockout into our 429 response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "marketplace.urls"
WSGI_APPLICATION = "marketplace.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # SQLite under three processes (web, worker, beat): wait for the write lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # A transaction that reads and then writes would otherwise fail at once ("database is locked") when another
    # process writes in between; taking the write lock at BEGIN makes it wait its turn like the others.
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    # The test database is a file, not memory, so that worker processes started by tests can share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTHENTICATION_BACKENDS = [
    # First, as django-axes requires: it refuses locked-out credentials before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Failed logins: 5 failures for one username from one address lock that pair out for 15 minutes.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "marketplace.core.errors.login_lockout_response"
AXES_VERBOSE = False

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Third-party front-end code comes from npm at build time (`make install` runs `npm ci` in frontend/).
# Front-end packages from npm (frontend/package.json), served as they are installed: never committed.
STATICFILES_DIRS = [
    ("vendor/swagger-ui-dist", BASE_DIR / "frontend" / "node_modules" / "swagger-ui-dist"),
    ("vendor/htmx", BASE_DIR / "frontend" / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chart.js", BASE_DIR / "frontend" / "node_modules" / "chart.js" / "dist"),
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
# Outside production whitenoise serves straight from the app and npm folders, no collectstatic needed.
WHITENOISE_USE_FINDERS = True
# Uploaded files (documents, scans, photos) through Django's storage API: the filesystem under MEDIA_ROOT by
# default; FILE_STORAGE=s3 selects S3-compatible storage through django-storages, configured by the
# AWS_* variables below (a private bucket: files are only ever served through views that check scope).
FILE_STORAGE = env.str("FILE_STORAGE", default="filesystem")
if FILE_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "access_key": env.str("AWS_ACCESS_KEY_ID", default=None),
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default=None),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "marketplace.core.authentication.AuditedTokenAuthentication",
        "marketplace.core.authentication.AuditedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: the API never answers with an HTML page, errors included. /api/v1/docs/ is the browsable UI.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "marketplace.core.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "marketplace.core.api.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "marketplace.core.errors.api_exception_handler",
    # Generous: they stop runaway clients, not people. Sign-in failures have their own lockout (django-axes).
    "DEFAULT_THROTTLE_CLASSES": [
        # DRF's, but letting requests through while the cache is unreachable (marketplace/core/throttling.py).
        "marketplace.core.throttling.AnonRateThrottle",
        "marketplace.core.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="300/min"),
        "user": env.str("THROTTLE_USER", default="1200/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "OCOP online API",
    "DESCRIPTION": (
        "Registers OCOP and specialty products of Vietnam's mountain provinces, pushes them to marketplaces "
        "and tracks the KPI 'OCOP products online with sales'. Errors always have the shape "
        '{"code", "message", "fields"}.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "marketplace.core.schema.postprocess_error_responses",
    ],
    # Several models have a "kind"; name their enums so the schema is stable and readable.
    "ENUM_NAME_OVERRIDES": {
        "ProducerKindEnum": "catalog.models.ProducerKind",
        "ProductKindEnum": "catalog.models.ProductKind",
        "ProductStatusEnum": "catalog.models.ProductStatus",
        "OcopCertificateStatusEnum": "catalog.ocop.models.CertificateStatus",
        "OcopStarEnum": "catalog.ocop.models.Star",
        "OcopVerificationEnum": "catalog.ocop.models.Verification",
        "GiKindEnum": "catalog.gis.models.GiKind",
        "PhotoRoleEnum": "catalog.photos.models.PhotoRole",
        "ListingStateEnum": "integrations.models.ListingState",
        "OrderStatusEnum": "sales.models.OrderStatus",
        "RoleEnum": "marketplace.accounts.models.Role",
        "GiStatusEnum": "catalog.gis.models.GiStatus",
        "GiClaimStatusEnum": "catalog.gis.models.GiClaimStatus",
        "MarketChannelEnum": "integrations.models.MarketChannel",
    },
    # Served from our own static files (npm's swagger-ui-dist), not a CDN: the docs work offline.
    "SWAGGER_UI_DIST": "/static/vendor/swagger-ui-dist",
    "SWAGGER_UI_FAVICON_HREF": "/static/vendor/swagger-ui-dist/favicon-32x32.png",
}

# Celery. Without CELERY_BROKER_URL the embedded default is kombu's filesystem transport: tasks still go
# through a queue to a separate worker process, so development behaves like production (never eager).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
_BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for _sub in ("queue", "processed", "control"):
        (_BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        # Broadcast (pidbox) messages; the default is ./control in the working directory.
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
    _default_results = f"file://{VAR_DIR / 'celery-results'}"
    (VAR_DIR / "celery-results").mkdir(parents=True, exist_ok=True)
else:
    # Redis has no real acks: a message taken by a worker that then dies (SIGKILL, OOM, a lost node) goes back to
    # the queue only once it has been unacknowledged for `visibility_timeout`, when a live worker's periodic sweep
    # (every restore interval × throttle) finds it. The timeout must stay longer than a task's longest countdown
    # (the sync engine's backoff cap, 900 s) plus its hard time limit (300 s): a worker holds a countdown task
    # unacknowledged until it runs, and a shorter timeout would hand it to a second worker meanwhile. Fault runs
    # (tests/prove/faults_listings.py) shorten all three to see a killed worker's tasks come back within minutes.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    }
    _default_results = CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=_default_results) or None
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
# Photo processing decodes big images: its own queue and its own worker (Procfile), so that it never
# delays the other tasks.
PHOTO_QUEUE = env.str("PHOTO_QUEUE", default="images")
CELERY_TASK_ROUTES = {"catalog.photos.tasks.photo_process_task": {"queue": PHOTO_QUEUE}}
# Marketplace calls wait on the marketplace (rate limits, slow answers): one queue per channel, so a slow
# channel never delays another one or the rest of the service (Procfile: one worker each).
CHANNEL_QUEUES = {"postmart": env.str("POSTMART_QUEUE", default="channel.postmart"),
                  "voso": env.str("VOSO_QUEUE", default="channel.voso"),
                  # The province storefront: its listings and its payment jobs (Stripe calls).
                  "storefront": env.str("STOREFRONT_QUEUE", default="channel.storefront")}  # fmt: skip
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "marketplace.core.tasks.heartbeat", "schedule": 60.0},
    # Certificates run out at midnight, Vietnam time (CELERY_TIMEZONE).
    "photos-requeue-stale": {"task": "catalog.photos.tasks.photos_requeue_stale", "schedule": 600.0},
    # Postmart tells review outcomes only when asked; Voso's webhooks get a fallback poll.
    "listings-poll-reviews": {"task": "integrations.tasks.listings_poll_reviews_task", "schedule": 60.0},
    "listings-release-deferred": {"task": "integrations.tasks.listings_release_deferred_task", "schedule": 300.0},
    "listings-reconcile": {"task": "integrations.tasks.listings_reconcile_task", "schedule": crontab(minute=40)},
    # Stripe (storefront/): webhooks missed (localstripe never retries), payments left unfinished or ambiguous.
    "stripe-events-catch-up": {
        "task": "storefront.tasks.stripe_events_catch_up_task",
        "schedule": 300.0,
        "options": {"queue": CHANNEL_QUEUES["storefront"]},
    },
    "payment-attempts-refresh": {
        "task": "storefront.tasks.payment_attempts_refresh_task",
        "schedule": 120.0,
        "options": {"queue": CHANNEL_QUEUES["storefront"]},
    },
    "payment-attempts-reconcile": {
        "task": "storefront.tasks.payment_attempts_reconcile_task",
        "schedule": 120.0,
        "options": {"queue": CHANNEL_QUEUES["storefront"]},
    },
    # Inbound webhooks and pushes (integrations/inbox.py): events whose own task was lost or whose worker died.
    "inbound-events-process-pending": {
        "task": "integrations.tasks.inbound_events_process_pending_task",
        "schedule": 60.0,
    },
    # Orders (sales/sync.py): the backstops for webhooks and pushes that never came (marketplaces.md §6, 9 and 11).
    "orders-feed-pull": {"task": "sales.tasks.orders_feed_pull_task", "schedule": 60.0},  # Voso change feed
    "orders-lost-push-pull": {"task": "sales.tasks.orders_lost_push_pull_task", "schedule": 300.0},  # Postmart
    "orders-failed-deliveries-pull": {"task": "sales.tasks.orders_failed_deliveries_pull_task", "schedule": 900.0},
    "orders-poll": {"task": "sales.tasks.orders_poll_task", "schedule": 600.0},
    "orders-reconcile": {"task": "sales.tasks.orders_reconcile_task", "schedule": crontab(minute=50)},
    # The KPI rollups read the listings and orders changed since the last run (kpi/rollups.py), then the
    # answers opened first are made ready (kpi/answers.py). A run that finds nothing new takes milliseconds.
    "kpi-refresh": {"task": "kpi.tasks.kpi_refresh_task", "schedule": 60.0},
    "ocop-certificates-refresh-status": {
        "task": "catalog.ocop.tasks.ocop_certificates_refresh_status_task",
        "schedule": crontab(hour=0, minute=15),
    },
}

# KPI answers are kept until a refresh sees a change (kpi/answers.py), and at most this long (seconds; 0: not
# cached): what the clock alone changes (a listing unconfirmed for 7 days) shows within that time.
KPI_CACHE_SECONDS = env.int("KPI_CACHE_SECONDS", default=600)
# How long a process keeps the rollups' generations before reading them again (kpi.rollups.rollup_generations).
KPI_GENERATIONS_SECONDS = env.float("KPI_GENERATIONS_SECONDS", default=1.0)

# Marketplaces (integrations/). Where the mock marketplaces run under `make run`; a real deployment points
# these at the platforms and sets OUTBOUND_ALLOWED_HOSTS to their hosts.
# The channel registry: channel → adapter class (integrations/adapters/<channel>/adapter.py).
MARKETPLACE_ADAPTERS = {
    "postmart": "integrations.adapters.postmart.adapter.PostmartAdapter",
    "voso": "integrations.adapters.voso.adapter.VosoAdapter",
    "storefront": "integrations.adapters.storefront.adapter.StorefrontAdapter",
}
POSTMART_URL = env.str("POSTMART_URL", default="http://127.0.0.1:18081")
VOSO_URL = env.str("VOSO_URL", default="http://127.0.0.1:18082")
OUTBOUND_ALLOWED_HOSTS = env.list("OUTBOUND_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# Where marketplaces fetch our photo exports from (Voso downloads images by URL) and post their webhooks to.
PHOTO_EXPORT_BASE_URL = env.str("PHOTO_EXPORT_BASE_URL", default="http://127.0.0.1:8000")
WEBHOOK_BASE_URL = env.str("WEBHOOK_BASE_URL", default="http://127.0.0.1:8000")
# Fernet keys for marketplace credentials at rest (first encrypts, all decrypt); derived from SECRET_KEY
# when unset (development).
CREDENTIALS_KEYS = env.list("CREDENTIALS_KEYS", default=[])
# Client-side token buckets, (rate per second, burst), a little under each marketplace's limits
# (marketplaces.md §2, §3): Postmart 10/s per shop and 2/s for writes; Voso 5/s per token (a sliding
# window, hence burst 1) and 2 image batches per second.
CHANNEL_RATE_LIMITS = env.json(
    "CHANNEL_RATE_LIMITS",
    default={
        "postmart:shop": [9.0, 1],
        "postmart:write": [1.9, 1],
        "voso:token": [4.5, 1],
        "voso:migrate": [1.8, 1],
    },
)
RATE_LIMIT_REDIS_URL = env.str(
    "RATE_LIMIT_REDIS_URL", default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""
)
# Give up on a listing after this many retryable failures in a row: with the backoff of sync/engine.py, between
# about 45 minutes and 1.5 h of a marketplace answering 5xx; then it is `failed` and a person retries it.
LISTING_MAX_RETRIES = env.int("LISTING_MAX_RETRIES", default=15)
# Order polling (sales/sync.py): each window starts this long before the previous one ended, so an order updated
# while we paged is read again; the first poll of a shop (and a Voso resync) looks this many days back;
# the hourly reconciliation compares the last days with the marketplace.
ORDERS_POLL_OVERLAP_S = env.int("ORDERS_POLL_OVERLAP_S", default=600)
ORDERS_POLL_LOOKBACK_DAYS = env.int("ORDERS_POLL_LOOKBACK_DAYS", default=30)
ORDERS_RECONCILE_DAYS = env.int("ORDERS_RECONCILE_DAYS", default=3)

# Payments of the province storefront through the official stripe SDK (storefront/stripe_api.py). In development
# they go to localstripe on loopback (`make run` starts it: storefront/localstripe_server.py), which takes any
# sk_test_… key; elsewhere to Stripe itself, with the account's keys from the environment. The same code runs
# against both. OUTBOUND_ALLOWED_HOSTS must then include api.stripe.com.
_LOCAL_STRIPE = DJANGO_ENV == "development"
STRIPE_API_BASE = env.str(
    "STRIPE_API_BASE", default="http://127.0.0.1:8420" if _LOCAL_STRIPE else "https://api.stripe.com"
)
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="sk_test_localstripe" if _LOCAL_STRIPE else "")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="pk_test_localstripe" if _LOCAL_STRIPE else "")
# The same development value as storefront/localstripe_server.py's default, which registers our webhook with it.
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="whsec_localstripe_dev" if _LOCAL_STRIPE else "")
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="text")  # "json" in production
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # stripe-python logs every request at INFO; its errors reach us as exceptions anyway.
    "loggers": {"axes": {"level": "WARNING"}, "stripe": {"level": "WARNING"}},
}

VAR_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every request when it is missing
