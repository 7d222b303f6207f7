"""What the company does: write to its case (on the tracking page or by e-mail), add colleagues."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.deadlines import working_days_between
from cases.models import Case, CaseEvent, CaseFollower, Message
from cases.services.attachments import attachments_store
from cases.services.events import record_event
from outbox.services import email_queue


@transaction.atomic
def case_company_message(
    *, follower_id: int, body: str, files=(), email_message_id: str = ""
) -> Message:
    """The company writes to its case, on its tracking page or by replying to an e-mail
    (`email_message_id` set). A reply to a request for more information starts the
    clock again (the resolution deadline moves by the working days waited) and the case goes
    back to in progress; the helhetsansvarig is notified. `files` are checked attachments."""
    follower = CaseFollower.objects.select_related("case").get(pk=follower_id)
    case = Case.objects.select_for_update().get(pk=follower.case_id)
    if not body.strip() and not files:
        raise ValidationError({"body": _("Skriv ett meddelande.")})
    if case.status == Case.Status.CLOSED:
        raise ValidationError(_("Ärendet är avslutat. Ställ en ny fråga om du behöver mer hjälp."))
    message = Message.objects.create(
        case=case,
        kind=Message.Kind.FROM_COMPANY,
        follower=follower,
        author_name=follower.name,
        body=body.strip(),
        email_message_id=email_message_id[:255],
    )
    attachments_store(case=case, message=message, files=files, from_company=True)
    data = {"message_id": message.pk, "author": follower.name}
    if email_message_id:
        data["via"] = "email"
    if files:
        data["attachments"] = len(files)
    if case.status == Case.Status.WAITING_FOR_COMPANY:
        resume_clock(case)
        data["resumed"] = True
    record_event(case, CaseEvent.Kind.COMPANY_REPLIED, data=data, public=True)
    recipient = (
        case.owner.email if case.owner and case.owner.email else case.owning_department.email
    )
    if recipient:
        email_queue(
            kind="company_replied",
            to=recipient,
            template="emails/company_replied",
            context={"case": case, "message": message},
            case=case,
        )
    return message


def resume_clock(case: Case) -> None:
    """Leave waiting_for_company: move the resolution deadline by the working days waited."""
    from cases.deadlines import add_working_days

    waited = working_days_between(case.waiting_since, timezone.now()) if case.waiting_since else 0
    if waited > 0 and case.due_at:
        case.due_at = add_working_days(case.due_at, waited)
    case.status = Case.Status.IN_PROGRESS
    case.waiting_since = None
    case.save(update_fields=["status", "waiting_since", "due_at", "updated_at"])


@transaction.atomic
def case_add_follower(*, follower_id: int, name: str, email: str) -> CaseFollower:
    """A contact lets a colleague follow the case; the colleague gets a link of their own."""
    inviter = CaseFollower.objects.select_related("case").get(pk=follower_id)
    case = Case.objects.select_for_update().get(pk=inviter.case_id)
    if case.followers.filter(email__iexact=email, revoked_at__isnull=True).exists():
        raise ValidationError({"email": _("Den personen följer redan ärendet.")})
    follower = CaseFollower.objects.create(case=case, name=name.strip(), email=email)
    record_event(
        case,
        CaseEvent.Kind.FOLLOWER_ADDED,
        data={"name": follower.name, "added_by": inviter.name},
        public=True,
    )
    email_queue(
        kind="follower_added",
        to=follower.email,
        template="emails/follower_added",
        context={"case": case, "follower": follower, "inviter": inviter},
        case=case,
    )
    return follower


@transaction.atomic
def case_company_email_reply(
    *, follower_id: int, body: str, files=(), email_message_id: str
) -> Message:
    """A follower's reply by e-mail becomes the company's message, as on the tracking page.

    A reply to a closed case reopens it, or starts a new case linked to it, as the setting
    INBOUND_CLOSED_CASE_ACTION ("reopen" or "new_case") says. A mail already stored (same
    Message-ID on the case) is not stored again: the message stored then is returned."""
    follower = CaseFollower.objects.select_related("case").get(pk=follower_id)
    case = Case.objects.select_for_update().get(pk=follower.case_id)
    stored = case.messages.filter(email_message_id=email_message_id[:255]).first()
    if stored is not None:
        return stored
    if case.status == Case.Status.CLOSED:
        if settings.INBOUND_CLOSED_CASE_ACTION == "new_case":
            return _new_case_from_reply(case, follower, body, files, email_message_id)
        _reopen_by_company(case, follower)
    return case_company_message(
        follower_id=follower.pk, body=body, files=files, email_message_id=email_message_id
    )


def _reopen_by_company(case: Case, follower: CaseFollower) -> None:
    from cases.models import CaseOwnershipPeriod
    from cases.services.work import next_status

    case.status = next_status(case, "reopen")
    case.closed_at = None
    case.save(update_fields=["status", "closed_at", "updated_at"])
    CaseOwnershipPeriod.objects.create(case=case, department_id=case.owning_department_id)
    record_event(
        case,
        CaseEvent.Kind.REOPENED,
        public=True,
        data={"via": "email", "author": follower.name},
    )


def _new_case_from_reply(case, follower, body, files, email_message_id) -> Message:
    """A new case for a reply to a closed one: the reply is its question (with the files),
    and the reply stays on the closed case too; each timeline names the other case."""
    from cases.services.intake import Inquiry, case_create

    subject = _("Svar om %(reference)s: %(subject)s") % {
        "reference": case.reference,
        "subject": case.subject,
    }
    new_case, _new_follower = case_create(
        inquiry=Inquiry(
            company_name=case.company.name,
            contact_name=follower.name,
            email=follower.email,
            subject=subject[:200],
            description=body or _("(Se bifogade filer.)"),
            org_number=case.company.org_number or "",
            channel=Case.Channel.EMAIL,
        ),
        files=files,
    )
    message = Message.objects.create(
        case=case,
        kind=Message.Kind.FROM_COMPANY,
        follower=follower,
        author_name=follower.name,
        body=body,
        email_message_id=email_message_id[:255],
    )
    record_event(
        case,
        CaseEvent.Kind.COMPANY_REPLIED,
        data={"via": "email", "author": follower.name, "new_case": new_case.reference},
    )
    record_event(
        new_case,
        CaseEvent.Kind.COMPANY_REPLIED,
        data={"via": "email", "author": follower.name, "linked_case": case.reference},
    )
    # Shown in the closed case's timeline, for officers only.
    Message.objects.create(
        case=case,
        kind=Message.Kind.INTERNAL,
        author_name=_("Företagslotsen"),
        body=_(
            "Svaret kom efter att ärendet hade avslutats och har blivit ett nytt ärende: "
            "%(reference)s."
        )
        % {"reference": new_case.reference},
    )
    return message


@transaction.atomic
def follower_mark_undeliverable(*, follower_id: int, reason: str) -> None:
    """A bounce: mail to this follower does not arrive. Shown on the case page."""
    CaseFollower.objects.filter(pk=follower_id).update(
        undeliverable_at=timezone.now(), undeliverable_reason=reason[:300]
    )
