"""What API clients do to cases. Every write runs through the same services as the web and
is recorded as a case event naming the client (data["via"])."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from api.models import ApiClient, ExternalReference
from cases.models import Case, CaseEvent, Message
from cases.services.company import case_company_message
from cases.services.events import record_event, recorded_via
from cases.services.intake import Inquiry, case_create

# The reply transition's status table and follower notice, shared with the officers' reply.
from cases.services.work._shared import _notify_followers, next_status


def _via(client: ApiClient):
    return recorded_via(api_client=client.name, api_client_id=client.pk)


def api_inquiry_create(*, client: ApiClient, inquiry: Inquiry) -> Case:
    """Register an inquiry exactly as the public form does: routed, deadlines, receipt."""
    with _via(client):
        case, _follower = case_create(inquiry=inquiry)
    return case


@transaction.atomic
def api_message_post(
    *, client: ApiClient, case_id: int, direction: str, body: str, author_name: str = ""
) -> Message:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Skriv ett meddelande.")})
    with _via(client):
        if direction == "from_company":
            return _message_from_company(case_id, body)
        return _message_to_company(client, case_id, body, author_name)


def _message_from_company(case_id: int, body: str) -> Message:
    """What the company said through another channel (the contact centre's phone system):
    recorded as the company's own message, so a waiting case resumes as on the web."""
    follower = (
        Case.objects.get(pk=case_id)
        .followers.filter(revoked_at__isnull=True)
        .order_by("-is_primary_contact", "pk")
        .first()
    )
    if follower is None:
        raise ValidationError(_("Ärendet har ingen kontaktperson som kan stå som avsändare."))
    return case_company_message(follower_id=follower.pk, body=body)


def _message_to_company(client: ApiClient, case_id: int, body: str, author_name: str) -> Message:
    """An answer to the company from the owning unit's own system. Only a client of the
    owning unit (or one without a unit) may answer, as only the owner answers on the web."""
    case = Case.objects.select_for_update().get(pk=case_id)
    if client.department_id is not None and case.owning_department_id != client.department_id:
        raise PermissionDenied(_("Bara den ansvariga enheten svarar företaget."))
    status = next_status(case, "reply")
    message = Message.objects.create(
        case=case,
        kind=Message.Kind.TO_COMPANY,
        author_name=(author_name or "").strip() or case.owning_department.name,
        body=body,
    )
    if case.first_answered_at is None:
        case.first_answered_at = message.created_at
    case.status = status
    case.save(update_fields=["status", "first_answered_at", "updated_at"])
    record_event(case, CaseEvent.Kind.REPLIED, public=True, data={"message_id": message.pk})
    _notify_followers(
        case, kind="reply", template="emails/company_reply", context={"message": message}
    )
    return message


@transaction.atomic
def external_reference_set(
    *, client: ApiClient, case_id: int, system: str, reference: str, url: str = ""
) -> tuple[ExternalReference, bool]:
    """Set the case's number in another system (one per system); returns (row, created)."""
    case = Case.objects.select_for_update().get(pk=case_id)
    row, created = ExternalReference.objects.update_or_create(
        case=case,
        system=system.strip(),
        defaults={"reference": reference.strip(), "url": url, "set_by": client},
    )
    with _via(client):
        record_event(
            case,
            CaseEvent.Kind.EXTERNAL_REFERENCE_SET,
            data={"system": row.system, "reference": row.reference, "url": row.url},
        )
    return row, created
