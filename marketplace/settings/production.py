"""The production profile: no defaults for what must be chosen, HTTPS everywhere, JSON logs.

It refuses to start without SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL, and passes
`manage.py check --deploy` with no warning.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_missing = [name for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL") if not os.environ.get(name)]
if _missing:
    raise ImproperlyConfigured(f"DJANGO_ENV=production needs these environment variables: {', '.join(_missing)}")

from .base import *  # noqa: E402, F403
from .base import LOGGING, env  # noqa: E402

DEBUG = False

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# /healthz and /readyz are probed over plain HTTP from inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

WHITENOISE_USE_FINDERS = False  # production serves what `collectstatic` gathered, with hashed names
STORAGES = {
    "default": STORAGES["default"],  # noqa: F405  (filesystem or S3, chosen in base by FILE_STORAGE)
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGGING["handlers"]["console"]["formatter"] = "json"
