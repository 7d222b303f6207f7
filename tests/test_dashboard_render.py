"""The dashboard writes its tables in Python (insights_tags.insights_tables) instead of an
include per table: what the coordinator sees must stay what the template gave."""

import datetime as dt
from html import escape

from django.http import QueryDict
from django.template import Context, Template
from django.utils import translation
from django.utils.formats import get_format
from django.utils.html import format_html

from insights import presenters
from insights.tables import Column, Table, _figure
from insights.templatetags.insights_tags import headline_figures, insights_tables, table_body

# Each table as templates/insights/_table.html wrote it (included with level=3).
TEMPLATE_TABLE = """{% load i18n insights_tags %}<section class="insights-table mb-4" id="tabell-{{ table.key }}"{% if table.has_secondary and table.rows %} data-collapsible{% endif %}>
  <div class="d-flex flex-wrap justify-content-between align-items-baseline gap-2">
    <h{{ level|default:3 }} class="h5" id="rubrik-{{ table.key }}">{{ table.title }}</h{{ level|default:3 }}>
    <span class="d-flex flex-wrap gap-2">
    {% if table.has_secondary and table.rows %}<button type="button" class="btn btn-sm btn-outline-primary" data-toggle-columns aria-controls="tabell-{{ table.key }}-tabell" aria-expanded="true" data-show="{% translate 'Visa alla kolumner' %}" data-hide="{% translate 'Visa färre kolumner' %}" hidden>{% translate "Visa färre kolumner" %}</button>{% endif %}
    <a class="btn btn-sm btn-outline-secondary" href="{{ table.export_url }}">{% blocktranslate trimmed with title=table.title %}Ladda ner {{ title }} som CSV{% endblocktranslate %}</a>
    </span>
  </div>
  {% if table.rows %}
  {% if table.caption %}<p class="table-caption" aria-hidden="true">{{ table.caption }}</p>{% endif %}
  <div class="table-responsive" tabindex="0" role="region" aria-labelledby="rubrik-{{ table.key }}" id="tabell-{{ table.key }}-tabell">
  <table class="table table-sm table-striped align-middle">
    {% if table.caption %}<caption class="visually-hidden">{{ table.caption }}</caption>{% endif %}
    <thead><tr>{% table_head table %}</tr></thead>
    <tbody>{% table_body table %}</tbody>
  </table>
  </div>
  {% else %}
  <p>{% translate "Inget att visa för perioden." %}</p>
  {% endif %}
</section>
"""  # noqa: E501


# The key figures as the dashboard template's loop wrote them.
TEMPLATE_HEADLINE = """{% load i18n insights_tags %}{% for item in board.headline %}
    <div class="insights-figure{% if item.alarm %} insights-alarm{% endif %}" id="nyckeltal-{{ item.key }}">
      <dt>{{ item.label }}</dt>
      <dd class="insights-value">{% figure_value item %}</dd>
      {% if item.has_previous %}<dd class="insights-change{% if item.better is True %} insights-better{% elif item.better is False %} insights-worse{% endif %}">{% translate "Perioden före:" %} {% figure_value item "previous" %} ({% translate "förändring" %} {% figure_value item "change" %}{% if item.better is True %}, {% translate "bättre" %}{% elif item.better is False %}, {% translate "sämre" %}{% endif %})</dd>{% endif %}
      {% if item.note %}<dd class="insights-note">{% if item.alarm %}<strong>{% translate "Varning:" %}</strong> {% endif %}{{ item.note }}</dd>{% endif %}
    </div>
    {% endfor %}"""  # noqa: E501


def tables():
    params = QueryDict("period=year&sort_enheter=-nki&from=2026-01-01")
    made = [
        Table(
            "enheter",
            "Enheter & <områden>",
            [
                Column("unit", "Enhet", "text"),
                Column("nki", "NKI", "num"),
                Column("cases", "Ärenden", "int", secondary=True),
                Column("due", "Senast", "date", sortable=False),
            ],
            [
                {"unit": "Bygg & <miljö>", "nki": 71.25, "cases": 12, "due": dt.date(2026, 3, 4)},
                {"unit": "Miljö", "nki": None, "cases": 0, "due": None, "uncertain": True},
                {"unit": {"text": "Gata & park", "sort": "g"}, "nki": 64, "cases": 2.5, "due": ""},
                {"unit": "Kultur", "nki": 55.0, "cases": True, "due": None, "uncertain": True},
                {
                    "unit": 7,
                    "nki": 0.04,
                    "cases": "<många>",
                    "due": dt.date(2026, 1, 9),
                    "is_uncertain": 1,
                },
            ],
            caption="Ärenden per enhet, <störst> först",
        ),
        Table("tom", "Inga rader", [Column("unit", "Enhet", "text", secondary=True)], []),
        Table("utan-extra", "Utan dolda kolumner", [Column("unit", "Enhet", "text")], []),
        Table(
            "en-kolumn",
            "Utan rubriktext",
            [Column("unit", "Enhet", "text"), Column("n", "Antal", "int")],
            [{"unit": "Bygg", "n": 3}],
        ),
    ]
    made[0].sort_by("-nki")
    for table in made:
        table.headers = presenters.header_links(table, params)
        table.export_url = presenters.export_url(table.key, params)
    return made


def test_the_dashboards_tables_are_what_the_template_gave():
    made = tables()
    for language in ("sv", "en"):
        with translation.override(language):
            template = Template(TEMPLATE_TABLE)
            expected = "".join(
                template.render(Context({"table": table, "level": 3})) for table in made
            )
            assert insights_tables(made) == expected
            assert insights_tables(made[0]) == expected[: expected.index("</section>") + 11]


def test_the_key_figures_are_what_the_template_gave():
    items = [
        _figure("received", "Inkomna ärenden", 120, 100),
        _figure("median_close", "Avslutade <i tid>", 4.25, 5.0, kind="num", lower_is_better=True),
        _figure(
            "on_time", "I tid", 81.5, 90.0, kind="pct", alarm=True, note="Under 85 % & sjunker"
        ),
        _figure("open", "Öppna nu", 12, note="Just nu"),
        _figure("nki", "NKI", None, 70.0, kind="num2", neutral=True),
        _figure("declined", "Avböjda", 3, 3),
    ]
    for language in ("sv", "en"):
        with translation.override(language):
            expected = Template(TEMPLATE_HEADLINE).render(Context({"board": {"headline": items}}))
            assert headline_figures(items) == expected


def rows_before(table):
    """The rows as table_body wrote them before it prepared its columns once per table."""
    missing = format_html(
        '<span aria-hidden="true">–</span><span class="visually-hidden">{}</span>',
        translation.gettext("uppgift saknas"),
    )
    badge = format_html(
        ' <span class="badge text-bg-warning">{}</span>', translation.gettext("osäkert")
    )
    decimal = get_format("DECIMAL_SEPARATOR")
    columns = [(column.key, column.kind) for column in table.shown_columns]
    secondary = {column.key for column in table.columns if column.secondary}
    out = []
    for row in table.rows:
        uncertain = row.get("is_uncertain") or row.get("uncertain") is True
        out.append('<tr class="insights-uncertain">' if uncertain else "<tr>")
        for index, (key, kind) in enumerate(columns):
            value = row.get(key)
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
                else:
                    html = escape(str(value))
            cell = '<td class="col-secondary">' if key in secondary else "<td>"
            if index == 0:
                out.append(f'<th scope="row">{html}</th>')
            elif key == "nki" and row.get("uncertain") is True:
                out.append(f"{cell}{html}{badge}</td>")
            else:
                out.append(f"{cell}{html}</td>")
        out.append("</tr>")
    return "".join(out)


def test_the_table_rows_are_what_they_were():
    made = tables()
    made.append(
        Table(
            "lankar",
            "Ärenden",
            [Column("reference", "Ärende", "link"), Column("nki", "NKI", "num", secondary=True)],
            [
                {"reference": {"text": "FL-1 <a>", "url": "/lots/arenden/FL-1/?a=1&b=2"}},
                {"reference": None, "nki": 12, "uncertain": True},
            ],
        )
    )
    for language in ("sv", "en"):
        with translation.override(language):
            for table in made:
                assert table_body(table) == rows_before(table)


def test_the_sorting_links_keep_the_other_parameters_in_their_order():
    table = Table(
        "enheter",
        "Enheter",
        [Column("unit", "Enhet", "text"), Column("nki", "NKI", "num"), Column("n", "Antal")],
        [],
        sort="nki",
    )
    for raw in (
        "period=custom&sort_enheter=nki&from=2026-01-01&x=%C3%A5+b&x=2",  # in the middle
        "period=year&x=a%26b",  # not there yet: last
        "",
    ):
        params = QueryDict(raw)
        expected = []
        for key, target in (("unit", "unit"), ("nki", "-nki"), ("n", "-n")):
            query = params.copy()
            query["sort_enheter"] = target
            expected.append(f"?{query.urlencode()}#tabell-enheter")
        assert [h["url"] for h in presenters.header_links(table, params)] == expected
