"""The router learns from handled cases: the cases app hands them over (registered with
`routing.services.register_handled_cases` in CasesConfig.ready)."""

from django.db.models import Q

from cases.models import Case, CaseArea, CaseEvent
from routing.training import CASE_WEIGHT, CORRECTION_WEIGHT, Example


def _corrected_cases():
    return CaseEvent.objects.filter(kind=CaseEvent.Kind.AREAS_CHANGED).values("case_id")


def case_examples() -> list[Example]:
    """Handled cases with the areas the officers left them with: closed cases, and cases
    whose areas an officer corrected (weighted most: the municipality's own judgement)."""
    corrected = set(_corrected_cases().values_list("case_id", flat=True))
    cases = Case.objects.filter(Q(status=Case.Status.CLOSED) | Q(pk__in=corrected))
    rows = (
        CaseArea.objects.filter(case__in=cases)
        .order_by("case_id", "-is_primary", "position")
        .values_list("case_id", "case__subject", "case__description", "area__slug")
    )
    by_case: dict[int, Example] = {}
    for case_id, subject, description, slug in rows.iterator(chunk_size=2000):
        example = by_case.get(case_id)
        if example is None:
            weight = CORRECTION_WEIGHT if case_id in corrected else CASE_WEIGHT
            example = by_case[case_id] = Example(
                subject, description, [], weight, "correction" if case_id in corrected else "case"
            )
        if slug not in example.areas:
            example.areas.append(slug)
    return list(by_case.values())


def corrections_since(moment) -> int:
    """Area corrections by officers since `moment` (all of them when None)."""
    events = CaseEvent.objects.filter(kind=CaseEvent.Kind.AREAS_CHANGED)
    if moment is not None:
        events = events.filter(created_at__gt=moment)
    return events.count()
