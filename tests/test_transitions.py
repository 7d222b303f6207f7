"""Officers' transitions on a case (cases/services/work.py): each one is permission-checked,
recorded, and an illegal one changes nothing."""

import datetime as dt
import traceback

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cases.models import (
    Case,
    CaseArea,
    CaseDepartment,
    CaseEvent,
    CaseFollower,
    CaseOwnershipPeriod,
    Message,
    Transfer,
)
from cases.selectors import public_timeline
from cases.services import work
from cases.services.company import case_company_message
from tests.factories import (
    AreaFactory,
    CaseFactory,
    DepartmentFactory,
    coordinator,
    lead,
    officer,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def units():
    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten", email="bygg@norrtalje.se")
    miljo = DepartmentFactory(slug="miljo", name="Miljöenheten", email="miljo@norrtalje.se")
    return bygg, miljo


@pytest.fixture
def people(units):
    bygg, miljo = units
    return {
        "anna": officer(bygg, "anna"),
        "bo": officer(bygg, "bo"),
        "bygg_lead": lead(bygg, "bygglead"),
        "mia": officer(miljo, "mia"),
        "miljo_lead": lead(miljo, "miljolead"),
    }


def open_case(units, owner=None, **kwargs):
    case = CaseFactory(owning_department=units[0], owner=owner, **kwargs)
    CaseOwnershipPeriod.objects.create(case=case, department=units[0])
    return case


def snapshot(case):
    case.refresh_from_db()
    return (
        case.status,
        case.owner_id,
        case.owning_department_id,
        case.closed_at,
        CaseEvent.objects.filter(case=case).count(),
        Message.objects.filter(case=case).count(),
        Transfer.objects.filter(case=case).count(),
    )


# --- Claim and assign ----------------------------------------------------------------------


def test_officer_claims_an_unowned_case_of_the_unit(units, people):
    case = open_case(units)
    work.case_claim(case_id=case.pk, actor=people["anna"])
    case.refresh_from_db()
    assert case.owner == people["anna"]
    assert case.events.get(kind="claimed").is_public
    assert case.case_departments.get(role="owner").officer == people["anna"]


def test_claiming_an_owned_case_says_who_has_it_and_changes_nothing(units, people):
    case = open_case(units, owner=people["anna"])
    before = snapshot(case)
    with pytest.raises(ValidationError) as error:
        work.case_claim(case_id=case.pk, actor=people["bo"])
    assert "redan tagits av" in error.value.messages[0]
    assert snapshot(case) == before


def test_officer_of_another_unit_cannot_claim(units, people):
    case = open_case(units)
    with pytest.raises(PermissionDenied):
        work.case_claim(case_id=case.pk, actor=people["mia"])
    case.refresh_from_db()
    assert case.owner is None


def test_lead_assigns_inside_the_unit_but_not_to_an_outsider(units, people):
    case = open_case(units, owner=people["anna"])
    work.case_assign(case_id=case.pk, actor=people["bygg_lead"], assignee=people["bo"])
    case.refresh_from_db()
    assert case.owner == people["bo"]
    with pytest.raises(ValidationError):
        work.case_assign(case_id=case.pk, actor=people["bygg_lead"], assignee=people["mia"])
    case.refresh_from_db()
    assert case.owner == people["bo"]


def test_officer_and_other_units_lead_cannot_assign(units, people):
    case = open_case(units, owner=people["anna"])
    for actor in (people["anna"], people["miljo_lead"]):
        with pytest.raises(PermissionDenied):
            work.case_assign(case_id=case.pk, actor=actor, assignee=people["bo"])


def test_coordinator_assigns_any_case(units, people):
    case = open_case(units)
    work.case_assign(case_id=case.pk, actor=coordinator(), assignee=people["bo"])
    case.refresh_from_db()
    assert case.owner == people["bo"]


# --- Transfers -----------------------------------------------------------------------------


def test_transfer_without_reason_changes_nothing(units, people):
    case = open_case(units, owner=people["anna"])
    before = snapshot(case)
    with pytest.raises(ValidationError) as error:
        work.case_transfer_offer(
            case_id=case.pk, actor=people["anna"], to_department=units[1], reason="   "
        )
    assert "reason" in error.value.error_dict
    assert snapshot(case) == before


def test_sender_stays_helhetsansvarig_until_the_transfer_is_accepted(
    units, people, django_capture_on_commit_callbacks
):
    bygg, miljo = units
    case = open_case(units, owner=people["anna"])
    CaseFollower.objects.create(case=case, name="Per", email="per@example.se")

    transfer = work.case_transfer_offer(
        case_id=case.pk, actor=people["anna"], to_department=miljo, reason="Gäller buller"
    )
    case.refresh_from_db()
    assert (case.owner, case.owning_department) == (people["anna"], bygg)
    assert transfer.status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        work.case_transfer_accept(transfer_id=transfer.pk, actor=people["mia"])

    case.refresh_from_db()
    assert (case.owner, case.owning_department) == (people["mia"], miljo)
    assert case.transfer_count == 1
    periods = list(case.ownership_periods.order_by("started_at", "pk"))
    assert [p.department for p in periods] == [bygg, miljo]
    assert periods[0].ended_at is not None and periods[1].ended_at is None
    roles = dict(case.case_departments.values_list("department__slug", "role"))
    assert roles == {"bygg": "contributor", "miljo": "owner"}
    event = case.events.get(kind="transfer_accepted")
    assert event.is_public and event.data["owner"] == people["mia"].get_full_name()
    company_mails = [m for m in mail.outbox if m.to[0] in (case.contact_email, "per@example.se")]
    assert len(company_mails) == 2
    assert all("Miljöenheten" in m.body for m in company_mails)


def test_only_one_pending_transfer_per_case(units, people):
    case = open_case(units, owner=people["anna"])
    other = DepartmentFactory(slug="gata", name="Gatu- och parkavdelningen")
    work.case_transfer_offer(
        case_id=case.pk, actor=people["anna"], to_department=units[1], reason="Buller"
    )
    with pytest.raises(ValidationError):
        work.case_transfer_offer(
            case_id=case.pk, actor=people["anna"], to_department=other, reason="Gata"
        )
    assert case.transfers.count() == 1


def test_receiving_unit_declines_with_reason_and_suggestion(units, people):
    case = open_case(units, owner=people["anna"])
    gata = DepartmentFactory(slug="gata", name="Gatu- och parkavdelningen")
    transfer = work.case_transfer_offer(
        case_id=case.pk, actor=people["anna"], to_department=units[1], reason="Buller"
    )
    with pytest.raises(ValidationError):
        work.case_transfer_decline(transfer_id=transfer.pk, actor=people["mia"], reason="")
    work.case_transfer_decline(
        transfer_id=transfer.pk,
        actor=people["mia"],
        reason="Det gäller gatumark",
        suggested_department=gata,
    )
    transfer.refresh_from_db()
    case.refresh_from_db()
    assert transfer.status == "declined" and transfer.suggested_department == gata
    assert case.owner == people["anna"] and case.transfer_count == 0
    assert case.events.get(kind="transfer_declined").data["suggested"] == gata.name


def test_only_the_receiving_unit_answers_a_transfer(units, people):
    case = open_case(units, owner=people["anna"])
    transfer = work.case_transfer_offer(
        case_id=case.pk, actor=people["anna"], to_department=units[1], reason="Buller"
    )
    with pytest.raises(PermissionDenied):
        work.case_transfer_accept(transfer_id=transfer.pk, actor=people["bo"])
    transfer.refresh_from_db()
    assert transfer.status == "pending"


# --- Areas ---------------------------------------------------------------------------------


def test_changing_areas_records_old_and_new_for_the_router(units, people):
    bygg, miljo = units
    skylt = AreaFactory(slug="skylt", name="Skyltar", owner=bygg)
    buller = AreaFactory(slug="buller", name="Buller", owner=miljo, insikt_area="miljo_halsoskydd")
    case = open_case(units, owner=people["anna"], primary_area=skylt)
    CaseArea.objects.create(case=case, area=skylt, is_primary=True, position=0)

    work.case_change_areas(case_id=case.pk, actor=people["anna"], primary=buller, others=[skylt])

    case.refresh_from_db()
    assert case.primary_area == buller and case.insikt_area == "miljo_halsoskydd"
    rows = list(case.case_areas.order_by("position").values_list("area__slug", "is_primary"))
    assert rows == [("buller", True), ("skylt", False)]
    event = case.events.get(kind="areas_changed")
    assert event.data["old"] == ["skylt"] and event.data["new"] == ["buller", "skylt"]
    assert case.case_departments.filter(department=miljo).exists()


# --- Contributions -------------------------------------------------------------------------


def test_contribution_is_requested_answered_and_never_reaches_the_company(
    units, people, django_capture_on_commit_callbacks
):
    bygg, miljo = units
    case = open_case(units, owner=people["anna"])
    follower = case.followers.get()
    with django_capture_on_commit_callbacks(execute=True):
        request = work.case_request_contribution(
            case_id=case.pk,
            actor=people["anna"],
            department=miljo,
            question="Krävs anmälan för ventilationen?",
            due_on=case.due_at,
        )
    assert not request.after_case_due
    assert any(m.to == ["miljo@norrtalje.se"] for m in mail.outbox)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        work.case_contribute(part_id=request.part.pk, actor=people["mia"], text="Ja, anmälan.")

    part = CaseDepartment.objects.get(pk=request.part.pk)
    assert part.done_at and part.officer == people["mia"]
    assert [m.to for m in mail.outbox] == [[people["anna"].email]]
    assert follower.email not in {m.to[0] for m in mail.outbox}
    assert not any(
        e.event and e.event.kind.startswith("contribution") for e in public_timeline(case)
    )


def test_contribution_due_after_the_case_is_flagged(units, people):
    case = open_case(units, owner=people["anna"])
    result = work.case_request_contribution(
        case_id=case.pk,
        actor=people["anna"],
        department=units[1],
        question="Yttrande?",
        due_on=case.due_at + dt.timedelta(days=7),
    )
    assert result.after_case_due
    assert case.events.get(kind="contribution_requested").data["after_case_due"] is True


def test_only_the_asked_unit_contributes(units, people):
    case = open_case(units, owner=people["anna"])
    request = work.case_request_contribution(
        case_id=case.pk,
        actor=people["anna"],
        department=units[1],
        question="Yttrande?",
        due_on=case.due_at,
    )
    with pytest.raises(PermissionDenied):
        work.case_contribute(part_id=request.part.pk, actor=people["bo"], text="Jag svarar")


def test_contribution_request_can_be_taken_once(units, people):
    case = open_case(units, owner=people["anna"])
    other = officer(units[1], "maja")
    request = work.case_request_contribution(
        case_id=case.pk,
        actor=people["anna"],
        department=units[1],
        question="Yttrande?",
        due_on=case.due_at,
    )
    work.case_claim_contribution(part_id=request.part.pk, actor=people["mia"])
    with pytest.raises(ValidationError):
        work.case_claim_contribution(part_id=request.part.pk, actor=other)
    assert CaseDepartment.objects.get(pk=request.part.pk).officer == people["mia"]


# --- Messages, waiting, closing ------------------------------------------------------------


def test_reply_goes_to_every_follower_and_counts_as_first_answer(
    units, people, django_capture_on_commit_callbacks
):
    case = open_case(units, owner=people["anna"])
    CaseFollower.objects.create(case=case, name="Per", email="per@example.se")
    CaseFollower.objects.create(
        case=case, name="Gammal", email="old@example.se", revoked_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        work.case_reply(case_id=case.pk, actor=people["anna"], body="Ni behöver bygglov.")
    case.refresh_from_db()
    assert case.status == "in_progress" and case.first_answered_at is not None
    assert sorted(m.to[0] for m in mail.outbox) == sorted([case.contact_email, "per@example.se"])
    assert all("Ni behöver bygglov." in m.body for m in mail.outbox)


def test_internal_note_is_not_shown_to_the_company(units, people):
    case = open_case(units, owner=people["anna"])
    work.case_add_note(case_id=case.pk, actor=people["anna"], body="Ring chefen först")
    entries = public_timeline(case)
    assert not any(e.message and "Ring chefen" in e.message.body for e in entries)
    assert case.messages.get().kind == "internal"


def test_waiting_for_company_and_the_companys_reply_resume_the_case(
    units, people, django_capture_on_commit_callbacks
):
    case = open_case(units, owner=people["anna"])
    with pytest.raises(ValidationError):
        work.case_wait_for_company(case_id=case.pk, actor=people["anna"], body="")
    work.case_wait_for_company(case_id=case.pk, actor=people["anna"], body="Skicka ritningen.")
    case.refresh_from_db()
    assert case.status == "waiting_for_company" and case.waiting_since is not None
    with django_capture_on_commit_callbacks(execute=True):
        case_company_message(follower_id=case.followers.get().pk, body="Här är ritningen.")
    case.refresh_from_db()
    assert case.status == "in_progress" and case.waiting_since is None
    assert any(m.to == [people["anna"].email] for m in mail.outbox)


def test_close_needs_final_answer_and_announces_the_closing_after_commit(
    units, people, monkeypatch, django_capture_on_commit_callbacks
):
    invited = []
    monkeypatch.setattr(
        "insights.services.feedback_invite", lambda case_id: invited.append(case_id)
    )
    case = open_case(units, owner=people["anna"])
    before = snapshot(case)
    with pytest.raises(ValidationError):
        work.case_close(case_id=case.pk, actor=people["anna"], body=" ")
    assert snapshot(case) == before

    with django_capture_on_commit_callbacks(execute=True):
        work.case_close(case_id=case.pk, actor=people["anna"], body="Svar: bygglov krävs.")
    case.refresh_from_db()
    assert case.status == "closed" and case.closed_at is not None
    assert case.messages.get(is_final_answer=True).body == "Svar: bygglov krävs."
    assert invited == [case.pk]


@pytest.mark.parametrize(
    "action",
    [
        lambda case, actor: work.case_close(case_id=case.pk, actor=actor, body="Igen"),
        lambda case, actor: work.case_reply(case_id=case.pk, actor=actor, body="Hej"),
        lambda case, actor: work.case_wait_for_company(case_id=case.pk, actor=actor, body="X"),
    ],
    ids=["close", "reply", "wait"],
)
def test_illegal_action_on_a_closed_case_changes_nothing(units, people, action):
    case = open_case(units, owner=people["anna"])
    work.case_close(case_id=case.pk, actor=people["anna"], body="Klart.")
    before = snapshot(case)
    with pytest.raises(ValidationError) as error:
        action(case, people["anna"])
    assert "avslutat" in error.value.messages[0]
    assert snapshot(case) == before


def test_reopen_needs_reason_and_restarts_the_units_time(units, people):
    case = open_case(units, owner=people["anna"])
    work.case_close(case_id=case.pk, actor=people["anna"], body="Klart.")
    with pytest.raises(ValidationError):
        work.case_reopen(case_id=case.pk, actor=people["anna"], reason="")
    work.case_reopen(case_id=case.pk, actor=people["anna"], reason="Företaget hade en följdfråga")
    case.refresh_from_db()
    assert case.status == "in_progress" and case.closed_at is None
    assert case.ownership_periods.filter(ended_at__isnull=True).count() == 1
    with pytest.raises(ValidationError):
        work.case_reopen(case_id=case.pk, actor=people["anna"], reason="igen")


def test_closing_withdraws_a_pending_transfer(units, people):
    case = open_case(units, owner=people["anna"])
    transfer = work.case_transfer_offer(
        case_id=case.pk, actor=people["anna"], to_department=units[1], reason="Buller"
    )
    work.case_close(case_id=case.pk, actor=people["anna"], body="Löst direkt.")
    transfer.refresh_from_db()
    assert transfer.status == "withdrawn"


def test_every_transition_is_in_the_status_table():
    names = {
        name.removeprefix("case_")
        for name in dir(work)
        if name.startswith("case_") and callable(getattr(work, name))
    }
    table = set(work.TRANSITIONS)
    assert {"claim", "reply", "close", "reopen", "transfer_offer"} <= table
    assert {
        n.replace("add_note", "note").replace("transfer_offer", "transfer_offer") for n in names
    } <= table


def test_officer_cannot_act_on_a_colleagues_case(units, people):
    case = open_case(units, owner=people["anna"])
    with pytest.raises(PermissionDenied):
        work.case_reply(case_id=case.pk, actor=people["bo"], body="Hej")
    assert not case.messages.exists()
    assert Case.objects.get(pk=case.pk).status == "received"


# --- Two officers at the same moment (real concurrent transactions on PostgreSQL) ---------


@pytest.mark.django_db(transaction=True)
def test_two_officers_taking_the_same_case_at_once_one_wins_the_other_is_told(require_postgres):
    from tests.test_concurrency import run_concurrently

    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    takers = [officer(bygg, f"officer{n}") for n in range(4)]
    case = CaseFactory(owning_department=bygg, owner=None)

    def take(user):
        def run():
            work.case_claim(case_id=case.pk, actor=user)
            return user.pk

        return run

    winners, errors = run_concurrently([take(user) for user in takers])

    winners = [w for w in winners if w is not None]
    assert len(winners) == 1
    assert len(errors) == 3
    assert all(isinstance(e, ValidationError) for e in errors), errors
    assert all("redan tagits av" in e.messages[0] for e in errors)
    case.refresh_from_db()
    assert case.owner_id == winners[0]
    assert case.events.filter(kind="claimed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_units_accepting_and_declining_one_transfer_at_once_decide_it_once(
    require_postgres,
):
    from tests.test_concurrency import run_concurrently

    bygg = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    miljo = DepartmentFactory(slug="miljo", name="Miljöenheten")
    anna = officer(bygg, "anna")
    mia, max_ = officer(miljo, "mia"), officer(miljo, "max")

    for _round in range(5):  # the race goes either way; each way must hold
        case = CaseFactory(owning_department=bygg, owner=anna)
        CaseOwnershipPeriod.objects.create(case=case, department=bygg)
        transfer = work.case_transfer_offer(
            case_id=case.pk, actor=anna, to_department=miljo, reason="Buller"
        )

        results, errors = run_concurrently(
            [
                lambda t=transfer: work.case_transfer_accept(transfer_id=t.pk, actor=mia),
                lambda t=transfer: work.case_transfer_decline(
                    transfer_id=t.pk, actor=max_, reason="Nej"
                ),
            ]
        )

        assert len(errors) == 1, errors
        assert isinstance(errors[0], ValidationError), "".join(
            traceback.format_exception(errors[0])
        )
        assert "redan besvarad" in errors[0].messages[0]
        transfer.refresh_from_db()
        case.refresh_from_db()
        assert transfer.status in ("accepted", "declined")
        assert case.transfer_count == (1 if transfer.status == "accepted" else 0)
        assert case.ownership_periods.filter(ended_at__isnull=True).count() == 1
