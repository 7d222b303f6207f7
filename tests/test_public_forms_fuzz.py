"""Arbitrary input at every public form: a 200 with messages or a redirect, never a 500, and
nothing saved from an invalid submission."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cases.models import Case, CaseFollower, Message
from insights.models import Feedback
from outbox.models import OutgoingEmail
from tests.factories import QUESTION, CaseFactory, question_form_data

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


QUESTION_FIELDS = [name for name in QUESTION if name != "website"] + ["website"]
question_changes = st.dictionaries(st.sampled_from(QUESTION_FIELDS), text)


@FUZZ
@example(changes={})
@example(changes={"org_number": "556036-0794"})
@given(changes=question_changes)
def test_question_form_never_fails_and_saves_only_what_it_accepts(
    client, norrtalje, no_form_timing, changes
):
    """Arbitrary values in a submission that is otherwise a person's (signed start time, all
    fields filled in), so each one reaches the form's own validation."""
    data = _no_nulls(question_form_data(client, **changes))
    before = (Case.objects.count(), OutgoingEmail.objects.count())
    response = client.post(reverse("cases_public:ask"), data)
    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert response.context["form"].errors
        assert (Case.objects.count(), OutgoingEmail.objects.count()) == before
    else:
        assert Case.objects.count() == before[0] + 1
    if not changes:
        assert response.status_code == 302  # the untouched submission is accepted


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


SIX_ANSWERS = dict.fromkeys(Feedback.NKI_ITEMS + Feedback.FACTOR_ITEMS, "4")


@FUZZ
@example(data={})
@example(data={"nki_overall": "7"})
@given(data=st.dictionaries(st.sampled_from([*SIX_ANSWERS, "comment"]), text))
def test_feedback_form_never_fails_and_records_only_answers_on_the_scale(client, follower, data):
    """Each example answers a real, open survey, so the values reach the form's validation."""
    feedback = Feedback.objects.create(
        case=follower.case,
        follower=follower,
        email=follower.email,
        expires_at=timezone.now() + dt.timedelta(days=60),
    )
    response = client.post(
        reverse("insights_public:feedback", args=[feedback.token]),
        _no_nulls({**SIX_ANSWERS, **data}),
    )
    assert response.status_code in (200, 302)
    feedback.refresh_from_db()
    if response.status_code == 200:
        assert response.context["form"].errors
        assert feedback.answered_at is None
    else:
        assert feedback.answered_at is not None
        assert all(1 <= getattr(feedback, item) <= 6 for item in SIX_ANSWERS)
    if not data:
        assert response.status_code == 302
