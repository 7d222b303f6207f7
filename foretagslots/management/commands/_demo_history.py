"""A year of demo history for seed_demo: cases received over twelve months and worked
through the ordinary services at the moments they happened (the clock is moved with
time-machine), so that every event, e-mail, deadline and figure is what the portal itself
would have written. Demo only."""

import datetime as dt
import random
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cases.deadlines import add_working_days, is_working_day

COMPANIES = [
    "Roslagens Kafé AB",
    "Grisslehamns Båtvarv AB",
    "Hallstaviks Livs HB",
    "Rimbo Bygg & Snickeri AB",
    "Norrtälje Bilvård",
    "Vätö Gårdsbutik",
    "Älmsta Hamnkrog AB",
    "Skärgårdens Kajak & Cykel",
    "Frötuna Konsult AB",
    "Bergshamra Hantverk",
    "Edsbro Lantbruk AB",
    "Finsta Frisör",
    "Furusunds Pensionat AB",
    "Herräng Smide",
    "Björkö Camping AB",
]
CONTACTS = ["Maria Lind", "Johan Ek", "Sara Holm", "Anders Berg", "Karin Sjö", "Nils Ström"]
INQUIRIES = [
    (
        "Bygglov för altan vid kaféet",
        "Vi vill bygga en altan på 30 kvm framför kaféet. Behövs bygglov och hur lång tid tar det?",
    ),
    (
        "Uteservering på torget i sommar",
        "Vi vill ställa ut sex bord på torget från maj till september och servera vin och öl.",
    ),
    ("Skylt på fasaden", "Vi vill sätta upp en belyst skylt på fasaden mot gatan. Vad gäller?"),
    (
        "Ändrad användning av lokal",
        "Vi vill göra om en butikslokal till restaurang med kök. Vilka tillstånd behövs?",
    ),
    (
        "Registrera livsmedelsverksamhet",
        "Vi öppnar en gårdsbutik och ska sälja egna ostar och korv.",
    ),
    (
        "Tillfällig försäljning vid marknad",
        "Vi vill sälja glass från en vagn under marknadsdagarna i juli.",
    ),
    (
        "Arrende av mark för båtuppläggning",
        "Vi behöver mer mark för vinteruppläggning av båtar intill varvet.",
    ),
    (
        "Oljeavskiljare vid biltvätt",
        "Vi ska bygga om tvätthallen. Vilka krav finns på oljeavskiljare?",
    ),
    ("Buller från fläkt", "En granne klagar på fläkten på taket. Vilka riktvärden gäller?"),
    (
        "Serveringstillstånd för festival",
        "Vi arrangerar en musikfestival i augusti och vill servera alkohol.",
    ),
    (
        "Upphandling av städtjänster",
        "Hur gör vi för att lämna anbud när kommunen upphandlar städning?",
    ),
    (
        "Vatten och avlopp till verkstad",
        "Vi bygger en verkstad utanför planlagt område. Hur ansluter vi till vatten och avlopp?",
    ),
    (
        "Brandskydd i ny lokal",
        "Vi ska ha kurser med upp till 40 deltagare. Behövs brandskyddsbeskrivning?",
    ),
    ("Parkering vid butiken", "Kan vi få två korttidsplatser på gatan utanför butiken?"),
    ("Lediga verksamhetslokaler", "Vi söker en lokal på 200 kvm för lätt industri i Rimbo."),
    ("Köpa industrimark", "Finns det industrimark till salu i Hallstavik och vad kostar den?"),
    ("Avfallshantering för restaurang", "Hur ska vi sortera matavfall och fett från restaurangen?"),
    (
        "Strandskyddsdispens för brygga",
        "Vi vill bygga en brygga för kajakuthyrning. Behövs dispens?",
    ),
    (
        "Tobaksförsäljning i butik",
        "Vi vill börja sälja tobak och e-cigaretter. Hur anmäler vi det?",
    ),
    ("Schakt för fiber i gatan", "Vi ska dra fiber till kontoret och behöver gräva i gångbanan."),
    (
        "Nyetablering av hantverksföretag",
        "Jag startar eget som snickare. Vilket stöd finns för nya företag?",
    ),
    ("Evenemang i parken", "Vi vill ha en loppmarknad i parken en lördag i maj."),
    ("Ombyggnad av pensionat", "Vi vill bygga om vinden till fyra nya rum. Vad krävs?"),
    (
        "Hästhållning nära bostäder",
        "Vi vill starta ridskola på gården. Vad gäller för hästhållning?",
    ),
]
ANSWERS = [
    "Tack för er fråga. Åtgärden kräver bygglov. Skicka in ansökan med situationsplan, "
    "fasadritning och planritning via e-tjänsten. Handläggningstiden är högst tio veckor från "
    "komplett ansökan; oftast går det fortare. Hör gärna av er innan ni skickar in.",
    "Ni behöver ett tillstånd för att använda offentlig plats. Ansök hos oss minst fyra veckor "
    "innan. Polisen yttrar sig och vi samordnar med gatuenheten, så ni behöver bara en ansökan.",
    "Verksamheten ska registreras hos miljö- och hälsoskyddskontoret senast två veckor innan "
    "start. Det kostar en avgift för registrering; därefter gör vi en kontroll under första året.",
    "Vi har stämt av med de berörda enheterna. Ni behöver inget bygglov, men en anmälan om "
    "ändrad verksamhet. Blanketten finns på webben; skicka den till oss så ser vi till att den "
    "kommer rätt.",
    "Det finns mark som passar er i området vid Hallstaviks industriområde. Mark och exploatering "
    "kontaktar er för ett möte om pris och villkor. Detaljplanen tillåter lätt industri.",
    "Svaret från kommunen samlat: bygglov krävs för skylten, och eftersom den lyser behövs "
    "också trafikenhetens bedömning. Vi har redan fått den: skylten godtas om den inte "
    "bländar mot vägen.",
]
CONTRIBUTIONS = [
    "Vi har inga invändningar. Tänk på att ventilationen ska vara anmäld före start.",
    "Avfallet ska sorteras i fraktioner enligt renhållningsordningen; fettavskiljare krävs.",
    "Platsen är ledig de aktuella datumen. Trafikanordningsplan behövs om gångbanan stängs.",
    "Fastigheten ligger inom detaljplan; åtgärden är planenlig. Bygglov krävs.",
    "Brandskyddsbeskrivning behövs vid fler än 30 personer. Vi kan göra ett tillsynsbesök.",
]
DECLINES = [
    "Frågan gäller bygglov, inte vår enhet.",
    "Det här är en miljöfråga; vi har ingen del i den.",
]
MEETING_MINUTES = (
    "Genomgång av ärenden som fastnat. Enheterna gick igenom de studsande ärendena och kom "
    "överens om vem som äger frågan. Försenade ärenden med flera enheter följs upp till nästa "
    "möte."
)


@contextmanager
def at(moment):
    """Run the services as if it were `moment`."""
    import time_machine

    with time_machine.travel(moment, tick=False):
        yield


def working_moment(day: dt.date, rng: random.Random) -> dt.datetime:
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    hour, minute = rng.randint(8, 15), rng.choice([5, 12, 20, 34, 41, 55])
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def later(moment: dt.datetime, working_days: int, rng: random.Random) -> dt.datetime:
    return working_moment(add_working_days(timezone.localtime(moment).date(), working_days), rng)


class History:
    def __init__(self, rng: random.Random, now: dt.datetime):
        from departments.models import Membership

        self.rng = rng
        self.now = now
        from departments.models import Department

        self.units = list(Department.objects.active())
        self.members: dict[int, list] = {}
        for m in Membership.objects.select_related("user").filter(user__is_active=True):
            self.members.setdefault(m.department_id, []).append(m.user)

    def person(self, department_id, exclude=None):
        people = [u for u in self.members.get(department_id, []) if u != exclude]
        return self.rng.choice(people) if people else None

    def past(self, moment) -> bool:
        return moment < self.now - dt.timedelta(hours=1)

    # --- one case ---------------------------------------------------------------------

    def case(self, index: int, received: dt.datetime) -> None:
        from cases.models import Case
        from cases.services import work
        from cases.services.intake import Inquiry, case_create
        from insights.services import feedback_invite

        rng = self.rng
        subject, text = INQUIRIES[index % len(INQUIRIES)]
        company = COMPANIES[(index * 7) % len(COMPANIES)]
        with at(received):
            case, _follower = case_create(
                inquiry=Inquiry(
                    org_number="",
                    company_name=company,
                    contact_name=rng.choice(CONTACTS),
                    email=f"kontakt{index}@example.se",
                    subject=subject,
                    description=text,
                    channel=rng.choice(["web", "web", "web", "phone", "email", "visit"]),
                )
            )
        age_days = (self.now - received).days
        moment = later(received, rng.choice([0, 1]), rng)
        if case.owner is None:
            if rng.random() < 0.5 and age_days < 20:
                return  # a few recent cases still wait for a helhetsansvarig
            officer = self.person(case.owning_department_id)
            if officer is None or not self.past(moment):
                return
            with at(moment):
                work.case_claim(case_id=case.pk, actor=officer)
        roll = rng.random()
        units = self.units
        # Transfers: some accepted once, a few bouncing between units.
        bouncing = roll <= 0.06 or (age_days < 60 and roll <= 0.14)
        hops = rng.choice([2, 3]) if bouncing else (1 if roll <= 0.18 else 0)
        for _hop in range(hops):
            case = Case.objects.get(pk=case.pk)
            target = rng.choice([u for u in units if u.pk != case.owning_department_id])
            moment = later(moment, rng.randint(1, 3), rng)
            receiver = self.person(target.pk)
            if receiver is None or not self.past(moment):
                break
            with at(moment):
                transfer = work.case_transfer_offer(
                    case_id=case.pk,
                    actor=case.owner,
                    to_department=target,
                    reason=rng.choice(DECLINES),
                )
            moment = later(moment, rng.randint(1, 2), rng)
            if not self.past(moment):
                break
            with at(moment):
                work.case_transfer_accept(transfer_id=transfer.pk, actor=receiver)
        case = Case.objects.get(pk=case.pk)
        owner = case.owner
        # A contribution from another unit in about a third of the cases.
        if rng.random() < 0.35:
            unit = rng.choice([u for u in units if u.pk != case.owning_department_id])
            moment = later(moment, 1, rng)
            if not self.past(moment):
                return
            with at(moment):
                asked = work.case_request_contribution(
                    case_id=case.pk,
                    actor=owner,
                    department=unit,
                    question="Hur ser er enhet på frågan? Behövs något från er?",
                    due_on=add_working_days(timezone.localtime(moment).date(), 5),
                )
            moment = later(moment, rng.randint(1, 7), rng)
            contributor = self.person(unit.pk)
            if contributor is None or not self.past(moment):
                return
            with at(moment):
                work.case_contribute(
                    part_id=asked.part.pk, actor=contributor, text=rng.choice(CONTRIBUTIONS)
                )
        # Open cases: recent ones, some waiting for the company, some left to run late.
        fate = rng.random()
        if age_days < 45 and fate < 0.6:
            moment = later(moment, 1, rng)
            if fate < 0.2 and self.past(moment):
                with at(moment):
                    work.case_wait_for_company(
                        case_id=case.pk,
                        actor=owner,
                        body="Kan ni skicka en ritning över hur det ska se ut?",
                    )
            elif fate < 0.45 and self.past(moment):
                with at(moment):
                    work.case_add_note(
                        case_id=case.pk, actor=owner, body="Ringde företaget, de återkommer."
                    )
            return
        if age_days > 45 and fate < 0.04:
            return  # long late: forgotten cases the dashboard must show
        moment = later(moment, rng.choice([1, 2, 2, 3, 5, 8]), rng)
        if not self.past(moment):
            return
        with at(moment):
            work.case_reply(
                case_id=case.pk,
                actor=owner,
                body="Tack för er fråga. Vi tittar på den och återkommer med ett samlat svar.",
            )
        moment = later(moment, rng.choice([2, 3, 5, 8, 12, 20]), rng)
        if not self.past(moment):
            return
        with at(moment):
            work.case_close(case_id=case.pk, actor=owner, body=rng.choice(ANSWERS))
            # The survey is sent after commit; the story needs it now (the later call is a no-op).
            feedback_invite(case_id=case.pk)
        self.feedback(case, later(moment, rng.randint(1, 5), rng))

    def feedback(self, case, moment) -> None:
        from insights.models import Feedback
        from insights.services import feedback_submit

        item = Feedback.objects.filter(case=case, answered_at__isnull=True).first()
        if item is None or self.rng.random() > 0.55 or not self.past(moment):
            return
        base = self.rng.choice([4, 5, 5, 5, 6, 6])
        answers = {
            name: max(1, min(6, base + self.rng.choice([-1, 0, 0, 1])))
            for name in Feedback.NKI_ITEMS + Feedback.FACTOR_ITEMS
        }
        with at(moment):
            feedback_submit(token=item.token, answers=answers)

    # --- meetings ---------------------------------------------------------------------

    def meetings(self, coordinator, months: int = 12) -> None:
        from departments.models import Department
        from meetings import services as meeting_services
        from meetings.selectors import agenda_proposals

        units = list(Department.objects.active().order_by("name")[:6])
        if coordinator is None or not units:
            return
        for months_ago in range(months - 1, -1, -2):
            day = (self.now - dt.timedelta(days=30 * months_ago + 3)).date()
            starts = working_moment(day, self.rng).replace(hour=13, minute=0)
            if starts > self.now:
                continue
            with at(starts - dt.timedelta(days=7)):
                proposals = [p.key for p in agenda_proposals()][:4]
                meeting = meeting_services.meeting_book_internal(
                    actor=coordinator,
                    starts_at=starts,
                    ends_at=starts + dt.timedelta(hours=1, minutes=30),
                    department_ids=[u.pk for u in units],
                    agenda_keys=proposals,
                    place="Tingshuset, sal Roslagen",
                )
            with at(starts + dt.timedelta(hours=2)):
                meeting_services.meeting_record_minutes(
                    meeting_id=meeting.pk,
                    actor=coordinator,
                    minutes=MEETING_MINUTES,
                    decisions="Ägarskapet för studsande ärenden avgörs här och skrivs in i kartan.",
                    attended_department_ids=[u.pk for u in units[:4]],
                    publish=True,
                )
                for unit in units[:2]:
                    owner = self.person(unit.pk)
                    if owner is None:
                        continue
                    item = meeting_services.action_item_add(
                        meeting_id=meeting.pk,
                        actor=coordinator,
                        title=f"Gå igenom ansvarsfördelningen i {unit.name}",
                        owner_id=owner.pk,
                        department_id=unit.pk,
                        due_on=add_working_days(starts.date(), 10),
                    )
                    if months_ago > 2:
                        meeting_services.action_item_complete(action_item_id=item.pk, actor=owner)


def seed_history(*, count: int, rng: random.Random, stdout=None) -> int:
    """About `count` cases over the last twelve months, worked through the services."""
    from outbox.models import OutgoingEmail

    now = timezone.now()
    history = History(rng, now)
    start = now - dt.timedelta(days=365)
    moments = sorted(
        working_moment((start + dt.timedelta(days=rng.random() ** 0.8 * 362)).date(), rng)
        for _ in range(count)
    )
    first_email = OutgoingEmail.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    with transaction.atomic():
        for index, received in enumerate(moments):
            history.case(index, received)
        coordinator = get_user_model().objects.filter(username="lotssamordnare").first()
        history.meetings(coordinator)
        # The history's e-mails went out long ago: nothing from it is sent now.
        OutgoingEmail.objects.filter(pk__gt=first_email).update(
            status=OutgoingEmail.Status.SENT, sent_at=now
        )
        # ... so the hand-over to the mail worker after commit is dropped as well.
        transaction.get_connection().run_on_commit.clear()
    return len(moments)
