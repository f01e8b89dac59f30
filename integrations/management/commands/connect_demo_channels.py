from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.demo import DemoChannelsError, demo_channels_connect


class Command(BaseCommand):
    help = (
        "Connect the demo catalogue to the two mock marketplaces (development only): a booth on each, then "
        "every ready demo product queued there. Idempotent; a restarted mock gets its listings sent again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait", type=float, default=0, metavar="SECONDS",
            help="Wait up to this long for both mocks and the web server to answer (make run starts them together).",
        )  # fmt: skip

    def handle(self, *args, **options):
        if settings.DJANGO_ENV == "production":
            raise CommandError("Demo data is for development only.")
        try:
            result = demo_channels_connect(wait_s=options["wait"])
        except DemoChannelsError as exc:
            raise CommandError(str(exc)) from exc
        for channel, booth in result.booths.items():
            resent = result.resent.get(channel)
            restarted = f", the mock restarted empty: {resent} listing(s) sent again" if resent else ""
            self.stdout.write(
                f"{channel}: booth {booth}{restarted}; {result.queued[channel]} product package(s) queued, "
                f"{result.skipped[channel]} approved product(s) not ready"
            )
        self.stdout.write(f"OCOP certificates registered with the mocks: {result.certificates}")
