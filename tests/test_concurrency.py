"""Real concurrent transactions on PostgreSQL."""

import threading
from unittest import mock

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from cases.models import Case, CaseEvent
from cases.services import intake
from cases.services.intake import Inquiry, case_create
from outbox.models import OutgoingEmail
from outbox.replies import thread_id


def run_concurrently(functions):
    """Start all at once; each thread uses its own database connection."""
    barrier = threading.Barrier(len(functions))
    results, errors = [None] * len(functions), []

    def worker(index, function):
        try:
            barrier.wait(timeout=10)
            results[index] = function()
        except Exception as error:  # collected and asserted on by the caller
            errors.append(error)
        finally:
            # Every connection this thread opened, or the test database cannot be dropped
            # at the end ("being accessed by other users").
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not [t for t in threads if t.is_alive()], "a thread is still running"
    return results, errors


def _inquiry(n: int) -> Inquiry:
    return Inquiry(
        org_number="556036-0793",
        company_name="Samma AB",
        contact_name=f"Person {n}",
        email=f"p{n}@example.se",
        subject="Bygglov för skylt",
        description="Vi vill sätta upp en skylt på fasaden.",
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_get_distinct_references(require_postgres, norrtalje):
    def submit(n):
        return lambda: case_create(inquiry=_inquiry(n))[0].reference

    references, errors = run_concurrently([submit(n) for n in range(8)])

    assert not errors
    assert len(set(references)) == 8
    assert Case.objects.count() == 8
    assert Case.objects.values("company").distinct().count() == 1
    # gapless: the year's numbers 1..8, each case's number where the company reads it
    year = timezone.localdate().year
    assert sorted(references) == [f"FL-{year}-{n:05d}" for n in range(1, 9)]
    for case in Case.objects.all():
        created = case.events.get(kind=CaseEvent.Kind.CREATED)
        assert created.data["reference"] == case.reference
        receipt = OutgoingEmail.objects.get(subject_id=case.pk, kind="receipt")
        assert receipt.headers["In-Reply-To"] == thread_id(case)


@pytest.mark.django_db(transaction=True)
def test_a_submission_being_built_does_not_hold_the_next_one_at_the_reference_counter(
    require_postgres, norrtalje
):
    """The year's counter row is locked from the moment a number is drawn until COMMIT.
    It is drawn by the statement that writes the case, so while a submission is still being
    routed and built another one can take its number; a submission that fails after it
    takes nothing (no gap)."""
    case_create(inquiry=_inquiry(0))  # the year's counter row exists
    paused, resume = threading.Event(), threading.Event()
    real_insert = intake.insert_together

    def insert_later(*args, **kwargs):
        if not paused.is_set():  # the first submission only
            paused.set()  # its first statement has run; its rows are built
            assert resume.wait(timeout=30)
        return real_insert(*args, **kwargs)

    def first():
        with mock.patch.object(intake, "insert_together", insert_later):
            return case_create(inquiry=_inquiry(1))[0].reference

    def second():
        assert paused.wait(timeout=30)
        try:
            # This would have to wait for the first's COMMIT if the first held the row.
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM cases_referencecounter FOR UPDATE NOWAIT")
            return case_create(inquiry=_inquiry(2))[0].reference
        finally:
            resume.set()

    references, errors = run_concurrently([first, second])

    assert not errors, [repr(e)[:300] for e in errors]
    year = timezone.localdate().year
    assert references == [f"FL-{year}-00003", f"FL-{year}-00002"]

    # A submission that fails in its last statement leaves no gap.
    boom = mock.patch.object(intake, "announce_created", side_effect=RuntimeError("boom"))
    with boom, pytest.raises(RuntimeError):
        case_create(inquiry=_inquiry(3))
    assert case_create(inquiry=_inquiry(4))[0].reference == f"FL-{year}-00004"
