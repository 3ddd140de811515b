"""The comparison's probe of the official Microsoft Graph SDK (msgraph-sdk + azure-identity), run
by bench/run.py in the SDK's own venv (bench/requirements-compare.txt) as a fresh process:

    bench/.venv-compare/bin/python bench/probe_sdk.py --emulator http://127.0.0.1:PORT

The SDK runs as an app uses it: azure-identity's ClientSecretCredential (msal's client-credentials
grant, instance and tenant discovery included) and a GraphServiceClient with its default
middleware. Only the transports beneath them are pointed at the emulator: each request keeps its
production URL and goes to the emulator with that host in ``X-Emulated-Host``, as graph_auth's own
EMULATOR_URL transports do. See bench/probe.py for what is measured.
"""
import time

START = time.perf_counter()

import asyncio  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe  # noqa: E402  (standard library only)

CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"       # the emulator's demo web app
CLIENT_SECRET = "emulator-web-secret"                    # a public test value of the emulator
SCOPE = "https://graph.microsoft.com/.default"


async def main(emulator: str, calls: int, size: bool) -> dict:
    marks = probe.Marks(START)
    import httpx
    import requests
    from azure.core.pipeline.transport import RequestsTransport
    from azure.identity import ClientSecretCredential
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphServiceClient
    from msgraph.graph_request_adapter import GraphRequestAdapter, options
    from msgraph_core import GraphClientFactory
    marks.mark("import")

    class ToEmulator(requests.adapters.HTTPAdapter):
        """azure-identity's transport: production URLs sent to the emulator."""
        def send(self, request, **kwargs):
            scheme_host, _, rest = request.url.partition("://")[2].partition("/")
            request.headers["X-Emulated-Host"] = scheme_host
            request.url = f"{emulator}/{rest}"
            return super().send(request, **kwargs)

    class AsyncToEmulator(httpx.AsyncBaseTransport):
        """The Graph client's transport, beneath the SDK's middleware: the same for httpx."""
        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request):
            url = request.url
            headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
            forwarded = httpx.Request(request.method, f"{emulator}{url.raw_path.decode('ascii')}",
                                      headers=[*headers, ("X-Emulated-Host", url.netloc.decode())],
                                      content=await request.aread(), extensions=request.extensions)
            return await self.inner.handle_async_request(forwarded)

    session = requests.Session()
    session.trust_env = False
    session.mount("https://", ToEmulator())
    credential = ClientSecretCredential(probe.TENANT, CLIENT_ID, CLIENT_SECRET,
                                        transport=RequestsTransport(session=session, session_owner=False))
    http = httpx.AsyncClient(transport=AsyncToEmulator(), base_url="https://graph.microsoft.com/v1.0",
                             trust_env=False)
    http = GraphClientFactory.create_with_default_middleware(client=http, options=options)
    client = GraphServiceClient(request_adapter=GraphRequestAdapter(AzureIdentityAuthenticationProvider(credential),
                                                                    client=http))
    marks.mark("build")
    user = await client.users.by_user_id(probe.USER).get()
    assert user.display_name, user
    marks.mark("first_call")

    raw = httpx.AsyncClient(transport=AsyncToEmulator(), trust_env=False)
    url = f"https://graph.microsoft.com/v1.0/users/{probe.USER}"

    async def call():
        await client.users.by_user_id(probe.USER).get()

    headers = {"Authorization": f"Bearer {credential.get_token(SCOPE).token}"}

    async def floor():
        response = await raw.get(url, headers=headers)
        response.json()
    per_call = await probe.aalternate(call, floor, calls)

    from msgraph_core.requests.batch_request_content_collection import BatchRequestContentCollection
    from msgraph_core.requests.batch_request_item import BatchRequestItem
    before = probe.graph_requests(emulator)
    collection = BatchRequestContentCollection()
    for _ in range(probe.BATCH_GETS):
        info = client.users.by_user_id(probe.USER).to_get_request_information()
        collection.add_batch_request_item(BatchRequestItem(request_information=info))
    answers = await client.batch.post(batch_request_content=collection)
    statuses = [r.status for content in answers._responses for r in (content.responses or {}).values()]
    result = {"stack": "msgraph-sdk", "spans": marks.spans, "per_call": per_call,
              "batch": probe.batch_summary(emulator, before, statuses), "peak_rss_mb": probe.peak_rss_mb()}
    if size:
        result["installed"] = probe.installed_size(["msgraph-sdk", "azure-identity", "Deprecated"])
    return result


if __name__ == "__main__":
    args = probe.arguments()
    probe.emit(asyncio.run(main(args.emulator, args.calls, args.size)))
