"""The English catalogue is complete and compiled: switching language never shows a mix."""

import gettext
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")
SOURCES = [
    "foretagslots",
    "departments",
    "cases",
    "outbox",
    "meetings",
    "insights",
    "inbound",
    "api",
    "routing",
    "followup",
    "records",
    "templates",
]


@pytest.fixture
def gettext_tools():
    if not shutil.which("msgfmt") or not shutil.which("xgettext"):
        pytest.skip("needs GNU gettext (Debian package gettext)")


def _catalog(mo_path):
    with open(mo_path, "rb") as handle:
        return gettext.GNUTranslations(handle)._catalog


def _unquote(line):
    return (
        line[line.index('"') + 1 : line.rindex('"')]
        .encode()
        .decode("unicode_escape")
        .encode("latin-1")
        .decode("utf-8")
    )


def _po_keys(text):
    """The catalogue keys (as GNUTranslations stores them) of every entry in a .po file."""
    keys = set()
    for block in text.split("\n\n"):
        fields, current = {}, None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            if line.startswith(("msgctxt ", "msgid ", "msgid_plural ")):
                current = line.split(" ", 1)[0]
                fields[current] = _unquote(line)
            elif line.startswith('"') and current:
                fields[current] += _unquote(line)
            elif line.startswith("msgstr"):
                current = None
        msgid = fields.get("msgid")
        if not msgid:
            continue
        if "msgctxt" in fields:
            msgid = f"{fields['msgctxt']}\x04{msgid}"
        keys.add((msgid, 0) if "msgid_plural" in fields else msgid)
    return keys


def test_every_string_in_the_code_has_an_english_translation(tmp_path, gettext_tools):
    copy = tmp_path / "src"
    copy.mkdir()
    for name in SOURCES + ["manage.py"]:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy(source, copy / name)
    (copy / "locale").mkdir()
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "en",
            "--no-obsolete",
            "--no-location",
            "--ignore=*/migrations/*",
        ],
        cwd=copy,
        check=True,
        capture_output=True,
        timeout=300,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "foretagslots.settings",
            "PYTHONPATH": str(copy),
        },
    )
    extracted = copy / "locale" / "en" / "LC_MESSAGES" / "django.po"
    wanted = _po_keys(extracted.read_text(encoding="utf-8"))
    translated = {key for key, value in _catalog(MO).items() if key and value}
    missing = sorted(str(key) for key in wanted - translated)
    assert not missing, f"{len(missing)} strings lack English (run `make messages`): {missing[:20]}"


def test_compiled_catalogue_matches_the_po_file(tmp_path, gettext_tools):
    subprocess.run(["msgfmt", "--check", "-o", str(tmp_path / "fresh.mo"), str(PO)], check=True)
    assert _catalog(tmp_path / "fresh.mo") == _catalog(MO), "run `make messages` to compile"
