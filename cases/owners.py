"""Who of a unit's officers takes a case: proposed at intake and when a transfer is accepted."""

from django.db.models import BooleanField, Count, ExpressionWrapper, Q

from cases.models import Case
from departments.models import Membership


def propose_owner(department, company=None):
    """An available officer of the unit: the company's officer from its latest case with the
    unit if still available there, else the one with the fewest open cases (ties by id).
    Unit leads are proposed only when no officer is available."""
    if department is None:
        return None
    available = Membership.objects.filter(
        department=department, is_available=True, user__is_active=True
    ).select_related("user")
    if company is not None and company.pk is not None:
        earlier_owner_id = (
            Case.objects.filter(company=company, owning_department=department, owner__isnull=False)
            .order_by("-received_at", "-pk")
            .values_list("owner_id", flat=True)
            .first()
        )
        if earlier_owner_id is not None:
            earlier = available.filter(user_id=earlier_owner_id).first()
            if earlier is not None:
                return earlier.user
    least_loaded = (
        available.annotate(
            is_lead=ExpressionWrapper(Q(role=Membership.Role.LEAD), output_field=BooleanField()),
            open_cases=Count(
                "user__owned_cases", filter=~Q(user__owned_cases__status=Case.Status.CLOSED)
            ),
        )
        .order_by("is_lead", "open_cases", "user_id")
        .first()
    )
    return least_loaded.user if least_loaded else None
