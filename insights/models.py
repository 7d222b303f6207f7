"""The companies' ratings after closing (Insikt NKI), and a working-day calendar for SQL."""

import datetime as dt
import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

SCALE = 6  # Insikt answers on 1–6
VALID_DAYS = 60  # a survey link stays open this long


def new_feedback_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


class Feedback(models.Model):
    """One survey sent after a case closed, and (once) the company's answer to it."""

    NKI_ITEMS = ("nki_overall", "nki_expectations", "nki_ideal")
    FACTOR_ITEMS = (
        "information",
        "accessibility",
        "treatment",
        "competence",
        "legal_certainty",
        "efficiency",
    )

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="feedback")
    follower = models.ForeignKey(
        "cases.CaseFollower", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField(max_length=254)
    token = models.CharField(max_length=64, unique=True, editable=False)
    # Copied at close, so the figures stay with the unit and area that handled the case.
    department = models.ForeignKey(
        "departments.Department", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    area = models.ForeignKey(
        "departments.ResponsibilityArea",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    insikt_area = models.CharField(max_length=32, blank=True)
    scale = models.PositiveSmallIntegerField(default=SCALE)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True, db_index=True)

    nki_overall = models.PositiveSmallIntegerField(
        _("Hur nöjd är du sammantaget med kommunens service i ärendet?"), null=True
    )
    nki_expectations = models.PositiveSmallIntegerField(
        _("Hur väl motsvarade servicen dina förväntningar?"), null=True
    )
    nki_ideal = models.PositiveSmallIntegerField(_("Hur nära ett ideal kom servicen?"), null=True)
    information = models.PositiveSmallIntegerField(_("Information"), null=True)
    accessibility = models.PositiveSmallIntegerField(_("Tillgänglighet"), null=True)
    treatment = models.PositiveSmallIntegerField(_("Bemötande"), null=True)
    competence = models.PositiveSmallIntegerField(_("Kompetens"), null=True)
    legal_certainty = models.PositiveSmallIntegerField(_("Rättssäkerhet"), null=True)
    efficiency = models.PositiveSmallIntegerField(_("Effektivitet"), null=True)
    comment = models.TextField(_("kommentar"), blank=True, max_length=4000)

    class Meta:
        verbose_name = _("omdöme")
        verbose_name_plural = _("omdömen")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    *[
                        Q(**{f"{item}__isnull": True})
                        | Q(**{f"{item}__gte": 1, f"{item}__lte": SCALE})
                        for item in (
                            "nki_overall",
                            "nki_expectations",
                            "nki_ideal",
                            "information",
                            "accessibility",
                            "treatment",
                            "competence",
                            "legal_certainty",
                            "efficiency",
                        )
                    ]
                ),
                name="feedback_answers_on_scale",
            ),
        ]
        indexes = [
            # Covering (PostgreSQL): the dashboard's satisfaction figures read the period's
            # answers from the index alone instead of a heap fetch per answer.
            models.Index(
                fields=["answered_at"],
                include=[
                    "department",
                    "area",
                    "insikt_area",
                    "nki_overall",
                    "nki_expectations",
                    "nki_ideal",
                    "information",
                    "accessibility",
                    "treatment",
                    "competence",
                    "legal_certainty",
                    "efficiency",
                ],
                name="feedback_answers_idx",
                condition=Q(answered_at__isnull=False),
            )
        ]

    def __str__(self):
        return f"{self.case_id} {self.created_at:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        if not self.token:
            self.token = new_feedback_token()
        if not self.expires_at:
            self.expires_at = (self.created_at or timezone.now()) + dt.timedelta(days=VALID_DAYS)
        super().save(*args, **kwargs)

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    def is_open(self, now=None) -> bool:
        return self.answered_at is None and (now or timezone.now()) < self.expires_at


class WorkingDay(models.Model):
    """A calendar: `ordinal` counts the Swedish working days up to and including `date`, so
    the working days from a to b are ordinal(b) − ordinal(a), computable in SQL."""

    date = models.DateField(primary_key=True)
    ordinal = models.PositiveIntegerField()
    is_working_day = models.BooleanField()
    # Monday of the ISO week and first of the month: group by week or month without
    # vendor-specific date functions.
    week_start = models.DateField(null=True)
    month_start = models.DateField(null=True)

    class Meta:
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.ordinal}"


def fill_working_days(first_year: int = 2015, last_year: int = 2045) -> int:
    """(Re)build the calendar with cases.deadlines' definition of a working day."""
    from cases.deadlines import is_working_day

    day, end = dt.date(first_year, 1, 1), dt.date(last_year, 12, 31)
    rows, ordinal = [], 0
    while day <= end:
        working = is_working_day(day)
        ordinal += working
        rows.append(
            WorkingDay(
                date=day,
                ordinal=ordinal,
                is_working_day=working,
                week_start=day - dt.timedelta(days=day.weekday()),
                month_start=day.replace(day=1),
            )
        )
        day += dt.timedelta(days=1)
    WorkingDay.objects.all().delete()
    WorkingDay.objects.bulk_create(rows, batch_size=2000)
    from insights.summary import summarise_cases

    summarise_cases()  # the cases' working-day ordinals come from the calendar
    return len(rows)


class CaseFigures(models.Model):
    """What the dashboard's period figures need of one case, with the working-day ordinals
    looked up once (`insights.summary`), so the period's figures read one narrow table
    without calendar joins or time-zone conversions. Kept in step with the case in the same
    transaction (post_save of Case); deleted with it; rebuilt by `summarise_cases`."""

    case = models.OneToOneField(
        "cases.Case", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    received_at = models.DateTimeField()
    # Copies of the case's owning unit and primary area (no constraints: the case has them).
    unit_id = models.IntegerField()
    area_id = models.IntegerField(null=True)
    channel = models.CharField(max_length=16)
    first_answer_due = models.DateField(null=True)
    transfer_count = models.PositiveSmallIntegerField(default=0)
    # From the calendar (None outside it): the ordinals of the local dates received, first
    # answered and closed, the date of the first answer, the week and month received.
    received_ordinal = models.IntegerField(null=True)
    answered_ordinal = models.IntegerField(null=True)
    closed_ordinal = models.IntegerField(null=True)
    answered_on = models.DateField(null=True)
    # Working days from receipt to the first answer and to closing (the medians' values).
    first_days = models.IntegerField(null=True)
    close_days = models.IntegerField(null=True)
    week_start = models.DateField(null=True)
    month_start = models.DateField(null=True)

    class Meta:
        indexes = [
            # Covering (PostgreSQL): the period query reads the index only, not the table.
            models.Index(
                fields=["received_at"],
                include=[
                    "unit_id",
                    "area_id",
                    "channel",
                    "first_answer_due",
                    "transfer_count",
                    "closed_ordinal",
                    "answered_on",
                    "first_days",
                    "close_days",
                    "week_start",
                    "month_start",
                ],
                name="casefigures_received_idx",
            )
        ]

    def __str__(self):
        return f"{self.case_id} {self.received_at:%Y-%m-%d}"
