"""Rules every transition keeps: it records its own event kind, and it refuses (with nothing
changed) a person whose role may not do it. Plus the bugs people make that the rest of the
suite once let through: a declined or withdrawn transfer offer still showing the case, a
reopening without an event, a resolution deadline one working day short at intake, and the
dashboard counting cases that wait for the company as late."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from cases.deadlines import add_working_days
from cases.models import (
    Case,
    CaseDepartment,
    CaseEvent,
    CaseFollower,
    CaseOwnershipPeriod,
    Message,
    Transfer,
)
from cases.services import work
from cases.services.company import case_company_message
from cases.services.deadlines import case_extend_deadline
from departments.models import ResponsibilityArea
from insights.periods import parse_period
from insights.selectors import dashboard
from tests.factories import (
    AreaFactory,
    CaseFactory,
    DepartmentFactory,
    coordinator,
    lead,
    officer,
    submit_question,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    miljo = DepartmentFactory(slug="miljo", name="Miljöenheten")
    gata = DepartmentFactory(slug="gata", name="Gatuenheten")
    people = {
        "anna": officer(bygg, "anna"),  # the helhetsansvarig
        "bo": officer(bygg, "bo"),  # her colleague
        "bygg_lead": lead(bygg, "bygglead"),
        "mia": officer(miljo, "mia"),
        "gus": officer(gata, "gus"),  # a unit with no part in the case
    }
    case = CaseFactory(owning_department=bygg, owner=people["anna"], status="in_progress")
    CaseOwnershipPeriod.objects.create(case=case, department=bygg)
    return {"bygg": bygg, "miljo": miljo, "gata": gata, "case": case, **people}


def _offer(w):
    return work.case_transfer_offer(
        case_id=w["case"].pk, actor=w["anna"], to_department=w["miljo"], reason="Miljöfråga."
    )


def _ask(w):
    work.case_request_contribution(
        case_id=w["case"].pk,
        actor=w["anna"],
        department=w["miljo"],
        question="Strandskydd?",
        due_on=timezone.localdate() + dt.timedelta(days=7),
    )
    return CaseDepartment.objects.get(case=w["case"], department=w["miljo"])


def _unowned(w):
    Case.objects.filter(pk=w["case"].pk).update(owner=None)


def _closed(w):
    work.case_close(case_id=w["case"].pk, actor=w["anna"], body="Klart.")


# transition: (setup before, the call given the world and the actor, event kind, who may, who
# may not). Setups return what the call needs (a transfer, a contribution request).
TRANSITIONS = {
    "claim": (
        _unowned,
        lambda w, x, actor: work.case_claim(case_id=w["case"].pk, actor=actor),
        CaseEvent.Kind.CLAIMED,
        "bo",
        "mia",
    ),
    "assign": (
        None,
        lambda w, x, actor: work.case_assign(case_id=w["case"].pk, actor=actor, assignee=w["bo"]),
        CaseEvent.Kind.ASSIGNED,
        "bygg_lead",
        "anna",
    ),
    "transfer_offer": (
        None,
        lambda w, x, actor: work.case_transfer_offer(
            case_id=w["case"].pk, actor=actor, to_department=w["miljo"], reason="Miljöfråga."
        ),
        CaseEvent.Kind.TRANSFER_OFFERED,
        "anna",
        "bo",
    ),
    "transfer_accept": (
        _offer,
        lambda w, x, actor: work.case_transfer_accept(transfer_id=x.pk, actor=actor),
        CaseEvent.Kind.TRANSFER_ACCEPTED,
        "mia",
        "bo",
    ),
    "transfer_decline": (
        _offer,
        lambda w, x, actor: work.case_transfer_decline(
            transfer_id=x.pk, actor=actor, reason="Inte vår fråga."
        ),
        CaseEvent.Kind.TRANSFER_DECLINED,
        "mia",
        "anna",
    ),
    "change_areas": (
        None,
        lambda w, x, actor: work.case_change_areas(
            case_id=w["case"].pk, actor=actor, primary=AreaFactory(owner=w["bygg"])
        ),
        CaseEvent.Kind.AREAS_CHANGED,
        "anna",
        "bo",
    ),
    "request_contribution": (
        None,
        lambda w, x, actor: work.case_request_contribution(
            case_id=w["case"].pk,
            actor=actor,
            department=w["miljo"],
            question="Strandskydd?",
            due_on=timezone.localdate() + dt.timedelta(days=7),
        ),
        CaseEvent.Kind.CONTRIBUTION_REQUESTED,
        "anna",
        "bo",
    ),
    "claim_contribution": (
        _ask,
        lambda w, x, actor: work.case_claim_contribution(part_id=x.pk, actor=actor),
        CaseEvent.Kind.CLAIMED,
        "mia",
        "bo",
    ),
    "contribute": (
        _ask,
        lambda w, x, actor: work.case_contribute(part_id=x.pk, actor=actor, text="Inget hinder."),
        CaseEvent.Kind.CONTRIBUTION_ANSWERED,
        "mia",
        "bo",
    ),
    "reply": (
        None,
        lambda w, x, actor: work.case_reply(case_id=w["case"].pk, actor=actor, body="Svar."),
        CaseEvent.Kind.REPLIED,
        "anna",
        "bo",
    ),
    "note": (
        None,
        lambda w, x, actor: work.case_add_note(case_id=w["case"].pk, actor=actor, body="Ringt."),
        CaseEvent.Kind.NOTE_ADDED,
        "bo",
        "gus",
    ),
    "wait_for_company": (
        None,
        lambda w, x, actor: work.case_wait_for_company(
            case_id=w["case"].pk, actor=actor, body="Skicka ritningen."
        ),
        CaseEvent.Kind.WAITING_FOR_COMPANY,
        "anna",
        "bo",
    ),
    "close": (
        None,
        lambda w, x, actor: work.case_close(case_id=w["case"].pk, actor=actor, body="Klart."),
        CaseEvent.Kind.CLOSED,
        "anna",
        "bo",
    ),
    "reopen": (
        _closed,
        lambda w, x, actor: work.case_reopen(case_id=w["case"].pk, actor=actor, reason="Fråga"),
        CaseEvent.Kind.REOPENED,
        "anna",
        "bo",
    ),
    "extend_deadline": (
        None,
        lambda w, x, actor: case_extend_deadline(
            case_id=w["case"].pk,
            actor=actor,
            new_due=add_working_days(w["case"].due_at, 10),
            reason="Väntar på remiss.",
        ),
        CaseEvent.Kind.DEADLINE_EXTENDED,
        "anna",
        "bo",
    ),
}


def _state(case):
    case.refresh_from_db()
    parts = CaseDepartment.objects.filter(case=case)
    return (
        case.status,
        case.owner_id,
        case.owning_department_id,
        case.due_at,
        sorted(CaseEvent.objects.filter(case=case).values_list("kind", flat=True)),
        Message.objects.filter(case=case).count(),
        sorted(Transfer.objects.filter(case=case).values_list("status", flat=True)),
        list(parts.order_by("pk").values_list("officer_id", "done_at")),
    )


def test_every_transition_of_work_and_deadlines_is_in_the_table():
    public = {name.removeprefix("case_") for name in dir(work) if name.startswith("case_")}
    aliases = {"add_note": "note", "contribute": "contribute", "change_areas": "change_areas"}
    assert {aliases.get(name, name) for name in public} | {"extend_deadline"} == set(TRANSITIONS)


@pytest.mark.parametrize("name", TRANSITIONS)
def test_every_transition_records_its_event_kind(world, name):
    setup, call, kind, allowed, _refused = TRANSITIONS[name]
    extra = setup(world) if setup else None
    before = CaseEvent.objects.filter(case=world["case"], kind=kind).count()
    call(world, extra, world[allowed])
    events = CaseEvent.objects.filter(case=world["case"], kind=kind)
    assert events.count() == before + 1
    assert events.latest("pk").actor == world[allowed]


@pytest.mark.parametrize("name", TRANSITIONS)
def test_every_transition_refuses_a_role_that_may_not_and_changes_nothing(world, name):
    setup, call, _kind, _allowed, refused = TRANSITIONS[name]
    extra = setup(world) if setup else None
    before = _state(world["case"])
    with pytest.raises(PermissionDenied):
        call(world, extra, world[refused])
    assert _state(world["case"]) == before


# --- A unit that declined an offer, or whose offer was withdrawn, no longer sees the case ------


@pytest.mark.parametrize("end", ["declined", "withdrawn", "pending"])
def test_a_unit_offered_a_transfer_sees_the_case_only_while_the_offer_is_pending(world, end):
    """Security: the receiving unit's sight of a case ends with the offer."""
    case, mia = world["case"], world["mia"]
    assert not Case.objects.visible_to(mia).filter(pk=case.pk).exists()
    transfer = _offer(world)
    assert Case.objects.visible_to(mia).filter(pk=case.pk).exists()
    if end == "declined":
        work.case_transfer_decline(transfer_id=transfer.pk, actor=mia, reason="Inte vår.")
    elif end == "withdrawn":
        work.case_close(case_id=case.pk, actor=world["anna"], body="Klart.")
        assert Transfer.objects.get(pk=transfer.pk).status == Transfer.Status.WITHDRAWN
    sees = Case.objects.visible_to(mia).filter(pk=case.pk).exists()
    assert sees is (end == "pending")


# --- The resolution deadline at intake -------------------------------------------------------


@time_machine.travel(timezone.make_aware(dt.datetime(2026, 11, 2, 9, 0)), tick=False)
def test_intake_sets_both_deadlines_the_areas_number_of_working_days_ahead(
    client, norrtalje, no_form_timing
):
    area = ResponsibilityArea.objects.get(slug="serveringstillstand")
    ResponsibilityArea.objects.filter(pk=area.pk).update(first_answer_days=2, resolution_days=10)
    submit_question(client, area=area.pk)  # Monday 2 November 2026, 09:00
    case = Case.objects.get()
    assert case.primary_area == area
    assert case.first_answer_due == dt.date(2026, 11, 4)  # Wednesday
    assert case.due_at == dt.date(2026, 11, 16)  # ten working days: Monday two weeks on


# --- The dashboard's "Försenade nu" ---------------------------------------------------------


@time_machine.travel(timezone.make_aware(dt.datetime(2026, 3, 18, 10, 0)), tick=False)
def test_late_now_does_not_count_cases_waiting_for_the_company(db):
    unit = DepartmentFactory()
    past = dt.date(2026, 3, 10)
    late = CaseFactory(owning_department=unit, status="in_progress", due_at=past)
    CaseFactory(owning_department=unit, status="waiting_for_company", due_at=past)
    CaseFactory(owning_department=unit, status="in_progress", due_at=dt.date(2026, 3, 30))
    board = dashboard(user=coordinator(), period=parse_period({"period": "month"}))
    figures = {item["key"]: item for item in board.headline}
    assert figures["overdue"]["value"] == 1
    assert [case.pk for case in board.lists["overdue"]] == [late.pk]


# --- The case lists' querysets ----------------------------------------------------------------


@time_machine.travel(timezone.make_aware(dt.datetime(2026, 3, 18, 10, 0)), tick=False)
def test_overdue_and_unanswered_leave_out_waiting_closed_and_not_yet_due_cases(db):
    unit = DepartmentFactory()
    yesterday, today = dt.date(2026, 3, 17), dt.date(2026, 3, 18)

    def make(status, due, first_due=today, answered=None):
        return CaseFactory(
            owning_department=unit,
            status=status,
            due_at=due,
            first_answer_due=first_due,
            first_answered_at=answered,
            closed_at=timezone.now() if status == "closed" else None,
        )

    late = make("in_progress", yesterday, first_due=yesterday)
    answered = make("in_progress", yesterday, first_due=yesterday, answered=timezone.now())
    make("waiting_for_company", yesterday)
    closed = make("closed", yesterday, first_due=yesterday)
    make("in_progress", today)  # due today is not late yet
    assert set(Case.objects.overdue()) == {late, answered}
    assert list(Case.objects.first_answer_overdue()) == [late]
    assert list(Case.objects.overdue(today=yesterday)) == []
    assert list(Case.objects.closed()) == [closed]
    assert closed not in Case.objects.open()
    assert set(Case.objects.unowned()) == set(Case.objects.exclude(pk=closed.pk))
    Case.objects.filter(pk=late.pk).update(owner=coordinator())
    assert late not in set(Case.objects.unowned())


def test_a_company_reply_after_one_working_day_moves_the_deadline_by_one(db):
    monday = timezone.make_aware(dt.datetime(2026, 11, 23, 10, 0))
    with time_machine.travel(monday, tick=False):
        case = CaseFactory(
            status=Case.Status.WAITING_FOR_COMPANY,
            waiting_since=monday,
            first_answered_at=monday,
            due_at=dt.date(2026, 12, 4),  # a Friday
        )
    follower = CaseFollower.objects.get(case=case)
    with time_machine.travel(monday + dt.timedelta(days=1), tick=False):
        case_company_message(follower_id=follower.pk, body="Här är ritningen.")
    case.refresh_from_db()
    assert case.status == Case.Status.IN_PROGRESS
    assert case.due_at == dt.date(2026, 12, 7)  # the next working day after Friday 4 December
