"""factory_boy factories for test data."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from cases.models import Case, CaseDepartment, CaseFollower, Company
from departments import roles
from departments.models import Department, Membership, ResponsibilityArea


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="sv_SE")
    last_name = factory.Faker("last_name", locale="sv_SE")
    email = factory.LazyAttribute(lambda u: f"{u.username}@norrtalje.se")
    password = factory.django.Password("test-password-123")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Enhet {n}")
    slug = factory.Sequence(lambda n: f"enhet-{n}")
    email = factory.LazyAttribute(lambda d: f"{d.slug}@norrtalje.se")


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponsibilityArea
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"omrade-{n}")
    name = factory.Sequence(lambda n: f"Område {n}")
    owner = factory.SubFactory(DepartmentFactory)
    first_answer_days = 2
    resolution_days = 10


def _in_group(user, group_name):
    group, _created = Group.objects.get_or_create(name=group_name)
    user.groups.add(group)
    return user


def officer(department, username=None, available=True, role=Membership.Role.OFFICER):
    """A user who is a member (officer or lead) of `department`."""
    user = UserFactory(username=username) if username else UserFactory()
    Membership.objects.update_or_create(
        user=user, department=department, defaults={"role": role, "is_available": available}
    )
    _in_group(user, roles.LEAD if role == Membership.Role.LEAD else roles.OFFICER)
    return user


def lead(department, username=None):
    user = officer(department, username=username, role=Membership.Role.LEAD)
    return user


def coordinator(username="lotssamordnare"):
    from departments.roles import ensure_role_groups

    ensure_role_groups()
    user = UserFactory(username=username)
    return _in_group(user, roles.COORDINATOR)


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Företaget {n} AB")


class CaseFactory(factory.django.DjangoModelFactory):
    """A case made directly (no routing); use `cases.services.intake.case_create` to test
    intake itself."""

    class Meta:
        model = Case
        skip_postgeneration_save = True  # `parts` adds rows beside the case, never changes it

    company = factory.SubFactory(CompanyFactory)
    contact_name = "Maria Lind"
    contact_email = factory.Sequence(lambda n: f"kontakt{n}@example.se")
    subject = "Uteservering på torget"
    description = "Vi vill ställa ut bord på torget i sommar."
    owning_department = factory.SubFactory(DepartmentFactory)
    received_at = factory.LazyFunction(timezone.now)
    first_answer_due = factory.LazyFunction(
        lambda: timezone.localdate() + timezone.timedelta(days=2)
    )
    due_at = factory.LazyFunction(lambda: timezone.localdate() + timezone.timedelta(days=14))

    @factory.post_generation
    def parts(obj, create, extracted, **kwargs):
        if not create:
            return
        CaseDepartment.objects.get_or_create(
            case=obj,
            department=obj.owning_department,
            defaults={"role": CaseDepartment.Role.OWNER, "officer": obj.owner},
        )
        CaseFollower.objects.get_or_create(
            case=obj,
            is_primary_contact=True,
            defaults={"name": obj.contact_name, "email": obj.contact_email},
        )


# --- The public question form ----------------------------------------------------------------

QUESTION = {
    "org_number": "556036-0793",
    "company_name": "Roslagens Kafé AB",
    "contact_name": "Maria Lind",
    "email": "maria@roslagenskafe.se",
    "phone": "0176-123 45",
    "area": "",
    "subject": "Serveringstillstånd för vår restaurang",
    "description": "Vi vill börja servera vin och öl till maten inne i restaurangen. Hur söker "
    "vi stadigvarande serveringstillstånd?",
    "consent": "on",
    "website": "",
}


def question_form_data(client, **changes):
    """What a browser sends: the signed start time from the rendered form plus the fields."""
    response = client.get(reverse("cases_public:ask"))
    started = response.context["form"].initial["form_started"]
    return {**QUESTION, "form_started": started, **changes}


def submit_question(client, **changes):
    return client.post(reverse("cases_public:ask"), question_form_data(client, **changes))
