"""Cases as public records (allmänna handlingar): secrecy marking and release (utlämnande).

An officer who acts on a case may mark the case, or one message in it, as covered by secrecy
(sekretessmarkering, with the reason, e.g. the OSL provision). Marked content is never shown on
the tracking page, and an export masks it unless the officer explicitly chooses to include it,
in which case every such part carries the mark. Internal notes are always marked as internal.
Each marking and each export is a CaseEvent.
"""

import json
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, CaseArea, CaseDepartment, CaseEvent, Message
from cases.orgnr import is_personal_identity_number, mask
from cases.permissions import can_act_on_case, can_view_case, ensure_can_act
from cases.services.events import record_event

MASKED = "[Sekretessmarkerat – maskerat vid utlämnande]"
INTERNAL_MARK = "Intern anteckning – inte expedierad till företaget"
CONTRIBUTION_MARK = "Underlag mellan kommunens enheter"
EXPORT_FORMATS = ("json",)
# Reads are logged in the audit log, not in a public-records export.
_NOT_EXPORTED_EVENTS = {CaseEvent.Kind.VIEWED}


def _reason_required(reason: str, confidential: bool) -> str:
    reason = (reason or "").strip()
    if confidential and not reason:
        raise ValidationError(
            {
                "reason": _(
                    "Ange skälet till sekretessmarkeringen, till exempel vilken bestämmelse i "
                    "offentlighets- och sekretesslagen som gäller."
                )
            }
        )
    return reason[:500]


@transaction.atomic
def case_mark_confidential(*, case_id: int, actor, confidential: bool, reason: str = "") -> Case:
    """Mark (or unmark) the whole case as covered by secrecy."""
    case = Case.objects.select_for_update().get(pk=case_id)
    ensure_can_act(actor, case)
    reason = _reason_required(reason, confidential)
    if case.is_confidential == confidential:
        raise ValidationError(
            _("Ärendet är redan sekretessmarkerat.")
            if confidential
            else _("Ärendet är inte sekretessmarkerat.")
        )
    case.is_confidential = confidential
    case.save(update_fields=["is_confidential", "updated_at"])
    record_event(
        case,
        CaseEvent.Kind.CONFIDENTIALITY_CHANGED,
        actor=actor,
        data={"target": "case", "confidential": confidential, "reason": reason},
    )
    return case


@transaction.atomic
def message_mark_confidential(
    *, message_id: int, actor, confidential: bool, reason: str = ""
) -> Message:
    """Mark (or unmark) one message or note as covered by secrecy."""
    case_id = Message.objects.values_list("case_id", flat=True).get(pk=message_id)
    case = Case.objects.select_for_update().get(pk=case_id)
    ensure_can_act(actor, case)
    message = Message.objects.get(pk=message_id)
    reason = _reason_required(reason, confidential)
    if message.is_confidential == confidential:
        raise ValidationError(
            _("Meddelandet är redan sekretessmarkerat.")
            if confidential
            else _("Meddelandet är inte sekretessmarkerat.")
        )
    message.is_confidential = confidential
    message.save(update_fields=["is_confidential"])
    record_event(
        case,
        CaseEvent.Kind.CONFIDENTIALITY_CHANGED,
        actor=actor,
        data={
            "target": "message",
            "message_id": message.pk,
            "confidential": confidential,
            "reason": reason,
        },
    )
    return message


@dataclass(frozen=True)
class Export:
    filename: str
    content_type: str
    content: bytes
    masked: int  # parts withheld because of secrecy


def _person(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.username


def _when(moment) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def _secret(text: str, secret: bool, include_secret: bool, counter: list[int]) -> dict:
    if secret and not include_secret:
        counter[0] += 1
        return {"text": MASKED, "sekretessmarkerad": True, "maskerad": True}
    return {"text": text, "sekretessmarkerad": secret, "maskerad": False}


def _attachment_entry(attachment, secret: bool, include_secret: bool, counter) -> dict:
    """An attachment in the export: listed with its type and size; a secret one's name is
    masked. The files themselves are handed out separately, after the same review."""
    name = _secret(attachment.filename, secret, include_secret, counter)
    return {
        "filnamn": name["text"],
        "sekretessmarkerad": name["sekretessmarkerad"],
        "typ": attachment.content_type,
        "storlek": attachment.size,
        "gallrad": _when(attachment.removed_at),
    }


def case_export_data(case: Case, *, include_secret: bool = False) -> tuple[dict, int]:
    """The case as a document for a public-records request, and how many parts were masked."""
    masked = [0]
    whole_case_secret = case.is_confidential
    org_number = case.company.org_number or ""
    personal = bool(org_number) and is_personal_identity_number(org_number)
    areas = [ca.area.name for ca in CaseArea.objects.filter(case=case).select_related("area")]
    messages = []
    rows = case.messages.select_related("author").prefetch_related("attachments")
    for message in rows.order_by("created_at", "pk"):
        internal = message.kind == Message.Kind.INTERNAL
        secret = message.is_confidential or whole_case_secret
        messages.append(
            {
                "datum": _when(message.created_at),
                "typ": message.get_kind_display(),
                "intern": internal,
                "markering": INTERNAL_MARK if internal else "",
                "avsandare": _person(message.author) or message.author_name,
                "slutligt_svar": message.is_final_answer,
                **_secret(message.body, secret, include_secret, masked),
                "bilagor": [
                    _attachment_entry(attachment, secret, include_secret, masked)
                    for attachment in message.attachments.all()
                ],
            }
        )
    contributions = []
    parts = (
        CaseDepartment.objects.filter(case=case, requested_at__isnull=False)
        .select_related("department", "officer")
        .order_by("requested_at", "pk")
    )
    for part in parts:
        contributions.append(
            {
                "enhet": part.department.name,
                "markering": CONTRIBUTION_MARK,
                "begard": _when(part.requested_at),
                "fraga": _secret(part.question, whole_case_secret, include_secret, masked),
                "lamnad": _when(part.done_at),
                "underlag": _secret(part.contribution, whole_case_secret, include_secret, masked),
                "handlaggare": _person(part.officer),
            }
        )
    events = [
        {
            "datum": _when(event.created_at),
            "handelse": event.get_kind_display(),
            "av": _person(event.actor),
            "synlig_for_foretaget": event.is_public,
        }
        for event in case.events.select_related("actor").exclude(kind__in=_NOT_EXPORTED_EVENTS)
    ]
    document = {
        "dokument": "Utlämnande av allmän handling",
        "arendenummer": case.reference,
        "utlamnat": _when(timezone.now()),
        "sekretessmarkerat_innehall": "medtaget" if include_secret else "maskerat",
        "arende": {
            "rubrik": case.subject,
            "beskrivning": _secret(case.description, whole_case_secret, include_secret, masked),
            "bilagor": [
                _attachment_entry(attachment, whole_case_secret, include_secret, masked)
                for attachment in case.attachments.filter(message__isnull=True)
            ],
            "kanal": case.get_channel_display(),
            "status": case.get_status_display(),
            "inkom": _when(case.received_at),
            "forsta_svar_senast": case.first_answer_due.isoformat()
            if case.first_answer_due
            else None,
            "forsta_svar": _when(case.first_answered_at),
            "avslutas_senast": case.due_at.isoformat() if case.due_at else None,
            "avslutat": _when(case.closed_at),
            "ansvarig_enhet": case.owning_department.name,
            "helhetsansvarig": _person(case.owner),
            "omraden": areas,
            "sekretessmarkerat": whole_case_secret,
            "gallrat": _when(case.anonymised_at),
        },
        "foretag": {
            "namn": case.company.name,
            "organisationsnummer": (
                mask(org_number) if personal and not include_secret else org_number
            ),
            "personnummer": personal,
        },
        "kontaktperson": {
            "namn": case.contact_name,
            "e_post": case.contact_email,
            "telefon": case.contact_phone,
        },
        "meddelanden": messages,
        "underlag_fran_enheter": contributions,
        "handelser": events,
    }
    return document, masked[0]


def case_export(
    *, case_id: int, actor, format: str = "json", include_secret: bool = False
) -> Export:
    """Export one case for a public-records request; records an EXPORTED event.

    Anyone who may see the case may export it with secrecy-marked content masked; including
    that content needs the right to act on the case (helhetsansvarig, lead, coordinator).
    """
    if format not in EXPORT_FORMATS:
        raise ValidationError({"format": _("Välj ett format för utlämnandet.")})
    case = (
        Case.objects.select_related("company", "owning_department", "owner", "primary_area")
        .filter(pk=case_id)
        .first()
    )
    if case is None or not can_view_case(actor, case):
        raise PermissionDenied(_("Du har inte behörighet att lämna ut ärendet."))
    if include_secret and not can_act_on_case(actor, case):
        raise PermissionDenied(
            _(
                "Bara den helhetsansvariga, enhetschefen eller lotssamordnaren kan lämna ut "
                "sekretessmarkerat innehåll."
            )
        )
    document, masked = case_export_data(case, include_secret=include_secret)
    with transaction.atomic():
        record_event(
            case,
            CaseEvent.Kind.EXPORTED,
            actor=actor,
            data={"format": format, "include_secret": include_secret, "masked": masked},
        )
    content = json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")
    return Export(
        filename=f"{case.reference}-utlamnande.json",
        content_type="application/json; charset=utf-8",
        content=content,
        masked=masked,
    )
