"""Mount the emulator's browser pages: ``path("_emulator/", include("graph_auth.emulator_urls"))``.

They answer 404 unless the emulator is on, and only requests from this machine (see
``graph_auth.views.emulator``). Importing this module does not import the emulator.
"""
from django.urls import re_path

from .views.emulator import emulator_page

app_name = "graph_auth_emulator"
urlpatterns = [re_path(r"^(?P<path>.*)$", emulator_page, name="page")]
