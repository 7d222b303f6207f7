"""`manage.py seed_bulk_cases --cases N [--years Y] [--closed-share S]`: many cases, fast.

For benchmarks. Inserts with bulk_create (no per-case services, no e-mail): companies, cases
spread over the units and responsibility areas (seed_norrtalje first), a CaseArea, an owner
CaseDepartment and a follower per case, and a CREATED event per case. Staff: three officers
and a lead per unit (made if missing) and one coordinator.

Open cases are mostly calm (answered, due weeks ahead); about --due-share (default 5 %) are
due for a reminder or an escalation: overdue by 1–8 working days, due the next working day,
waiting for the company 5–12 working days, or unowned for 2–5 working days. Closed cases
(--closed-share of all) are spread over the last --years years.
"""

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from cases.deadlines import add_working_days
from cases.models import (
    Case,
    CaseArea,
    CaseDepartment,
    CaseEvent,
    CaseFollower,
    Company,
    ReferenceCounter,
    new_token,
)
from departments.models import Department, Membership, ResponsibilityArea

BATCH = 5000


def bulk_case_rows(cases) -> None:
    """What intake writes beside a case (primary area, owning unit, primary contact as
    follower), for cases made with bulk_create; also used by bench_seed."""
    CaseArea.objects.bulk_create(
        [CaseArea(case=c, area=c.primary_area, is_primary=True) for c in cases],
        batch_size=BATCH,
    )
    CaseDepartment.objects.bulk_create(
        [
            CaseDepartment(
                case=c,
                department_id=c.owning_department_id,
                role=CaseDepartment.Role.OWNER,
                officer_id=c.owner_id,
            )
            for c in cases
        ],
        batch_size=BATCH,
    )
    CaseFollower.objects.bulk_create(
        [
            CaseFollower(
                case=c,
                name=c.contact_name,
                email=c.contact_email,
                token=new_token(),
                is_primary_contact=True,
            )
            for c in cases
        ],
        batch_size=BATCH,
    )
    from insights.summary import summarise_cases

    summarise_cases([c.pk for c in cases])  # bulk_create sends no post_save


class Command(BaseCommand):
    help = "Skapa många ärenden snabbt (för prestandamätningar)."

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, default=10_000)
        parser.add_argument("--years", type=float, default=1.0)
        parser.add_argument("--closed-share", type=float, default=0.0)
        parser.add_argument("--due-share", type=float, default=0.05)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, **options):
        n = options["cases"]
        if n < 1:
            raise CommandError("--cases måste vara minst 1.")
        rng = random.Random(options["seed"])
        areas = list(ResponsibilityArea.objects.select_related("owner").filter(is_active=True))
        if not areas:
            raise CommandError("Inga ansvarsområden: kör `manage.py seed_norrtalje` först.")
        officers = self._staff()
        now = timezone.now()
        today = timezone.localdate()
        with transaction.atomic():
            companies = Company.objects.bulk_create(
                [Company(name=f"Bulkföretaget {i} AB") for i in range(max(1, n // 4))],
                batch_size=BATCH,
            )
            references = self._references(n, today.year)
            plan = [
                self._one(rng, areas, officers, companies, now, today, options, references[i])
                for i in range(n)
            ]
            cases = Case.objects.bulk_create([p[0] for p in plan], batch_size=BATCH)
            bulk_case_rows(cases)
            CaseEvent.objects.bulk_create(
                [
                    CaseEvent(
                        case=c,
                        kind=CaseEvent.Kind.CREATED,
                        created_at=c.received_at,
                        is_public=True,
                        data={"channel": "web", "reference": c.reference, "bulk": True},
                    )
                    for c in cases
                ],
                batch_size=BATCH,
            )
        due = sum(1 for p in plan if p[1])
        self.stdout.write(f"{n} ärenden skapade, varav {due} med påminnelse på gång.")

    def _staff(self) -> dict[int, list[int]]:
        """Officers per unit (user ids), made if missing; plus a lead per unit."""
        from django.contrib.auth.models import Group

        from departments.roles import COORDINATOR, LEAD, OFFICER, ensure_role_groups

        ensure_role_groups()
        User = get_user_model()
        officer_group = Group.objects.get(name=OFFICER)
        lead_group = Group.objects.get(name=LEAD)
        result = {}
        for unit in Department.objects.all():
            ids = []
            for i in range(3):
                user, _ = User.objects.get_or_create(
                    username=f"bulk-{unit.slug}-{i}"[:150],
                    defaults={"email": f"bulk-{unit.slug}-{i}@example.invalid"},
                )
                Membership.objects.get_or_create(user=user, department=unit)
                user.groups.add(officer_group)
                ids.append(user.pk)
            chief, _ = User.objects.get_or_create(
                username=f"bulk-{unit.slug}-lead"[:150],
                defaults={"email": f"bulk-{unit.slug}-lead@example.invalid"},
            )
            Membership.objects.get_or_create(
                user=chief, department=unit, defaults={"role": Membership.Role.LEAD}
            )
            chief.groups.add(lead_group)
            result[unit.pk] = ids
        coordinator, _ = User.objects.get_or_create(
            username="bulk-lotssamordnare",
            defaults={"email": "bulk-lotssamordnare@example.invalid"},
        )
        coordinator.groups.add(Group.objects.get(name=COORDINATOR))
        return result

    @staticmethod
    def _references(n: int, year: int) -> list[str]:
        from django.conf import settings

        ReferenceCounter.objects.bulk_create(
            [ReferenceCounter(year=year, last_number=0)], ignore_conflicts=True
        )
        counter = ReferenceCounter.objects.select_for_update().get(year=year)
        first = counter.last_number + 1
        counter.last_number += n
        counter.save(update_fields=["last_number"])
        prefix = settings.CASE_REFERENCE_PREFIX
        return [f"{prefix}-{year}-{number:05d}" for number in range(first, first + n)]

    @staticmethod
    def _one(rng, areas, officers, companies, now, today, options, reference):
        area = rng.choice(areas)
        unit_id = area.owner_id
        owner_id = rng.choice(officers[unit_id]) if officers.get(unit_id) else None
        fields = {
            "reference": reference,
            "company": rng.choice(companies),
            "contact_name": "Kontakt Person",
            "contact_email": f"kontakt{rng.randrange(10**9)}@example.invalid",
            "subject": f"Fråga om {area.name.lower()}",
            "description": "Genererat ärende för prestandamätning.",
            "owning_department_id": unit_id,
            "primary_area": area,
            "insikt_area": area.insikt_area,
        }
        if rng.random() < options["closed_share"]:
            received = now - dt.timedelta(days=rng.uniform(30, 365 * options["years"]))
            closed = received + dt.timedelta(days=rng.uniform(1, 40))
            case = Case(
                **fields,
                owner_id=owner_id,
                status=Case.Status.CLOSED,
                received_at=received,
                first_answer_due=add_working_days(received, area.first_answer_days),
                due_at=add_working_days(received, area.resolution_days),
                first_answered_at=received + dt.timedelta(hours=rng.uniform(1, 72)),
                closed_at=min(closed, now),
            )
            return case, False
        due_for_reminder = rng.random() < options["due_share"]
        received = now - dt.timedelta(days=rng.uniform(0, 6), hours=rng.uniform(0, 8))
        case = Case(
            **fields,
            owner_id=owner_id,
            status=Case.Status.IN_PROGRESS,
            received_at=received,
            first_answer_due=add_working_days(received, area.first_answer_days),
            due_at=add_working_days(today, rng.randint(5, 30)),
            first_answered_at=received + dt.timedelta(hours=1),
        )
        if due_for_reminder:
            kind = rng.choice(["overdue", "overdue", "soon", "waiting", "unowned"])
            if kind == "overdue":
                case.due_at = add_working_days(today, -rng.randint(1, 8))
                case.received_at = now - dt.timedelta(days=40)
            elif kind == "soon":
                case.due_at = add_working_days(today, 1)
            elif kind == "waiting":
                case.status = Case.Status.WAITING_FOR_COMPANY
                waited = add_working_days(today, -rng.randint(5, 12))
                case.waiting_since = timezone.make_aware(
                    dt.datetime.combine(waited, dt.time(10, 0))
                )
            else:
                case.owner_id = None
                case.status = Case.Status.RECEIVED
                case.first_answered_at = None
                case.first_answer_due = add_working_days(today, 1)
                case.received_at = now - dt.timedelta(days=rng.randint(3, 7))
        return case, due_for_reminder
