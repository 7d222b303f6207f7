"""The bench harness's commands offered by the project itself (bench_seed, bench_sweep), the
load-test start value bench_seed mints for the question form, and the load-test switch for the
form's single-use start value."""

import io
import urllib.parse

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from cases.models import Case
from tests.factories import QUESTION, CaseFactory, question_form_data

pytestmark = pytest.mark.usefixtures("no_form_timing")


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(("single_use", "answers"), [(True, [302, 200]), (False, [302, 302])])
def test_one_form_copy_is_accepted_again_only_with_single_use_off(
    client, norrtalje, settings, single_use, answers
):
    settings.RATELIMIT_ENABLED = False
    settings.FORM_STARTED_SINGLE_USE = single_use
    data = question_form_data(client)
    assert [client.post(reverse("cases_public:ask"), data).status_code for _ in "ab"] == answers
    assert Case.objects.count() == answers.count(302)


def test_single_use_is_the_default():
    from foretagslots import settings as project_settings

    assert project_settings.FORM_STARTED_SINGLE_USE is True


@pytest.mark.django_db
def test_a_form_copy_is_accepted_once(client, norrtalje, settings):
    settings.RATELIMIT_ENABLED = False
    data = question_form_data(client)
    assert [client.post(reverse("cases_public:ask"), data).status_code for _ in "ab"] == [302, 200]
    assert Case.objects.count() == 1


@pytest.mark.django_db
def test_bench_seed_form_started_value_is_accepted_again_and_again(client, norrtalje, settings):
    """The harness posts the one value bench_seed printed; the default (single-use) settings
    accept it every time."""
    settings.RATELIMIT_ENABLED = False
    settings.FORM_MIN_FILL_SECONDS = 3
    started = urllib.parse.unquote(run("bench_seed", "--form-started").strip())
    data = {**QUESTION, "form_started": started}
    assert [client.post(reverse("cases_public:ask"), data).status_code for _ in "ab"] == [302, 302]
    assert Case.objects.count() == 2


@pytest.mark.django_db
def test_a_load_test_value_with_a_bad_signature_is_refused(client, norrtalje, settings):
    import time

    from django.core import signing

    settings.RATELIMIT_ENABLED = False
    started = urllib.parse.unquote(run("bench_seed", "--form-started").strip())
    head, signature = started.rsplit(":", 1)
    tampered = f"{head}:{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    # minted with the load-test salt by someone who does not hold SECRET_KEY
    outsider = signing.TimestampSigner(
        key="not-the-secret-key", salt="cases.inquiry.started.load-test"
    ).sign(f"{int(time.time()) - 60}:nonce")
    for value in (tampered, outsider):
        response = client.post(reverse("cases_public:ask"), {**QUESTION, "form_started": value})
        assert response.status_code == 200
    assert not Case.objects.exists()


@pytest.mark.django_db
def test_a_load_test_value_still_needs_the_fill_time(client, norrtalje, settings):
    from cases.forms import form_started_value

    settings.RATELIMIT_ENABLED = False
    settings.FORM_MIN_FILL_SECONDS = 3
    started = form_started_value(load_test=True)
    response = client.post(reverse("cases_public:ask"), {**QUESTION, "form_started": started})
    assert response.status_code == 200
    assert not Case.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_bench_seed_count_reset_and_sweep(require_postgres, norrtalje):
    try:
        assert run("bench_seed", "--count").strip() == "0"
        assert "seeded 200 cases" in run("bench_seed", "--n", "200")
        assert Case.objects.count() == 200
        assert run("bench_seed", "--count").strip() == "200"

        late = CaseFactory()
        assert "reminders sent:" in run("bench_sweep")
        assert "reset: deleted 1 new cases" in run("bench_seed", "--reset")
        assert not Case.objects.filter(pk=late.pk).exists()
        assert Case.objects.count() == 200
        assert run("bench_seed", "--count").strip() == "200"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_seed_meta, bench_seed_refs, bench_due")
