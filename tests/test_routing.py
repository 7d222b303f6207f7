"""Routing: a company's question finds its areas, its owning unit and an officer."""

import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from cases import routing
from cases.models import Case, CaseArea, CaseEvent
from departments.models import Department, Membership, ResponsibilityArea
from tests.factories import CaseFactory, CompanyFactory, UserFactory, officer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_model(norrtalje):
    """Every test starts from the seeded Norrtälje map and a freshly built model."""
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
        # compounds that are no keyword themselves: fasad + skylt, matavfall + kärl
        ("Ny fasadskylt", "Vi vill byta fasadskylten till en större.", "bygglov"),
        ("Matavfallskärlen", "Matavfallskärlen vid vår restaurang är för små.", "avfall"),
        # a typo in a long word
        ("Serveringstilstånd", "Hur söker man serveringstilstånd?", "serveringstillstand"),
        # typed without å, ä and ö
        ("Hamtning av sopor", "Nar kommer hamtningen av matavfallet? Karlet ar fullt.", "avfall"),
        (
            "Oversvamning",
            "Vi har haft oversvamning i var kallare igen, vad gor ni?",
            "vattenfragor",
        ),
        # indirect phrasing: no area name, only what the company wants to do
        (
            "Bord utanför",
            "Får vi ställa ut några bord på trottoaren framför vår glassbar?",
            "markupplatelse",
        ),
    ],
)
def test_inflections_compounds_and_typos_route_right(subject, text, expected):
    result = routing.route(subject, text)

    assert slugs(result)[0] == expected
    assert result.owning_department == area(expected).owner
    assert not result.needs_triage


def test_explanation_names_the_words_the_area_and_its_unit():
    result = routing.route("Ny fasadskylt", "Vi vill byta fasadskylten till en större.")

    assert "Bygglov, skyltar och anmälan" in result.explanation
    assert "Bygglovsenheten" in result.explanation
    assert "skylt" in result.explanation.lower()


def test_pasted_junk_words_are_ignored_not_split(monkeypatch):
    """A 10 000-letter "word" (a pasted blob) must not be taken apart letter by letter:
    compound splitting is quadratic, so one such word would tie up a worker for minutes."""
    split_lengths = []
    original_split = routing.TextModel._split

    def recording_split(self, word, *args, **kwargs):
        split_lengths.append(len(word))
        return original_split(self, word, *args, **kwargs)

    monkeypatch.setattr(routing.TextModel, "_split", recording_split)
    blob = "serveringstillstand" * 500

    result = routing.route("Fråga", f"{blob} Vi vill servera vin och öl i restaurangen.")

    assert max(split_lengths, default=0) <= routing.MAX_WORD_LENGTH
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
    subject, text = "Fettavskiljare", "Vi har en fettavskiljare i restaurangen, vad gäller?"
    unguided = routing.route(subject, text)
    guided = routing.route(subject, text, chosen_area=area("avfall"))

    assert slugs(unguided)[0] == "vatten_avlopp"
    assert slugs(guided)[0] == "avfall"
    assert guided.owning_department == unit("norrtalje-vatten-och-avfall")


def test_chosen_area_is_used_when_the_text_says_nothing():
    result = routing.route(
        "Fråga",
        "Vi har en fråga om vår verksamhet, kan ni ringa oss?",
        chosen_area=area("livsmedel"),
    )

    assert slugs(result) == ["livsmedel"]
    assert not result.needs_triage
    assert result.owning_department == unit("miljo-och-halsa")


# --- Low confidence ---------------------------------------------------------------------


def test_question_without_clues_goes_to_the_triage_unit():
    result = routing.route("Hej", "Kan ni ringa mig? Tack!")

    assert result.needs_triage
    assert result.owning_department == unit("naringslivsenheten")
    assert result.confidence < routing.TRIAGE_BELOW
    assert "Näringslivsenheten" in result.explanation


def test_weak_guess_goes_to_triage_but_keeps_the_suggestion():
    result = routing.route("Uppställning", "Var får vi ha våra elsparkcyklar?")

    assert result.needs_triage
    assert result.owning_department == unit("naringslivsenheten")
    assert slugs(result), "the ranked suggestion is still listed for the triage officer"


def test_triage_unit_comes_from_settings(settings):
    settings.TRIAGE_DEPARTMENT_SLUG = "kontaktcenter"

    result = routing.route("Hej", "Kan ni ringa mig? Tack!")

    assert result.owning_department == unit("kontaktcenter")


def test_never_without_a_department_even_without_a_triage_unit(settings):
    settings.TRIAGE_DEPARTMENT_SLUG = "finns-inte"

    result = routing.route("Hej", "Kan ni ringa mig? Tack!")

    assert result.owning_department is not None


# --- Several areas ----------------------------------------------------------------------


def test_question_spanning_units_lists_each_area_primary_first():
    result = routing.route(
        "Uteservering med alkohol",
        "Vi vill ställa ut bord på torget och servera öl och vin till gästerna i sommar.",
    )

    # the square comes before the licence for serving on it: Gatu/park owns the case
    assert slugs(result) == ["markupplatelse", "serveringstillstand"]
    assert result.owning_department == unit("gatu-park")
    assert "Den berör också Serveringstillstånd (alkohol)" in result.explanation


def test_secondary_area_is_ranked_by_its_text_score():
    result = routing.route(
        "Gasol och sotning",
        "Vi har gasolflaskor i restaurangköket. Hur ofta ska skorstenen sotas? "
        "Och hur beställer vi tömning av fettavskiljaren?",
    )

    assert slugs(result)[0] == "brandskydd"
    assert "avfall" in slugs(result)
    assert result.areas[0].score >= result.areas[1].score


# --- What the permits imply -------------------------------------------------------------


def test_beer_served_on_the_square_needs_the_square_too():
    result = routing.route(
        "Öl till maten i sommar",
        "Vi har en pizzeria och vill kunna servera öl till gästerna på torget i sommar.",
    )

    assert slugs(result)[:2] == ["markupplatelse", "serveringstillstand"]
    assert result.owning_department == unit("gatu-park")


def test_square_named_only_as_address_does_not_make_it_the_question():
    result = routing.route(
        "Vinbar",
        "Vi ska öppna en vinbar vid torget och vill servera vin och öl. Hur söker vi tillstånd?",
    )

    assert slugs(result)[0] == "serveringstillstand"
    assert "markupplatelse" not in slugs(result)


def test_premises_taken_into_a_new_use_need_bygglov_first():
    result = routing.route(
        "Bageri i ny lokal",
        "Vi ska flytta vårt bageri till en lokal som tidigare var bilverkstad. "
        "Vad behöver vi göra för att få baka och sälja bröd där?",
    )

    assert slugs(result)[0] == "bygglov"
    assert "livsmedel" in slugs(result)
    assert result.owning_department == unit("bygglovsenheten")
    assert "ändrad användning" in result.explanation


def test_former_use_of_the_premises_is_not_the_question():
    result = routing.route(
        "Bageri i ny lokal",
        "Vi ska flytta bageriet till en lokal som tidigare var bilverkstad. "
        "Vad behöver vi för att baka där?",
    )

    assert slugs(result)[:2] == ["bygglov", "livsmedel"]
    assert "miljo_halsoskydd" not in slugs(result)


def test_same_bakery_in_its_own_premises_needs_no_bygglov():
    result = routing.route(
        "Bageri",
        "Vi ska börja baka och sälja bröd i vår butik. Vad behöver vi göra?",
    )

    assert "bygglov" not in slugs(result)


def test_outdoor_serving_on_own_courtyard_needs_no_public_ground():
    result = routing.route(
        "Större uteservering",
        "Vi vill utöka uteserveringen till vår egen innergård och servera alkohol där.",
    )

    assert slugs(result) == ["serveringstillstand"]


def test_asking_to_meet_everyone_makes_it_a_lots_case():
    result = routing.route(
        "Ny lagerhall",
        "Vi ska bygga en ny lagerhall och vill träffa alla berörda förvaltningar samtidigt.",
    )

    assert slugs(result)[:2] == ["naringslivsservice", "bygglov"]
    assert result.owning_department == unit("naringslivsenheten")
    assert "lotsmöte" in result.explanation


def test_without_municipal_water_the_own_well_and_sewage_go_to_miljo():
    with_network = routing.route(
        "Vatten och avlopp", "Hur ansluter vi vårt nya café till kommunalt vatten och avlopp?"
    )
    without_network = routing.route(
        "Vatten och avlopp",
        "Vårt nya café ligger utan kommunalt vatten och avlopp. Vad gäller för avloppet?",
    )

    assert slugs(with_network)[0] == "vatten_avlopp"
    assert "vatten_avlopp" not in slugs(without_network)
    assert "miljo_halsoskydd" in slugs(without_network)


def test_compound_with_a_two_letter_first_part_is_understood():
    result = routing.route("Ölservering", "Vi planerar ölservering i sommar.")

    assert slugs(result)[0] == "serveringstillstand"


@pytest.mark.parametrize(
    "guests, fire_service_expected", [("400 gäster", True), ("40 gäster", False)]
)
def test_event_for_many_guests_brings_in_the_fire_service(guests, fire_service_expected):
    result = routing.route(
        "Sommarfest",
        f"Vi ordnar en sommarfest i vår lokal för {guests} med bar där vi serverar vin och öl.",
    )

    assert slugs(result)[0] == "serveringstillstand"
    assert ("brandskydd" in slugs(result)) is fire_service_expected


@pytest.mark.parametrize(
    "text, cue, expected",
    [
        ("vi vill göra om lagret till gym", "göra om ? till", True),
        ("vi vill göra om det gamla lagret till gym", "göra om ? till", True),
        ("göra om hela den gamla lagret till gym", "göra om ? till", False),  # > 3 words
        ("bord på torget", "på torg", True),  # an inflection
        ("vid torget", "på torg", False),
        ("den gamla banklokalen", "gamla *lokal*", True),
        ("parkeringen i parken", "i park", True),
        ("konsert på Stora torget", "på stora torg*", True),
        ("sommarcafé i stadsparken", "i *parken", True),
        ("i parkeringen", "i park", False),  # another word, not an inflection
    ],
)
def test_cue_matching(text, cue, expected):
    assert routing.has_cue(routing._words(text), [cue]) is expected


@pytest.mark.parametrize(
    "text, people",
    [
        ("ca 1 500 besökare", 1500),
        ("max 200 gäster och 12 anställda", 200),
        ("för 300 sittande gäster", 300),
        ("tusentals besökare", 2000),
        ("den 15 juni", 0),
    ],
)
def test_people_named(text, people):
    assert routing.people_named(text) == people


def test_the_companys_own_premises_are_not_the_municipalitys():
    """ "Lokal" alone is what every business has; only the municipality's own premises are
    a matter for the property unit."""
    result = routing.route(
        "Större lokal till pizzerian",
        "Vi flyttar vår pizzeria till en större lokal. Vad behöver vi anmäla?",
    )

    assert slugs(result)[0] == "livsmedel"
    assert "lokaler_fastigheter" not in slugs(result)


def test_municipal_premises_still_go_to_the_property_unit():
    result = routing.route(
        "Hyra kommunens lokal", "Står kommunens gamla lokal vid hamnen tom? Kan vi hyra den?"
    )

    assert slugs(result)[0] == "lokaler_fastigheter"


def test_event_with_a_bar_on_the_square_is_first_a_matter_of_the_place():
    result = routing.route(
        "Dans på torget",
        "Vi vill ha dansafton på Stora torget med scen och en bar som serverar öl.",
    )

    assert slugs(result)[0] == "markupplatelse"
    assert {"evenemang_fritid", "serveringstillstand"} & set(slugs(result))
    assert result.owning_department == area("markupplatelse").owner


def test_noise_from_a_bar_is_environmental_health_not_the_licence():
    result = routing.route(
        "Ljudnivån på kvällarna",
        "Grannarna klagar på hög musik från vår bar. Vilken ljudnivå är tillåten?",
    )

    assert slugs(result)[0] == "miljo_halsoskydd"


@pytest.mark.parametrize(
    "subject, text, expected",
    [
        (
            "Vägvisning till gårdsbutiken",
            "Vi vill ha en skylt vid vägen så att besökarna hittar hit.",
            "trafik_parkering",
        ),
        ("Skylt på huset", "Vi vill sätta en ljusskylt på fasaden över dörren.", "bygglov"),
    ],
)
def test_road_signs_and_building_signs_go_to_different_units(subject, text, expected):
    assert slugs(routing.route(subject, text))[0] == expected


def test_scaffolding_on_the_pavement_is_the_street_before_the_facade():
    result = routing.route(
        "Renovera fasaden",
        "Vi ska byta fasad på ett hus i centrum och ställa en byggställning på trottoaren.",
    )

    assert slugs(result)[0] == "markupplatelse"


def test_opening_a_food_business_brings_in_the_food_control():
    result = routing.route(
        "Restaurang i gamla posthuset",
        "Vi vill öppna en restaurang med fullständiga rättigheter i gamla postlokalen.",
    )

    assert {"bygglov", "livsmedel", "serveringstillstand"} <= set(slugs(result))


def test_area_ruled_out_by_the_situation_does_not_crowd_out_the_others():
    """The tent stands on the company's own ground: no public ground; the building permit
    and the fire service must not be judged against the public-ground score."""
    result = routing.route(
        "Festtält",
        "Vi vill ställa upp tält på vår egen tomt för en fest med 300 gäster. Behövs lov?",
    )

    assert "markupplatelse" not in slugs(result)
    assert {"bygglov", "brandskydd"} <= set(slugs(result))


def test_a_place_named_as_an_address_counts_less_but_a_when_does_not():
    model = routing.get_model()
    at_square = {t.raw: t.weight for t in model.tokens("", "Vår butik vid torget.")}
    at_rebuild = {t.raw: t.weight for t in model.tokens("", "Vad gäller vid ombyggnad?")}

    assert at_square["torget"] == routing.ADDRESS_FACTOR
    assert at_rebuild["ombyggnad"] == 1.0


def test_generic_keyword_marker_caps_the_weight():
    areas = [
        routing.AreaText("a", "a", "Kommunala lokaler", "Hyra kommunens lokaler.", ("-lokal",)),
        routing.AreaText("b", "b", "Miljö", "Ventilation i en lokal.", ("ventilation",)),
    ]
    model = routing.TextModel(areas)

    weights = model.weights[model._term("lokal")]
    assert weights[0] == routing.GENERIC_WEIGHT
    assert weights[1] > routing.GENERIC_WEIGHT


def test_single_topic_question_gets_a_single_area():
    result = routing.route(
        "Ansluta till VA", "Vi vill ansluta vår nya lagerbyggnad till kommunalt vatten och avlopp."
    )

    assert slugs(result) == ["vatten_avlopp"]


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

    result = routing.route(
        "Uteservering", "Vi vill ställa ut bord på trottoaren igen i sommar.", company=company
    )

    assert result.owning_department == gatu_park
    assert result.proposed_owner == earlier
    assert routing.propose_owner(gatu_park, CompanyFactory()) == least_loaded


def test_earlier_officer_who_is_away_is_passed_over_for_the_least_loaded():
    gatu_park = unit("gatu-park")
    earlier = officer(gatu_park, username="bertil", available=False)
    present = officer(gatu_park, username="cecilia")
    company = CompanyFactory()
    CaseFactory(company=company, owning_department=gatu_park, owner=earlier)

    assert routing.propose_owner(gatu_park, company) == present


def test_earlier_officer_in_another_unit_does_not_count():
    gatu_park, bygglov = unit("gatu-park"), unit("bygglovsenheten")
    in_gatu_park = officer(gatu_park, username="anna")
    both = officer(bygglov, username="bertil")
    Membership.objects.create(user=both, department=gatu_park)
    open_cases(both, gatu_park, 1)
    company = CompanyFactory()
    CaseFactory(company=company, owning_department=bygglov, owner=both)

    assert routing.propose_owner(gatu_park, company) == in_gatu_park


def test_least_loaded_counts_only_open_cases_and_breaks_ties_by_id():
    miljo = unit("miljo-och-halsa")
    first = officer(miljo, username="first")
    second = officer(miljo, username="second")
    third = officer(miljo, username="third")
    open_cases(first, miljo, 2)
    open_cases(second, miljo, 1)
    open_cases(second, miljo, 4, status=Case.Status.CLOSED)
    open_cases(third, miljo, 1)

    assert routing.propose_owner(miljo) == second  # 1 open; ties with third, lower id wins


def test_leads_are_proposed_only_when_no_officer_is_available():
    miljo = unit("miljo-och-halsa")
    lead = officer(miljo, username="chefen", role=Membership.Role.LEAD)
    busy = officer(miljo, username="busy")
    open_cases(busy, miljo, 5)

    assert routing.propose_owner(miljo) == busy
    Membership.objects.filter(user=busy).update(is_available=False)
    assert routing.propose_owner(miljo) == lead


def test_nobody_available_proposes_nobody():
    miljo = unit("miljo-och-halsa")
    officer(miljo, username="away", available=False)
    inactive = officer(miljo, username="gone")
    inactive.is_active = False
    inactive.save()
    officer(unit("gatu-park"), username="elsewhere")

    assert routing.propose_owner(miljo) is None


def test_least_loaded_is_one_query_however_many_officers(django_assert_num_queries):
    miljo = unit("miljo-och-halsa")
    for number in range(6):
        open_cases(officer(miljo, username=f"o{number}"), miljo, number % 3)

    with django_assert_num_queries(1):
        routing.propose_owner(miljo)


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


def test_officers_corrections_change_later_routing_of_similar_text():
    subject, text = "Elsparkcyklar i centrum", "Var får vi ställa upp våra elsparkcyklar?"
    before = routing.route(subject, text)
    assert slugs(before)[:1] != ["markupplatelse"]

    markupplatelse = area("markupplatelse")
    handled_case("Elsparkcyklar", "Uppställning av elsparkcyklar vid stationen.", [markupplatelse])
    handled_case("Hyrcyklar", "Vi hyr ut elsparkcyklar och vill ha en zon.", [markupplatelse])
    handled_case(
        "Parkering för elsparkcyklar",
        "Kan vi få parkeringsytor för elsparkcyklar?",
        [markupplatelse],
        closed=False,  # still open, but an officer corrected its areas
    )
    routing.invalidate()
    after = routing.route(subject, text)

    assert slugs(after)[0] == "markupplatelse"
    assert after.owning_department == unit("gatu-park")
    assert not after.needs_triage


def test_open_uncorrected_cases_are_not_learned_from():
    markupplatelse = area("markupplatelse")
    for number in range(3):
        case = CaseFactory(subject="Elsparkcyklar", description=f"Elsparkcyklar {number}")
        CaseArea.objects.create(case=case, area=markupplatelse, is_primary=True)
    routing.invalidate()

    result = routing.route("Elsparkcyklar i centrum", "Var får vi ställa upp våra elsparkcyklar?")

    assert slugs(result)[:1] != ["markupplatelse"] or result.needs_triage


def test_model_is_built_once_and_rebuilt_when_an_area_changes():
    first = routing.get_model()
    assert routing.get_model() is first

    vatten = area("vattenfragor")
    vatten.keywords += "\nelsparkcykel"
    vatten.save()

    assert routing.get_model() is not first
    assert slugs(routing.route("Elsparkcyklar", "Vi har elsparkcyklar."))[0] == "vattenfragor"


# --- Command ----------------------------------------------------------------------------


def test_route_inquiries_writes_one_json_line_per_inquiry(tmp_path, capsys):
    inquiries = tmp_path / "in.jsonl"
    inquiries.write_text(
        json.dumps({"id": "a", "subject": "Schakt", "body": "Vi ska gräva för fiber i gatan."})
        + "\n"
        + json.dumps({"id": "b", "subject": "Hej", "body": "Kan ni ringa mig?"})
        + "\n",
        encoding="utf-8",
    )

    call_command("route_inquiries", input=str(inquiries))

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"] for line in lines] == ["a", "b"]
    assert lines[0]["areas"][0] == "gata_park_vagarbete"
    assert lines[0]["owner_unit"] == "gatu-park"
    assert lines[1]["owner_unit"] == "naringslivsenheten"
    assert set(lines[0]) == {"id", "areas", "owner_unit", "confidence", "explanation"}


def test_a_new_user_without_membership_is_never_proposed():
    UserFactory(username="outsider")

    assert routing.propose_owner(unit("kontaktcenter")) is None
