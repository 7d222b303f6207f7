"""What the reminder sweep keeps between two runs to know that nothing it reads has changed."""

from django.db import models


class SweepChange(models.Model):
    """A transaction that changed something the built-in reminder sources read (a case's
    deadline fields, followers, contributions, transfers, units, users, permissions, a sent
    reminder deleted). Written by PostgreSQL triggers (migration 0001), one row per
    transaction; the sweep deletes the rows it has seen (`followup.reminders.quiet`)."""

    txid = models.BigIntegerField(primary_key=True)


class SweepState(models.Model):
    """The last sweep that ran the built-in sources to the end, and under which context (the
    day and the settings): one row."""

    context = models.CharField(max_length=64)
    swept_at = models.DateTimeField()
