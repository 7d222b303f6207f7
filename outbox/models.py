"""E-mails queued in the database and sent by Celery (the transactional outbox).

A row is written in the same transaction as the change it reports on, so a notification is
never lost: if the broker is down when the transaction commits, the reminder sweep sends the
rows still pending.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OutgoingEmailQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(status=OutgoingEmail.Status.PENDING)

    def lease_expired(self, now):
        """Mails handed to SMTP by a sender that never recorded the outcome (it died)."""
        return self.filter(status=OutgoingEmail.Status.SENDING, lease_until__lt=now)


class OutgoingEmail(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Väntar på att skickas")
        SENDING = "sending", _("Skickas")
        SENT = "sent", _("Skickat")
        FAILED = "failed", _("Kunde inte skickas")

    kind = models.CharField(_("typ"), max_length=48)
    to = models.EmailField(_("mottagare"), max_length=254)
    subject = models.CharField(_("ämne"), max_length=255)
    body = models.TextField(_("text"))
    attachments = models.JSONField(default=list, blank=True)
    # Threading and replies: Reply-To (the follower's reply address), Message-ID, In-Reply-To.
    reply_to = models.CharField(max_length=254, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    # A mail queued to be rendered by the worker: the template and the ids of what it shows
    # ({"case": ["cases.case", 12], ...}); subject and body are filled in when it is sent.
    template = models.CharField(max_length=100, blank=True, default="")
    context = models.JSONField(default=dict, blank=True)
    # The id of the case (or other thread) the mail is about: a plain reference, so that the
    # outbox knows nothing of the apps that send mail.
    subject_id = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)
    status = models.CharField(_("status"), max_length=16, choices=Status, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # While a sender hands the mail to SMTP: nobody else sends it before this moment passes.
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = OutgoingEmailQuerySet.as_manager()

    class Meta:
        verbose_name = _("utgående e-post")
        verbose_name_plural = _("utgående e-post")
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"], name="outbox_pending_idx", condition=Q(status="pending")
            ),
            models.Index(
                fields=["lease_until"], name="outbox_sending_idx", condition=Q(status="sending")
            ),
        ]

    def __str__(self):
        return f"{self.kind} → {self.to}"
