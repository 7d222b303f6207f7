"""Arbitrary input at every public form: a 200 with messages or a redirect, never a 500, and
nothing saved from an invalid submission."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.models import Case, CaseFollower, Message
from insights.models import Feedback
from outbox.models import OutgoingEmail
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
text = st.text(max_size=300) | st.sampled_from(["", " ", "<script>x</script>", "a" * 250])
fields = st.dictionaries(
    st.sampled_from(
        [
            "org_number",
            "company_name",
            "contact_name",
            "email",
            "phone",
            "area",
            "subject",
            "description",
            "consent",
            "website",
            "form_started",
            "body",
            "name",
            "comment",
            "nki_overall",
            "information",
        ]
    ),
    text,
)


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.RATELIMIT_ENABLED = False


def _no_nulls(data):
    # The test client cannot send NUL in a form body the way a browser would not either.
    return {key: value.replace("\x00", "") for key, value in data.items()}


@FUZZ
@given(data=fields)
def test_question_form_never_fails_and_saves_nothing_invalid(client, data):
    before = (Case.objects.count(), OutgoingEmail.objects.count())
    response = client.post(reverse("cases_public:ask"), _no_nulls(data))
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert (Case.objects.count(), OutgoingEmail.objects.count()) == before


@pytest.fixture
def follower(db):
    return CaseFactory().followers.get()


@FUZZ
@given(data=fields)
def test_tracking_forms_never_fail_and_save_nothing_invalid(client, follower, data):
    for name in ("cases_public:tracking_message", "cases_public:tracking_follower"):
        before = (Message.objects.count(), CaseFollower.objects.count())
        response = client.post(reverse(name, args=[follower.token]), _no_nulls(data))
        assert response.status_code in (200, 302), name
        if response.status_code == 200:
            assert (Message.objects.count(), CaseFollower.objects.count()) == before


@FUZZ
@given(data=fields, token=st.text(alphabet="abcXYZ019_-", min_size=20, max_size=64))
def test_feedback_form_never_fails(client, data, token):
    before = Feedback.objects.filter(answered_at__isnull=False).count()
    response = client.post(reverse("insights_public:feedback", args=[token]), _no_nulls(data))
    assert response.status_code in (200, 302, 404, 410)
    assert Feedback.objects.filter(answered_at__isnull=False).count() == before
