"""Reference data of the catalogue, loaded from the versioned files in catalog/data/ (never typed in code)."""

import json
from pathlib import Path

from django.db import transaction

from .models import ChannelProfile, ChannelRequirement, ProductSet

DATA_DIR = Path(__file__).resolve().parent / "data"


@transaction.atomic
def product_sets_load(*, path: Path | None = None) -> int:
    """Create or update the product sets of one criteria version. Idempotent; returns how many were written."""
    data = json.loads((path or DATA_DIR / "ocop_product_sets_148_2023.json").read_text(encoding="utf-8"))
    for row in data["sets"]:
        ProductSet.objects.update_or_create(
            version=data["version"],
            number=row["number"],
            defaults={
                "name": row["name"],
                "group_number": row["group"],
                "group_name": data["groups"][str(row["group"])],
                "subgroup_name": row["subgroup"],
                "is_service": row["is_service"],
                "legal_basis": data["legal_basis"],
                "source": data["source"],
            },
        )
    return len(data["sets"])


@transaction.atomic
def channel_profiles_load(*, path: Path | None = None) -> int:
    """Seed the channel profiles. Creates what is missing and leaves existing rows alone: once seeded, the
    profiles belong to the administrators who edit them in the admin. Returns the number of rows created."""
    data = json.loads((path or DATA_DIR / "channel_profiles.json").read_text(encoding="utf-8"))
    created = 0
    for row in data["profiles"]:
        profile, new = ChannelProfile.objects.get_or_create(
            channel=row["channel"], product_set_number=row["product_set_number"], defaults={"name": row["name"]}
        )
        created += new
        image = row.get("image")
        if image and not profile.image_format:  # fill the image rules once; administrators own them after
            profile.image_format, profile.image_min_px = image["format"], image["min_px"]
            profile.image_max_px, profile.image_max_bytes = image["max_px"], image["max_bytes"]
            profile.save(update_fields=["image_format", "image_min_px", "image_max_px", "image_max_bytes"])
        for position, (kind, key, minimum, label_vi, label_en) in enumerate(row["requirements"]):
            _requirement, new = ChannelRequirement.objects.get_or_create(
                profile=profile,
                kind=kind,
                key=key,
                defaults={"min_count": minimum, "label_vi": label_vi, "label_en": label_en, "position": position},
            )
            created += new
    return created
