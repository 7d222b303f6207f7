"""The case page's action forms are rendered by `plain_form` (cases/templatetags/
plain_fields.py) instead of crispy-forms: an officer and a screen reader must get the same
page (labels with the required mark, classes, help texts, errors tied to their field)."""

import pytest
from django.template import Context, Template
from django.utils import translation

from cases import forms_staff as f
from cases.templatetags.plain_fields import plain_form
from tests.factories import AreaFactory, CaseFactory, DepartmentFactory, officer
from tests.html_tree import html_tree

pytestmark = pytest.mark.django_db

CRISPY = Template("{% load crispy_forms_tags %}{{ form|crispy }}")
INVALID = {"new_due": "15/3", "due_on": "2020-01-01", "body": "x" * 10_001, "others": ["0"]}


def case_page_forms(case, data):
    yield f.ReplyForm(data)
    yield f.NoteForm(data)
    yield f.WaitForCompanyForm(data)
    yield f.CloseForm(data)
    yield f.ReopenForm(data)
    yield f.ExtendDeadlineForm(data)
    yield f.AssignForm(data, case=case)
    yield f.TransferOfferForm(data, case=case)
    yield f.AreasForm(data)
    yield f.ContributionRequestForm(data, case=case)
    yield f.TransferAcceptForm(data, department_id=case.owning_department_id)
    yield f.TransferDeclineForm(data)
    yield f.ContributeForm(data, prefix="c7")


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize("data", [None, INVALID], ids=["empty", "with-errors"])
def test_the_case_pages_forms_are_the_markup_crispy_gave(language, data):
    unit = DepartmentFactory(slug="bygg", name="Bygglovsenheten")
    DepartmentFactory(slug="miljo", name="Miljöenheten")
    AreaFactory(name="Bygglov", owner=unit)
    anna = officer(unit, "anna")
    case = CaseFactory(owning_department=unit, owner=anna)
    with translation.override(language):
        pairs = zip(case_page_forms(case, data), case_page_forms(case, data), strict=True)
        for theirs, ours in pairs:
            expected = CRISPY.render(Context({"form": theirs}))
            assert html_tree(plain_form(ours)) == html_tree(expected), type(ours).__name__
            if data and ours.errors:
                assert 'aria-invalid="true"' in plain_form(ours)
