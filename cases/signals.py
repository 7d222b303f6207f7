"""What happened to a case, announced to the apps above cases (they connect in their
AppConfig.ready): cases knows nothing of who listens."""

from django.db import transaction
from django.dispatch import Signal

# Sent with case_id after the transaction that closed the case commits.
case_closed = Signal()


def announce_on_commit(signal: Signal, **kwargs) -> None:
    """Send `signal` with `kwargs` once the current transaction commits (at once outside one).
    A subscriber that fails is logged and does not undo or fail what was committed."""
    transaction.on_commit(lambda: signal.send(sender=None, **kwargs), robust=True)
