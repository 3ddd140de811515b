"""The synchronous half of GraphClient: the protocol driven over the shared ``requests.Session``."""
from __future__ import annotations

from django.views.decorators.debug import sensitive_variables
from requests import RequestException, Timeout

from .. import breaker, budget
from ..app_settings import app_settings
from ..exceptions import BudgetExceeded
from ..http import without_request
from . import batch as batching
from . import protocol
from .protocol import Done, Pending, Record, Reply, Send, Token, Waits, next_io


class SyncGraph:
    """``get``/``post``/``patch``/``put``/``delete``, ``pages``/``iterate``, ``batch`` and
    ``require_scopes`` (mixed into GraphClient, which holds the settings)."""

    # -- verbs ------------------------------------------------------------------------------------
    def get(self, path: str, params=None, **kwargs):
        return self.request("GET", path, params=params, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.request("POST", path, json=json, **kwargs)

    def patch(self, path: str, json=None, **kwargs):
        return self.request("PATCH", path, json=json, **kwargs)

    def put(self, path: str, json=None, data=None, **kwargs):
        return self.request("PUT", path, json=json, data=data, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def request(self, method: str, path: str, *, params=None, json=None, data=None, headers=None,
                scopes=None):
        """Send one request; return parsed JSON, bytes for non-JSON bodies, None for 204."""
        return self._run(protocol.call(self, method, path, params=params, json=json, data=data,
                                       headers=headers, scopes=scopes))

    @sensitive_variables()
    def require_scopes(self, scopes) -> None:
        """Make sure the token covers ``scopes``; raises InteractionRequired (with the scopes) when
        the user must consent first. graph_auth's middleware turns that into a consent round trip,
        as it does (once) for a Graph 403 on a client whose view declared scopes."""
        self.declare_scopes(scopes)
        self.token_provider.get_token(list(scopes))

    def pages(self, path: str, params=None):
        """Yield each page (the whole JSON object) of a collection, following @odata.nextLink."""
        steps = protocol.paging(self, path, params)
        while True:
            step = self._run(steps, until_emit=True)
            if step is None:
                return
            yield step.value

    def iterate(self, path: str, params=None):
        """Yield every item of a collection, across pages."""
        for page in self.pages(path, params=params):
            yield from page.get("value", [])

    def batch(self, requests: list[dict]) -> list[dict]:
        """Run requests through ``$batch`` (chunks of 20) and return the responses in input order.

        Each request is ``{"method", "url"[, "body", "headers", "id", "dependsOn"]}``; missing ids
        are assigned. Requests linked by ``dependsOn`` go into the same chunk (a linked group of
        more than 20 is a ValueError). Sub-requests answered 429/503/504, and those that failed
        (424) only because one of them did, are sent again (honouring Retry-After) up to
        GRAPH_MAX_RETRIES times; after that their throttled responses are returned as they are.
        """
        return self._run(batching.batch(self, requests))

    # -- the driver -------------------------------------------------------------------------------
    # No local of this frame or of those beneath it (the token, the requests library's prepared
    # request with its Authorization header) shows in Django's error reports.
    @sensitive_variables()
    def _run(self, steps, *, until_emit: bool = False):
        """Drive ``steps`` to their result (or, ``until_emit``, to the next Emit: None at the end).
        Every request of the protocol gets a Token step before its Send, so the token is this
        frame's own. Outside a request the call gets the background budget."""
        with budget.outside_requests(self.background_budget()):
            token, step = None, next_io(steps, until_emit=until_emit)
            while not isinstance(step, Done):
                answer = None
                if isinstance(step, Token):
                    token = self.token_provider.get_token(
                        step.scopes, claims_challenge=step.claims_challenge, force_refresh=step.force_refresh)
                elif isinstance(step, Send):
                    answer = self._send(step, token)
                elif isinstance(step, Pending):
                    answer = Waits(*breaker.pending(self.throttle_key))
                elif isinstance(step, Record):
                    breaker.record(self.throttle_key, step.seconds, failing=step.failing)
                else:
                    self.sleep(step.seconds)
                step = next_io(steps, answer, until_emit=until_emit)
            return step.value

    @sensitive_variables()
    def _send(self, step: Send, token: str) -> Reply:
        # The session's own timeout applies (ours: TIMEOUT), unless less of the budget is left.
        timeout, by_budget = budget.call_timeout(getattr(self.session, "default_timeout", app_settings.TIMEOUT))
        try:
            response = self.session.request(
                step.method, step.url, params=step.params, json=step.json, data=step.data,
                headers={**step.headers, "Authorization": f"Bearer {token}"},
                **({"timeout": timeout} if by_budget else {}))
        except RequestException as exc:
            if by_budget and isinstance(exc, Timeout):
                raise BudgetExceeded("Graph did not answer within the time budget") from without_request(exc)
            raise protocol.transport_error(exc, timeout=isinstance(exc, Timeout)) from without_request(exc)
        return Reply(response.status_code, response.reason or "", response.headers, response.content)
