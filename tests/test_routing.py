"""Routing: a company's question finds its areas, its owning unit and an officer."""

import json
import re

import pytest
from django.core.management import call_command
from django.utils import timezone

from cases.models import Case, CaseArea, CaseEvent
from cases.owners import propose_owner
from departments.models import Department, Membership, ResponsibilityArea
from routing import analysis
from routing import api as routing
from routing.models import RoutingRule, TrainedRouter
from tests.factories import CaseFactory, CompanyFactory, UserFactory, officer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_model(norrtalje):
    """Every test starts from the seeded Norrtälje map and the committed default model."""
    routing.invalidate()
    yield
    routing.invalidate()


def area(slug):
    return ResponsibilityArea.objects.get(slug=slug)


def unit(slug):
    return Department.objects.get(slug=slug)


def slugs(result):
    return [scored.area.slug for scored in result.areas]


# --- Swedish text understanding ---------------------------------------------------------


@pytest.mark.parametrize(
    "subject, text, expected",
    [
        # inflected forms
        (
            "Uteserveringen i sommar",
            "Vi vill ha kvar uteserveringen på trottoaren utanför caféet.",
            "markupplatelse",
        ),
        # a compound that is no keyword itself: fasad + skylt
        ("Ny fasadskylt", "Vi vill byta fasadskylten till en större.", "bygglov"),
        # a typo in a long word
        ("Serveringstilstånd", "Hur söker man serveringstilstånd?", "serveringstillstand"),
        # typed without å, ä and ö
        ("Hamtning av sopor", "Nar kommer hamtningen av matavfallet? Karlet ar fullt.", "avfall"),
    ],
)
def test_inflections_compounds_and_typos_route_right(subject, text, expected):
    result = routing.route(subject, text)

    assert slugs(result)[0] == expected
    assert result.suggested_department == area(expected).owner


def test_analysis_folds_stems_splits_compounds_and_forgives_one_typo():
    lexicon = analysis.Lexicon.build({"bygglov", "ansokan", "serveringstillstand"})

    assert analysis.stem("uteserveringen") == analysis.stem("uteserveringar")
    assert analysis.stem("hämtningen") == analysis.stem("hamtningen")
    assert lexicon.split("bygglovsansokan") == ("bygglov", "ansokan")
    assert lexicon.correct(analysis.stem("serveringstilstand")) == "serveringstillstand"
    assert lexicon.correct("trafik") is None


def test_explanation_names_the_words_the_area_and_its_unit():
    result = routing.route("Ny fasadskylt", "Vi vill byta fasadskylten till en större.")

    assert "Bygglov, skyltar och anmälan" in result.explanation
    assert "Bygglovsenheten" in result.explanation
    assert "skylt" in result.explanation.lower()


@pytest.mark.parametrize(
    "subject, text, topic_word",
    [
        (
            "Outdoor seating",
            "Hi, we need a permit for outdoor seating at our restaurant in the square. "
            "What do we need to do and what does it cost?",
            "restaurant",
        ),
        (
            "Building a shed",
            "We want to build a storage shed on our property. Do we need a building permit? "
            "What is the process?",
            None,  # only function words weighed: the explanation says so without quoting them
        ),
        (
            "Byggställning",
            "Vi behöver ställa en byggställning på gångbanan för att måla om fasaden.",
            "byggställning",
        ),
    ],
)
def test_explanation_shows_topic_words_not_function_words(subject, text, topic_word):
    """English and Swedish function words may weigh in the model, but an officer reading
    "Frågan nämner ”need” och ”what”" learns nothing: they are not shown."""
    result = routing.route(subject, text)

    quoted = re.findall("”([^”]+)”", result.explanation)
    shown = {word for term in quoted for word in term.split()}
    assert not shown & {"need", "what", "do", "does", "is", "we", "behöver", "för"}, (
        result.explanation
    )
    if topic_word:
        assert topic_word in shown, result.explanation
    else:
        assert result.explanation.startswith("Texten liknar mest frågor om"), result.explanation


def test_pasted_junk_words_are_ignored_not_split(monkeypatch):
    """A 10 000-letter "word" (a pasted blob) must not be taken apart letter by letter:
    compound splitting is quadratic, so one such word would tie up a worker for minutes."""
    split_lengths = []
    original_split = analysis.Lexicon.split

    def recording_split(self, word):
        split_lengths.append(len(word))
        return original_split(self, word)

    monkeypatch.setattr(analysis.Lexicon, "split", recording_split)
    blob = "serveringstillstand" * 500

    result = routing.route("Fråga", f"{blob} Vi vill servera vin och öl i restaurangen.")

    assert max(split_lengths, default=0) <= analysis.MAX_WORD_LENGTH
    assert slugs(result)[0] == "serveringstillstand"


# --- The company's own choice -----------------------------------------------------------


def test_chosen_area_does_not_override_a_clear_text():
    result = routing.route(
        "Servera vin och öl",
        "Vi vill servera vin och öl i vår restaurang och behöver serveringstillstånd.",
        chosen_area=area("avfall"),
    )

    assert slugs(result)[0] == "serveringstillstand"
    assert "avfall" not in slugs(result)
    assert "Företaget valde Avfall och renhållning för verksamheter" in result.explanation


def test_chosen_area_decides_between_close_candidates():
    subject, text = "Container", "Var får vi ställa en container?"
    unguided = routing.route(subject, text)
    guided = routing.route(subject, text, chosen_area=area("avfall"))

    assert slugs(unguided)[0] != "avfall"
    assert slugs(guided)[0] == "avfall"


# --- Low confidence ---------------------------------------------------------------------


def test_vague_question_goes_to_the_triage_unit_with_the_suggestion():
    result = routing.route("Hjälp", "Vi behöver hjälp med vårt ärende.")

    assert result.needs_triage
    assert result.owning_department == unit("naringslivsenheten")
    assert result.confidence < routing.get_model().triage_threshold
    assert "Näringslivsenheten" in result.explanation
    assert "Förslag" in result.explanation


def test_clear_question_is_routed_automatically():
    result = routing.route(
        "Bygglov för tillbyggnad",
        "Vi vill bygga till vår verkstad med 80 kvadratmeter. Hur söker vi bygglov?",
    )

    assert not result.needs_triage
    assert result.owning_department == unit("bygglovsenheten")
    assert result.confidence >= routing.get_model().triage_threshold


def test_triage_unit_comes_from_settings(settings):
    settings.TRIAGE_DEPARTMENT_SLUG = "kontaktcenter"

    result = routing.route("Hjälp", "Vi behöver hjälp med vårt ärende.")

    assert result.owning_department == unit("kontaktcenter")


def test_triage_unit_is_read_once_and_a_renamed_slug_counts_at_once():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    vague = ("Hjälp", "Vi behöver hjälp med vårt ärende.")
    assert routing.route(*vague).owning_department == unit("naringslivsenheten")
    with CaptureQueriesContext(connection) as queries:
        routing.route(*vague)
    assert not [q for q in queries if "departments_department" in q["sql"]]

    triage = unit("naringslivsenheten")
    triage.name = "Näringsliv och triage"
    triage.save()
    assert routing.route(*vague).owning_department.name == "Näringsliv och triage"


def test_never_without_a_department_even_without_a_triage_unit(settings):
    settings.TRIAGE_DEPARTMENT_SLUG = "finns-inte"

    result = routing.route("Hjälp", "Vi behöver hjälp med vårt ärende.")

    assert result.owning_department is not None


# --- Several areas and rules ------------------------------------------------------------


def test_question_spanning_units_lists_each_area_primary_first():
    result = routing.route(
        "Foodtruck på torget",
        "Vi har köpt en foodtruck och vill sälja hamburgare på torget på lördagar. "
        "Vad behöver vi för tillstånd för maten och för platsen?",
    )

    assert {"livsmedel", "markupplatelse"} <= set(slugs(result))
    assert len(slugs(result)) == len(set(slugs(result)))


def test_rule_from_the_admin_adds_an_area_with_its_reason():
    RoutingRule.objects.all().delete()
    text = "Vi vill servera öl och vin vid borden på torget i sommar."
    assert "brandskydd" not in slugs(routing.route("Servering", text))

    RoutingRule.objects.create(
        kind=RoutingRule.Kind.IMPLIES,
        area=area("serveringstillstand"),
        other_area=area("brandskydd"),
        cues="torg",
        reason="Provregel: servering på torg prövas också av räddningstjänsten.",
    )
    result = routing.route("Servering", text)

    assert "brandskydd" in slugs(result)
    assert "Provregel: servering på torg prövas också av räddningstjänsten." in result.explanation


def test_exclusion_rule_removes_an_area_when_its_cue_is_there():
    RoutingRule.objects.all().delete()
    RoutingRule.objects.create(
        kind=RoutingRule.Kind.IMPLIES,
        area=area("serveringstillstand"),
        other_area=area("markupplatelse"),
        reason="Servering ute kräver platsen.",
    )
    RoutingRule.objects.create(
        kind=RoutingRule.Kind.EXCLUDES,
        area=area("serveringstillstand"),
        other_area=area("markupplatelse"),
        cues="innergård",
        reason="Egen mark: inget tillstånd för offentlig plats.",
    )
    text = "Vi vill servera öl och vin till gästerna på vår egen innergård."

    result = routing.route("Servering ute", text)

    assert slugs(result)[0] == "serveringstillstand"
    assert "markupplatelse" not in slugs(result)


# --- Proposed owner ---------------------------------------------------------------------


def open_cases(user, department, count, status=Case.Status.IN_PROGRESS):
    for _ in range(count):
        CaseFactory(
            owner=user,
            owning_department=department,
            status=status,
            closed_at=timezone.now() if status == Case.Status.CLOSED else None,
        )


def test_owner_is_the_companys_earlier_officer_in_that_unit():
    gatu_park = unit("gatu-park")
    least_loaded = officer(gatu_park, username="anna")
    earlier = officer(gatu_park, username="bertil")
    open_cases(earlier, gatu_park, 3)
    company = CompanyFactory()
    CaseFactory(company=company, owning_department=gatu_park, owner=earlier)

    result = routing.route("Uteservering", "Vi vill ställa ut bord på trottoaren igen i sommar.")

    assert result.owning_department == gatu_park
    assert propose_owner(result.owning_department, company) == earlier
    assert propose_owner(gatu_park, CompanyFactory()) == least_loaded


def test_earlier_officer_who_is_away_is_passed_over_for_the_least_loaded():
    gatu_park = unit("gatu-park")
    earlier = officer(gatu_park, username="bertil", available=False)
    present = officer(gatu_park, username="cecilia")
    company = CompanyFactory()
    CaseFactory(company=company, owning_department=gatu_park, owner=earlier)

    assert propose_owner(gatu_park, company) == present


def test_earlier_officer_in_another_unit_does_not_count():
    gatu_park, bygglov = unit("gatu-park"), unit("bygglovsenheten")
    in_gatu_park = officer(gatu_park, username="anna")
    both = officer(bygglov, username="bertil")
    Membership.objects.create(user=both, department=gatu_park)
    open_cases(both, gatu_park, 1)
    company = CompanyFactory()
    CaseFactory(company=company, owning_department=bygglov, owner=both)

    assert propose_owner(gatu_park, company) == in_gatu_park


def test_least_loaded_counts_only_open_cases_and_breaks_ties_by_id():
    miljo = unit("miljo-och-halsa")
    first = officer(miljo, username="first")
    second = officer(miljo, username="second")
    third = officer(miljo, username="third")
    open_cases(first, miljo, 2)
    open_cases(second, miljo, 1)
    open_cases(second, miljo, 4, status=Case.Status.CLOSED)
    open_cases(third, miljo, 1)

    assert propose_owner(miljo) == second  # 1 open; ties with third, lower id wins


def test_leads_are_proposed_only_when_no_officer_is_available():
    miljo = unit("miljo-och-halsa")
    lead = officer(miljo, username="chefen", role=Membership.Role.LEAD)
    busy = officer(miljo, username="busy")
    open_cases(busy, miljo, 5)

    assert propose_owner(miljo) == busy
    Membership.objects.filter(user=busy).update(is_available=False)
    assert propose_owner(miljo) == lead


def test_nobody_available_proposes_nobody():
    miljo = unit("miljo-och-halsa")
    officer(miljo, username="away", available=False)
    inactive = officer(miljo, username="gone")
    inactive.is_active = False
    inactive.save()
    officer(unit("gatu-park"), username="elsewhere")

    assert propose_owner(miljo) is None


def test_least_loaded_is_one_query_however_many_officers(django_assert_num_queries):
    miljo = unit("miljo-och-halsa")
    for number in range(6):
        open_cases(officer(miljo, username=f"o{number}"), miljo, number % 3)

    with django_assert_num_queries(1):
        propose_owner(miljo)


# --- Learning from officers -------------------------------------------------------------


def handled_case(subject, description, final_areas, *, closed=True):
    case = CaseFactory(
        subject=subject,
        description=description,
        owning_department=final_areas[0].owner,
        status=Case.Status.CLOSED if closed else Case.Status.IN_PROGRESS,
        closed_at=timezone.now() if closed else None,
    )
    for position, final_area in enumerate(final_areas):
        CaseArea.objects.create(
            case=case, area=final_area, is_primary=position == 0, position=position
        )
    if not closed:
        CaseEvent.objects.create(case=case, kind=CaseEvent.Kind.AREAS_CHANGED, data={})
    return case


def test_officers_corrections_change_the_next_model():
    """Train, let officers correct cases, retrain: the corrected kind of inquiry now routes
    the way the officers decided."""
    from routing.services import train_and_store

    subject, text = "Drönarfilm", "Vi vill filma med drönare över centrum för en reklamfilm."
    train_and_store(folds=0)
    before = routing.route(subject, text)
    assert slugs(before)[0] != "trygghet_sakerhet"

    trygghet = area("trygghet_sakerhet")
    for number, body in enumerate(
        [
            "Får vi flyga drönare över torget när vi filmar?",
            "Vi ska fotografera med drönare vid hamnen.",
            "Drönarfotografering över skolan, vem ska vi fråga?",
            "Tillstånd för drönare vid ett evenemang?",
            "Vi filmar med drönare över stadens tak.",
        ]
    ):
        handled_case(f"Drönare {number}", body, [trygghet], closed=number % 2 == 0)
    row, _model = train_and_store(folds=0)
    after = routing.route(subject, text)

    assert routing.get_model().version == row.version
    assert row.counts.get("correction") == 2 and row.counts.get("case") == 3
    assert slugs(after)[0] == "trygghet_sakerhet"
    assert after.suggested_department == trygghet.owner


def test_open_uncorrected_cases_are_not_learned_from():
    from routing.services import case_examples

    CaseFactory(subject="Drönare", description="Drönare över torget")
    handled_case("Drönare", "Drönare över torget", [area("trygghet_sakerhet")])

    assert [e.subject for e in case_examples()] == ["Drönare"]


def test_processes_load_the_stored_model_and_never_train_one():
    assert TrainedRouter.objects.count() == 0
    default = routing.get_model()

    assert default.version == "default"
    assert TrainedRouter.objects.count() == 0
    assert routing.get_model() is default


def test_retraining_is_due_after_enough_corrections(settings):
    from routing import services

    settings.ROUTER_RETRAIN_AFTER_CORRECTIONS = 2
    noon = timezone.localtime().replace(hour=12)
    assert services.retrain_due(noon) == "first"
    services.train_and_store(folds=0)
    assert services.retrain_due(noon) is None

    for number in range(2):
        handled_case(f"Fråga {number}", "Text", [area("avfall")], closed=False)

    assert services.retrain_due(noon) == "corrections"


def test_beat_task_trains_only_when_due_and_one_at_a_time(monkeypatch):
    from routing import services, tasks

    trained = []
    monkeypatch.setattr(services, "train_and_store", lambda: trained.append("trained"))
    monkeypatch.setattr(services, "retrain_due", lambda now: None)
    tasks.retrain_router_task()
    assert trained == []

    monkeypatch.setattr(services, "retrain_due", lambda now: "corrections")
    tasks.retrain_router_task()
    assert trained == ["trained"]


# --- Command and admin ------------------------------------------------------------------


def test_route_inquiries_writes_one_json_line_per_inquiry(tmp_path, capsys):
    inquiries = tmp_path / "in.jsonl"
    inquiries.write_text(
        json.dumps({"id": "a", "subject": "Schakt", "body": "Vi ska gräva för fiber i gatan."})
        + "\n"
        + json.dumps({"id": "b", "subject": "Hjälp", "body": "Vi behöver hjälp med vårt ärende."})
        + "\n",
        encoding="utf-8",
    )

    call_command("route_inquiries", input=str(inquiries))

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    assert lines[0]["areas"][0] == "gata_park_vagarbete"
    assert lines[0]["owner_unit"] == "gatu-park"
    assert lines[1]["needs_triage"] is True
    assert set(lines[0]) == {
        "id",
        "areas",
        "owner_unit",
        "confidence",
        "needs_triage",
        "explanation",
    }


def test_admin_try_page_shows_areas_unit_triage_and_explanation(client, django_user_model):
    admin_user = django_user_model.objects.create_superuser("root", "root@example.se", "pw")
    client.force_login(admin_user)

    response = client.post(
        "/admin/routing/routingrule/prova/",
        {"subject": "Ny fasadskylt", "text": "Vi vill byta fasadskylten till en större."},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "Bygglov, skyltar och anmälan" in page
    assert "Bygglovsenheten" in page
    assert "Prova fördelningen" in page


def test_a_new_user_without_membership_is_never_proposed():
    UserFactory(username="outsider")

    assert propose_owner(unit("kontaktcenter")) is None


def test_only_a_process_that_routes_loads_the_model_code():
    """numpy and the training code (~16 MiB) load only where a model is trained, not at
    start-up (nor with a routing: test_worker_memory)."""
    import subprocess
    import sys

    code = (
        "import sys, django; django.setup(); import foretagslots.urls, followup.reminders; "
        "print('numpy' in sys.modules, 'routing.training' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_routing_reads_the_areas_once_and_sees_an_area_switched_off_at_once(norrtalje):
    """The areas and their units are kept in the process (a question no longer reads them);
    switching an area off in the admin counts from the next question on."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    text = "Vi vill ha uteservering på torget och servera öl under sommaren."
    first = routing.route("Uteservering", text)
    served = first.areas[0].area
    with CaptureQueriesContext(connection) as queries:
        again = routing.route("Uteservering", text)
    assert again.areas[0].area.slug == served.slug
    assert not [q for q in queries if "departments_responsibilityarea" in q["sql"]]

    served.is_active = False
    served.save()
    after = routing.route("Uteservering", text)
    assert served.slug not in [scored.area.slug for scored in after.areas]
