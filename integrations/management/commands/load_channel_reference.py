"""Seed the category mappings (OCOP product set → channel leaf category). Idempotent; admin edits are kept."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from integrations.models import CategoryMapping

DATA = Path(__file__).resolve().parents[2] / "data" / "category_mappings.json"


class Command(BaseCommand):
    help = "Load the default category mappings of each marketplace (kept if already edited in the admin)."

    @transaction.atomic
    def handle(self, *args, **options):
        created = 0
        for channel, mappings in json.loads(DATA.read_text())["mappings"].items():
            for number, code in mappings.items():
                _mapping, made = CategoryMapping.objects.get_or_create(
                    channel=channel, product_set_number=int(number), defaults={"category_code": str(code)}
                )
                created += made
        if options["verbosity"]:
            self.stdout.write(f"category mappings: {created} created")
