"""A case's life: the company, the case, the units taking part, its timeline and messages."""

import datetime as dt
import secrets

from django.conf import settings
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.querysets import CaseQuerySet
from departments.models import Department, ResponsibilityArea


class Company(models.Model):
    org_number = models.CharField(
        _("organisationsnummer"), max_length=11, unique=True, null=True, blank=True
    )
    name = models.CharField(_("företagets namn"), max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("företag")
        verbose_name_plural = _("företag")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_sole_trader(self) -> bool:
        """A personnummer (enskild firma): digits 3–4 are a month, never ≥ 20 as in an org.nr."""
        from cases.orgnr import is_personal_identity_number

        return bool(self.org_number) and is_personal_identity_number(self.org_number)

    @property
    def org_number_display(self) -> str:
        """The identifier as lists may show it: a personnummer is masked."""
        from cases.orgnr import mask

        return mask(self.org_number) if self.org_number else ""


class ReferenceCounter(models.Model):
    """The last case number issued per year; locked row by row so references never repeat."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    @classmethod
    def next_reference(cls, year: int) -> str:
        # One statement: the row is created or incremented, and stays locked to the end of
        # the caller's transaction, so two cases never get the same number.
        table = connection.ops.quote_name(cls._meta.db_table)
        with connection.cursor() as cursor:
            sql = (
                f"INSERT INTO {table} (year, last_number) VALUES (%s, 1) "  # noqa: S608
                f"ON CONFLICT (year) DO UPDATE SET last_number = {table}.last_number + 1 "
                "RETURNING last_number"
            )
            cursor.execute(sql, [year])
            (number,) = cursor.fetchone()
        return cls.reference(year, number)

    @staticmethod
    def reference(year: int, number: int) -> str:
        return f"{settings.CASE_REFERENCE_PREFIX}-{year}-{number:05d}"


class Case(models.Model):
    """An ärende: one question from a company, owned by one unit and one helhetsansvarig."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Inkommen")
        IN_PROGRESS = "in_progress", _("Under handläggning")
        WAITING_FOR_COMPANY = "waiting_for_company", _("Väntar på komplettering")
        CLOSED = "closed", _("Avslutad")

    class Channel(models.TextChoices):
        WEB = "web", _("Webbformulär")
        PHONE = "phone", _("Telefon")
        EMAIL = "email", _("E-post")
        VISIT = "visit", _("Besök")
        MEETING = "meeting", _("Möte")

    reference = models.CharField(_("ärendenummer"), max_length=32, unique=True, editable=False)
    company = models.ForeignKey(
        Company, verbose_name=_("företag"), on_delete=models.PROTECT, related_name="cases"
    )
    # The name as the person wrote it; the Company keeps the registered name for its number.
    company_name_typed = models.CharField(_("företagsnamn som angavs"), max_length=200, blank=True)
    contact_name = models.CharField(_("kontaktperson"), max_length=200)
    # Empty for a phone or visit case from a company without e-mail: nothing is mailed.
    contact_email = models.EmailField(_("e-post"), max_length=254, blank=True)
    contact_phone = models.CharField(_("telefon"), max_length=40, blank=True)
    subject = models.CharField(_("rubrik"), max_length=200)
    description = models.TextField(_("beskrivning"), max_length=10_000)
    channel = models.CharField(_("kanal"), max_length=16, choices=Channel, default=Channel.WEB)
    status = models.CharField(
        _("status"), max_length=24, choices=Status, default=Status.RECEIVED, db_index=True
    )
    owning_department = models.ForeignKey(
        Department,
        verbose_name=_("ansvarig enhet"),
        on_delete=models.PROTECT,
        related_name="owned_cases",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("helhetsansvarig"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_cases",
    )
    areas = models.ManyToManyField(
        ResponsibilityArea, through="CaseArea", related_name="cases", verbose_name=_("områden")
    )
    primary_area = models.ForeignKey(
        ResponsibilityArea,
        verbose_name=_("huvudområde"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="primary_cases",
    )
    received_at = models.DateTimeField(_("inkom"), default=timezone.now, db_index=True)
    first_answer_due = models.DateField(_("första svar senast"), null=True, blank=True)
    due_at = models.DateField(_("avslutas senast"), null=True, blank=True)
    first_answered_at = models.DateTimeField(_("första svar"), null=True, blank=True)
    closed_at = models.DateTimeField(_("avslutat"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # While waiting for the company the clock stops; the resolution deadline moves after.
    waiting_since = models.DateTimeField(null=True, blank=True)
    deadline_note = models.TextField(_("skäl till ändrad tidsgräns"), blank=True)
    transfer_count = models.PositiveSmallIntegerField(_("antal överlämningar"), default=0)
    needs_triage = models.BooleanField(_("behöver sorteras"), default=False)
    routing_confidence = models.FloatField(null=True, blank=True)
    routing_explanation = models.TextField(blank=True)
    insikt_area = models.CharField(max_length=32, blank=True)
    is_confidential = models.BooleanField(_("sekretessmarkerat"), default=False)
    anonymised_at = models.DateTimeField(null=True, blank=True)

    objects = CaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("ärende")
        verbose_name_plural = _("ärenden")
        ordering = ["-received_at"]
        permissions = [
            ("manage_all_cases", _("Kan se och hantera alla ärenden (lotssamordnare)")),
            ("view_dashboard", _("Kan se lotsens översikt")),
            ("view_audit_log", _("Kan läsa ett ärendes granskningslogg")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["received", "in_progress", "waiting_for_company", "closed"]
                ),
                name="case_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="closed", closed_at__isnull=False) | ~Q(status="closed"),
                name="case_closed_has_closed_at",
            ),
        ]
        indexes = [
            models.Index(fields=["owning_department", "status"], name="case_dept_status_idx"),
            models.Index(fields=["owner", "status"], name="case_owner_status_idx"),
            models.Index(fields=["status", "due_at"], name="case_status_due_idx"),
            # The dashboard's "now" figures and lists read only the open cases.
            models.Index(
                fields=["received_at"],
                name="case_open_received_idx",
                condition=~Q(status="closed"),
            ),
            # The officer proposal (cases.owners.propose_owner): an officer's open cases, and
            # the company's latest case with a unit (a returning company may have thousands).
            models.Index(
                fields=["owner"], name="case_open_owner_idx", condition=~Q(status="closed")
            ),
            models.Index(
                fields=["company", "owning_department", "-received_at", "-id"],
                name="case_company_unit_recent_idx",
                condition=Q(owner__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.subject}"

    def save(self, *args, **kwargs):
        # However a case is created (form, staff, admin, seed), it gets its reference.
        if not self.reference:
            year = timezone.localtime(self.received_at or timezone.now()).year
            self.reference = ReferenceCounter.next_reference(year)
        super().save(*args, **kwargs)

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED

    @property
    def company_name_for_company(self) -> str:
        """The name to show the company's people: what they typed (older cases: the stored)."""
        return self.company_name_typed or self.company.name


class CaseArea(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="case_areas")
    area = models.ForeignKey(ResponsibilityArea, on_delete=models.PROTECT, related_name="+")
    is_primary = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["case", "area"], name="case_area_once"),
            models.UniqueConstraint(
                fields=["case"], condition=Q(is_primary=True), name="case_one_primary_area"
            ),
        ]


class CaseDepartment(models.Model):
    """A unit's part in a case: the owner, or a contributor asked for underlag or yttrande."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Ansvarig enhet")
        CONTRIBUTOR = "contributor", _("Bidragande enhet")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="case_departments")
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="case_parts", verbose_name=_("enhet")
    )
    role = models.CharField(max_length=16, choices=Role, default=Role.CONTRIBUTOR)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handläggare"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="case_contributions",
    )
    question = models.TextField(_("fråga till enheten"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    requested_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(_("svar senast"), null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    contribution = models.TextField(_("underlag / yttrande"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("berörd enhet")
        verbose_name_plural = _("berörda enheter")
        constraints = [
            models.UniqueConstraint(fields=["case", "department"], name="case_department_once"),
            models.UniqueConstraint(
                fields=["case"], condition=Q(role="owner"), name="case_one_owner_department"
            ),
        ]
        indexes = [
            models.Index(
                fields=["due_on"],
                name="contribution_open_idx",
                condition=Q(requested_at__isnull=False, done_at__isnull=True),
            )
        ]

    @property
    def is_requested(self) -> bool:
        return self.requested_at is not None

    @property
    def is_outstanding(self) -> bool:
        return self.requested_at is not None and self.done_at is None


class CaseOwnershipPeriod(models.Model):
    """How long a case stayed with each unit: kept so the coordinator sees where time goes."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="ownership_periods")
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    # When the case last left this unit before (None: its first time there), set on insert:
    # the dashboard counts each case once per unit without COUNT(DISTINCT) (cases.ownership).
    returned_after = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(ended_at__isnull=True), name="case_one_open_period"
            )
        ]

    def save(self, *args, **kwargs):
        if self._state.adding and self.returned_after is None:
            from cases.ownership import left_unit_at

            self.returned_after = left_unit_at(self.case_id, self.department_id)
        super().save(*args, **kwargs)


class Transfer(models.Model):
    """An offer to hand a case to another unit; the sender stays responsible until accepted."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Väntar på svar")
        ACCEPTED = "accepted", _("Accepterad")
        DECLINED = "declined", _("Avböjd")
        WITHDRAWN = "withdrawn", _("Återtagen")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transfers")
    from_department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="+")
    to_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="incoming_transfers"
    )
    offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("skäl"))
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decline_reason = models.TextField(blank=True)
    suggested_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="case_one_pending_transfer"
            )
        ]
        indexes = [
            models.Index(fields=["status", "decided_at"], name="transfer_status_decided_idx")
        ]


class CaseEvent(models.Model):
    """Append-only timeline and audit trail of a case."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Ärendet registrerades")
        ROUTED = "routed", _("Ärendet fördelades")
        AREAS_CHANGED = "areas_changed", _("Områden ändrades")
        CLAIMED = "claimed", _("Ärendet togs")
        ASSIGNED = "assigned", _("Helhetsansvarig utsågs")
        TRANSFER_OFFERED = "transfer_offered", _("Överlämning föreslogs")
        TRANSFER_ACCEPTED = "transfer_accepted", _("Överlämning accepterades")
        TRANSFER_DECLINED = "transfer_declined", _("Överlämning avböjdes")
        TRANSFER_WITHDRAWN = "transfer_withdrawn", _("Överlämning återtogs")
        CONTRIBUTION_REQUESTED = "contribution_requested", _("Underlag begärdes")
        CONTRIBUTION_ANSWERED = "contribution_answered", _("Underlag lämnades")
        REPLIED = "replied", _("Svar till företaget")
        NOTE_ADDED = "note_added", _("Intern anteckning")
        WAITING_FOR_COMPANY = "waiting_for_company", _("Väntar på komplettering")
        COMPANY_REPLIED = "company_replied", _("Företaget svarade")
        CLOSED = "closed", _("Ärendet avslutades")
        REOPENED = "reopened", _("Ärendet återöppnades")
        DEADLINE_EXTENDED = "deadline_extended", _("Tidsgränsen ändrades")
        FOLLOWER_ADDED = "follower_added", _("Ny person följer ärendet")
        REMINDER_SENT = "reminder_sent", _("Påminnelse skickades")
        ESCALATED = "escalated", _("Ärendet eskalerades")
        CONFIDENTIALITY_CHANGED = "confidentiality_changed", _("Sekretessmarkering ändrades")
        VIEWED = "viewed", _("Ärendet öppnades")
        EXPORTED = "exported", _("Ärendet lämnades ut")
        ANONYMISED = "anonymised", _("Personuppgifter gallrades")
        FEEDBACK_RECEIVED = "feedback_received", _("Företaget lämnade omdöme")
        MEETING_BOOKED = "meeting_booked", _("Lotsmöte bokades")
        MEETING_MINUTES = "meeting_minutes", _("Minnesanteckningar från lotsmöte")
        MEETING_CANCELLED = "meeting_cancelled", _("Lotsmöte ställdes in")
        ACTION_ITEM_ADDED = "action_item_added", _("Åtgärd från lotsmöte")
        ACTION_ITEM_DONE = "action_item_done", _("Åtgärd från lotsmöte klar")
        EXTERNAL_REFERENCE_SET = "external_reference_set", _("Referens i annat system")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    data = models.JSONField(default=dict, blank=True)
    is_public = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["case", "created_at"], name="event_case_time_idx")]

    def __str__(self):
        return f"{self.case_id} {self.kind}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("Case events are append-only.")
        super().save(*args, **kwargs)


class CaseFollower(models.Model):
    """A person at the company who follows the case through their own private link."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="followers")
    name = models.CharField(_("namn"), max_length=200)
    email = models.EmailField(_("e-post"), max_length=254, blank=True)
    token = models.CharField(max_length=64, unique=True, editable=False)
    is_primary_contact = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set when a mail to this address bounced; shown on the case page.
    undeliverable_at = models.DateTimeField(null=True, blank=True)
    undeliverable_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at"]

    def save(self, *args, **kwargs):
        if not self.token:
            self.token = new_token()
        super().save(*args, **kwargs)


def new_token() -> str:
    """256 random bits, URL-safe; never derived from anything guessable."""
    return secrets.token_urlsafe(32)


TOKEN_SELECTOR_LENGTH = 12


def find_by_token(queryset, token: str, field: str = "token"):
    """The row whose secret token is `token`, or None.

    The database finds candidates by the token's first characters only (its selector,
    indexed); the whole token is then compared in constant time. So the response time tells
    an attacker nothing about the rest of a token, which an equality lookup in the database
    would (its comparison stops at the first differing character)."""
    if not isinstance(token, str) or not 20 <= len(token) <= 64:
        return None
    selector = token[:TOKEN_SELECTOR_LENGTH]
    found = None
    for row in queryset.filter(**{f"{field}__startswith": selector})[:10]:
        if secrets.compare_digest(getattr(row, field).encode(), token.encode()):
            found = row
    return found


class Message(models.Model):
    """The thread with the company, and the officers' internal notes."""

    class Kind(models.TextChoices):
        TO_COMPANY = "to_company", _("Till företaget")
        FROM_COMPANY = "from_company", _("Från företaget")
        INTERNAL = "internal", _("Intern anteckning")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=16, choices=Kind)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    follower = models.ForeignKey(
        CaseFollower, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    author_name = models.CharField(max_length=200, blank=True)
    body = models.TextField(_("meddelande"), max_length=10_000)
    is_final_answer = models.BooleanField(default=False)
    is_confidential = models.BooleanField(_("sekretessmarkerat"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # A message that came by e-mail: its Message-ID, so the same mail is never stored twice.
    email_message_id = models.CharField(max_length=255, blank=True, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    @property
    def is_public(self) -> bool:
        return self.kind != self.Kind.INTERNAL and not self.is_confidential

    @property
    def came_by_email(self) -> bool:
        return bool(self.email_message_id)


class Attachment(models.Model):
    """A document sent with a message (or with the question itself, `message` empty).

    The file lives in the "attachments" storage, outside the static and media URLs, under
    `storage_name`; it is served only by a view that checks the case's permissions."""

    class Scan(models.TextChoices):
        PENDING = "pending", _("Granskas")
        CLEAN = "clean", _("Granskad")
        INFECTED = "infected", _("Spärrad: skadlig kod")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachments"
    )
    filename = models.CharField(_("filnamn"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    storage_name = models.CharField(max_length=300, blank=True)
    scan_status = models.CharField(max_length=16, choices=Scan, default=Scan.PENDING)
    from_company = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    # Gallring: the file is deleted and the row says when.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("bilaga")
        verbose_name_plural = _("bilagor")
        ordering = ["created_at", "pk"]
        # The worker's scan relay asks every second for the quarantined files: few of many.
        indexes = [
            models.Index(
                fields=["id"],
                name="attachment_scan_pending_idx",
                condition=Q(scan_status="pending"),
            )
        ]

    def __str__(self):
        return self.filename

    @property
    def is_available(self) -> bool:
        return self.scan_status == self.Scan.CLEAN and self.removed_at is None

    @property
    def is_confidential(self) -> bool:
        return self.case.is_confidential or bool(self.message and self.message.is_confidential)


class Reminder(models.Model):
    """One reminder or escalation sent; unique, so that no sweep ever sends it twice."""

    kind = models.CharField(max_length=48)
    # What the reminder is about, e.g. "case:12:first_answer:2026-12-01"; with kind and
    # recipient it identifies the reminder.
    subject_key = models.CharField(max_length=120)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recipient_email = models.EmailField(max_length=254)
    due_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    email = models.ForeignKey(
        "outbox.OutgoingEmail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The sweep that inserted the row: after INSERT ... ON CONFLICT DO NOTHING a sweep sends
    # exactly the rows carrying its own id, so two sweeps at once never send the same one.
    sweep = models.UUIDField(null=True, blank=True, db_index=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_key", "recipient_email"], name="reminder_sent_once"
            )
        ]


class ReminderMark(models.Model):
    """The reminder sweep has handled this case in this state (followup.reminders): while the
    case's deadline fields, the day, the recipients and the sent reminders stay the same, a
    sweep skips it instead of deriving its reminders again. Empty values are stored as 0 /
    NO_DATE / NO_TIME so that the comparison is a plain equality."""

    NO_DATE = dt.date(1900, 1, 1)
    NO_TIME = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)

    case = models.OneToOneField(Case, primary_key=True, on_delete=models.CASCADE, related_name="+")
    context = models.CharField(max_length=64)
    status = models.CharField(max_length=32)
    owner_key = models.IntegerField()
    department_key = models.IntegerField()
    first_answer_due = models.DateField()
    due_at = models.DateField()
    first_answered_at = models.DateTimeField()
    waiting_since = models.DateTimeField()
    received_at = models.DateTimeField()
