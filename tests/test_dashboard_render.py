"""The dashboard writes its tables in Python (insights_tags.insights_tables) instead of an
include per table: what the coordinator sees must stay what the template gave."""

import datetime as dt

from django.http import QueryDict
from django.template import Context, Template
from django.utils import translation

from insights import presenters
from insights.tables import Column, Table
from insights.templatetags.insights_tags import insights_tables

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
