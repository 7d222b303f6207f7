from django.urls import path

from meetings import views

app_name = "meetings"

urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("samverkansmote/", views.book_internal, name="book_internal"),
    path("boka/<str:reference>/", views.book_for_case, name="book_for_case"),
    path("<int:pk>/", views.meeting_detail, name="detail"),
    path("<int:pk>/lotsmote.ics", views.calendar_file, name="ics"),
    path(
        "<int:pk>/enheter/<int:invitation_pk>/deltagare/",
        views.set_attendees,
        name="set_attendees",
    ),
    path("<int:pk>/minnesanteckningar/", views.record_minutes, name="minutes"),
    path("<int:pk>/atgarder/", views.add_action, name="add_action"),
    path("<int:pk>/dagordning/", views.add_agenda_item, name="add_agenda_item"),
    path("<int:pk>/stall-in/", views.cancel, name="cancel"),
    path("atgarder/<int:action_pk>/klar/", views.complete_action, name="complete_action"),
]
