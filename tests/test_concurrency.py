"""Real concurrent transactions on PostgreSQL."""

import threading

import pytest
from django.db import connections

from cases.models import Case
from cases.services.intake import Inquiry, case_create


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


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_get_distinct_references(require_postgres, norrtalje):
    def submit(n):
        return lambda: (
            case_create(
                inquiry=Inquiry(
                    org_number="556036-0793",
                    company_name="Samma AB",
                    contact_name=f"Person {n}",
                    email=f"p{n}@example.se",
                    subject="Bygglov för skylt",
                    description="Vi vill sätta upp en skylt på fasaden.",
                )
            )[0].reference
        )

    references, errors = run_concurrently([submit(n) for n in range(8)])

    assert not errors
    assert len(set(references)) == 8
    assert Case.objects.count() == 8
    assert Case.objects.values("company").distinct().count() == 1
