"""Microsoft Graph: ``GraphClient`` for sync and async code.

Parsed JSON back (bytes for media such as ``/photo/$value``), paging through ``@odata.nextLink``,
``$batch`` in chunks of 20, retries on 429/503/504 honouring ``Retry-After`` (with a cap), one
fresh-token retry on 401, and Continuous Access Evaluation claims challenges answered by
re-acquiring a token with the claims.

The modules, top-down:
    client     GraphClient: the settings and the URL rule, with both halves mixed in
    sync, aio  the halves: the verbs, paging and $batch, each driving the protocol over its HTTP
               client (requests / httpx)
    batch      $batch chunking and retries, as protocol steps
    protocol   the request loop as steps without I/O: tokens, sends, sleeps; errors and results
"""
from .batch import BATCH_LIMIT
from .client import GraphClient
from .protocol import RETRY_STATUSES, claims_from_challenge

__all__ = ["BATCH_LIMIT", "RETRY_STATUSES", "GraphClient", "claims_from_challenge"]
