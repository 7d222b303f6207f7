"""The reminder sweep: who is reminded of what, when, and never twice."""

import datetime as dt
import zoneinfo
from collections import Counter
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case, CaseDepartment, CaseEvent, CaseFollower, Reminder, Transfer
from cases.selectors_staff import failed_emails_for_case
from cases.services.deadlines import case_extend_deadline
from followup import reminders
from followup.reminders import (
    Candidate,
    morning_digest,
    register_source,
    reminder_sweep,
)
from followup.reminders import mail as mail_module
from outbox.models import OutgoingEmail
from outbox.replies import reply_address
from tests.factories import CaseFactory, DepartmentFactory, coordinator, lead, officer

pytestmark = pytest.mark.django_db

STHLM = zoneinfo.ZoneInfo("Europe/Stockholm")
D = dt.date


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=STHLM)


# Wednesday 2 December 2026, a working day; Thursday 3 is the next one.
NOW = at(2026, 12, 2, 9, 0)


@pytest.fixture
def unit(db):
    return DepartmentFactory(slug="bygglov", name="Bygglov", email="bygglov@norrtalje.se")


@pytest.fixture
def anna(unit):
    return officer(unit, username="anna")


@pytest.fixture
def chief(unit):
    return lead(unit, username="chefen")


@pytest.fixture
def lotsen(db):
    return coordinator(username="lotsen")


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """Run a sweep at a moment and return the e-mails it sent: {address: [subjects]}."""

    def run(moment=NOW, **kwargs):
        before = len(mail.outbox)
        travel = time_machine.travel(moment, tick=False)
        with travel, django_capture_on_commit_callbacks(execute=True):
            report = reminder_sweep(**kwargs)
        sent = {}
        for message in mail.outbox[before:]:
            sent.setdefault(message.to[0], []).append(message.subject)
        run.report = report
        return sent

    return run


def make_case(unit, owner=None, *, received=at(2026, 11, 16, 9, 0), **fields):
    fields.setdefault("status", Case.Status.IN_PROGRESS)
    fields.setdefault("first_answered_at", received + dt.timedelta(hours=2))
    fields.setdefault("first_answer_due", D(2026, 11, 18))
    fields.setdefault("due_at", D(2026, 12, 18))
    return CaseFactory(owning_department=unit, owner=owner, received_at=received, **fields)


# --- Before the deadline ----------------------------------------------------------------------


def test_the_owner_is_reminded_one_working_day_before_the_first_answer(unit, anna, sweep):
    case = make_case(unit, anna, first_answered_at=None, first_answer_due=D(2026, 12, 3))
    later = make_case(unit, anna, first_answered_at=None, first_answer_due=D(2026, 12, 4))

    sent = sweep()

    assert list(sent) == ["anna@norrtalje.se"]
    assert len(sent["anna@norrtalje.se"]) == 1
    assert case.reference in sent["anna@norrtalje.se"][0]
    assert not Reminder.objects.filter(case=later).exists()
    event = case.events.get(kind=CaseEvent.Kind.REMINDER_SENT)
    assert not event.is_public
    assert event.data["reminder"] == "first_answer_soon"


def test_the_owner_is_reminded_one_working_day_before_the_resolution_deadline(unit, anna, sweep):
    case = make_case(unit, anna, due_at=D(2026, 12, 3))

    sent = sweep()

    assert sent == {"anna@norrtalje.se": [f"Ärendet ska avslutas snart: {case.reference}"]}


def test_before_christmas_the_reminder_comes_before_the_days_off(unit, anna, sweep):
    # Due Monday 28 December: the last working day before is Wednesday 23 December.
    make_case(unit, anna, due_at=D(2026, 12, 28))

    assert sweep(at(2026, 12, 22, 9, 0)) == {}
    assert len(sweep(at(2026, 12, 23, 9, 0))["anna@norrtalje.se"]) == 1


def test_nothing_is_sent_on_a_day_off(unit, anna, sweep):
    make_case(unit, anna, due_at=D(2026, 11, 20))

    assert sweep(at(2026, 12, 5, 9, 0)) == {}  # a Saturday
    assert sweep.report.skipped_day_off
    assert len(sweep(at(2026, 12, 7, 9, 0))["anna@norrtalje.se"]) == 1  # Monday


# --- Overdue and escalation ------------------------------------------------------------------


def test_an_overdue_case_goes_to_the_owner_then_the_lead_then_the_coordinator(
    unit, anna, chief, lotsen, sweep
):
    case = make_case(unit, anna, due_at=D(2026, 12, 1))  # Tuesday

    day1 = sweep(at(2026, 12, 2, 9, 0))
    assert list(day1) == ["anna@norrtalje.se"]
    assert "försenat" in day1["anna@norrtalje.se"][0]
    assert sweep(at(2026, 12, 3, 9, 0)) == {}  # 2 working days late: not yet

    day3 = sweep(at(2026, 12, 4, 9, 0))  # 3 = 1 + REMINDER_ESCALATE_AFTER_DAYS
    assert list(day3) == ["chefen@norrtalje.se"]
    assert sweep(at(2026, 12, 7, 9, 0)) == {}

    day5 = sweep(at(2026, 12, 8, 9, 0))
    assert list(day5) == ["lotsen@norrtalje.se"]
    assert sweep(at(2026, 12, 9, 9, 0)) == {}

    kinds = list(case.events.order_by("pk").values_list("kind", "data__reminder"))
    assert kinds == [
        ("reminder_sent", "overdue"),
        ("escalated", "escalate_lead"),
        ("escalated", "escalate_coordinator"),
    ]


def test_the_escalation_delay_is_a_setting(unit, anna, chief, settings, sweep):
    settings.REMINDER_ESCALATE_AFTER_DAYS = 1
    make_case(unit, anna, due_at=D(2026, 11, 30))  # 2 working days late on 2 December

    sent = sweep()

    assert set(sent) == {"anna@norrtalje.se", "chefen@norrtalje.se"}


def test_a_case_waiting_for_the_company_is_not_overdue(unit, anna, sweep):
    make_case(
        unit,
        anna,
        due_at=D(2026, 11, 20),
        status=Case.Status.WAITING_FOR_COMPANY,
        waiting_since=at(2026, 12, 1, 10, 0),
    )

    assert sweep() == {}


def test_an_extended_deadline_gets_reminders_of_its_own(unit, anna, sweep):
    case = make_case(unit, anna, due_at=D(2026, 12, 1))
    assert len(sweep(at(2026, 12, 2, 9, 0))["anna@norrtalje.se"]) == 1

    with time_machine.travel(at(2026, 12, 2, 10, 0), tick=False):
        case_extend_deadline(case_id=case.pk, actor=anna, new_due=D(2026, 12, 8), reason="Remiss.")

    assert sweep(at(2026, 12, 4, 9, 0)) == {}  # the new date is not near
    sent = sweep(at(2026, 12, 7, 9, 0))
    assert sent == {"anna@norrtalje.se": [f"Ärendet ska avslutas snart: {case.reference}"]}


def test_an_unowned_case_older_than_a_working_day_goes_to_the_lead_at_once(unit, chief, sweep):
    old = make_case(unit, None, received=at(2026, 12, 1, 9, 0), due_at=D(2026, 12, 15))
    make_case(unit, None, received=at(2026, 12, 2, 8, 0), due_at=D(2026, 12, 16))

    sent = sweep()

    assert sent == {"chefen@norrtalje.se": [f"Ärende utan helhetsansvarig: {old.reference}"]}
    assert old.events.get(kind=CaseEvent.Kind.ESCALATED).data["reminder"] == "unowned"


def test_without_an_owner_the_unit_mailbox_gets_the_owner_reminders(unit, sweep):
    make_case(unit, None, received=at(2026, 12, 2, 8, 0), due_at=D(2026, 12, 3))

    assert list(sweep()) == ["bygglov@norrtalje.se"]


# --- Waiting for the company ------------------------------------------------------------------


def test_the_company_is_reminded_after_five_working_days_and_the_owner_after_ten(unit, anna, sweep):
    case = make_case(
        unit,
        anna,
        status=Case.Status.WAITING_FOR_COMPANY,
        waiting_since=at(2026, 11, 23, 14, 0),  # Monday
    )
    CaseFollower.objects.create(case=case, name="Kollega", email="kollega@example.se")
    CaseFollower.objects.create(
        case=case, name="Slutat", email="slutat@example.se", revoked_at=at(2026, 11, 24, 9, 0)
    )

    assert sweep(at(2026, 11, 27, 9, 0)) == {}  # 4 working days
    five = sweep(at(2026, 11, 30, 9, 0))
    assert set(five) == {case.contact_email, "kollega@example.se"}
    body = mail.outbox[-1].body
    assert "/arende/" in body  # the follower's own tracking link
    colleague = CaseFollower.objects.get(email="kollega@example.se")
    to_colleague = next(m for m in mail.outbox if m.to == ["kollega@example.se"])
    assert to_colleague.reply_to == [reply_address(colleague.pk)]  # answer by replying
    assert sweep(at(2026, 12, 4, 9, 0)) == {}

    ten = sweep(at(2026, 12, 7, 9, 0))
    assert list(ten) == ["anna@norrtalje.se"]
    assert "inte svarat" in ten["anna@norrtalje.se"][0]


def test_the_company_reminder_setting(unit, anna, settings, sweep):
    settings.COMPANY_REMINDER_DAYS = 2
    case = make_case(
        unit, anna, status=Case.Status.WAITING_FOR_COMPANY, waiting_since=at(2026, 11, 30, 9, 0)
    )

    assert list(sweep()) == [case.contact_email]


# --- Contributions ---------------------------------------------------------------------------


@pytest.fixture
def other_unit(db):
    return DepartmentFactory(slug="miljo", name="Miljö", email="miljo@norrtalje.se")


def ask(case, unit, due_on, officer=None):
    return CaseDepartment.objects.create(
        case=case,
        department=unit,
        role=CaseDepartment.Role.CONTRIBUTOR,
        question="Behövs anmälan?",
        requested_at=at(2026, 11, 25, 9, 0),
        due_on=due_on,
        officer=officer,
    )


def test_the_contributor_is_reminded_before_the_contribution_is_due(unit, anna, other_unit, sweep):
    case = make_case(unit, anna)
    ask(case, other_unit, D(2026, 12, 3))
    bertil = officer(other_unit, username="bertil")
    ask(make_case(unit, anna), other_unit, D(2026, 12, 3), officer=bertil)

    sent = sweep()

    # Nobody has taken the first request yet: the unit's mailbox is reminded.
    assert set(sent) == {"miljo@norrtalje.se", "bertil@norrtalje.se"}


def test_a_late_contribution_is_told_to_the_owner_before_the_case_is_overdue(
    unit, anna, other_unit, sweep
):
    case = make_case(unit, anna, due_at=D(2026, 12, 18))
    ask(case, other_unit, D(2026, 12, 1))

    sent = sweep()

    assert list(sent) == ["anna@norrtalje.se"]
    assert "Underlag dröjer" in sent["anna@norrtalje.se"][0]
    assert "Miljö" in mail.outbox[-1].body


def test_a_contribution_due_after_the_case_is_told_to_the_owner_the_day_before(
    unit, anna, other_unit, sweep
):
    case = make_case(unit, anna, due_at=D(2026, 12, 3))
    ask(case, other_unit, D(2026, 12, 10))

    sent = sweep()

    # Two reminders to the same person in one sweep: one e-mail listing both.
    assert sent == {"anna@norrtalje.se": ["2 påminnelser från Företagslotsen"]}
    body = mail.outbox[-1].body
    assert "Underlag dröjer" in body
    assert "Ska avslutas senast nästa arbetsdag" in body
    assert "efter ärendets egen tidsgräns" in body
    assert body.count(f"- {case.reference}") == 2


def test_an_answered_contribution_is_not_chased(unit, anna, other_unit, sweep):
    part = ask(make_case(unit, anna), other_unit, D(2026, 12, 1))
    part.done_at = at(2026, 11, 30, 9, 0)
    part.save()

    assert sweep() == {}


# --- Transfers --------------------------------------------------------------------------------


def test_a_transfer_left_unanswered_for_a_working_day_alerts_the_coordinator(
    unit, anna, other_unit, lotsen, sweep
):
    case = make_case(unit, anna)
    Transfer.objects.create(
        case=case,
        from_department=unit,
        to_department=other_unit,
        offered_by=anna,
        reason="Gäller miljö.",
        created_at=at(2026, 12, 1, 9, 0),
    )
    fresh = make_case(unit, anna)
    Transfer.objects.create(
        case=fresh,
        from_department=unit,
        to_department=other_unit,
        reason="Gäller miljö.",
        created_at=at(2026, 12, 2, 8, 0),
    )

    sent = sweep()

    assert sent == {"lotsen@norrtalje.se": [f"Överlämning utan svar: {case.reference}"]}
    assert "Miljö" in mail.outbox[-1].body


# --- Exactly once -----------------------------------------------------------------------------


def test_a_second_sweep_sends_nothing(unit, anna, chief, lotsen, sweep):
    for _ in range(3):
        make_case(unit, anna, due_at=D(2026, 11, 20))

    first = sweep()
    reminders_after_first = Reminder.objects.count()
    emails_after_first = OutgoingEmail.objects.count()

    assert sweep.report.total == 9  # owner, lead, coordinator × 3 cases
    assert {k: len(v) for k, v in first.items()} == {  # one mail each, listing 3 cases
        "anna@norrtalje.se": 1,
        "chefen@norrtalje.se": 1,
        "lotsen@norrtalje.se": 1,
    }
    assert sweep() == {}
    assert Reminder.objects.count() == reminders_after_first
    assert OutgoingEmail.objects.count() == emails_after_first
    assert sweep.report.total == 0


def test_each_reminder_row_points_at_its_email(unit, anna, sweep):
    make_case(unit, anna, due_at=D(2026, 12, 3))

    sweep()

    reminder = Reminder.objects.get()
    assert reminder.email.to == "anna@norrtalje.se"
    assert reminder.email.status == OutgoingEmail.Status.SENT
    assert reminder.recipient == anna


def test_a_reminder_another_sweep_just_sent_is_left_out_of_the_mail(unit, anna, sweep):
    taken = make_case(unit, anna, due_at=D(2026, 12, 3))
    mine = make_case(unit, anna, due_at=D(2026, 12, 3))
    # Another sweep committed this one (its case is derived again: the sweep's INSERT ... ON
    # CONFLICT DO NOTHING, not a look-up before it, keeps it out).
    Reminder.objects.create(
        kind="due_soon",
        subject_key=f"case:{taken.pk}:due:2026-12-03",
        recipient_email="anna@norrtalje.se",
        case=taken,
    )
    sent = sweep()

    assert sent == {"anna@norrtalje.se": [f"Ärendet ska avslutas snart: {mine.reference}"]}
    assert taken.reference not in mail.outbox[-1].body
    assert OutgoingEmail.objects.count() == 1
    assert Reminder.objects.get(case=mine).email == OutgoingEmail.objects.get()
    assert not taken.events.exists()


def _count_queries(moment=NOW):
    with time_machine.travel(moment, tick=False), CaptureQueriesContext(connection) as queries:
        reminder_sweep(flush_outbox=False)
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_open_cases(unit, anna, chief, lotsen):
    for _ in range(3):
        make_case(unit, anna, due_at=D(2026, 11, 20))
    for _ in range(3):
        make_case(unit, anna, due_at=D(2027, 2, 1))
    small = _count_queries()
    Reminder.objects.all().delete()
    for _ in range(40):
        make_case(unit, anna, due_at=D(2027, 2, 1))
    large = _count_queries()

    assert large == small
    # incl. remembering the handled cases (ReminderMark), consuming the change records and
    # recording the sweep as complete (quiet), creating the two temporary tables
    assert small <= 30


def test_a_sweep_with_nothing_new_takes_the_same_few_queries_at_any_size(unit, anna):
    for _ in range(2):
        make_case(unit, anna, due_at=D(2026, 11, 20))
    _count_queries()
    small = _count_queries()
    for _ in range(30):
        make_case(unit, anna, due_at=D(2026, 11, 20))
    _count_queries()
    large = _count_queries()

    assert small == large <= 16


def test_a_backlog_streams_through_the_sweep_a_chunk_at_a_time(
    unit, anna, chief, lotsen, sweep, monkeypatch
):
    cases = [
        make_case(
            unit,
            anna,
            received=at(2026, 11, 2, 9, 0) + dt.timedelta(minutes=n),
            due_at=D(2026, 11, 20),
        )
        for n in range(45)
    ]
    monkeypatch.setattr(reminders.sweep, "SWEEP_CHUNK", 6)
    chunks, kept = [], []
    add_chunk, add_to_section = reminders.sweep._Delivery.add, mail_module._Section.add

    def spy_chunk(self, chunk):
        chunks.append(len(chunk))
        return add_chunk(self, chunk)

    def spy_section(self, *args):
        add_to_section(self, *args)
        kept.append(len(self.kept))

    monkeypatch.setattr(reminders.sweep._Delivery, "add", spy_chunk)
    monkeypatch.setattr(mail_module._Section, "add", spy_section)

    sent = sweep()

    # owner, lead and coordinator × 45 cases, held 6 (+ the rest of a case) at a time, and
    # per mail section never more than twice the cases a mail lists
    assert sweep.report.total == Reminder.objects.count() == 135
    assert CaseEvent.objects.filter(kind__in=["reminder_sent", "escalated"]).count() == 135
    assert sum(chunks) == 135 and len(chunks) >= 135 // 8 and max(chunks) <= 6 + 2
    assert max(kept) < 2 * reminders.SECTION_LIST_LIMIT
    assert {to: len(subjects) for to, subjects in sent.items()} == {
        "anna@norrtalje.se": 1,
        "chefen@norrtalje.se": 1,
        "lotsen@norrtalje.se": 1,
    }
    to_lotsen = next(m for m in mail.outbox if m.to == ["lotsen@norrtalje.se"])
    assert "Bygglov: 45" in to_lotsen.body
    assert [c for c in cases if c.reference in to_lotsen.body] == cases[:20]  # the oldest
    assert not Reminder.objects.filter(email__isnull=True).exists()


# --- E-mail delivery --------------------------------------------------------------------------


def test_a_receipt_the_relay_did_not_send_is_sent_by_the_next_sweep(
    norrtalje, django_capture_on_commit_callbacks, sweep, settings
):
    """The worker's outbox relay did not run (the broker or the worker down): the sweep
    sends what is still pending."""
    from cases.services.intake import Inquiry, case_create

    settings.OUTBOX_SEND_ON_COMMIT = False  # as in production, with no relay running
    with (
        time_machine.travel(at(2026, 12, 2, 8, 0), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        case, follower = case_create(
            inquiry=Inquiry(
                org_number="556036-0793",
                company_name="Roslagens Kafé AB",
                contact_name="Maria Lind",
                email="maria@example.se",
                subject="Bygglov för skylt",
                description="Vi vill sätta upp en skylt på fasaden.",
            )
        )
    assert Case.objects.filter(pk=case.pk).exists()
    assert not mail.outbox
    assert OutgoingEmail.objects.filter(kind="receipt", status="pending").exists()

    sent = sweep(at(2026, 12, 2, 8, 5))

    assert "maria@example.se" in sent
    assert OutgoingEmail.objects.get(kind="receipt").status == OutgoingEmail.Status.SENT
    assert sweep.report.flushed_emails >= 1


def test_reminder_mails_wait_in_the_outbox_when_the_broker_is_down(unit, anna, sweep):
    make_case(unit, anna, due_at=D(2026, 12, 3))
    with mock.patch(
        "followup.tasks.email_send_batch_task.apply_async", side_effect=OSError("Redis är nere")
    ):
        assert sweep() == {}
    assert Reminder.objects.count() == 1
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.PENDING

    sent = sweep(at(2026, 12, 2, 9, 10))

    assert list(sent) == ["anna@norrtalje.se"]
    assert Reminder.objects.count() == 1


def test_a_mail_that_failed_for_good_is_listed_on_the_cases_it_is_about(unit, anna, sweep):
    case = make_case(unit, anna, due_at=D(2026, 12, 3))
    also = make_case(unit, anna, due_at=D(2026, 12, 3))
    other = make_case(unit, anna)

    # The send task retries with backoff (immediately in eager mode) and then gives up.
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=OSError("SMTP nere")):
        assert sweep() == {}

    email = OutgoingEmail.objects.get()  # one mail to Anna listing both cases
    assert email.status == OutgoingEmail.Status.FAILED
    assert email.attempts == 5
    for about in (case, also):
        failed = failed_emails_for_case(about)
        assert [f.pk for f in failed] == [email.pk]
        assert "SMTP nere" in failed[0].last_error
    assert failed_emails_for_case(other) == []
    # Failed for good is not pending: the sweep does not try it again.
    assert sweep(at(2026, 12, 2, 10, 0)) == {}


# --- Plug-in sources --------------------------------------------------------------------------


def test_another_app_can_add_a_source_of_reminders(unit, anna, sweep):
    case = make_case(unit, anna)

    def action_items(ctx):
        yield Candidate(
            kind="action_item_due",
            subject_key=f"action_item:1:{ctx.next_working_day}",
            recipient_email="ANNA@norrtalje.se",
            recipient_id=anna.pk,
            template="emails/reminder_due_soon",
            case_id=case.pk,
            due_on=ctx.next_working_day,
        )

    register_source(action_items)
    register_source(action_items)
    try:
        first = sweep()
        second = sweep()
    finally:
        reminders._sources.remove(action_items)

    assert first == {"anna@norrtalje.se": [f"Ärendet ska avslutas snart: {case.reference}"]}
    assert second == {}
    assert Reminder.objects.get().kind == "action_item_due"


def test_a_failing_plug_in_source_does_not_stop_the_others(unit, anna, sweep):
    make_case(unit, anna, due_at=D(2026, 12, 3))

    def broken(ctx):
        raise RuntimeError("trasig")

    register_source(broken)
    try:
        sent = sweep()
    finally:
        reminders._sources.remove(broken)

    assert list(sent) == ["anna@norrtalje.se"]


# --- The morning digest -----------------------------------------------------------------------


def _digest(moment, django_capture_on_commit_callbacks):
    before = len(mail.outbox)
    travel = time_machine.travel(moment, tick=False)
    with travel, django_capture_on_commit_callbacks(execute=True):
        morning_digest()
    return mail.outbox[before:]


def test_each_officer_gets_one_morning_digest_per_working_day(
    unit, anna, django_capture_on_commit_callbacks
):
    today = make_case(unit, anna, due_at=D(2026, 12, 2), subject="Skylt i dag")
    late = make_case(unit, anna, due_at=D(2026, 11, 27), subject="Försenad skylt")
    waiting = make_case(
        unit,
        anna,
        subject="Väntande skylt",
        status=Case.Status.WAITING_FOR_COMPANY,
        waiting_since=at(2026, 11, 30, 9, 0),
    )
    make_case(unit, anna, due_at=D(2027, 1, 20), subject="Långt fram")
    bertil = officer(unit, username="bertil")
    make_case(unit, bertil, due_at=D(2027, 1, 20))  # nothing to report for Bertil

    sent = _digest(at(2026, 12, 2, 7, 0), django_capture_on_commit_callbacks)

    assert [m.to for m in sent] == [["anna@norrtalje.se"]]
    body = sent[0].body
    assert today.reference in body and late.reference in body and waiting.reference in body
    assert "Långt fram" not in body
    assert "förfallen sedan 3 arbetsdagar" in body
    assert _digest(at(2026, 12, 2, 11, 0), django_capture_on_commit_callbacks) == []
    assert len(_digest(at(2026, 12, 3, 7, 0), django_capture_on_commit_callbacks)) == 1
    assert _digest(at(2026, 12, 5, 7, 0), django_capture_on_commit_callbacks) == []  # Saturday


# --- The management command -------------------------------------------------------------------


def test_the_command_runs_one_sweep_and_says_what_it_did(
    unit, anna, chief, capsys, django_capture_on_commit_callbacks
):
    make_case(unit, anna, due_at=D(2026, 11, 20))
    make_case(unit, anna, due_at=D(2026, 12, 3))

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        call_command("sweep_reminders")
    out = capsys.readouterr().out

    assert "overdue: 1" in out
    assert "escalate_lead: 1" in out
    assert "due_soon: 1" in out
    assert "Påminnelser skickade: 3" in out
    assert len(mail.outbox) == 2  # Anna's two reminders come in one e-mail


# --- Two sweeps at once (PostgreSQL) ----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_send_each_reminder_once(require_postgres):
    from tests.test_concurrency import run_concurrently

    unit = DepartmentFactory(slug="bygglov", name="Bygglov", email="bygglov@norrtalje.se")
    anna = officer(unit, username="anna")
    lead(unit, username="chefen")
    coordinator(username="lotsen")
    # As many cases as a reminder mail lists in full (a longer list is summarised).
    for _ in range(reminders.SECTION_LIST_LIMIT):
        make_case(unit, anna, due_at=D(2026, 11, 20))  # owner, lead and coordinator each
    expected = 3 * reminders.SECTION_LIST_LIMIT
    mail.outbox.clear()

    reports, errors = run_concurrently(
        [lambda: reminder_sweep(now=NOW, flush_outbox=False) for _ in range(4)]
    )

    assert not errors
    assert sum(report.total for report in reports) == expected
    assert Reminder.objects.count() == expected
    assert CaseEvent.objects.filter(kind__in=["reminder_sent", "escalated"]).count() == expected
    assert not Reminder.objects.filter(email__isnull=True).exists()
    # Each case is listed exactly once to the owner, the lead and the coordinator, whichever
    # sweep won it (the winner normally takes all: one mail each).
    listed = Counter()
    for message in mail.outbox:
        for line in message.body.splitlines():
            if line.startswith("- FL-"):
                listed[(message.to[0], line.split()[1])] += 1
    assert len(listed) == expected
    assert set(listed.values()) == {1}
    assert OutgoingEmail.objects.count() == len(mail.outbox)


def test_a_long_backlog_reaches_the_coordinator_as_a_summary_under_100_kb(
    unit, anna, chief, lotsen, sweep
):
    other = DepartmentFactory(slug="miljo", name="Miljö", email="miljo@norrtalje.se")
    cases = [
        make_case(
            unit if number % 3 else other,
            anna if number % 3 else None,
            received=at(2026, 11, 2, 9, 0) + dt.timedelta(minutes=number),
            due_at=D(2026, 12, 1),
        )
        for number in range(45)
    ]
    for day in (at(2026, 12, 2, 9, 0), at(2026, 12, 4, 9, 0)):
        sweep(day)
    before = len(mail.outbox)
    sweep(at(2026, 12, 8, 9, 0))
    to_lotsen = [m for m in mail.outbox[before:] if m.to == ["lotsen@norrtalje.se"]]
    assert len(to_lotsen) == 1
    body = to_lotsen[0].body
    assert len(body.encode()) < 100_000
    assert "Per enhet:" in body and "Bygglov: 30" in body and "Miljö: 15" in body
    assert "Hela listan:" in body and "overdue=on" in body
    listed = [case for case in cases if case.reference in body]
    assert len(listed) == 20 and listed == cases[:20]  # the 20 oldest
