"""Satisfaction surveys after closing (Insikt): `feedback_invite(case_id=...)` runs after a
case has closed (connected to `cases.signals.case_closed`)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, CaseEvent, CaseFollower, find_by_token
from cases.services.events import record_event
from insights.models import Feedback
from outbox.services import email_queue


def case_tag_insikt_area(*, case: Case) -> str:
    """Set the case's Insikt area from its primary responsibility area (the areas may have
    been corrected since intake). Returns the area ('' when outside Insikt)."""
    area = case.primary_area
    insikt = (area.insikt_area if area else "") or ""
    if case.insikt_area != insikt:
        case.insikt_area = insikt
        Case.objects.filter(pk=case.pk).update(insikt_area=insikt)
    return insikt


def held_back(insikt_area: str) -> bool:
    """The official Insikt survey covers this area: the portal does not ask as well."""
    return bool(insikt_area) and insikt_area in set(settings.INSIKT_HOLD_BACK_AREAS)


@transaction.atomic
def feedback_invite(*, case_id: int) -> Feedback | None:
    """Called when a case has closed (`cases.signals.case_closed`): tag its Insikt area and
    invite the primary contact to rate the service, unless held back, already invited and
    open, or opened again meanwhile."""
    case = Case.objects.select_for_update().filter(pk=case_id, status=Case.Status.CLOSED).first()
    if case is None:
        return None
    insikt = case_tag_insikt_area(case=case)
    if held_back(insikt) or case.anonymised_at:
        return None
    now = timezone.now()
    if Feedback.objects.filter(case=case, created_at__gte=case.closed_at).exists():
        return None  # already invited for this closing
    if Feedback.objects.filter(case=case, answered_at__isnull=True, expires_at__gt=now).exists():
        return None  # closed again after a reopening: the first link still works
    follower = (
        CaseFollower.objects.filter(case=case, is_primary_contact=True, revoked_at__isnull=True)
        .order_by("created_at")
        .first()
    )
    email = follower.email if follower else case.contact_email
    if not email:
        return None
    feedback = Feedback.objects.create(
        case=case,
        follower=follower,
        email=email,
        department_id=case.owning_department_id,
        area_id=case.primary_area_id,
        insikt_area=insikt,
        created_at=now,
    )
    email_queue(
        kind="feedback_invite",
        to=email,
        template="emails/feedback_invite",
        context={
            "case": case,
            "feedback": feedback,
            "name": follower.name if follower else case.contact_name,
            "path": reverse("insights_public:feedback", args=[feedback.token]),
        },
        case=case,
    )
    return feedback


def open_feedback(token: str) -> Feedback | None:
    """The survey behind a link, if it can still be answered."""
    feedback = find_by_token(Feedback.objects.select_related("case"), token)
    if feedback is None or not feedback.is_open():
        return None
    return feedback


@transaction.atomic
def feedback_submit(*, token: str, answers: dict[str, int], comment: str = "") -> Feedback:
    """Record the company's answer, once. Raises ValidationError in Swedish when the link is
    used or expired, or an answer is off the scale."""
    feedback = find_by_token(Feedback.objects.select_for_update(), token)
    if feedback is None:
        raise ValidationError(_("Länken till enkäten finns inte."), code="unknown")
    if feedback.answered_at is not None:
        raise ValidationError(_("Enkäten är redan besvarad. Tack för ditt svar!"), code="used")
    if timezone.now() >= feedback.expires_at:
        raise ValidationError(_("Länken till enkäten har gått ut."), code="expired")
    for item in Feedback.NKI_ITEMS + Feedback.FACTOR_ITEMS:
        value = answers.get(item)
        if value is None or not 1 <= int(value) <= feedback.scale:
            raise ValidationError(
                {item: _("Välj ett svar mellan 1 och %(scale)s.") % {"scale": feedback.scale}}
            )
        setattr(feedback, item, int(value))
    feedback.comment = (comment or "").strip()[:4000]
    feedback.answered_at = timezone.now()
    feedback.save()
    record_event(
        feedback.case,
        CaseEvent.Kind.FEEDBACK_RECEIVED,
        public=True,
        data={"feedback": feedback.pk, "nki": round(nki_of(feedback), 1)},
    )
    return feedback


# --- Insikt's arithmetic ------------------------------------------------------------------


def answer_index(answer: float | None, scale: int = 6) -> float | None:
    """Index 0–100 of an answer (or of a mean answer): (answer − 1) / (scale − 1) × 100."""
    if answer is None:
        return None
    return (float(answer) - 1) / (scale - 1) * 100


def nki(means: list[float | None], scale: int = 6) -> float | None:
    """NKI: the mean of the three NKI items' indices."""
    indices = [answer_index(mean, scale) for mean in means if mean is not None]
    return sum(indices) / len(indices) if len(indices) == 3 else None


def nki_of(feedback: Feedback) -> float:
    return nki([getattr(feedback, item) for item in Feedback.NKI_ITEMS], feedback.scale)


def grade(value: float | None) -> str:
    """Insikt's words for an index (≥ 62 passes)."""
    if value is None:
        return ""
    value = round(value)
    if value > 80:
        return _("mycket högt")
    if value >= 70:
        return _("högt")
    if value >= 62:
        return _("godkänt")
    if value >= 50:
        return _("lågt")
    return _("mycket lågt")


def passes(value: float | None) -> bool:
    return value is not None and round(value) >= 62


# The standard periods the coordinator opens the dashboard on; custom periods are computed
# on request.
WARMED_PERIODS = ("week", "month", "quarter", "year")


def dashboard_warm(*, now=None) -> int:
    """Recompute the whole-municipality period figures of the standard periods into the cache,
    so that the coordinator's dashboard never waits for them (at hundreds of thousands of
    cases the year's aggregates take seconds). Unit leads' views read a fraction of the cases
    and are computed on request. Safe to run any number of times. Returns periods warmed."""
    from insights import periods, selectors

    if not settings.INSIKT_DASHBOARD_CACHE_SECONDS:
        return 0
    now = now or timezone.now()
    today = timezone.localdate(now)
    for kind in WARMED_PERIODS:
        period = periods.parse_period({"period": kind}, today=today)
        selectors.period_figures(period=period, units=None, now=now, refresh=True)
    return len(WARMED_PERIODS)
