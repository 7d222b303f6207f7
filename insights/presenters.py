"""Turn the dashboard's figures into the page's tables and charts (no queries here)."""

import datetime as dt
from urllib.parse import quote, urlencode

from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cases.models import Case
from insights import charts
from insights.selectors import Dashboard, ListedCase
from insights.tables import Column, Table

# In the order the coordinator reads them: late and unowned first, then bouncing.
LIST_TITLES = {
    "forsenade": ("overdue", lambda: _("Försenade ärenden, längst försenade först")),
    "ej-agda": ("unowned", lambda: _("Ärenden utan helhetsansvarig")),
    "studsande": ("bouncing", lambda: _("Studsande ärenden (överlämnade två gånger eller fler)")),
    "aldsta": ("oldest", lambda: _("Äldsta öppna ärenden")),
    "underlag": ("contributions", lambda: _("Väntar på underlag från annan enhet")),
}


def case_list_table(key: str, cases: list[ListedCase], today: dt.date) -> Table:
    _attr, title = LIST_TITLES[key]
    rows = []
    # One reverse() for the list: the case pages differ only in the reference.
    url_pattern = reverse("staff:case_detail", args=["REFERENCE"])
    statuses = {value: str(label) for value, label in Case.Status.choices}
    confidential = _("(sekretessmarkerat)")
    for case in cases:
        late = (today - case.due_at).days if case.due_at and case.due_at < today else None
        rows.append(
            {
                "reference": {
                    "text": case.reference,
                    "url": url_pattern.replace("REFERENCE", quote(case.reference)),
                    "sort": case.reference,
                },
                "subject": confidential if case.is_confidential else case.subject,
                "unit": case.unit,
                "owner": case.owner or "–",
                "received": timezone_date(case.received_at),
                "due": case.due_at,
                "late_days": late,
                "transfers": case.transfer_count,
                "status": statuses.get(case.status, case.status),
            }
        )
    columns = [
        Column("reference", _("Ärende"), "link", sortable=False),
        Column("subject", _("Rubrik"), "text", sortable=False),
        Column("unit", _("Enhet"), "text", sortable=False),
        Column("owner", _("Helhetsansvarig"), "text", sortable=False),
        Column("status", _("Status"), "text", sortable=False, secondary=True),
        Column("received", _("Inkom"), "date", sortable=False, secondary=True),
        Column("due", _("Avslutas senast"), "date", sortable=False),
        Column("late_days", _("Dagar försenat"), "int", sortable=False),
        Column(
            "transfers",
            _("Överlämningar"),
            "int",
            sortable=False,
            secondary=key != "studsande",
        ),
    ]
    return Table(key, title(), columns, rows)


def timezone_date(moment):
    from django.utils import timezone

    return timezone.localtime(moment).date() if moment else None


def headline_table(board: Dashboard) -> Table:
    columns = [
        Column("label", _("Nyckeltal"), "text", sortable=False),
        Column("value", _("Perioden"), "num", sortable=False),
        Column("previous", _("Perioden före"), "num", sortable=False),
        Column("change", _("Förändring"), "num", sortable=False),
        Column("note", _("Kommentar"), "text", sortable=False),
    ]
    rows = [
        {
            "label": str(item["label"]),
            "value": _rounded(item["value"], item["kind"]),
            "previous": _rounded(item["previous"], item["kind"]),
            "change": _rounded(item["change"], item["kind"]),
            "note": str(item["note"]),
        }
        for item in board.headline
    ]
    return Table("nyckeltal", _("Nyckeltal"), columns, rows)


def _rounded(value, kind):
    if value is None:
        return None
    if kind == "int":
        return value
    return round(value, 2 if kind == "num2" else 1)


def intake_chart(board: Dashboard) -> tuple[Table, str]:
    channels = list(Case.Channel)
    weeks = sorted({week for week, _c, _n in board.intake_weeks})
    counts = {(week, channel): n for week, channel, n in board.intake_weeks}
    rows = []
    week_text = _("v. %(week)s %(year)s")
    for week in weeks:
        row = {"week": _week_label(week, week_text), "week_start": week}
        total = 0
        for channel in channels:
            row[channel.value] = counts.get((week, channel.value), 0)
            total += row[channel.value]
        row["total"] = total
        rows.append(row)
    columns = [
        Column("week", _("Vecka"), "text", sortable=False),
        Column("week_start", _("Veckan börjar"), "date", sortable=False, secondary=True),
        *[Column(channel.value, str(channel.label), "int", sortable=False) for channel in channels],
        Column("total", _("Totalt"), "int", sortable=False),
    ]
    table = Table("inflode", _("Inkomna ärenden per vecka och kanal"), columns, rows)
    total = sum(row["total"] for row in rows)
    busiest = max(rows, key=lambda r: r["total"]) if rows else None
    by_channel = ", ".join(
        f"{channel.label}: {sum(r[channel.value] for r in rows)}" for channel in channels
    )
    desc = (
        _("%(total)s ärenden kom in under %(weeks)s veckor. Per kanal: %(channels)s.")
        % {"total": total, "weeks": len(rows), "channels": by_channel}
        if rows
        else _("Inga ärenden kom in under perioden.")
    )
    if busiest:
        desc += " " + _("Flest kom in %(week)s (%(n)s).") % {
            "week": busiest["week"],
            "n": busiest["total"],
        }
    svg = charts.stacked_bars(
        "chart-intake",
        table.title,
        desc,
        [row["week"] for row in rows],
        [
            (str(channel.label), [row[channel.value] for row in rows])
            for channel in channels
            if any(row[channel.value] for row in rows)
        ],
    )
    table.caption = desc
    return table, svg


def _week_label(day: dt.date, text: str | None = None) -> str:
    year, week, _weekday = day.isocalendar()
    return (text or _("v. %(week)s %(year)s")) % {"week": week, "year": year}


def on_time_chart(board: Dashboard) -> tuple[Table, str]:
    months = sorted({month for month, *_rest in board.on_time_months})
    per_unit: dict[int, dict] = {}
    volume: dict[int, int] = {}
    for month, unit, on_time, decided in board.on_time_months:
        per_unit.setdefault(unit, {})[month] = (on_time, decided)
        volume[unit] = volume.get(unit, 0) + decided
    names = {pk: board.departments[pk].name for pk in per_unit if pk in board.departments}
    units = sorted(names, key=lambda pk: names[pk])
    rows = []
    for unit in units:
        row = {"name": names[unit]}
        for month in months:
            on_time, decided = per_unit[unit].get(month, (0, 0))
            row[month.isoformat()] = round(on_time / decided * 100, 1) if decided else None
        rows.append(row)
    columns = [Column("name", _("Enhet"), "text", sortable=False)] + [
        # The last six months are the key figures; older months fold away.
        Column(
            month.isoformat(),
            date_format(month, "M Y"),
            "num",
            sortable=False,
            secondary=index < len(months) - 6,
        )
        for index, month in enumerate(months)
    ]
    table = Table("i-tid", _("Andel med första svar i tid per enhet och månad (%)"), columns, rows)
    # The chart shows the units with most cases; the table has them all.
    shown = sorted(units, key=lambda pk: -volume.get(pk, 0))[:6]
    by_name = {row["name"]: row for row in rows}
    series = [
        (names[pk], [by_name[names[pk]][m.isoformat()] for m in months])
        for pk in sorted(shown, key=lambda pk: names[pk])
    ]
    parts = []
    for label, values in series:
        known = [v for v in values if v is not None]
        if known:
            parts.append(
                _("%(unit)s från %(first)s %% till %(last)s %%")
                % {"unit": label, "first": f"{known[0]:.0f}", "last": f"{known[-1]:.0f}"}
            )
    desc = (
        _("Andel ärenden med första svar inom tidsgränsen, per månad: %(units)s.")
        % {"units": "; ".join(parts)}
        if parts
        else _("Inga ärenden att visa för perioden.")
    )
    if len(units) > len(shown):
        desc += " " + _(
            "Diagrammet visar de sex enheter som har flest ärenden; tabellen visar alla."
        )
    svg = charts.lines(
        "chart-on-time", table.title, desc, [date_format(m, "M Y") for m in months], series
    )
    table.caption = desc
    return table, svg


def nki_chart(board: Dashboard) -> str:
    table = board.tables["nki-insikt"]
    rows = [
        (
            row["name"]["text"],
            row["nki"],
            _("(osäkert)") if row["is_uncertain"] else "",
        )
        for row in table.rows
    ]
    parts = [
        _("%(area)s %(nki)s (%(n)s svar)")
        % {"area": row["name"]["text"], "nki": f"{row['nki']:.0f}", "n": row["n"]}
        for row in table.rows
        if row["nki"] is not None
    ]
    desc = (
        _("NKI per Insikt-område; 62 är gränsen för godkänt: %(areas)s.")
        % {"areas": "; ".join(parts)}
        if parts
        else _("Inga svar under perioden.")
    )
    return charts.horizontal_bars("chart-nki", table.title, desc, rows)


def header_links(table: Table, params) -> list[dict]:
    """Column headers with links that sort the table on the server."""
    param = f"sort_{table.key}"
    current = table.sort
    # The links keep the other parameters as QueryDict.urlencode() writes them; encoded once
    # per table, with this table's sorting in its place (or last when it is not there yet).
    keys = list(params)
    place = keys.index(param) if param in params else len(keys)
    before, after = _encoded(params, keys[:place]), _encoded(params, keys[place + 1 :])
    headers = []
    for column in table.shown_columns:
        item = {
            "label": column.label,
            "url": None,
            "aria_sort": None,
            "key": column.key,
            "secondary": column.secondary,
        }
        if column.sortable:
            descending_now = current == f"-{column.key}"
            ascending_now = current == column.key
            target = column.key if descending_now else f"-{column.key}"
            if column.kind == "text" and not (ascending_now or descending_now):
                target = column.key
            query = "&".join(part for part in (before, urlencode({param: target}), after) if part)
            item["url"] = f"?{query}#tabell-{table.key}"
            if ascending_now:
                item["aria_sort"] = "ascending"
            elif descending_now:
                item["aria_sort"] = "descending"
        headers.append(item)
    return headers


def _encoded(params, keys) -> str:
    return "&".join(urlencode({key: value}) for key in keys for value in params.getlist(key))


def export_url(name: str, params) -> str:
    return export_urls([name], params)[name]


def export_urls(names, params) -> dict[str, str]:
    """The CSV links of the page's tables, keeping the period and the sorting: one reverse()
    for them all (the links differ only in the table's name)."""
    query = {
        key: value
        for key, value in params.items()
        if key in {"period", "from", "to"} or key.startswith("sort_")
    }
    suffix = "?" + urlencode(query) if query else ""
    pattern = reverse("insights:export_table", args=["TABLE-NAME"])
    return {name: pattern.replace("TABLE-NAME", name) + suffix for name in names}


# --- Where cases stall ----------------------------------------------------------------------

STALL_TABLES = {
    "tid-per-enhet": lambda board: unit_time_table(board),
    "langst-ledtid": lambda board: area_lead_time_table(board),
}


def _value(row, key):
    value = row.get(key)
    return value.get("sort", value.get("text")) if isinstance(value, dict) else value


def _descending(rows, key):
    known = [row for row in rows if _value(row, key) is not None]
    return sorted(known, key=lambda row: -_value(row, key))


def unit_time_table(board: Dashboard) -> Table:
    """Time per unit: the units that hold cases longest first."""
    rows = _descending(board.tables["enheter"].rows, "held_per_case")
    columns = [
        Column("name", _("Enhet"), "text", sortable=False),
        Column("held_per_case", _("Dagar per ärende"), "num", sortable=False),
        Column("open", _("Öppna nu"), sortable=False),
        Column("overdue", _("Försenade"), sortable=False),
        Column("median_first", _("Median arbetsdagar till första svar"), "num", sortable=False),
        Column("held_days", _("Dagar hos enheten"), "num", sortable=False, secondary=True),
    ]
    table = Table("tid-per-enhet", _("Tid per enhet, längst först"), columns, rows)
    table.caption = _(
        "Dagar per ärende: hur länge ärendena i genomsnitt legat hos enheten under perioden, "
        "överlämningar inräknade."
    )
    return table


def area_lead_time_table(board: Dashboard, limit: int = 10) -> Table:
    """The responsibility areas with the longest lead times."""
    rows = _descending(board.tables["omraden"].rows, "median_close")[:limit]
    columns = [
        Column("name", _("Ansvarsområde"), "text", sortable=False),
        Column("median_close", _("Median arbetsdagar till avslut"), "num", sortable=False),
        Column("median_first", _("Median arbetsdagar till första svar"), "num", sortable=False),
        Column("open", _("Öppna nu"), sortable=False),
        Column("owner", _("Ägande enhet"), "text", sortable=False, secondary=True),
        Column("received", _("Inkomna"), sortable=False, secondary=True),
    ]
    table = Table("langst-ledtid", _("Områden med längst ledtid"), columns, rows)
    table.caption = _(
        "De tio ansvarsområden där ärenden under perioden tog längst tid att avsluta."
    )
    return table
