"""The asynchronous half of GraphClient: the same protocol driven over an ``httpx.AsyncClient``.

Only the HTTP calls are truly async. Tokens come from the provider's ``aget_token`` (a token the
provider holds is served on the event loop; the database and msal run in one thread), or, for a
provider without it, from its ``get_token`` in a thread.
"""
from __future__ import annotations

import asyncio

import httpx
from asgiref.sync import sync_to_async
from django.views.decorators.debug import sensitive_variables

from .. import breaker, budget
from ..app_settings import app_settings
from ..exceptions import BudgetExceeded
from ..http import get_async_client, without_request
from . import batch as batching
from . import protocol
from .protocol import Done, Pending, Record, Reply, Send, Token, Waits, next_io


class AsyncGraph:
    """``aget``/``apost``/``apatch``/``aput``/``adelete``, ``apages``/``aiterate``, ``abatch`` and
    ``arequire_scopes``: the sync methods' semantics, awaited (mixed into GraphClient)."""

    # -- verbs ------------------------------------------------------------------------------------
    async def aget(self, path: str, params=None, **kwargs):
        return await self.arequest("GET", path, params=params, **kwargs)

    async def apost(self, path: str, json=None, **kwargs):
        return await self.arequest("POST", path, json=json, **kwargs)

    async def apatch(self, path: str, json=None, **kwargs):
        return await self.arequest("PATCH", path, json=json, **kwargs)

    async def aput(self, path: str, json=None, data=None, **kwargs):
        return await self.arequest("PUT", path, json=json, data=data, **kwargs)

    async def adelete(self, path: str, **kwargs):
        return await self.arequest("DELETE", path, **kwargs)

    async def arequest(self, method: str, path: str, *, params=None, json=None, data=None,
                       headers=None, scopes=None):
        """Send one request; return parsed JSON, bytes for non-JSON bodies, None for 204."""
        return await self._arun(protocol.call(self, method, path, params=params, json=json,
                                              data=data, headers=headers, scopes=scopes))

    async def arequire_scopes(self, scopes) -> None:
        """``require_scopes`` for async views."""
        self.declare_scopes(scopes)
        await self._atoken(Token(list(scopes)))

    async def apages(self, path: str, params=None):
        """Yield each page (the whole JSON object) of a collection, following @odata.nextLink."""
        steps = protocol.paging(self, path, params)
        while True:
            step = await self._arun(steps, until_emit=True)
            if step is None:
                return
            yield step.value

    async def aiterate(self, path: str, params=None):
        """Yield every item of a collection, across pages."""
        async for page in self.apages(path, params=params):
            for item in page.get("value", []):
                yield item

    async def abatch(self, requests: list[dict]) -> list[dict]:
        """``batch`` for async code (the chunks are sent one after another, as ``batch`` does)."""
        return await self._arun(batching.batch(self, requests))

    # -- the driver -------------------------------------------------------------------------------
    @sensitive_variables()
    async def _arun(self, steps, *, until_emit: bool = False):
        """Drive ``steps`` as ``SyncGraph._run`` does, awaiting each I/O step."""
        with budget.outside_requests(self.background_budget()):
            token, step = None, next_io(steps, until_emit=until_emit)
            while not isinstance(step, Done):
                answer = None
                if isinstance(step, Token):
                    token = await self._atoken(step)
                elif isinstance(step, Send):
                    answer = await self._asend(step, token)
                elif isinstance(step, Pending):
                    answer = Waits(*await breaker.apending(self.throttle_key))
                elif isinstance(step, Record):
                    await breaker.arecord(self.throttle_key, step.seconds, failing=step.failing)
                else:
                    await self.asleep(step.seconds)
                step = next_io(steps, answer, until_emit=until_emit)
            return step.value

    @sensitive_variables()
    async def _atoken(self, step: Token) -> str:
        provider = self.token_provider
        get = getattr(provider, "aget_token", None) or sync_to_async(provider.get_token, thread_sensitive=True)
        return await get(step.scopes, claims_challenge=step.claims_challenge, force_refresh=step.force_refresh)

    @sensitive_variables()
    async def _asend(self, step: Send, token: str) -> Reply:
        client = self.async_client or get_async_client()
        # The client's own timeout applies (ours: TIMEOUT), unless less of the budget is left; it
        # bounds each operation, so wait_for bounds the whole call (body included) by the budget.
        own = client.timeout.read
        timeout, by_budget = budget.call_timeout(app_settings.TIMEOUT if own is None else own)
        try:
            response = await asyncio.wait_for(client.request(
                step.method, step.url, params=step.params, json=step.json,
                **({"content": step.data} if isinstance(step.data, (bytes, str)) else {"data": step.data}),
                headers={**step.headers, "Authorization": f"Bearer {token}"},
                **({"timeout": timeout} if by_budget else {})), budget.remaining())
        except asyncio.TimeoutError as exc:
            raise BudgetExceeded("Graph did not answer within the time budget") from without_request(exc)
        except httpx.RequestError as exc:
            timed_out = isinstance(exc, httpx.TimeoutException)
            # Coroutine frames beneath this one are not covered by @sensitive_variables: the
            # chained exception is a copy without their traceback (and without the request).
            if by_budget and timed_out:
                raise BudgetExceeded("Graph did not answer within the time budget") from without_request(exc)
            raise protocol.transport_error(exc, timeout=timed_out) from without_request(exc)
        return Reply(response.status_code, response.reason_phrase or "", response.headers, response.content)
