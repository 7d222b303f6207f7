"""CSV files for Excel (Swedish settings): UTF-8 with BOM, semicolons, decimal commas."""

import csv
import datetime as dt

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from insights.tables import Table

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value) -> str:
    """One value as text; formulas are neutralised so a spreadsheet never runs them."""
    if isinstance(value, dict):
        value = value.get("text", "")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nej"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text.startswith(DANGEROUS_START):
        text = "'" + text
    return text


class _Echo:
    def write(self, value):
        return value


def _filename_header(name: str) -> str:
    return f'attachment; filename="{name}"'


def table_response(table: Table, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _filename_header(filename)
    response.write("\ufeff")
    writer = csv.writer(response, delimiter=";")
    writer.writerow([str(column.label) for column in table.columns])
    for row in table.rows:
        writer.writerow([cell(row.get(column.key)) for column in table.columns])
    return response


def rows_response(header: list[str], rows, filename: str) -> StreamingHttpResponse:
    """Stream many rows (an iterator) without holding them in memory."""
    writer = csv.writer(_Echo(), delimiter=";")

    def generate():
        yield "\ufeff" + writer.writerow(header)
        for row in rows:
            yield writer.writerow([cell(value) for value in row])

    response = StreamingHttpResponse(generate(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _filename_header(filename)
    return response
