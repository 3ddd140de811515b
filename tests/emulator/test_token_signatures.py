"""Who can verify which token: Graph's tokens carry Entra's header nonce, an API's tokens do not."""
import base64
import hashlib
import json

import jwt
import pytest

from graph_auth.emulator.default_directory import API_APP_ID, CONTOSO_ID

from .conftest import ADELE, REDIRECT_URI
from .graphing import Graph, as_user, daemon
from .token_asserts import claims_of, header_of, verify_with_jwks

pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _with_header(token: str, header: dict) -> str:
    return ".".join([_b64(json.dumps(header, separators=(",", ":")).encode()), *token.split(".")[1:]])


def as_signed_by_entra(token: str) -> str:
    """What Entra signed: the header with its nonce replaced by the nonce's SHA-256 (base64url)."""
    header = header_of(token)
    return _with_header(token, {**header, "nonce": _b64(hashlib.sha256(header["nonce"].encode()).digest())})


def test_delegated_graph_token_fails_verification_by_an_app(entra_session, as_user):
    graph = as_user(ADELE)
    assert isinstance(header_of(graph.token).get("nonce"), str)
    with pytest.raises(jwt.InvalidSignatureError):
        verify_with_jwks(entra_session, graph.token, audience=claims_of(graph.token)["aud"])
    # The signature is over the hashed nonce, as Entra's: knowing the scheme, it verifies.
    claims = verify_with_jwks(entra_session, as_signed_by_entra(graph.token),
                              audience=claims_of(graph.token)["aud"])
    assert claims["oid"] == graph.result["id_token_claims"]["oid"]
    assert graph.get("/me").status_code == 200                 # Graph itself accepts it


def test_app_only_graph_token_fails_verification_by_an_app(entra_session, daemon):
    assert "nonce" in header_of(daemon.token)
    with pytest.raises(jwt.InvalidSignatureError):
        verify_with_jwks(entra_session, daemon.token, audience="https://graph.microsoft.com")
    verify_with_jwks(entra_session, as_signed_by_entra(daemon.token), audience="https://graph.microsoft.com")
    assert daemon.get(f"/users/{ADELE}").status_code == 200


def test_tokens_for_an_apps_own_api_stay_verifiable(entra_emulator, entra_session, web_app):
    flow = web_app.initiate_auth_code_flow([f"api://{API_APP_ID}/access_as_user"], redirect_uri=REDIRECT_URI)
    result = web_app.acquire_token_by_auth_code_flow(flow, entra_emulator.sign_in(flow["auth_uri"], ADELE))
    for token, audience in ((result["access_token"], API_APP_ID), (result["id_token"], web_app.client_id)):
        assert "nonce" not in header_of(token)
        assert verify_with_jwks(entra_session, token, audience=audience)["tid"] == CONTOSO_ID


@pytest.mark.parametrize("nonce", ["another-nonce", 42, None, ["x"]])
def test_graph_refuses_a_token_whose_nonce_was_changed(entra_emulator, entra_session, as_user, nonce):
    graph = as_user(ADELE)
    changed = _with_header(graph.token, {**header_of(graph.token), "nonce": nonce})
    response = Graph(entra_session, changed).get("/me")
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert not entra_emulator.errors
