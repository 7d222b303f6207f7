"""The one way to add reminders: a source is a function `ctx -> iterable of Candidate`, given a
`SweepContext` and registered with `register_source` (see the package's docstring)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import sys
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    Max,
)
from django.utils import timezone

from cases import deadlines
from cases.models import (
    Reminder,
)
from departments.models import Department, Membership

logger = logging.getLogger(__name__)

# --- Settings ---------------------------------------------------------------------------------


def escalate_after_days() -> int:
    return settings.REMINDER_ESCALATE_AFTER_DAYS


def company_reminder_days() -> int:
    return settings.COMPANY_REMINDER_DAYS


# --- The plug-in interface --------------------------------------------------------------------


@dataclass(slots=True)
class Candidate:
    """A reminder a source wants sent; sent only if no Reminder row with the same kind,
    subject_key and recipient_email exists. (Slots: a catch-up holds 100 000 of them.)"""

    kind: str
    subject_key: str
    recipient_email: str
    template: str
    case_id: int | None = None
    recipient_id: int | None = None
    due_on: dt.date | None = None
    escalation: bool = False
    context: dict = field(default_factory=dict)
    key: tuple[str, str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        self.template = sys.intern(self.template)
        self.key = (
            sys.intern(self.kind),
            self.subject_key[:120],
            sys.intern(self.recipient_email.strip().lower()),
        )


class SweepContext:
    """What a source needs to know about this sweep; look-ups are loaded once, on demand."""

    def __init__(self, now: dt.datetime):
        self.now = now
        self.today = timezone.localdate(now)
        self.is_working_day = deadlines.is_working_day(self.today)
        self.next_working_day = deadlines.next_working_day(self.today)
        self.escalate_after_days = escalate_after_days()
        self.company_reminder_days = company_reminder_days()
        # Set once the built-in sources have yielded all they had (followup.reminders.quiet).
        self.built_in_ran = False

    @cached_property
    def handled(self) -> dict[int, tuple]:
        """Cases whose reminders this sweep derived and has not marked yet: id -> state (see
        ReminderMark); emptied as the sweep goes (sources.flush_marks)."""
        return {}

    @cached_property
    def staged_marks(self) -> dict[int, tuple]:
        """Handled cases waiting to be marked at the end of the sweep (not on PostgreSQL,
        where they wait in a temporary table)."""
        return {}

    @cached_property
    def derived_ids(self) -> array:
        """Cases whose reminders this sweep derived and marked (compact: 8 bytes each)."""
        return array("q")

    @cached_property
    def mark_context(self) -> str:
        """What a case's mark is valid under, as of the start of this sweep."""
        return self.current_mark_context()

    def current_mark_context(self) -> str:
        """The day, the settings, the recipients and the Reminder rows (a deleted or reset
        reminder invalidates every mark): a digest."""
        stats = Reminder.objects.aggregate(n=Count("pk"), last=Max("pk"))
        directory = [
            (pk, unit["email"], sorted(unit["leads"].items()))
            for pk, unit in sorted(self._departments.items())
        ]
        raw = json.dumps(
            [
                self.today.isoformat(),
                self.escalate_after_days,
                self.company_reminder_days,
                stats["n"],
                stats["last"],
                directory,
                self._coordinators,
                # an owner's address (the case rows are compared without it)
                list(get_user_model().objects.order_by("pk").values_list("pk", "email")),
            ]
        )
        return hashlib.sha256(raw.encode()).hexdigest()[:64]

    def overdue_cutoff(self, days: int) -> dt.date:
        """Dates on or before this lie at least `days` working days before today."""
        return deadlines.overdue_cutoff(self.today, days)

    @staticmethod
    def end_of_day(day: dt.date) -> dt.datetime:
        """The first moment after `day` (local time): `moment < end_of_day(d)` means the
        moment fell on d or earlier."""
        return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))

    def working_days_since(self, moment) -> int:
        return deadlines.working_days_between(moment, self.today)

    @cached_property
    def _departments(self) -> dict[int, dict]:
        units = {
            row["pk"]: {"email": row["email"], "leads": {}}
            for row in Department.objects.values("pk", "email")
        }
        for row in Membership.objects.filter(
            role=Membership.Role.LEAD, user__is_active=True
        ).values("department_id", "user_id", "user__email"):
            if row["user__email"] and row["department_id"] in units:
                units[row["department_id"]]["leads"][row["user_id"]] = row["user__email"]
        return units

    def unit_email(self, department_id: int) -> str:
        return self._departments.get(department_id, {}).get("email") or ""

    def unit_leads(self, department_id: int) -> list[tuple[int | None, str]]:
        """(user id, e-mail) of the unit's lead(s); the unit's mailbox if it has none."""
        unit = self._departments.get(department_id)
        if unit is None:
            return []
        if unit["leads"]:
            return sorted(unit["leads"].items())
        return [(None, unit["email"])] if unit["email"] else []

    @cached_property
    def _coordinators(self) -> list[tuple[int, str]]:
        users = (
            get_user_model()
            .objects.with_perm(
                "cases.manage_all_cases",
                include_superusers=False,
                backend="django.contrib.auth.backends.ModelBackend",
            )
            .filter(is_active=True)
            .exclude(email="")
            .values_list("pk", "email")
        )
        return sorted(users)

    def coordinators(self) -> list[tuple[int, str]]:
        """(user id, e-mail) of every lots coordinator."""
        if not self._coordinators:
            logger.warning("No lots coordinator with an e-mail address: escalation not sent")
        return self._coordinators

    def owner_recipients(self, owner_id, owner_email, department_id) -> list[tuple]:
        """The helhetsansvarig; while there is none, the unit's mailbox (or its lead)."""
        if owner_id and owner_email:
            return [(owner_id, owner_email)]
        email = self.unit_email(department_id)
        return [(None, email)] if email else self.unit_leads(department_id)


Source = Callable[[SweepContext], Iterable[Candidate]]
_sources: list[Source] = []


def register_source(source: Source) -> Source:
    """Add a source of reminders to every sweep (idempotent; usable as a decorator)."""
    if source not in _sources:
        _sources.append(source)
    return source


@dataclass
class SweepReport:
    sent: Counter = field(default_factory=Counter)
    candidates: int = 0
    flushed_emails: int = 0
    skipped_day_off: bool = False

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def lines(self) -> list[str]:
        return [f"{kind}: {count}" for kind, count in sorted(self.sent.items())]
