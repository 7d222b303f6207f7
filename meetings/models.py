"""Lots meetings: company lots meetings and internal samverkansmöten, with their follow-up."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from departments.models import Department


class LotsMeeting(models.Model):
    """A lotsmöte with a company about one case, or an internal samverkansmöte of the units."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Lotsmöte med företag")
        INTERNAL = "internal", _("Samverkansmöte")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planerat")
        HELD = "held", _("Genomfört")
        CANCELLED = "cancelled", _("Inställt")

    kind = models.CharField(_("typ av möte"), max_length=16, choices=Kind)
    title = models.CharField(_("rubrik"), max_length=200)
    starts_at = models.DateTimeField(_("börjar"), db_index=True)
    ends_at = models.DateTimeField(_("slutar"))
    place = models.CharField(_("plats"), max_length=200, blank=True)
    video_link = models.URLField(_("länk till videomöte"), max_length=500, blank=True)
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("ärende"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="lots_meetings",
    )
    company_participants = models.TextField(
        _("deltagare från företaget"), blank=True, help_text=_("En person per rad.")
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status, default=Status.PLANNED, db_index=True
    )
    minutes = models.TextField(_("minnesanteckningar"), blank=True, max_length=20_000)
    decisions = models.TextField(_("beslut"), blank=True, max_length=10_000)
    internal_notes = models.TextField(_("interna anteckningar"), blank=True, max_length=10_000)
    minutes_published_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(_("skäl till inställt möte"), blank=True)
    sequence = models.PositiveIntegerField(default=0)  # iCalendar SEQUENCE: bumped on change
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("lotsmöte")
        verbose_name_plural = _("lotsmöten")
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="internal") | Q(case__isnull=False),
                name="company_meeting_has_case",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="meeting_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["planned", "held", "cancelled"]),
                name="meeting_status_valid",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("meetings:detail", args=[self.pk])

    @property
    def uid(self) -> str:
        return f"lotsmote-{self.pk}@foretagslotsen.norrtalje.se"

    @property
    def is_company_meeting(self) -> bool:
        return self.kind == self.Kind.COMPANY

    @property
    def company_participant_list(self) -> list[str]:
        return [line.strip() for line in self.company_participants.splitlines() if line.strip()]


class MeetingInvitation(models.Model):
    """A unit invited to a meeting; the unit names who attends; the minutes record attendance."""

    meeting = models.ForeignKey(LotsMeeting, on_delete=models.CASCADE, related_name="invitations")
    department = models.ForeignKey(
        Department,
        verbose_name=_("enhet"),
        on_delete=models.PROTECT,
        related_name="meeting_invitations",
    )
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("deltagare"), blank=True, related_name="+"
    )
    attended = models.BooleanField(_("deltog"), null=True, blank=True)
    invited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("inbjuden enhet")
        verbose_name_plural = _("inbjudna enheter")
        ordering = ["department__name"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "department"], name="meeting_unit_once")
        ]

    def __str__(self):
        return f"{self.meeting} – {self.department}"


class AgendaItem(models.Model):
    """A point on the agenda, usually a case; `note` is internal and never shown to a company."""

    meeting = models.ForeignKey(LotsMeeting, on_delete=models.CASCADE, related_name="agenda_items")
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("ärende"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    title = models.CharField(_("punkt"), max_length=200)
    note = models.TextField(_("anteckning"), blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("dagordningspunkt")
        verbose_name_plural = _("dagordning")
        ordering = ["position", "pk"]

    def __str__(self):
        return self.title


class ActionItemQuerySet(models.QuerySet):
    def open(self):
        return self.filter(done_at__isnull=True)

    def overdue(self, today=None):
        today = today or timezone.localdate()
        return self.open().filter(due_on__lt=today)


class ActionItem(models.Model):
    """An åtgärd decided at a meeting: one owner person, one unit, a due date."""

    meeting = models.ForeignKey(LotsMeeting, on_delete=models.CASCADE, related_name="action_items")
    case = models.ForeignKey(
        "cases.Case",
        verbose_name=_("ärende"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="action_items",
    )
    title = models.CharField(_("åtgärd"), max_length=200)
    description = models.TextField(_("intern beskrivning"), blank=True, max_length=5_000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ansvarig person"),
        on_delete=models.PROTECT,
        related_name="action_items",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("enhet"), on_delete=models.PROTECT, related_name="action_items"
    )
    due_on = models.DateField(_("klart senast"))
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ActionItemQuerySet.as_manager()

    class Meta:
        verbose_name = _("åtgärd")
        verbose_name_plural = _("åtgärder")
        ordering = ["due_on", "pk"]
        indexes = [
            models.Index(
                fields=["owner", "due_on"],
                name="action_item_open_owner_idx",
                condition=Q(done_at__isnull=True),
            ),
            models.Index(
                fields=["due_on"],
                name="action_item_open_due_idx",
                condition=Q(done_at__isnull=True),
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return f"{reverse('meetings:detail', args=[self.meeting_id])}#action-{self.pk}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    def is_overdue(self, today=None) -> bool:
        return not self.is_done and self.due_on < (today or timezone.localdate())
