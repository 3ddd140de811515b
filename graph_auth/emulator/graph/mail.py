"""A generated mailbox: GET /me/messages and /users/{id}/messages with $top/$skip paging."""
from __future__ import annotations

import time

from ..keys import b64url
from ..objects import User
from .context import require
from .odata import Result, page, select

MAIL_READ = {"Mail.Read", "Mail.ReadBasic", "Mail.ReadWrite"}
MAIL_APP = {"Mail.Read", "Mail.ReadWrite"}
MESSAGE_FIELDS = ("id", "createdDateTime", "receivedDateTime", "subject", "bodyPreview",
                  "importance", "isRead", "from", "toRecipients", "webLink")
_TOPICS = ("Quarterly review", "Lunch on Friday?", "Build failed on main", "Design sync notes",
           "Travel itinerary", "Welcome aboard", "Invoice #{n}", "Re: project timeline",
           "Team offsite", "Security alert digest")
_SENDERS = (("Megan Bowen", "megan"), ("Lee Gu", "lee"), ("Nestor Wilke", "nestor"),
            ("Isaiah Langer", "isaiah"), ("Lidia Holloway", "lidia"))


def messages_for(user: User, now: float) -> list[dict]:
    """Return the user's generated mailbox, newest first (stable for a given user)."""
    domain = user.user_principal_name.partition("@")[2]
    base = int(now // 86400) * 86400
    items = []
    for n in range(user.messages):
        name, alias = _SENDERS[n % len(_SENDERS)]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base - n * 3 * 3600))
        items.append({
            "id": "AAMk" + b64url(f"{user.id}:{n}".encode()),
            "createdDateTime": stamp, "receivedDateTime": stamp,
            "subject": _TOPICS[n % len(_TOPICS)].format(n=1000 + n) + f" ({n + 1})",
            "bodyPreview": f"Message {n + 1} of {user.messages} for {user.display_name}.",
            "importance": "high" if n % 7 == 0 else "normal", "isRead": n % 3 != 0,
            "from": {"emailAddress": {"name": name, "address": f"{alias}@{domain}"}},
            "toRecipients": [{"emailAddress": {"name": user.display_name,
                                               "address": user.mail or user.user_principal_name}}],
            "webLink": f"https://outlook.office365.com/owa/?ItemID=AAMk{n}&exvsurl=1",
        })
    return items


def list_messages(em, ctx, user: User, *, query, path, **_) -> Result:
    if ctx.user is not None and ctx.user.id != user.id:
        require(ctx, set(), MAIL_APP)          # delegated access to another mailbox: denied
    require(ctx, MAIL_READ, MAIL_APP)
    select({}, query, MESSAGE_FIELDS, "message")        # unknown names: 400 even when empty
    items = [select(m, query, MESSAGE_FIELDS, "message", keep=("id",))[0]
             for m in messages_for(user, em.clock.now())]
    return page(items, query, path, default=10, maximum=1000, context=f"users('{user.id}')/messages",
                skip_style=True)
