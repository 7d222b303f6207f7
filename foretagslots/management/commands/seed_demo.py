import random

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from cases.models import Case
from departments import roles
from departments.models import Department, Membership

DEMO_HISTORY_CASES = 300
FIRST_NAMES = [
    "Anna",
    "Erik",
    "Maria",
    "Lars",
    "Karin",
    "Johan",
    "Eva",
    "Anders",
    "Sofia",
    "Mikael",
    "Elin",
    "Peter",
    "Ida",
    "Magnus",
    "Linnea",
    "Oskar",
    "Sara",
    "Nils",
    "Emma",
    "Gustav",
    "Malin",
    "Henrik",
    "Frida",
    "Daniel",
]
LAST_NAMES = [
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Jansson",
    "Hansson",
    "Bengtsson",
    "Lindberg",
    "Lindqvist",
    "Holm",
    "Berg",
    "Sandberg",
]


class Command(BaseCommand):
    help = (
        "Create demo users for every role and demo cases. DEMO ONLY: every demo user gets the "
        "same published password (DEMO_PASSWORD). Never run this in production."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default=None, help="password for all demo users")
        parser.add_argument("--officers", type=int, default=2, help="officers per unit")
        parser.add_argument(
            "--cases",
            type=int,
            default=None,
            help="number of demo cases spread over the last twelve months (default 300)",
        )

    def handle(self, *args, **options):
        password = options["password"] or settings.DEMO_PASSWORD
        rng = random.Random(2024)
        created = self._users(password, options["officers"], rng)
        if created:
            self.stdout.write(
                self.style.WARNING(
                    f"Demoanvändare skapade (endast för demo!). Lösenord för alla: {password}"
                )
            )
            for username, role in created:
                self.stdout.write(f"  {username:<40} {role}")
        else:
            # The password is printed once only; on later runs point to where the logins are.
            self.stdout.write(
                "Demoanvändarna finns redan (till exempel lotssamordnare); "
                "inloggningar och lösenord står i README.md (Demo logins)."
            )
        cases = self._cases(options["cases"], rng)
        self.stdout.write(
            self.style.SUCCESS(f"Demo: {len(created)} nya användare, {cases} nya ärenden.")
        )

    @transaction.atomic
    def _users(self, password, officers_per_unit, rng):
        User = get_user_model()
        groups = {
            name: Group.objects.get_or_create(name=name)[0] for name in roles.ROLE_PERMISSIONS
        }
        created = []
        # Hashed once: the same demo password for every user, and hashing is deliberately slow.
        hashed = make_password(password)

        def make(username, first, last, group_names, **extra):
            user, is_new = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@demo.norrtalje.se",
                    **extra,
                },
            )
            if is_new:
                user.password = hashed
                user.save()
                created.append((username, ", ".join(group_names)))
            user.groups.add(*(groups[name] for name in group_names))
            return user

        names = iter((rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)) for _ in range(10_000))
        make("admin", "Admin", "Istratör", [roles.ADMINISTRATOR], is_staff=True, is_superuser=True)
        coordinator = make("lotssamordnare", "Lotta", "Samordnare", [roles.COORDINATOR])
        for department in Department.objects.active():
            first, last = next(names)
            lead = make(f"{department.slug}.chef", first, last, [roles.LEAD])
            Membership.objects.get_or_create(
                user=lead, department=department, defaults={"role": Membership.Role.LEAD}
            )
            for number in range(1, officers_per_unit + 1):
                first, last = next(names)
                officer = make(f"{department.slug}.{number}", first, last, [roles.OFFICER])
                Membership.objects.get_or_create(user=officer, department=department)
        triage = Department.objects.filter(slug=settings.TRIAGE_DEPARTMENT_SLUG).first()
        if triage:
            Membership.objects.get_or_create(
                user=coordinator, department=triage, defaults={"role": Membership.Role.OFFICER}
            )
        return created

    def _cases(self, count, rng):
        """A year of history the first time (about 300 cases); nothing when cases exist."""
        from foretagslots.management.commands._demo_history import seed_history

        if count is None:
            if Case.objects.exists():
                return 0
            count = DEMO_HISTORY_CASES
        if count <= 0:
            return 0
        return seed_history(count=count, rng=rng)
