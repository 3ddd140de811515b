"""The emulator's browser pages: plain HTML, every value escaped."""
from __future__ import annotations

from html import escape

from ..wsgi_io import Response

_STYLE = """
body{font-family:"Segoe UI",system-ui,-apple-system,sans-serif;background:#f2f2f2;margin:0;color:#1b1b1b}
.card{background:#fff;max-width:440px;margin:8vh auto 1rem;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
.logo{display:grid;grid-template-columns:10px 10px;gap:2px;margin-bottom:16px}
.logo i{width:10px;height:10px;display:block}
h1{font-size:24px;font-weight:600;margin:0 0 12px}
p,li{font-size:15px;line-height:1.4}
label{display:block;font-size:13px;margin-top:12px}
input[type=text],input[type=password],input[type=email]{width:100%;box-sizing:border-box;border:0;
 border-bottom:1px solid #666;padding:6px 0;font-size:15px;outline:none}
button{background:#0067b8;color:#fff;border:0;padding:8px 24px;font-size:15px;cursor:pointer;margin-top:20px}
button.secondary{background:#ccc;color:#1b1b1b;margin-right:8px}
.tile{display:block;width:100%;text-align:left;background:#fff;color:#1b1b1b;border:1px solid #ddd;
 margin:6px 0;padding:10px}
.tile:hover{background:#f2f2f2}.tile small{display:block;color:#666}
.error{color:#e81123;font-size:14px}.muted{color:#666;font-size:13px}
.banner{background:#fff4ce;border-left:4px solid #c19c00;padding:8px 12px;font-size:13px;margin:0 0 16px}
code{font-size:15px;background:#f2f2f2;padding:2px 4px}
"""
_LOGO = ('<div class="logo" aria-hidden="true"><i style="background:#f25022"></i>'
         '<i style="background:#7fba00"></i><i style="background:#00a4ef"></i>'
         '<i style="background:#ffb900"></i></div>')


def page(title: str, body: str, status: int = 200) -> Response:
    html = (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f'<title>{escape(title)}</title><style>{_STYLE}</style></head><body>'
            f'<main class="card">{_LOGO}<p class="banner">Emulated Microsoft sign-in (graph_auth '
            f'emulator): test accounts only, nothing leaves this machine.</p>{body}</main>'
            f'</body></html>')
    return Response.html(html, status)


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def error_page(title: str, code: int | None, message: str, status: int = 400) -> Response:
    detail = f"AADSTS{code}: " if code else ""
    return page(title, f'<h1>{escape(title)}</h1><p class="error" role="alert">'
                       f'{escape(detail + message)}</p>', status)


def sign_in(action: str, flow: str, *, app_name: str, username: str = "", error: str = "",
            users=(), sessions=()) -> Response:
    """The sign-in page: test accounts to pick (password prefilled) or a username and password."""
    parts = [f"<h1>Sign in</h1><p>to continue to <strong>{escape(app_name)}</strong></p>"]
    if error:
        parts.append(f'<p class="error" role="alert" id="error">{escape(error)}</p>')
    for session_id, user in sessions:
        parts.append(
            f'<form method="post" action="{escape(action)}">{hidden("flow", flow)}'
            f'{hidden("action", "pick")}{hidden("sid", session_id)}'
            f'<button class="tile" type="submit" name="pick" data-user="{escape(user.user_principal_name)}">'
            f'{escape(user.display_name)}<small>{escape(user.user_principal_name)} '
            f'&middot; signed in</small></button></form>')
    parts.append(
        f'<form method="post" action="{escape(action)}" id="signin">{hidden("flow", flow)}'
        f'{hidden("action", "signin")}'
        f'<label for="username">Email, phone, or Skype</label>'
        f'<input type="email" id="username" name="username" value="{escape(username)}" '
        f'autocomplete="username" required>'
        f'<label for="password">Password</label>'
        f'<input type="password" id="password" name="password" autocomplete="current-password">'
        f'<button type="submit" id="submit">Sign in</button></form>')
    if users:
        parts.append('<p class="muted">Test accounts (click to fill in):</p>')
        for user in users:
            parts.append(
                f'<button type="button" class="tile" data-fill="{escape(user.user_principal_name)}" '
                f'data-password="{escape(user.password)}" onclick="document.getElementById(\'username\')'
                f'.value=this.dataset.fill;document.getElementById(\'password\').value='
                f'this.dataset.password">{escape(user.display_name)}<small>'
                f'{escape(user.user_principal_name)} &middot; {escape(user.job_title or "")}</small></button>')
    parts.append(
        f'<form method="post" action="{escape(action)}">{hidden("flow", flow)}'
        f'{hidden("action", "cancel")}<button class="secondary" type="submit">Back</button></form>')
    return page("Sign in to your account", "".join(parts))


def consent(action: str, flow: str, *, app_name: str, publisher: str, user, permissions) -> Response:
    items = "".join(f"<li>{escape(text)} <span class=\"muted\">({escape(name)})</span></li>"
                    for name, text in permissions)
    body = (f"<p class=\"muted\">{escape(user.user_principal_name)}</p><h1>Permissions requested</h1>"
            f"<p><strong>{escape(app_name)}</strong><br><span class=\"muted\">{escape(publisher)}"
            f"</span></p><p>This app would like to:</p><ul id=\"permissions\">{items}</ul>"
            f"<p class=\"muted\">Accepting these permissions means that you allow this app to use "
            f"your data as specified in their terms of service and privacy statement.</p>"
            f'<form method="post" action="{escape(action)}">{hidden("flow", flow)}'
            f'<button class="secondary" type="submit" name="action" value="decline" id="decline">Cancel</button>'
            f'<button type="submit" name="action" value="consent" id="accept">Accept</button></form>')
    return page("Permissions requested", body)


def form_post(redirect_uri: str, params: dict) -> Response:
    """The response_mode=form_post page: an auto-submitting form to the redirect URI."""
    fields = "".join(hidden(k, v) for k, v in params.items())
    html = (f'<!doctype html><html><head><meta charset="utf-8"><title>Working...</title></head>'
            f'<body onload="document.forms[0].submit()"><form method="POST" '
            f'action="{escape(redirect_uri)}">{fields}<noscript><p>Script is disabled. Click Submit '
            f'to continue.</p><input type="submit" value="Submit"></noscript></form></body></html>')
    return Response.html(html)


def message(title: str, text: str, extra: str = "") -> Response:
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>{extra}")
