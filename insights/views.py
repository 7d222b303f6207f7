"""The survey after closing (public) and the lots coordinator's dashboard (staff)."""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from cases.models import find_by_token
from departments.models import ResponsibilityArea
from foretagslots.ratelimit import ratelimit
from insights import exports, periods, presenters, selectors
from insights.forms import FeedbackForm
from insights.models import Feedback
from insights.services import feedback_submit


def _no_leak(response):
    # The token must not leak to other sites; "same-origin" keeps the form's Origin header
    # (with "no-referrer" Chromium posts "Origin: null" and the CSRF check refuses).
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@login_not_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@ratelimit("feedback")
def feedback(request, token):
    item = find_by_token(Feedback.objects.select_related("case"), token)
    if item is None:
        raise Http404
    if item.answered_at is not None:
        return _no_leak(
            render(
                request,
                "insights/feedback_message.html",
                {
                    "heading": _("Tack för ditt svar!"),
                    "text": _(
                        "Enkäten är besvarad. Varje länk kan bara användas en gång. Dina svar "
                        "hjälper oss att förbättra servicen till företagen."
                    ),
                },
            )
        )
    if timezone.now() >= item.expires_at:
        return _no_leak(
            render(
                request,
                "insights/feedback_message.html",
                {
                    "heading": _("Länken har gått ut"),
                    "text": _(
                        "Enkäten kunde besvaras i 60 dagar efter att ärendet avslutades, och "
                        "den tiden har gått. Du är välkommen att kontakta Företagslotsen om du "
                        "vill lämna synpunkter."
                    ),
                },
                status=410,
            )
        )
    form = FeedbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            feedback_submit(
                token=token, answers=form.answers(), comment=form.cleaned_data["comment"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("insights_public:feedback", token=token)
    context = {"form": form, "feedback": item}
    return _no_leak(render(request, "insights/feedback_form.html", context))


# --- The dashboard (staff) ------------------------------------------------------------------

DATE_HELP = "ÅÅÅÅ-MM-DD"


def _board(request):
    """The dashboard for the request's period and sorting; a bad period falls back to this
    month with the error shown at the field."""
    period_error = None
    try:
        period = periods.parse_period(request.GET)
    except periods.PeriodError as error:
        period_error = str(error)
        period = periods.parse_period({"period": "month"})
    board = selectors.dashboard(user=request.user, period=period)
    for key, table in board.tables.items():
        table.sort_by(request.GET.get(f"sort_{key}", ""))
    return board, period_error


@require_http_methods(["GET", "HEAD"])
def dashboard(request):
    board, period_error = _board(request)
    today = timezone.localdate()
    intake_table, intake_svg = presenters.intake_chart(board)
    on_time_table, on_time_svg = presenters.on_time_chart(board)
    lists = [
        presenters.case_list_table(key, board.lists[attr], today)
        for key, (attr, _title) in presenters.LIST_TITLES.items()
    ]
    # Where cases stall: late, unowned, bouncing; then time per unit and the slowest areas.
    stalls = lists[:3] + [make(board) for make in presenters.STALL_TABLES.values()]
    lists = lists[3:]
    main_tables = [board.tables[key] for key in ("enheter", "omraden")]
    nki_tables = [board.tables[key] for key in ("nki-insikt", "nki", "nki-omraden")]
    shown = [*main_tables, *nki_tables, intake_table, on_time_table, *stalls, *lists]
    export_urls = presenters.export_urls([t.key for t in shown] + ["nyckeltal"], request.GET)
    for table in shown:
        table.headers = presenters.header_links(table, request.GET)
        table.export_url = export_urls[table.key]
    scope_names = None
    if board.units_scope is not None:
        scope_names = sorted(board.departments[pk].name for pk in board.units_scope)
    context = {
        "board": board,
        "period": board.period,
        "periods": periods.PERIODS,
        "period_error": period_error,
        "params": request.GET,
        "scope_names": scope_names,
        "main_tables": main_tables,
        "nki_tables": nki_tables,
        "intake_table": intake_table,
        "intake_svg": intake_svg,
        "on_time_table": on_time_table,
        "on_time_svg": on_time_svg,
        "nki_svg": presenters.nki_chart(board),
        "lists": lists,
        "stalls": stalls,
        "headline_export": export_urls["nyckeltal"],
        "is_coordinator_view": board.units_scope is None,
    }
    return render(request, "insights/dashboard.html", context)


@require_http_methods(["GET", "HEAD"])
def export_table(request, name):
    board, _error = _board(request)
    today = timezone.localdate()
    if name in board.tables:
        table = board.tables[name]
    elif name == "nyckeltal":
        table = presenters.headline_table(board)
    elif name == "inflode":
        table, _svg = presenters.intake_chart(board)
    elif name == "i-tid":
        table, _svg = presenters.on_time_chart(board)
    elif name in presenters.STALL_TABLES:
        table = presenters.STALL_TABLES[name](board)
    elif name in presenters.LIST_TITLES:
        attr, _title = presenters.LIST_TITLES[name]
        table = presenters.case_list_table(name, board.lists[attr], today)
    else:
        raise Http404
    period = board.period
    return exports.table_response(table, f"{name}_{period.start}_{period.end}.csv")


@require_http_methods(["GET", "HEAD"])
def export_cases(request):
    """The case list as CSV with the staff list's filters: status, unit (slug), area (slug),
    owner (user name), overdue=1, channel, from/to (received, ÅÅÅÅ-MM-DD). Visible cases only."""
    try:
        cases = selectors.case_list(user=request.user, params=request.GET)
    except ValidationError as error:
        return HttpResponse(
            " ".join(error.messages), status=400, content_type="text/plain; charset=utf-8"
        )
    header = [
        _("Ärendenummer"),
        _("Rubrik"),
        _("Status"),
        _("Kanal"),
        _("Företag"),
        _("Organisationsnummer"),
        _("Ansvarig enhet"),
        _("Huvudområde"),
        _("Helhetsansvarig"),
        _("Inkom"),
        _("Första svar senast"),
        _("Första svar"),
        _("Avslutas senast"),
        _("Avslutat"),
        _("Överlämningar"),
        _("Insikt-område"),
    ]
    rows = (
        [
            case.reference,
            _("(sekretessmarkerat)") if case.is_confidential else case.subject,
            case.get_status_display(),
            case.get_channel_display(),
            case.company.name,
            case.company.org_number_display,
            case.owning_department.name,
            case.primary_area.name if case.primary_area else "",
            (case.owner.get_full_name() or case.owner.username) if case.owner else "",
            case.received_at,
            case.first_answer_due,
            case.first_answered_at,
            case.due_at,
            case.closed_at,
            case.transfer_count,
            case.insikt_area,
        ]
        for case in cases.iterator(chunk_size=2000)
    )
    return exports.rows_response(header, rows, f"arenden_{timezone.localdate()}.csv")


@require_http_methods(["GET", "HEAD"])
def export_insikt(request):
    """Closed cases per Insikt area for the municipality's Insikt supplier (SKR's ärendemall):
    one row per case closed in the period (closing date), in an Insikt area.

    Columns: ärendenummer; insiktområde (kod); insiktområde; ansvarsområde; ansvarig enhet;
    inkom (datum); avslutat (datum); företagets namn; organisationsnummer; enskild firma
    (ja/nej); kontaktperson; e-post; telefon; kanal. A sole trader's identifier is a
    personnummer: it is left out (the portal records no consent to hand it over), and the
    supplier must ask for consent before surveying such a company. Anonymised cases are left
    out."""
    if selectors.dashboard_scope(request.user) is not None:
        raise PermissionDenied(_("Bara lotssamordnare kan ta ut underlaget till Insikt."))
    try:
        period = periods.parse_period(request.GET)
    except periods.PeriodError as error:
        return HttpResponse(str(error), status=400, content_type="text/plain; charset=utf-8")
    cases = selectors.insikt_cases(period=period, insikt_area=request.GET.get("insikt_area", ""))
    labels = dict(ResponsibilityArea.InsiktArea.choices)
    header = [
        "Ärendenummer",
        "Insiktområde (kod)",
        "Insiktområde",
        "Ansvarsområde",
        "Ansvarig enhet",
        "Inkom",
        "Avslutat",
        "Företagets namn",
        "Organisationsnummer",
        "Enskild firma",
        "Kontaktperson",
        "E-post",
        "Telefon",
        "Kanal",
    ]
    rows = (
        [
            case.reference,
            case.insikt_area,
            str(labels.get(case.insikt_area, case.insikt_area)),
            case.primary_area.name if case.primary_area else "",
            case.owning_department.name,
            timezone.localtime(case.received_at).date(),
            timezone.localtime(case.closed_at).date(),
            case.company.name,
            "" if case.company.is_sole_trader else (case.company.org_number or ""),
            case.company.is_sole_trader,
            case.contact_name,
            case.contact_email,
            case.contact_phone,
            case.get_channel_display(),
        ]
        for case in cases.iterator(chunk_size=2000)
    )
    return exports.rows_response(header, rows, f"insikt_{period.start}_{period.end}.csv")
