"""Reads for the lots coordinator's dashboard. Every figure is an aggregate in the database and
the number of queries does not depend on the number of cases.

Period figures are about the cases *received* in the period (a cohort): how many, how many of
them were answered within the deadline, the median working days from receipt to first answer
and to closing, transfers. "Now" figures (open, unowned, overdue, waiting for a contribution)
are a snapshot and have no period.
"""

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import Case, CaseDepartment, CaseOwnershipPeriod, Transfer
from departments.models import Department, ResponsibilityArea
from insights.periods import LIST_LIMIT, Period, _period_rows, _ratio, _share
from insights.satisfaction import _satisfaction
from insights.tables import (
    Table,
    _columns,
    _days,
    _figure,
    _nki_columns,
    _nki_note,
    _nki_row,
    _row,
)

# --- Snapshot figures ---------------------------------------------------------------------


def _snapshot(cases, today, units):
    """Open, unowned, overdue and waiting-for-a-contribution cases now, per unit and per area.
    Two grouped queries (unit × area), read through the partial index on open cases; the
    totals per unit and per area are sums over those few groups."""
    waiting = Q(status=Case.Status.WAITING_FOR_COMPANY)
    groups = (
        cases.open()
        .values("owning_department", "primary_area")
        .annotate(
            open=Count("id"),
            unowned=Count("id", filter=Q(owner__isnull=True)),
            overdue=Count("id", filter=~waiting & Q(due_at__lt=today)),
        )
        .order_by()
    )
    outstanding = (
        CaseDepartment.objects.filter(requested_at__isnull=False, done_at__isnull=True)
        .exclude(case__status=Case.Status.CLOSED)
        .values("case__owning_department", "case__primary_area")
        .annotate(contributions=Count("case", distinct=True))
        .order_by()
    )
    if units is not None:
        outstanding = outstanding.filter(case__owning_department__in=units)
    by_unit: dict = {}
    by_area: dict = {}
    empty = {"open": 0, "unowned": 0, "overdue": 0, "contributions": 0}
    for row in groups:
        for target, key in ((by_unit, row["owning_department"]), (by_area, row["primary_area"])):
            totals = target.setdefault(key, dict(empty))
            for name in ("open", "unowned", "overdue"):
                totals[name] += row[name]
    for row in outstanding:
        for target, key in (
            (by_unit, row["case__owning_department"]),
            (by_area, row["case__primary_area"]),
        ):
            target.setdefault(key, dict(empty))["contributions"] += row["contributions"]
    return by_unit, by_area


def _declined(period, units):
    """Declined transfer offers per receiving unit and per the case's primary area, this period
    ("cur") and the one before ("prev"). One grouped query; the area is looked up per declined
    offer by primary key (a few thousand at most) instead of joining every case."""
    cur_from, cur_to, prev_from, prev_to = period.bounds()
    transfers = Transfer.objects.filter(status=Transfer.Status.DECLINED).filter(
        Q(decided_at__gte=cur_from, decided_at__lt=cur_to)
        | Q(decided_at__gte=prev_from, decided_at__lt=prev_to)
    )
    if units is not None:
        transfers = transfers.filter(Q(to_department__in=units) | Q(from_department__in=units))
    current = Q(decided_at__gte=cur_from)
    area = Subquery(Case.objects.filter(pk=OuterRef("case_id")).order_by().values("primary_area"))
    rows = (
        transfers.annotate(area=area)
        .values("to_department", "area")
        .annotate(cur=Count("id", filter=current), prev=Count("id", filter=~current))
        .order_by()
    )
    by_unit: dict = {}
    by_area: dict = {}
    for row in rows:
        for target, key in ((by_unit, row["to_department"]), (by_area, row["area"])):
            totals = target.setdefault(key, {"cur": 0, "prev": 0})
            totals["cur"] += row["cur"]
            totals["prev"] += row["prev"]
    return by_unit, by_area


def _time_with_units(period, units, now):
    """Days each unit held cases during the period (ownership periods clipped to it), and
    how many cases: a period counts unless the case was with the same unit earlier in the
    period (`returned_after`, cases.ownership), so one hash aggregate over the periods and
    no COUNT(DISTINCT), which sorted them by unit."""
    cur_from, cur_to, _prev_from, _prev_to = period.bounds()
    until = min(cur_to, now)
    spans = CaseOwnershipPeriod.objects.filter(started_at__lt=until).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=cur_from)
    )
    if units is not None:
        spans = spans.filter(department__in=units)
    rows = (
        spans.values("department")
        .annotate(
            held=Sum(
                Least(Coalesce(F("ended_at"), until), until) - Greatest(F("started_at"), cur_from)
            ),
            cases=Count(
                "id", filter=Q(returned_after__isnull=True) | Q(returned_after__lte=cur_from)
            ),
        )
        .order_by()
    )
    return {row["department"]: row for row in rows}


# --- Lists ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListedCase:
    """What the dashboard's case lists show of a case (read as plain values: no model
    instances for the case, its unit and its officer)."""

    pk: int
    reference: str
    subject: str
    is_confidential: bool
    status: str
    received_at: dt.datetime
    due_at: dt.date | None
    transfer_count: int
    unit: str
    owner: str | None  # full name, else user name; None when nobody owns it


_LISTED = (
    "pk",
    "reference",
    "subject",
    "is_confidential",
    "status",
    "received_at",
    "due_at",
    "transfer_count",
    "owning_department__name",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
)


def _listed(queryset) -> list[ListedCase]:
    found = []
    for *fields, username, first_name, last_name in queryset.values_list(*_LISTED):
        owner = None
        if username is not None:
            owner = f"{first_name} {last_name}".strip() or username  # as get_full_name()
        found.append(ListedCase(*fields, owner))
    return found


def _lists(cases, today):
    base = cases.open()
    return {
        "unowned": _listed(base.filter(owner__isnull=True).order_by("received_at")[:LIST_LIMIT]),
        "overdue": _listed(
            base.exclude(status=Case.Status.WAITING_FOR_COMPANY)
            .filter(due_at__lt=today)
            .order_by("due_at", "received_at")[:LIST_LIMIT]
        ),
        "bouncing": _listed(
            base.filter(transfer_count__gte=2).order_by("-transfer_count", "received_at")[
                :LIST_LIMIT
            ]
        ),
        "oldest": _listed(base.order_by("received_at")[:LIST_LIMIT]),
        "contributions": _listed(
            base.filter(
                pk__in=CaseDepartment.objects.filter(
                    requested_at__isnull=False, done_at__isnull=True
                ).values("case_id")
            ).order_by("received_at")[:LIST_LIMIT]
        ),
    }


# --- The dashboard -------------------------------------------------------------------------


@dataclass
class Dashboard:
    period: Period
    units_scope: set[int] | None
    headline: list[dict]
    tables: dict[str, Table]
    lists: dict[str, list]
    intake_weeks: list
    on_time_months: list
    insikt: dict
    departments: dict
    areas: dict
    computed_at: dt.datetime | None = None


def dashboard_scope(user) -> set[int] | None:
    """None: everything (`cases.view_dashboard`, the lots coordinators). A set: the units a
    unit lead leads. Raises PermissionDenied for everyone else."""
    from django.core.exceptions import PermissionDenied

    from cases.permissions import lead_unit_ids

    if user.has_perm("cases.view_dashboard"):
        return None
    leads = lead_unit_ids(user)
    if not leads:
        raise PermissionDenied(_("Översikten är till för lotssamordnare och enhetschefer."))
    return leads


def period_figures(
    *, period: Period, units: set[int] | None, now: dt.datetime, refresh: bool = False
) -> dict:
    """The period's aggregates (the expensive part: they read every case of the period and
    the one before). Kept in the cache for INSIKT_DASHBOARD_CACHE_SECONDS, so a coordinator
    moving around the page does not recompute them; the "now" figures and lists are always
    live. 0 turns the cache off. `refresh` recomputes and stores them whatever the cache
    holds (the background warm-up, `insights.services.dashboard_warm`)."""
    today = timezone.localdate(now)
    seconds = settings.INSIKT_DASHBOARD_CACHE_SECONDS
    scope = "all" if units is None else ",".join(map(str, sorted(units)))
    key = (
        f"insights:period:v1:{scope}:{today}:{period.start}:{period.end}:"
        f"{period.prev_start}:{period.prev_end}"
    )
    if seconds and not refresh:
        cached = cache.get(key)
        if cached is not None:
            return cached
    figures = _period_rows(period, units, today)
    computed = {
        "figures": figures,
        "intake_weeks": figures["week"],
        "on_time_months": figures["month"],
        "declined": _declined(period, units),
        "held": _time_with_units(period, units, now),
        "satisfaction": _satisfaction(period, units),
        "computed_at": now,
    }
    if seconds:
        cache.set(key, computed, seconds)
    return computed


def dashboard(*, user, period: Period, now: dt.datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    today = timezone.localdate(now)
    units = dashboard_scope(user)
    cases = Case.objects.all()
    if units is not None:
        cases = cases.filter(owning_department__in=units)

    # Only what the tables show of the units and areas.
    departments = {d.pk: d for d in Department.objects.only("name", "slug")}
    areas = {
        a.pk: a
        for a in ResponsibilityArea.objects.select_related("owner").only(
            "name", "slug", "owner__name"
        )
    }
    snap_unit, snap_area = _snapshot(cases, today, units)
    computed = period_figures(period=period, units=units, now=now)
    figures = computed["figures"]
    declined_unit, declined_area = computed["declined"]
    held = computed["held"]
    satisfaction = computed["satisfaction"]

    cur = figures["total"].get(1, {})
    prev = figures["total"].get(0, {})
    snapshot_total = {
        key: sum(row[key] for row in snap_unit.values())
        for key in ("open", "unowned", "overdue", "contributions")
    }
    declined_cur = sum(row["cur"] for row in declined_unit.values())
    declined_prev = sum(row["prev"] for row in declined_unit.values())
    held_days = sum(_days(row["held"]) for row in held.values())
    held_cases = sum(row["cases"] for row in held.values())
    nki_cur, nki_prev = satisfaction["total"]["cur"], satisfaction["total"]["prev"]

    headline = [
        _figure(
            "received",
            _("Inkomna ärenden"),
            cur.get("received", 0),
            prev.get("received", 0),
            neutral=True,
        ),
        _figure("open", _("Öppna nu"), snapshot_total["open"]),
        _figure(
            "unowned",
            _("Utan helhetsansvarig nu"),
            snapshot_total["unowned"],
            alarm=snapshot_total["unowned"] > 0,
            note=_("Ska vara noll."),
        ),
        _figure("overdue", _("Försenade nu"), snapshot_total["overdue"], lower_is_better=True),
        _figure(
            "median_first",
            _("Median arbetsdagar till första svar"),
            cur.get("median_first"),
            prev.get("median_first"),
            kind="num",
            lower_is_better=True,
        ),
        _figure(
            "median_close",
            _("Median arbetsdagar till avslut"),
            cur.get("median_close"),
            prev.get("median_close"),
            kind="num",
            lower_is_better=True,
        ),
        _figure(
            "on_time",
            _("Andel med första svar i tid"),
            _share(cur.get("on_time", 0), cur.get("decided", 0)),
            _share(prev.get("on_time", 0), prev.get("decided", 0)),
            kind="pct",
        ),
        _figure(
            "transfers",
            _("Överlämningar per ärende"),
            _ratio(cur.get("transfers", 0), cur.get("received", 0)),
            _ratio(prev.get("transfers", 0), prev.get("received", 0)),
            kind="num2",
            lower_is_better=True,
        ),
        _figure(
            "bouncing",
            _("Studsande ärenden (överlämnade två gånger eller fler)"),
            cur.get("bouncing", 0),
            prev.get("bouncing", 0),
            lower_is_better=True,
        ),
        _figure(
            "declined",
            _("Avböjda överlämningar"),
            declined_cur,
            declined_prev,
            lower_is_better=True,
        ),
        _figure(
            "contributions",
            _("Ärenden som väntar på underlag från annan enhet nu"),
            snapshot_total["contributions"],
            lower_is_better=True,
        ),
        _figure(
            "held",
            _("Dagar hos enheterna per ärende under perioden"),
            held_days / held_cases if held_cases else None,
            kind="num",
            lower_is_better=True,
        ),
        _figure(
            "nki",
            _("NKI (nöjd kund-index)"),
            nki_cur["nki"],
            nki_prev["nki"],
            kind="num",
            note=_nki_note(nki_cur),
            alarm=nki_cur["nki"] is not None and round(nki_cur["nki"]) < 62,
        ),
    ]

    unit_ids = sorted(
        set(figures["unit"]) | set(snap_unit) | set(held) | set(declined_unit),
        key=lambda pk: departments[pk].name if pk in departments else "",
    )
    if units is not None:
        unit_ids = [pk for pk in unit_ids if pk in units]
    unit_rows = []
    for pk in unit_ids:
        dept = departments.get(pk)
        if dept is None:
            continue
        row = _row(
            figures["unit"].get(pk, {}),
            snap_unit.get(pk, {}),
            declined_unit.get(pk, {}),
            satisfaction["unit"].get(pk),
        )
        spent = held.get(pk)
        row["held_days"] = round(_days(spent["held"]), 1) if spent else None
        row["held_per_case"] = (
            round(_days(spent["held"]) / spent["cases"], 1) if spent and spent["cases"] else None
        )
        row["name"] = {"text": dept.name, "sort": dept.name}
        row["slug"] = dept.slug
        unit_rows.append(row)

    area_ids = sorted(
        {pk for pk in set(figures["area"]) | set(snap_area) if pk is not None},
        key=lambda pk: areas[pk].name if pk in areas else "",
    )
    area_rows = []
    for pk in area_ids:
        area = areas.get(pk)
        if area is None:
            continue
        row = _row(
            figures["area"].get(pk, {}),
            snap_area.get(pk, {}),
            declined_area.get(pk, {}),
            satisfaction["area"].get(pk),
        )
        row["name"] = {"text": area.name, "sort": area.name}
        row["slug"] = area.slug
        row["owner"] = area.owner.name
        area_rows.append(row)

    insikt_labels = dict(ResponsibilityArea.InsiktArea.choices)
    insikt_rows = []
    for key, values in sorted(satisfaction["insikt"].items(), key=lambda kv: kv[0] or "~"):
        label = insikt_labels.get(key or "", "") if key else _("Utanför Insikt")
        insikt_rows.append(_nki_row({"name": {"text": str(label), "sort": str(label)}}, values))

    tables = {
        "enheter": Table(
            "enheter",
            _("Per enhet"),
            _columns(unit=True),
            unit_rows,
            caption=_("Nyckeltal per ansvarig enhet för ärenden som kom in under perioden."),
        ),
        "omraden": Table(
            "omraden",
            _("Per ansvarsområde"),
            _columns(unit=False),
            area_rows,
            caption=_("Nyckeltal per huvudområde för ärenden som kom in under perioden."),
        ),
        "nki": Table(
            "nki",
            _("Nöjdhet per enhet"),
            _nki_columns(),
            [
                _nki_row(
                    {"name": {"text": departments[pk].name, "sort": departments[pk].name}},
                    values,
                )
                for pk, values in sorted(
                    satisfaction["unit"].items(),
                    key=lambda kv: departments[kv[0]].name if kv[0] in departments else "",
                )
                if pk in departments
            ],
            caption=_("NKI och serviceområdenas index (0–100) för svar under perioden."),
        ),
        "nki-omraden": Table(
            "nki-omraden",
            _("Nöjdhet per ansvarsområde"),
            _nki_columns(),
            [
                _nki_row({"name": {"text": areas[pk].name, "sort": areas[pk].name}}, values)
                for pk, values in sorted(
                    satisfaction["area"].items(),
                    key=lambda kv: areas[kv[0]].name if kv[0] in areas else "",
                )
                if pk in areas
            ],
            caption=_("NKI och serviceområdenas index (0–100) för svar under perioden."),
        ),
        "nki-insikt": Table(
            "nki-insikt",
            _("NKI per Insikt-område"),
            _nki_columns(),
            insikt_rows,
            caption=_("NKI per myndighetsområde enligt SKR:s Insikt, för svar under perioden."),
        ),
    }
    return Dashboard(
        period=period,
        units_scope=units,
        headline=headline,
        tables=tables,
        lists=_lists(cases, today),
        intake_weeks=computed["intake_weeks"],
        on_time_months=computed["on_time_months"],
        computed_at=computed["computed_at"],
        insikt=satisfaction["insikt"],
        departments=departments,
        areas=areas,
    )


# --- Case lists for CSV -------------------------------------------------------------------


def case_list(*, user, params):
    """The cases `user` may see, filtered as the staff case list filters them: the list's own
    parameters (q, status, unit, area, owner as ids, unowned, overdue, channel,
    received_from/received_to) go through its FilterSet (cases.filters), so a CSV link can
    repeat the list's query string. Also accepted: unit and area as slugs, owner as a user name
    (or "ingen"), from/to for the dates received."""
    from django.core.exceptions import ValidationError

    from cases.selectors_staff import case_filter

    data = params.copy()
    for ours, theirs in (("from", "received_from"), ("to", "received_to")):
        if data.get(ours) and not data.get(theirs):
            data[theirs] = data[ours]
    slugs = (("unit", Department, "slug"), ("area", ResponsibilityArea, "slug"))
    for name, model, field_name in slugs:
        value = data.get(name, "")
        if value and not value.isdigit():
            found = model.objects.filter(**{field_name: value}).values_list("pk", flat=True)
            data[name] = str(found[0]) if found else "0"
    owner = data.get("owner", "")
    if owner == "ingen":
        data["owner"], data["unowned"] = "", "on"
    elif owner and not owner.isdigit():
        from django.contrib.auth import get_user_model

        found = get_user_model().objects.filter(username=owner).values_list("pk", flat=True)
        data["owner"] = str(found[0]) if found else "0"
    if data.get("overdue") in {"0", "false", "nej"}:
        data.pop("overdue")
    found = case_filter(user, data)
    form = found.form
    if not found.is_valid():
        raise ValidationError(
            [
                f"{form.fields[name].label}: {' '.join(errors)}"
                if name in form.fields
                else " ".join(errors)
                for name, errors in form.errors.items()
            ]
        )
    return found.cases.select_related("company", "owning_department", "owner", "primary_area")


def insikt_cases(*, period: Period, insikt_area: str = ""):
    """Closed cases in Insikt areas, closed during the period (for the Insikt supplier)."""
    cur_from, cur_to, _prev_from, _prev_to = period.bounds()
    cases = (
        Case.objects.closed()
        .filter(closed_at__gte=cur_from, closed_at__lt=cur_to, anonymised_at__isnull=True)
        .exclude(insikt_area="")
        .select_related("company", "owning_department", "primary_area")
        .order_by("insikt_area", "closed_at")
    )
    if insikt_area:
        cases = cases.filter(insikt_area=insikt_area)
    return cases
