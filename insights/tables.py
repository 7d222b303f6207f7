"""How the dashboard's figures are shown: one table shape for the page, the sorting and the CSV,
and the rows and columns built from the figures (labels, notes, rounding)."""

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from insights.models import Feedback
from insights.periods import UNCERTAIN_BELOW, _ratio, _share
from insights.services import answer_index, grade, nki

# The survey's factors, as the tables name them.
FACTOR_LABELS = {
    "information": gettext_lazy("Information"),
    "accessibility": gettext_lazy("Tillgänglighet"),
    "treatment": gettext_lazy("Bemötande"),
    "competence": gettext_lazy("Kompetens"),
    "legal_certainty": gettext_lazy("Rättssäkerhet"),
    "efficiency": gettext_lazy("Effektivitet"),
}


# --- Tables: one shape for the page, the sorting and the CSV ------------------------------


@dataclass
class Column:
    key: str
    label: str
    kind: str = "int"  # int, num, pct, text, link, date
    sortable: bool = True
    secondary: bool = False  # folded away behind "Visa alla kolumner" on a narrow page


@dataclass
class Table:
    key: str  # also the CSV's name
    title: str
    columns: list[Column]
    rows: list[dict]
    caption: str = ""
    sort: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def shown_columns(self) -> list[Column]:
        """The key figures first, secondary columns after them (the CSV keeps its order)."""
        return sorted(self.columns, key=lambda column: column.secondary)

    @property
    def has_secondary(self) -> bool:
        return any(column.secondary for column in self.columns)

    def sort_by(self, value: str) -> None:
        key = (value or "").lstrip("-")
        if key not in {c.key for c in self.columns if c.sortable}:
            return
        descending = value.startswith("-")

        def sort_key(row):
            item = row.get(key)
            if isinstance(item, dict):
                item = item.get("sort", item.get("text"))
            return (item is None, item if item is not None else 0)

        present = [r for r in self.rows if _plain(r.get(key)) is not None]
        missing = [r for r in self.rows if _plain(r.get(key)) is None]
        present.sort(key=sort_key, reverse=descending)
        self.rows = present + missing
        self.sort = value


def _plain(value):
    if isinstance(value, dict):
        return value.get("sort", value.get("text"))
    return value


def _suffix(values, suffix):
    return {k[: -len(suffix)]: v for k, v in values.items() if k.endswith(suffix)}


def _indices(row):
    """Mean answers → Insikt indices (the index of a mean is the mean of the indices)."""
    out = {"n": row.get("n") or 0}
    out["nki"] = nki([row.get(item) for item in Feedback.NKI_ITEMS])
    for item in Feedback.FACTOR_ITEMS:
        out[item] = answer_index(row.get(item))
    out["uncertain"] = out["n"] < UNCERTAIN_BELOW
    return out


def _days(duration) -> float:
    if duration is None:
        return 0.0
    if isinstance(duration, dt.timedelta):
        return duration.total_seconds() / 86400
    return float(duration) / 86_400_000_000  # microseconds (SQLite)


def _nki_note(values) -> str:
    if values["nki"] is None:
        return _("Inga svar under perioden.")
    text = _("%(grade)s, %(n)s svar") % {"grade": grade(values["nki"]), "n": values["n"]}
    if values["uncertain"]:
        text += " – " + _("osäkert (färre än 10 svar)")
    return text


def _figure(
    key,
    label,
    value,
    previous=None,
    *,
    kind="int",
    lower_is_better=False,
    alarm=False,
    note="",
    neutral=False,
):
    change = None
    if previous is not None and value is not None:
        change = value - previous
    better = None
    if change and not neutral:
        better = (change < 0) if lower_is_better else (change > 0)
    return {
        "key": key,
        "label": label,
        "value": value,
        "previous": previous,
        "change": change,
        "better": better,
        "kind": kind,
        "alarm": alarm,
        "note": note,
        "has_previous": previous is not None
        or key in {"received", "bouncing", "declined", "median_first", "median_close", "on_time"},
    }


def _row(fig, snap, declined, satisfaction):
    received = fig.get("received", 0)
    row = {
        "received": received,
        "open": snap.get("open", 0),
        "unowned": snap.get("unowned", 0),
        "overdue": snap.get("overdue", 0),
        "median_first": fig.get("median_first"),
        "median_close": fig.get("median_close"),
        "on_time": _round(_share(fig.get("on_time", 0), fig.get("decided", 0))),
        "transfers": _round(_ratio(fig.get("transfers", 0), received), 2),
        "bouncing": fig.get("bouncing", 0),
        "declined": declined.get("cur", 0),
        "contributions": snap.get("contributions", 0),
        "nki": _round(satisfaction["nki"]) if satisfaction else None,
        "nki_n": satisfaction["n"] if satisfaction else 0,
        "uncertain": bool(satisfaction and satisfaction["uncertain"]),
    }
    return row


def _round(value, digits=1):
    return round(value, digits) if value is not None else None


def _columns(*, unit: bool) -> list[Column]:
    columns = [
        Column("name", _("Enhet") if unit else _("Ansvarsområde"), "text"),
    ]
    if not unit:
        columns.append(Column("owner", _("Ägande enhet"), "text"))
    columns += [
        Column("received", _("Inkomna"), secondary=True),
        Column("open", _("Öppna nu")),
        Column("unowned", _("Utan helhetsansvarig")),
        Column("overdue", _("Försenade")),
        Column("median_first", _("Median arbetsdagar till första svar"), "num"),
        Column("median_close", _("Median arbetsdagar till avslut"), "num"),
        Column("on_time", _("Första svar i tid (%)"), "num"),
        Column("transfers", _("Överlämningar per ärende"), "num", secondary=True),
        Column("bouncing", _("Studsande")),
        Column("declined", _("Avböjda överlämningar"), secondary=True),
        Column("contributions", _("Väntar på underlag"), secondary=True),
    ]
    if unit:
        columns += [
            Column("held_days", _("Dagar hos enheten"), "num", secondary=True),
            Column("held_per_case", _("Dagar per ärende"), "num"),
        ]
    columns += [
        Column("nki", _("NKI"), "num"),
        Column("nki_n", _("Antal svar"), secondary=True),
    ]
    return columns


def _nki_columns() -> list[Column]:
    return [
        Column("name", _("Namn"), "text"),
        Column("n", _("Antal svar")),
        Column("nki", _("NKI"), "num"),
        Column("grade", _("Betyg"), "text"),
        *[
            Column(item, str(FACTOR_LABELS[item]), "num", secondary=True)
            for item in Feedback.FACTOR_ITEMS
        ],
        Column("uncertain", _("Osäkert (färre än 10 svar)"), "text", secondary=True),
    ]


def _nki_row(row, values):
    row.update(
        {
            "n": values["n"],
            "nki": _round(values["nki"]),
            "grade": grade(values["nki"]),
            **{item: _round(values[item]) for item in Feedback.FACTOR_ITEMS},
            "uncertain": _("ja") if values["uncertain"] else _("nej"),
            "is_uncertain": values["uncertain"],
        }
    )
    return row
