from django.contrib import admin
from django.urls import include, path

from . import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("profile/", views.profile, name="profile"),
    path("profile/photo", views.photo, name="photo"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("mail/", views.mail, name="mail"),
    path("people/", views.people, name="people"),
    path("staff/users/", views.staff_users, name="staff_users"),
    path("spa/", views.spa, name="spa"),
    path("api/me", api.me, name="api_me"),
    path("auth/", include("graph_auth.urls")),
    *([path("api/drf/me", api.MeView.as_view(), name="api_drf_me")] if api.MeView else []),
    path("admin/", admin.site.urls),
    # The emulator's sign-in pages (they answer 404 unless graph_auth runs on its emulator).
    path("_emulator/", include("graph_auth.emulator_urls")),
]
