from django.urls import path

from cases.views import attachments, staff

app_name = "staff"

_CASE = "arenden/<str:reference>/"

urlpatterns = [
    path("", staff.home, name="home"),
    path("ko/", staff.queue, name="queue"),
    path("arenden/", staff.case_list, name="case_list"),
    path("registrera/", staff.register, name="register"),
    path(_CASE, staff.case_detail, name="case_detail"),
    path(_CASE + "bilagor/<int:pk>/", attachments.staff_download, name="attachment"),
    path(_CASE + "ta/", staff.case_action, {"action": "claim"}, name="case_claim"),
    path(_CASE + "fordela/", staff.case_action, {"action": "assign"}, name="case_assign"),
    path(
        _CASE + "overlamna/",
        staff.case_action,
        {"action": "transfer_offer"},
        name="case_transfer_offer",
    ),
    path(_CASE + "omraden/", staff.case_action, {"action": "change_areas"}, name="case_areas"),
    path(
        _CASE + "begar-underlag/",
        staff.case_action,
        {"action": "request_contribution"},
        name="case_request_contribution",
    ),
    path(_CASE + "svara/", staff.case_action, {"action": "reply"}, name="case_reply"),
    path(_CASE + "anteckning/", staff.case_action, {"action": "note"}, name="case_note"),
    path(
        _CASE + "komplettering/",
        staff.case_action,
        {"action": "wait_for_company"},
        name="case_wait",
    ),
    path(_CASE + "avsluta/", staff.case_action, {"action": "close"}, name="case_close"),
    path(
        _CASE + "tidsgrans/",
        staff.case_action,
        {"action": "extend_deadline"},
        name="case_extend_deadline",
    ),
    path(_CASE + "oppna-igen/", staff.case_action, {"action": "reopen"}, name="case_reopen"),
    path(
        _CASE + "overlamningar/<int:pk>/acceptera/",
        staff.transfer_accept,
        name="transfer_accept",
    ),
    path(_CASE + "overlamningar/<int:pk>/avboj/", staff.transfer_decline, name="transfer_decline"),
    path(_CASE + "underlag/<int:pk>/ta/", staff.contribution_claim, name="contribution_claim"),
    path(_CASE + "underlag/<int:pk>/svara/", staff.contribution_answer, name="contribution_answer"),
]
