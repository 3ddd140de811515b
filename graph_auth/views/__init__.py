"""graph_auth's views (see urls.py)."""
from ..failures import login_failed
from .signin import CallbackView, LoginView, StaticToken, redirect_uri, safe_next
from .signout import FrontChannelLogoutView, LogoutView, SignOutEverywhereView

__all__ = ["CallbackView", "FrontChannelLogoutView", "LoginView", "LogoutView", "SignOutEverywhereView",
           "StaticToken", "login_failed", "redirect_uri", "safe_next"]
