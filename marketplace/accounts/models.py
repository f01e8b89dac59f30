"""Users and what they may do where.

A person's powers come from role assignments, each limited to a set of places (explicit units and/or a
named scope, current or legacy, resolved through lineage). Producer membership (which producers a producer
member manages) lives with the producer in the catalogue.
"""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    phone = models.CharField(
        _("phone number"), max_length=20, blank=True, help_text=_("In E.164 format, for example +84912345678.")
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class Role(models.TextChoices):
    PRODUCER_MEMBER = "producer_member", _("OCOP producer member")
    COMMUNITY_TEAM = "community_team", _("Community digital technology team")
    OFFICER = "officer", _("Officer")
    ADMINISTRATOR = "administrator", _("System administrator")


# Roles whose powers are bounded by places; the others are bounded by producer membership or by nothing.
PLACE_BOUND_ROLES = (Role.COMMUNITY_TEAM, Role.OFFICER)


class RoleAssignment(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    units = models.ManyToManyField(
        "places.AdministrativeUnit",
        blank=True,
        related_name="+",
        verbose_name=_("area"),
        help_text=_(
            "Provinces, former districts or communes; former units are mapped to today's communes "
            "through their merger history."
        ),
    )
    named_scope = models.ForeignKey(
        "places.NamedScope",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("saved scope"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        ordering = ["user_id", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role"], condition=models.Q(is_active=True), name="one_active_assignment_per_role"
            )
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()}"
