from django.db import models


class Heartbeat(models.Model):
    """When a periodic process last proved it runs (the beat scheduler, through a worker).

    Kept in the database rather than the cache: the development cache is per process, and the web process
    that reports it is not the worker that writes it.
    """

    name = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"
