from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from marketplace.accounts.models import Role, RoleAssignment, User
from marketplace.places.models import NamedScope

# Development only (refused in production). The README lists these logins.
DEMO_PASSWORD = "ocop-demo-2025"  # noqa: S105
DEMO_USERS = [
    # username, full name, role, named scope slug
    ("admin", "Quản trị demo", "superuser", None),
    ("canbo.yenbai", "Cán bộ Yên Bái cũ", Role.OFFICER, "old-yen-bai"),
    ("tocongnghe.vanchan", "Tổ công nghệ số Văn Chấn", Role.COMMUNITY_TEAM, "former-van-chan-district"),
    ("chuthe.tule", "Hộ sản xuất Tú Lệ", Role.PRODUCER_MEMBER, None),
]


class Command(BaseCommand):
    help = "Create the demo logins (development only). Idempotent: a rerun duplicates nothing."

    @transaction.atomic
    def handle(self, *args, **options):
        if settings.DJANGO_ENV == "production":
            raise CommandError("Demo data is for development only.")
        for username, full_name, role, scope_slug in DEMO_USERS:
            user, _created = User.objects.get_or_create(username=username, defaults={"first_name": full_name})
            user.set_password(DEMO_PASSWORD)
            user.is_staff = user.is_superuser = role == "superuser"
            user.save()
            if role != "superuser":
                scope = NamedScope.objects.get(slug=scope_slug) if scope_slug else None
                RoleAssignment.objects.get_or_create(user=user, role=role, named_scope=scope)
            self.stdout.write(f"  {username:<20} {DEMO_PASSWORD}  ({role})")
