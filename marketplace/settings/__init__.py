"""Settings entry point: DJANGO_ENV=production selects the strict profile, anything else the development one."""

import os

if os.environ.get("DJANGO_ENV", "development") == "production":
    from .production import *  # noqa: F403
else:
    from .base import *  # noqa: F403
