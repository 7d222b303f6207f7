from django.urls import path

from cases.views import staff

app_name = "staff"

urlpatterns = [
    path("", staff.home, name="home"),
    path("arenden/<str:reference>/", staff.case_detail, name="case_detail"),
]
