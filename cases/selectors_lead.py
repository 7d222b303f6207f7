"""The unit lead's overview: the unit's open cases by owner, what is late or soon late,
what waits for the unit, and each officer's load and availability. A fixed number of
queries per page, whatever the number of cases."""

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from cases.deadlines import add_working_days
from cases.models import Case, CaseDepartment, Transfer
from cases.permissions import lead_unit_ids
from cases.selectors_staff import next_due
from departments.models import Department, Membership

SOON_WORKING_DAYS = 2
SHOWN_PER_LIST = 50


@dataclass
class OfficerLoad:
    membership: Membership
    cases: list[Case] = field(default_factory=list)
    late: int = 0

    @property
    def user(self):
        return self.membership.user

    @property
    def open_count(self) -> int:
        return len(self.cases)


@dataclass
class UnitOverview:
    department: Department
    officers: list[OfficerLoad]
    unowned: list[Case]
    late: list[Case]
    soon_late: list[Case]
    transfers: list[Transfer]
    contributions: list[CaseDepartment]
    open_count: int = 0
    late_count: int = 0
    soon_count: int = 0
    others: list[OfficerLoad] = field(default_factory=list)  # owners outside the unit

    @property
    def people(self):
        """Who the lead can assign to: the unit's active members."""
        return [load.user for load in self.officers if load.user.is_active]


def _due(case: Case) -> dt.date | None:
    if case.status == Case.Status.WAITING_FOR_COMPANY:
        return None  # the clock stands still
    return next_due(case)


def unit_overviews(user, today: dt.date | None = None) -> list[UnitOverview]:
    """One overview per unit the user leads."""
    units = lead_unit_ids(user)
    if not units:
        return []
    today = today or timezone.localdate()
    soon = add_working_days(today, SOON_WORKING_DAYS)
    departments = Department.objects.filter(pk__in=units).order_by("name")
    memberships = (
        Membership.objects.filter(department_id__in=units)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__username")
    )
    cases = (
        Case.objects.open()
        .filter(owning_department_id__in=units)
        .for_list()
        .order_by("due_at", "received_at", "pk")
    )
    transfers = (
        Transfer.objects.filter(status=Transfer.Status.PENDING, to_department_id__in=units)
        .select_related("case", "case__company", "case__owner", "from_department", "offered_by")
        .order_by("created_at", "pk")
    )
    contributions = (
        CaseDepartment.objects.filter(
            requested_at__isnull=False, done_at__isnull=True, department_id__in=units
        )
        .exclude(case__status=Case.Status.CLOSED)
        .select_related("case", "case__company", "officer", "requested_by")
        .order_by("due_on", "pk")
    )
    overviews = {
        d.pk: UnitOverview(
            department=d,
            officers=[],
            unowned=[],
            late=[],
            soon_late=[],
            transfers=[],
            contributions=[],
        )
        for d in departments
    }
    loads: dict[tuple[int, int], OfficerLoad] = {}
    for membership in memberships:
        load = OfficerLoad(membership=membership)
        loads[(membership.department_id, membership.user_id)] = load
        overviews[membership.department_id].officers.append(load)
    for case in cases:
        overview = overviews[case.owning_department_id]
        overview.open_count += 1
        due = case.next_due_on = _due(case)
        is_late = due is not None and due < today
        if case.owner_id is None:
            overview.unowned.append(case)
        else:
            key = (case.owning_department_id, case.owner_id)
            if key not in loads:
                loads[key] = OfficerLoad(
                    membership=Membership(user=case.owner, department=overview.department)
                )
                overview.others.append(loads[key])
            loads[key].cases.append(case)
            loads[key].late += is_late
        if is_late:
            overview.late_count += 1
            if len(overview.late) < SHOWN_PER_LIST:
                overview.late.append(case)
        elif due is not None and due <= soon:
            overview.soon_count += 1
            if len(overview.soon_late) < SHOWN_PER_LIST:
                overview.soon_late.append(case)
    for overview in overviews.values():
        overview.late.sort(key=lambda c: c.next_due_on)
        overview.soon_late.sort(key=lambda c: c.next_due_on)
    for transfer in transfers:
        overviews[transfer.to_department_id].transfers.append(transfer)
    for part in contributions:
        overviews[part.department_id].contributions.append(part)
    return list(overviews.values())
