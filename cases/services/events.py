from cases.models import Case, CaseEvent


def record_event(
    case: Case, kind: str, *, actor=None, data: dict | None = None, public: bool = False
) -> CaseEvent:
    """Append to the case's timeline. `public` events are shown to the company."""
    return CaseEvent.objects.create(
        case=case, kind=kind, actor=actor, data=data or {}, is_public=public
    )
