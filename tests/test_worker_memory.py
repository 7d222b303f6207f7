"""What a web worker imports: the libraries only some requests need load with the first such
request, not with every page (issue 14: a worker's memory). Each check runs in a fresh
process, as a gunicorn worker starts."""

import os
import subprocess
import sys

import pytest
from django.template import engines

PAGE = (
    "import sys, django; django.setup()\n"
    "from django import forms\n"
    "from django.test import Client\n"
    "response = Client().get('/')\n"
    "assert response.status_code == 200, response.status_code\n"
    "class Question(forms.Form):\n"
    "    subject = forms.CharField()\n"
    "str(Question())\n"  # a widget, through the form renderer's own engine
)


def _loaded_after(code: str, *modules: str) -> list[str]:
    script = code + f"print(*[name for name in {modules!r} if name in sys.modules])\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_a_page_does_not_load_the_api_framework_until_an_api_url_is_asked_for():
    """DRF, drf-spectacular and what they pull in (requests, pygments; ~12 MiB) load in a
    process that serves the API, not in one that renders the public form and staff pages."""
    api = (
        "rest_framework.views",
        "rest_framework.serializers",
        "drf_spectacular.views",
        "requests",
    )
    assert _loaded_after(PAGE, *api) == []

    reversed_ = (
        PAGE
        + "from django.urls import reverse\nassert reverse('api:case-list') == '/api/v1/cases/'\n"
    )
    assert "rest_framework.views" in _loaded_after(reversed_, *api)


def test_a_page_does_not_load_the_calendar_library():
    """icalendar (~80 modules) is for meeting invitations only."""
    code = PAGE + "import foretagslots.urls, meetings.views, meetings.services\n"
    assert _loaded_after(code, "icalendar") == []


def test_drf_tags_still_load_where_a_template_asks_for_them():
    template = engines["django"].from_string("{% load rest_framework %}{{ 'a'|add_class:'b' }}")
    assert template.render({}) == "a"


def test_the_question_form_loads_neither_python_stdnum_nor_filetype():
    """The org number's Luhn check is the portal's own (stdnum's utilities import pydoc);
    the upload type sniffer loads with the first upload."""
    code = PAGE + "import cases.forms, cases.views.public, records.services\n"
    assert _loaded_after(code, "stdnum", "pydoc", "filetype") == []


def test_org_numbers_are_checked_as_python_stdnum_checks_them():
    import random

    from django.core.exceptions import ValidationError
    from stdnum.se import orgnr, personnummer

    from cases.orgnr import is_personal_identity_number, luhn_ok, normalise_org_number

    rng = random.Random(14)
    numbers = [f"{rng.randrange(10**10):010d}" for _ in range(3000)] + ["5560360793", "0000000000"]
    for digits in numbers:
        valid = orgnr.is_valid(digits)
        assert luhn_ok(digits) == valid, digits
        try:
            normalised = normalise_org_number(f"{digits[:6]}-{digits[6:]}")
        except ValidationError:
            assert not valid, digits
        else:
            assert valid and normalised == orgnr.format(digits), digits
        if personnummer.is_valid(digits):  # the mask is wider than a valid personnummer
            assert is_personal_identity_number(f"{digits[:6]}-{digits[6:]}"), digits
    assert not luhn_ok("٥٥٦٠٣٦٠٧٩٣")  # Arabic-Indic digits: \d accepts them, stdnum does not
    assert is_personal_identity_number("640823 3234") and is_personal_identity_number("640823–3234")


def test_a_web_worker_freezes_what_start_up_built_so_full_collections_skip_it():
    """The WSGI module freezes the start-up objects: a full garbage collection in a worker then
    walks only what requests made, not the ~170 000 objects of modules and settings."""
    script = "import gc, foretagslots.wsgi\nprint(gc.get_freeze_count())\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) > 50_000


def test_the_responsibility_map_search_does_not_load_the_snowballstemmer_package():
    """Without PyStemmer the package's __init__ imports all 30 languages' generated stemmers
    (~2.8 MiB); the search uses PyStemmer's, as the package itself does when it is installed."""
    code = (
        PAGE + "import departments.search as s\nassert s.stem('uteserveringar') == 'uteservering'\n"
    )
    assert _loaded_after(code, "snowballstemmer") == []


def test_the_search_stems_as_the_snowballstemmer_package_does():
    import snowballstemmer

    from departments import search

    swedish, english = snowballstemmer.stemmer("swedish"), snowballstemmer.stemmer("english")
    words = ["uteserveringarna", "bygglovsansökan", "tillstånden", "licences", "alcohol", "permits"]
    assert [search.stem(w) for w in words] == swedish.stemWords(words)
    assert [search.english_stem(w) for w in words] == english.stemWords(words)


def test_what_the_first_requests_build_is_frozen_too_once_and_only_after_they_are_served():
    """The routing model, compiled templates and cached choices are built by the first
    requests and live as long as the worker: after REFREEZE_AFTER requests they are frozen
    too, so that a full collection stops walking them (the submit's p95)."""
    script = (
        "import gc, foretagslots.wsgi as wsgi\n"
        "from django.core.signals import request_finished\n"
        "start = gc.get_freeze_count()\n"
        "built = [[n] for n in range(5000)]\n"  # what the first requests keep
        "for _ in range(wsgi.REFREEZE_AFTER - 1):\n"
        "    request_finished.send(sender=None)\n"
        "before = gc.get_freeze_count()\n"
        "request_finished.send(sender=None)\n"
        "after = gc.get_freeze_count()\n"
        "more = [[n] for n in range(5000)]\n"
        "request_finished.send(sender=None)\n"
        "print(start, before, after, gc.get_freeze_count())\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    start, before, after, later = (int(n) for n in out.stdout.split())
    assert before == start
    assert after >= start + 5000
    assert later == after  # once: later requests' objects are collected as usual


def _routed(model, inquiries):
    out = []
    for subject, text in inquiries:
        prediction = model.predict(subject, text, explain=True)
        first = max(range(len(prediction.primary)), key=prediction.primary.__getitem__)
        out.append((list(prediction.primary), model.top_features(prediction, first)))
    return out


INQUIRIES = [
    ("Uteservering vid vårt kafé", "Vi vill ha uteservering på trottoaren från maj."),
    ("Ny skylt", "Vi vill sätta upp en belyst skylt ovanför entrén. Måste vi söka bygglvo?"),
]


def test_the_default_routing_model_is_mapped_from_its_file_not_copied_into_each_worker():
    """The packed weights routing reads (~6 MiB) are the artifact file's pages, read-only,
    so the workers of one machine share them through the page cache; so are the float32
    matrices that training and evaluation read."""
    import mmap

    from routing.api import load_default

    model = load_default()
    assert isinstance(model.packed().rows, mmap.mmap)
    assert isinstance(model.feature_scale().obj, mmap.mmap)
    for weights in (model.primary_coef, model.contributing_coef):
        assert weights.dtype == "float32"
        assert not weights.flags.writeable
        assert _mapped(weights)


def test_a_model_stored_in_the_old_format_still_loads_and_routes_the_same():
    """Artifacts of format 1 (one pickle: the database rows trained before format 2) and
    format 2 (the arrays only, without the packed rows and typo index of format 3) load."""
    import dataclasses
    import pickle

    from routing.analysis import Lexicon
    from routing.api import load_default
    from routing.model import RouterModel

    model = load_default()
    state = {f.name: getattr(model, f.name) for f in dataclasses.fields(model)}
    state["lexicon"] = sorted(model.lexicon.stems)
    old = RouterModel.loads(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))

    assert isinstance(old.lexicon, Lexicon)
    assert _routed(old, INQUIRIES) == _routed(model, INQUIRIES)
    again = RouterModel.loads(old.dumps())  # and a format-3 artifact from it routes the same
    assert _routed(again, INQUIRIES) == _routed(model, INQUIRIES)

    data = _format_2(model)
    second = RouterModel.loads(data)
    assert RouterModel.artifact_format(data) == 2
    assert _routed(second, INQUIRIES) == _routed(model, INQUIRIES)
    assert second.content_digest() == model.content_digest()


def _format_2(model) -> bytes:
    """The model as an artifact of format 2, as its dumps() wrote it before format 3: a pickled
    header, then the page-aligned numpy arrays."""
    import dataclasses
    import pickle

    import numpy as np

    from routing.model import ARTIFACT_MAGIC_2

    state = {f.name: getattr(model, f.name) for f in dataclasses.fields(model)}
    state["lexicon"] = sorted(model.lexicon.stems)
    names = ["idf", "primary_coef", "primary_intercept", "contributing_coef"]
    arrays = {
        key: np.ascontiguousarray(state.pop(key)) for key in [*names, "contributing_intercept"]
    }
    layout, size = {}, 0
    for key, array in arrays.items():
        layout[key] = (array.dtype.str, array.shape, size)
        size = -(-(size + array.nbytes) // 4096) * 4096
    header = pickle.dumps({"state": state, "arrays": layout})
    start = -(-(len(ARTIFACT_MAGIC_2) + 8 + len(header)) // 4096) * 4096
    data = bytearray(start + size)
    data[: len(ARTIFACT_MAGIC_2) + 8 + len(header)] = (
        ARTIFACT_MAGIC_2 + len(header).to_bytes(8, "little") + header
    )
    for key, array in arrays.items():
        data[start + layout[key][2] : start + layout[key][2] + array.nbytes] = array.tobytes()
    return bytes(data)


def _mapped(weights) -> bool:
    import mmap

    base = weights
    while getattr(base, "base", None) is not None:
        base = base.base
    return isinstance(getattr(base, "obj", None), mmap.mmap)


@pytest.mark.django_db
def test_a_trained_model_is_written_once_to_a_file_that_the_workers_map(monkeypatch, settings):
    """The first process to load a trained model writes it from its row, a piece at a time
    (read whole, the driver's copies of ~5 MB took a worker's peak memory ~27 MiB up), to
    ROUTER_CACHE_DIR; every process maps that file and routes as the model was trained."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from routing import api
    from routing.models import TrainedRouter

    default = api.load_default()
    data = default.dumps()
    TrainedRouter.objects.create(version="20261129180000", trained_at=timezone.now(), artifact=data)
    monkeypatch.setattr(api, "ARTIFACT_PIECE", 1_000_003)

    def load():
        api.invalidate()
        with CaptureQueriesContext(connection) as queries:
            model = api.get_model()
        api.invalidate()
        return model, [q for q in queries.captured_queries if "substr" in q["sql"].lower()]

    first, pieces = load()
    second, again = load()

    assert len(pieces) == -(-len(data) // 1_000_003) > 1 and again == []
    assert [p.read_bytes() for p in settings.ROUTER_CACHE_DIR.iterdir()] == [data]
    assert _mapped(first.primary_coef) and _mapped(second.contributing_coef)
    assert _routed(second, INQUIRIES) == _routed(default, INQUIRIES)

    settings.ROUTER_CACHE_DIR = settings.ROUTER_CACHE_DIR.parent / "not-a-directory"
    settings.ROUTER_CACHE_DIR.write_text("")
    unwritable, _pieces = load()  # a process that cannot write reads the row into memory
    assert not _mapped(unwritable.primary_coef)
    assert _routed(unwritable, INQUIRIES) == _routed(default, INQUIRIES)


@pytest.mark.django_db
def test_a_model_stored_before_format_3_is_converted_once_when_it_is_written_to_a_file(
    settings,
):
    """A TrainedRouter row of format 2 (trained before this format) is written to
    ROUTER_CACHE_DIR as format 3 (converting imports numpy, once per machine and model): the
    workers then map the packed rows and route as before."""
    from django.utils import timezone

    from routing import api
    from routing.model import RouterModel
    from routing.models import TrainedRouter

    default = api.load_default()
    TrainedRouter.objects.create(
        version="20261129180000", trained_at=timezone.now(), artifact=_format_2(default)
    )
    api.invalidate()
    model = api.get_model()
    api.invalidate()

    (path,) = settings.ROUTER_CACHE_DIR.iterdir()
    assert RouterModel.artifact_format(path.read_bytes()) == 3
    assert path.read_bytes() == RouterModel.load_file(path).dumps()
    assert _routed(model, INQUIRIES) == _routed(default, INQUIRIES)


def test_the_typo_index_answers_as_a_dict_of_every_deletion_did():
    """The lexicon keeps hashes of the one-letter deletions, not the ~20 000 strings (1.5 MiB
    in every web process): the typo corrections are the same, including where several stems
    are one edit away (the first stem in sorted order wins)."""
    import random

    from routing.analysis import MIN_TYPO_WORD, deletes
    from routing.api import load_default

    lexicon = load_default().lexicon
    index: dict[str, str] = {}  # what the lexicon held before
    for stem in sorted(lexicon.stems):
        if len(stem) >= MIN_TYPO_WORD - 1:
            index.setdefault(stem, stem)
            for deletion in deletes(stem):
                index.setdefault(deletion, stem)

    def corrected(word):
        if len(word) < MIN_TYPO_WORD or word in lexicon.stems:
            return None
        hit = index.get(word)
        if hit is not None:
            return hit
        for d in (word[:i] + word[i + 1 :] for i in range(len(word))):
            hit = index.get(d)
            if hit is not None and abs(len(hit) - len(word)) <= 1:
                return hit
        return None

    rng, letters = random.Random(14), "abcdefghijklmnopqrstuvwxyz"
    stems, words = sorted(lexicon.stems), []
    for _ in range(20_000):
        stem, at, letter = rng.choice(stems), rng.randrange(8), rng.choice(letters)
        words += [stem[:at] + letter + stem[at:], stem[:at] + stem[at + 1 :]]
        words += [
            stem[:at] + letter + stem[at + 1 :],
            stem[:at] + stem[at + 1 : at + 2] + stem[at:],
        ]
    words += list(index)
    assert [lexicon.correct(w) for w in words] == [corrected(w) for w in words]
    assert sum(w is not None for w in map(lexicon.correct, words)) > 20_000
    assert len(lexicon.typo_hashes) < 25_000  # arrays of numbers (~0.2 MiB)


@pytest.mark.django_db
def test_writing_a_new_default_model_leaves_a_running_workers_model_as_it_was(
    monkeypatch, tmp_path
):
    """`train_router --default` puts a new file in place of the old one: a worker that maps
    the old file keeps routing with it (a file rewritten in place would change under it)."""
    import dataclasses
    import io

    import numpy as np
    from django.core.management import call_command

    from routing import training
    from routing.model import RouterModel

    path = tmp_path / "default.router"
    path.write_bytes(training.DEFAULT_ARTIFACT.read_bytes())
    monkeypatch.setattr(training, "DEFAULT_ARTIFACT", path)
    running = RouterModel.load_file(path)
    before = _routed(running, INQUIRIES)
    retrained = dataclasses.replace(running, primary_coef=-running.primary_coef)
    monkeypatch.setattr(training, "train", lambda *args, **kwargs: retrained)

    call_command("train_router", "--default", stdout=io.StringIO())

    assert _routed(running, INQUIRIES) == before
    assert np.array_equal(RouterModel.load_file(path).primary_coef, -running.primary_coef)


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{db.get('USER') or 'postgres'}{password}@{host}:{port}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_submitting_uploading_queueing_webhooks_and_listing_cases_do_not_load_celery(
    require_postgres, norrtalje
):
    """Celery and kombu (~9 MiB of a worker) are for the worker: a submission's receipt, a
    file's virus scan and a webhook delivery are rows that the worker's relays handle, so the
    request publishes nothing. A fresh process submits the question form (a system subscribes
    to webhooks), sends a file from the tracking page (clamd configured) and shows an officer
    the case list, as a gunicorn worker does; then it is asked what it loaded."""
    from django.conf import settings

    from api.models import ApiClient, WebhookSubscription
    from departments.models import Department
    from tests.factories import officer
    from tests.test_attachments import PDF

    anna = officer(Department.objects.first(), username="anna")
    api_client = ApiClient(name="Diariet")
    api_client.new_token()
    api_client.save()
    WebhookSubscription.objects.create(
        client=api_client, target_url="http://127.0.0.1:9/hook", secret="s3cret-value"
    )
    code = (
        "import sys, django; django.setup()\n"
        "from django.contrib.auth.models import User\n"
        "from django.core.files.uploadedfile import SimpleUploadedFile\n"
        "from django.test import Client\n"
        "from django.test.utils import override_settings, setup_test_environment\n"
        "from django.urls import reverse\n"
        "from api.models import WebhookDelivery\n"
        "from cases.models import Attachment, CaseFollower\n"
        "from outbox.models import OutgoingEmail\n"
        "from tests.factories import submit_question\n"
        "setup_test_environment()\n"
        "company = Client()\n"
        "with override_settings(FORM_MIN_FILL_SECONDS=0):\n"
        "    response = submit_question(company)\n"
        "assert response.status_code == 302, response.status_code\n"
        "assert OutgoingEmail.objects.get(kind='receipt').status == 'pending'\n"
        "assert WebhookDelivery.objects.filter(status='pending', attempts=0).exists()\n"
        "token = CaseFollower.objects.get().token\n"
        "upload = SimpleUploadedFile('ritning.pdf', %r)\n"
        "url = reverse('cases_public:tracking_message', args=[token])\n"
        "response = company.post(url, {'body': 'Ritningen', 'attachments': [upload]})\n"
        "assert response.status_code == 302, response.status_code\n"
        "assert Attachment.objects.get().scan_status == 'pending'\n"
        "staff = Client()\n"
        f"staff.force_login(User.objects.get(pk={anna.pk}))\n"
        "response = staff.get(reverse('staff:case_list'))\n"
        "assert response.status_code == 200, response.status_code\n"
        "print(*[name for name in ('celery', 'kombu', 'billiard') if name in sys.modules])\n"
    ) % PDF
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "OUTBOX_SEND_ON_COMMIT": "0",
        "CLAMAV_URL": "tcp://127.0.0.1:9",
        "DJANGO_SETTINGS_MODULE": "foretagslots.settings",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=settings.BASE_DIR
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == []


def test_a_web_worker_that_publishes_uses_the_projects_celery_app():
    """Nothing in a web worker imports `foretagslots.celery` until something is published
    (an attachment's scan); the task must then go to the project's broker, not to Celery's
    default app and its amqp://localhost."""
    code = (
        "import sys, django; django.setup()\n"
        "from unittest import mock\n"
        "from cases.tasks import attachment_scan_task\n"
        "from outbox.services import publish_or_leave\n"
        "assert 'foretagslots.celery' not in sys.modules\n"
        "with mock.patch('kombu.Connection.ensure_connection', side_effect=OSError('down')):\n"
        "    assert publish_or_leave(attachment_scan_task, (1,)) is False\n"
        "from django.conf import settings\n"
        "app = attachment_scan_task.app\n"
        "print(app.main, app.conf.broker_url == settings.CELERY_BROKER_URL)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "CELERY_TASK_ALWAYS_EAGER": "0"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["foretagslots", "True"]


def _in_a_fresh_process(code: str) -> list[str]:
    from django.conf import settings

    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "DJANGO_SETTINGS_MODULE": "foretagslots.settings",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=settings.BASE_DIR
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.django_db(transaction=True)
def test_submitting_the_question_form_and_listing_cases_do_not_load_numpy(
    require_postgres, norrtalje
):
    """numpy (~13 MiB of library files and ~4 MiB of a worker's own memory) is for training:
    a web worker routes the submitted question with the packed rows of the model's file
    (routing.model). A fresh process submits the question form and shows an officer the
    case list, as a gunicorn worker does; then it is asked what it loaded."""
    from departments.models import Department
    from tests.factories import officer

    anna = officer(Department.objects.first(), username="anna")
    code = (
        "import sys, django; django.setup()\n"
        "from django.contrib.auth.models import User\n"
        "from django.test import Client\n"
        "from django.test.utils import override_settings, setup_test_environment\n"
        "from django.urls import reverse\n"
        "from cases.models import Case\n"
        "from tests.factories import submit_question\n"
        "setup_test_environment()\n"
        "with override_settings(FORM_MIN_FILL_SECONDS=0):\n"
        "    response = submit_question(Client())\n"
        "assert response.status_code == 302, response.status_code\n"
        "case = Case.objects.get()\n"
        "assert case.owning_department_id and case.routing_explanation, case\n"
        "staff = Client()\n"
        f"staff.force_login(User.objects.get(pk={anna.pk}))\n"
        "response = staff.get(reverse('staff:case_list'))\n"
        "assert response.status_code == 200, response.status_code\n"
        "print(*[name for name in ('numpy', 'routing.training') if name in sys.modules])\n"
    )
    assert _in_a_fresh_process(code) == []


@pytest.mark.django_db(transaction=True)
def test_routing_a_question_does_not_load_numpy(require_postgres, norrtalje):
    code = (
        "import sys, django; django.setup()\n"
        "import routing\n"
        "result = routing.route('Uteservering', 'Vi vill ha uteservering på torget i sommar.')\n"
        "assert result.areas and result.explanation, result\n"
        "print(*[name for name in ('numpy', 'routing.training') if name in sys.modules])\n"
    )
    assert _in_a_fresh_process(code) == []
