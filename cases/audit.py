"""Audit of staff reading cases: every opening of a case page is a VIEWED event.

Changes are recorded by the service functions themselves (one CaseEvent each); this module
adds the reads, so that a case's audit log shows who opened it and when. The coordinator
reads the log at /handlaggning/arenden/<reference>/logg/ (records.views).
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from cases.models import Case, CaseEvent
from cases.services.events import record_event


def audit_case_opened(case: Case, user) -> CaseEvent | None:
    """Record that `user` opened `case`. Reloads by the same person within
    AUDIT_VIEW_DEDUP_SECONDS (default 60; the redirect after an action, a refresh) count as
    the same opening. Opening a sole trader's case is marked: it shows a personnummer."""
    if not getattr(user, "is_authenticated", False):
        return None
    window = settings.AUDIT_VIEW_DEDUP_SECONDS
    if window > 0:
        since = timezone.now() - timedelta(seconds=window)
        if CaseEvent.objects.filter(
            case_id=case.pk, kind=CaseEvent.Kind.VIEWED, actor_id=user.pk, created_at__gte=since
        ).exists():
            return None
    data = {}
    if case.company_id and case.company.is_sole_trader:
        data["personal_identity_number_shown"] = True
    if case.is_confidential:
        data["confidential"] = True
    return record_event(case, CaseEvent.Kind.VIEWED, actor=user, data=data)


def audit_log(case: Case) -> QuerySet[CaseEvent]:
    """Every event of the case, reads included, oldest first, with the actor: one query."""
    return (
        CaseEvent.objects.filter(case_id=case.pk)
        .select_related("actor")
        .order_by("created_at", "pk")
    )


def audit_attachment_downloaded(attachment, user) -> CaseEvent:
    """Record that `user` downloaded one of the case's files (a read, like opening it)."""
    return record_event(
        attachment.case,
        CaseEvent.Kind.VIEWED,
        actor=user,
        data={"attachment_id": attachment.pk},
    )
