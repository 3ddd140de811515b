"""``path("auth/", include("graph_auth.urls"))`` gives graph_auth:login, :callback, :logout,
:logout_everywhere and :front_channel_logout."""
from django.urls import path

from . import views

app_name = "graph_auth"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("callback", views.CallbackView.as_view(), name="callback"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("logout/everywhere/", views.SignOutEverywhereView.as_view(), name="logout_everywhere"),
    path("logout/front-channel", views.FrontChannelLogoutView.as_view(), name="front_channel_logout"),
]
