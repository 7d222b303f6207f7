"""A sweep with nothing new skips the built-in sources (followup.reminders.quiet); any change
they would see makes the next sweep do its work."""

import threading

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Case, CaseFollower, Reminder
from followup.reminders import quiet, reminder_sweep, store
from tests.factories import DepartmentFactory, coordinator, lead, officer
from tests.test_reminders import NOW, D, at, make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit(db, require_postgres):
    """Bygglov, with its lead chefen@ (escalations)."""
    department = DepartmentFactory(slug="bygglov", name="Bygglov", email="bygglov@norrtalje.se")
    lead(department, username="chefen")
    return department


@pytest.fixture
def anna(unit):
    return officer(unit, username="anna")


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """Run a sweep at a moment and return the e-mails it sent: {address: [subjects]}; the
    report and the number of statements are kept on the function."""

    def run(moment=NOW):
        before = len(mail.outbox)
        travel = time_machine.travel(moment, tick=False)
        with (
            travel,
            django_capture_on_commit_callbacks(execute=True),
            CaptureQueriesContext(connection) as queries,
        ):
            run.report = reminder_sweep(flush_outbox=False)
        run.queries = len(queries)
        sent = {}
        for message in mail.outbox[before:]:
            sent.setdefault(message.to[0], []).append(message.subject)
        return sent

    return run


def waiting_case(unit, owner):
    """Waiting for the company since Monday 23 November: its followers are reminded."""
    case = make_case(
        unit,
        owner,
        due_at=D(2026, 11, 20),
        status=Case.Status.WAITING_FOR_COMPANY,
        waiting_since=at(2026, 11, 23, 14, 0),
    )
    CaseFollower.objects.create(case=case, name="Kollega", email="kollega@example.se")
    return case


@pytest.fixture
def swept(unit, anna, sweep):
    """An overdue case and a waiting one, swept once: everything due is sent."""
    overdue = make_case(unit, anna, due_at=D(2026, 11, 20))
    waiting = waiting_case(unit, anna)
    first = sweep()
    assert set(first) == {
        "anna@norrtalje.se",
        "chefen@norrtalje.se",
        waiting.contact_email,
        "kollega@example.se",
    }
    return overdue, waiting


def test_a_sweep_with_nothing_changed_reads_no_case(swept, sweep):
    assert sweep() == {}
    # Not even the company's reminders (they have no marks) are offered again.
    assert sweep.report.candidates == 0
    # the savepoint and its release, SET LOCAL, the change records and the plug-in sources'
    # own (action items)
    assert sweep.queries <= 5


def test_a_new_case_due_is_sent_by_the_next_sweep(swept, unit, anna, sweep):
    assert sweep() == {}
    case = make_case(unit, anna, due_at=D(2026, 12, 3))

    assert sweep() == {"anna@norrtalje.se": [f"Ärendet ska avslutas snart: {case.reference}"]}
    assert sweep() == {}


def test_a_company_answer_makes_the_waiting_case_overdue_at_once(swept, sweep):
    _overdue, waiting = swept
    assert sweep() == {}
    Case.objects.filter(pk=waiting.pk).update(status=Case.Status.IN_PROGRESS, waiting_since=None)

    sent = sweep()

    assert sent["anna@norrtalje.se"] == [f"Ärendet är försenat: {waiting.reference}"]


def test_a_new_working_day_is_swept_again(unit, anna, sweep):
    case = make_case(unit, anna, due_at=D(2026, 12, 2))
    assert list(sweep()) == ["anna@norrtalje.se"]  # due today
    assert sweep() == {}

    sent = sweep(at(2026, 12, 3, 9, 0))

    assert sent == {"anna@norrtalje.se": [f"Ärendet är försenat: {case.reference}"]}


def test_a_deleted_reminder_is_sent_again(swept, sweep):
    overdue, _waiting = swept
    assert sweep() == {}
    Reminder.objects.filter(case=overdue, kind="overdue").delete()

    assert sweep() == {"anna@norrtalje.se": [f"Ärendet är försenat: {overdue.reference}"]}


def test_a_new_follower_of_a_waiting_case_is_reminded(swept, sweep):
    _overdue, waiting = swept
    assert sweep() == {}
    CaseFollower.objects.create(case=waiting, name="Ny", email="ny@example.se")

    assert list(sweep()) == ["ny@example.se"]


def test_a_sweep_that_fails_leaves_the_changes_to_the_next(swept, unit, anna, sweep, monkeypatch):
    case = make_case(unit, anna, due_at=D(2026, 12, 3))

    def broken(rows, now):
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(store, "insert_events", broken)
        with pytest.raises(RuntimeError):
            sweep()

    assert sweep() == {"anna@norrtalje.se": [f"Ärendet ska avslutas snart: {case.reference}"]}


def test_a_new_coordinator_gets_the_escalations_nobody_could_be_sent(swept, sweep):
    overdue, _waiting = swept
    assert sweep() == {}
    coordinator(username="lotsen")

    sent = sweep()

    assert sent == {"lotsen@norrtalje.se": [f"Eskalering till lotssamordnare: {overdue.reference}"]}


@pytest.mark.django_db(transaction=True)
def test_a_case_written_while_a_sweep_runs_is_left_to_the_next(require_postgres, monkeypatch):
    """The case is committed after the sweep read the cases and before it commits: that sweep
    cannot see it, and recording itself as complete must not hide it from the next one."""
    department = DepartmentFactory(slug="bygglov", name="Bygglov", email="bygglov@norrtalje.se")
    anna = officer(department, username="anna")
    make_case(department, anna, due_at=D(2026, 11, 20))
    reminder_sweep(now=NOW, flush_outbox=False)
    read, go_on = threading.Event(), threading.Event()
    record_complete = quiet.record_complete

    def paused(ctx, now):
        read.set()
        go_on.wait(timeout=30)
        record_complete(ctx, now)

    monkeypatch.setattr(quiet, "record_complete", paused)
    make_case(department, anna, due_at=D(2026, 11, 25))  # a change for the sweep below to see

    def sweep_in_a_thread():
        try:
            reminder_sweep(now=NOW, flush_outbox=False)
        finally:
            connection.close()

    thread = threading.Thread(target=sweep_in_a_thread)
    thread.start()
    assert read.wait(timeout=30)
    late = make_case(department, anna, due_at=D(2026, 12, 3))
    go_on.set()
    thread.join(timeout=60)
    monkeypatch.setattr(quiet, "record_complete", record_complete)

    assert not Reminder.objects.filter(case=late).exists()
    reminder_sweep(now=NOW, flush_outbox=False)
    assert Reminder.objects.filter(case=late, kind="due_soon").exists()
