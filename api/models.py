"""The API's clients, the external references they set on cases, and their webhooks."""

import hashlib
import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cases.models import TOKEN_SELECTOR_LENGTH

TOKEN_PREFIX = "fl_"  # noqa: S105 (a marker that makes leaked tokens easy to find)


def token_hash(token: str) -> str:
    """The token is 256 random bits, so a plain SHA-256 is as strong as a slow hash here."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiClient(models.Model):
    """Another system of the municipality (the bygglov system, the diarium, the contact
    centre) that uses the API. Its token is shown once, when it is created, and only its
    SHA-256 is stored; the first characters (the selector) find the row."""

    name = models.CharField(_("namn"), max_length=120, unique=True)
    department = models.ForeignKey(
        "departments.Department",
        verbose_name=_("enhet"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="api_clients",
        help_text=_(
            "Klienten ser det som enheten ser. Lämna tomt för alla ärenden (som lotssamordnaren)."
        ),
    )
    can_read = models.BooleanField(_("får läsa"), default=True)
    can_create_inquiries = models.BooleanField(_("får registrera frågor"), default=False)
    can_write_messages = models.BooleanField(_("får skriva meddelanden"), default=False)
    can_set_external_references = models.BooleanField(
        _("får sätta externa referenser"), default=False
    )
    rate_limit = models.CharField(
        _("högsta antal anrop"),
        max_length=20,
        default="600/m",
        help_text=_("Till exempel 600/m (per minut) eller 10000/h (per timme)."),
    )
    oidc_client_id = models.CharField(
        _("klient-id hos identitetsleverantören"),
        max_length=200,
        unique=True,
        null=True,
        blank=True,
        help_text=_(
            "Om klienten hämtar sina åtkomsttoken från kommunens identitetsleverantör: "
            "dess klient-id (azp eller client_id i token). Lämna tomt annars."
        ),
    )
    token_selector = models.CharField(max_length=TOKEN_SELECTOR_LENGTH, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, editable=False)
    expires_at = models.DateTimeField(_("giltig till"), null=True, blank=True)
    is_active = models.BooleanField(_("aktiv"), default=True)
    last_used_at = models.DateTimeField(_("senast använd"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("API-klient")
        verbose_name_plural = _("API-klienter")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def new_token(self) -> str:
        """Give the client a new token and return it: the only time it exists in clear."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.token_selector = token[:TOKEN_SELECTOR_LENGTH]
        self.token_hash = token_hash(token)
        return token

    @property
    def is_usable(self) -> bool:
        return self.is_active and (self.expires_at is None or self.expires_at > timezone.now())


class ExternalReference(models.Model):
    """A case's number in another system, e.g. the bygglov system's diarienummer."""

    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, related_name="external_references"
    )
    system = models.CharField(_("system"), max_length=80)
    reference = models.CharField(_("referens"), max_length=120)
    url = models.URLField(_("länk"), max_length=500, blank=True)
    set_by = models.ForeignKey(
        ApiClient, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("extern referens")
        verbose_name_plural = _("externa referenser")
        ordering = ["system"]
        constraints = [
            models.UniqueConstraint(fields=["case", "system"], name="external_reference_once")
        ]

    def __str__(self):
        return f"{self.system}: {self.reference}"


class WebhookSubscription(models.Model):
    """Where an API client wants to hear about case events, and which kinds."""

    client = models.ForeignKey(
        ApiClient, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("klient")
    )
    target_url = models.URLField(_("mottagarens adress"), max_length=500)
    secret = models.CharField(
        _("hemlighet"),
        max_length=128,
        help_text=_("Används för att signera varje leverans (HMAC-SHA256)."),
    )
    event_kinds = models.JSONField(
        _("händelsetyper"),
        default=list,
        blank=True,
        help_text=_('Lista med händelsetyper, t.ex. ["created", "closed"]. Tom lista: alla.'),
    )
    is_active = models.BooleanField(_("aktiv"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook-prenumeration")
        verbose_name_plural = _("webhook-prenumerationer")

    def __str__(self):
        return f"{self.client} → {self.target_url}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from cases.models import CaseEvent

        kinds = self.event_kinds
        if not isinstance(kinds, list) or not all(isinstance(kind, str) for kind in kinds):
            raise ValidationError({"event_kinds": _("Ange en lista med händelsetyper.")})
        unknown = sorted(set(kinds) - set(CaseEvent.Kind.values))
        if unknown:
            raise ValidationError(
                {
                    "event_kinds": _("Okända händelsetyper: %(kinds)s")
                    % {"kinds": ", ".join(unknown)}
                }
            )


class WebhookDelivery(models.Model):
    """One event to one subscriber: written in the transaction that recorded the event,
    sent by Celery after commit, retried with backoff for a day and then marked failed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Väntar")
        SENT = "sent", _("Levererad")
        FAILED = "failed", _("Misslyckades")

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey("cases.CaseEvent", on_delete=models.CASCADE, related_name="+")
    event_kind = models.CharField(_("händelsetyp"), max_length=32)
    payload = models.JSONField()
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("försök"), default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(
        _("senaste svarskod"), null=True, blank=True
    )
    last_response = models.TextField(_("senaste svar"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook-leverans")
        verbose_name_plural = _("webhook-leveranser")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_pending_idx",
                condition=Q(status="pending"),
            )
        ]

    def __str__(self):
        return f"{self.event_kind} → {self.subscription.target_url}"
