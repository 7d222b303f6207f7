from html import escape

from django import template
from django.utils.formats import get_format, number_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def insights_tables(tables):
    """Dashboard tables (heading, CSV link, the table or "nothing to show"), built in Python:
    the page has fifteen of them and an include per table, with its template nodes and
    translations, cost more than the rows. The HTML is what templates/insights/_table.html
    gave (tests/test_dashboard_render.py compares the two)."""
    labels = {
        "show": _("Visa alla kolumner"),
        "hide": _("Visa färre kolumner"),
        "download": _("Ladda ner %(title)s som CSV"),
        "nothing": _("Inget att visa för perioden."),
    }
    if not isinstance(tables, (list, tuple)):
        tables = [tables]
    html = "".join(_table(table, labels) for table in tables)
    return mark_safe(html)  # noqa: S308 - every value is escaped in _table


def _table(table, labels) -> str:
    key = conditional_escape(table.key)
    title = conditional_escape(str(table.title))
    collapsible = bool(table.has_secondary and table.rows)
    out = [
        f'<section class="insights-table mb-4" id="tabell-{key}"',
        " data-collapsible>" if collapsible else ">",
        '\n  <div class="d-flex flex-wrap justify-content-between align-items-baseline gap-2">'
        f'\n    <h3 class="h5" id="rubrik-{key}">{title}</h3>'
        '\n    <span class="d-flex flex-wrap gap-2">\n    ',
    ]
    if collapsible:
        out.append(
            '<button type="button" class="btn btn-sm btn-outline-primary" data-toggle-columns '
            f'aria-controls="tabell-{key}-tabell" aria-expanded="true" '
            f'data-show="{labels["show"]}" data-hide="{labels["hide"]}" hidden>'
            f"{labels['hide']}</button>"
        )
    download = labels["download"] % {"title": title}
    out.append(
        f'\n    <a class="btn btn-sm btn-outline-secondary" '
        f'href="{conditional_escape(table.export_url)}">{download}</a>\n    </span>\n  </div>\n  '
    )
    if table.rows:
        caption = conditional_escape(str(table.caption)) if table.caption else ""
        out.append("\n  ")
        if caption:
            out.append(f'<p class="table-caption" aria-hidden="true">{caption}</p>')
        out.append(
            '\n  <div class="table-responsive" tabindex="0" role="region" '
            f'aria-labelledby="rubrik-{key}" id="tabell-{key}-tabell">'
            '\n  <table class="table table-sm table-striped align-middle">\n    '
        )
        if caption:
            out.append(f'<caption class="visually-hidden">{caption}</caption>')
        out.append(
            f"\n    <thead><tr>{table_head(table)}</tr></thead>"
            f"\n    <tbody>{table_body(table)}</tbody>\n  </table>\n  </div>\n  "
        )
    else:
        out.append(f"\n  <p>{labels['nothing']}</p>\n  ")
    out.append("\n</section>\n")
    return "".join(out)


@register.simple_tag
def table_body(table):
    """The rows of a dashboard table, built in Python: tables can have thousands of cells and
    a template loop (or a translation lookup) per cell would dominate the page's time."""
    missing = format_html(
        '<span aria-hidden="true">–</span><span class="visually-hidden">{}</span>',
        _("uppgift saknas"),
    )
    uncertain_badge = format_html(' <span class="badge text-bg-warning">{}</span>', _("osäkert"))
    decimal = get_format("DECIMAL_SEPARATOR")
    secondary = {column.key for column in table.columns if column.secondary}
    # Per column, once: its key, kind, cell tags and whether it carries the "osäkert" badge.
    columns = [
        (column.key, column.kind, '<th scope="row">', "</th>", False)
        if index == 0
        else (
            column.key,
            column.kind,
            '<td class="col-secondary">' if column.key in secondary else "<td>",
            "</td>",
            column.key == "nki",
        )
        for index, column in enumerate(table.shown_columns)
    ]
    out = []
    append = out.append
    for row in table.rows:
        get = row.get
        uncertain = get("uncertain") is True
        append('<tr class="insights-uncertain">' if uncertain or get("is_uncertain") else "<tr>")
        for key, kind, opening, closing, badged in columns:
            value = get(key)
            if value is None or value == "":
                html = missing
            elif kind == "link":
                html = f'<a href="{escape(value["url"])}">{escape(str(value["text"]))}</a>'
            else:
                if isinstance(value, dict):
                    value = value.get("text", "")
                if kind == "num" and isinstance(value, (int, float)):
                    html = f"{value:.1f}".replace(".", decimal)
                elif kind == "date":
                    html = value.isoformat()
                elif type(value) is int or type(value) is float:
                    html = str(value)  # nothing to escape in a number
                else:
                    html = escape(str(value))
            if badged and uncertain:
                append(f"{opening}{html}{uncertain_badge}{closing}")
            else:
                append(f"{opening}{html}{closing}")
        append("</tr>")
    return mark_safe("".join(out))  # noqa: S308 - every value is escaped above


@register.simple_tag
def table_head(table):
    """The header cells of a dashboard table (`presenters.header_links`), with the sorting
    links and their screen-reader texts; built in Python like the rows."""
    sort_text = {
        "descending": _("(sorterad fallande, sortera stigande)"),
        "ascending": _("(sorterad stigande, sortera fallande)"),
        None: _("(sortera)"),
    }
    arrow = {
        "descending": ' <span aria-hidden="true">▼</span>',
        "ascending": (' <span aria-hidden="true">▲</span>'),
    }
    out = []
    for header in table.headers:
        attributes = ' class="col-secondary"' if header["secondary"] else ""
        aria_sort = header["aria_sort"]
        if aria_sort:
            attributes += f' aria-sort="{aria_sort}"'
        label = escape(str(header["label"]))
        if header["url"]:
            label = (
                f'<a href="{escape(header["url"])}">{label}<span class="visually-hidden"> '
                f"{escape(sort_text[aria_sort])}</span>{arrow.get(aria_sort, '')}</a>"
            )
        out.append(f'<th scope="col"{attributes}>{label}</th>')
    return mark_safe("".join(out))  # noqa: S308 - every value is escaped above


@register.simple_tag
def headline_figures(items):
    """The key figures (`selectors.dashboard`'s headline), each with the period before, the
    change and a note; built in Python like the tables. The HTML is what the template's loop
    gave (tests/test_dashboard_render.py compares the two)."""
    words = {
        "before": _("Perioden före:"),
        "change": _("förändring"),
        "better": _("bättre"),
        "worse": _("sämre"),
        "warning": _("Varning:"),
    }
    out = []
    for item in items:
        alarm = item.get("alarm")
        out.append(
            f'\n    <div class="insights-figure{" insights-alarm" if alarm else ""}" '
            f'id="nyckeltal-{conditional_escape(item.get("key", ""))}">'
            f"\n      <dt>{conditional_escape(str(item.get('label', '')))}</dt>"
            f'\n      <dd class="insights-value">{figure_value(item)}</dd>\n      '
        )
        if item.get("has_previous"):
            better = item.get("better")
            verdict, judged = "", ""
            if better is True:
                verdict, judged = " insights-better", f", {words['better']}"
            elif better is False:
                verdict, judged = " insights-worse", f", {words['worse']}"
            out.append(
                f'<dd class="insights-change{verdict}">{words["before"]} '
                f"{figure_value(item, 'previous')} ({words['change']} "
                f"{figure_value(item, 'change')}{judged})</dd>"
            )
        out.append("\n      ")
        note = item.get("note")
        if note:
            warning = f"<strong>{words['warning']}</strong> " if alarm else ""
            out.append(f'<dd class="insights-note">{warning}{conditional_escape(str(note))}</dd>')
        out.append("\n    </div>\n    ")
    return mark_safe("".join(out))  # noqa: S308 - every value is escaped above


@register.simple_tag
def figure_value(item, key="value"):
    value = item.get(key)
    if value is None:
        return "–"
    kind = item["kind"]
    if key == "change" and not value:
        return "±0"
    if kind == "int":
        return f"{value:+d}" if key == "change" else str(value)
    digits = 2 if kind == "num2" else 1
    text = number_format(round(value, digits), digits)
    if key == "change" and value > 0:
        text = "+" + text
    if kind == "pct":
        text += " %"
    return text
