#!/usr/bin/env python3
"""Logs in through a Gatehouse tenant with Authlib, a standard OAuth 2.0 / OpenID Connect client
library, unmodified and configured only from the tenant's discovery document: authorization
code with PKCE and a nonce, the ID token verified against the JWKS, /userinfo, a refresh,
revocation, and RP-initiated logout. The upstream login runs against the fake Exact, whose
consent is automatic, so plain HTTP (a cookie-keeping requests session) plays the browser.

Environment:
  GATEHOUSE_ISSUER         the tenant's issuer, e.g. http://acme.localhost:8080/
  GATEHOUSE_CLIENT_ID      a regular web application of the tenant with the Exact connection
  GATEHOUSE_CLIENT_SECRET  its secret (sent with client_secret_basic)
  GATEHOUSE_REDIRECT_URI   one of its callbacks
  GATEHOUSE_LOGOUT_URL     one of its allowed logout URLs

Name resolution: `*.localhost` is mapped to 127.0.0.1 by `loopback.py` (beside this script).

Exits 0 when every step worked, non-zero with the failing step otherwise.
"""

import os
import sys
import traceback
from urllib.parse import parse_qs, urlencode, urlparse

import loopback  # noqa: E402,F401 - before any HTTP library resolves a name

import requests  # noqa: E402
from authlib.common.security import generate_token  # noqa: E402
from authlib.integrations.base_client.errors import OAuthError  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from authlib.jose import JsonWebKey, jwt  # noqa: E402


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def browse_to_callback(browser, url, redirect_uri):
    """Follows redirects as a browser would, up to the application's callback (not fetched)."""
    for _ in range(10):
        res = browser.get(url, allow_redirects=False, timeout=10)
        check(res.status_code in (302, 303), f"a redirect from {urlparse(url).path} (got {res.status_code})")
        url = res.headers["Location"]
        if url.startswith(redirect_uri):
            return url
    raise AssertionError("the login never came back to the application")


def main():
    issuer = os.environ["GATEHOUSE_ISSUER"]
    client_id = os.environ["GATEHOUSE_CLIENT_ID"]
    client_secret = os.environ["GATEHOUSE_CLIENT_SECRET"]
    redirect_uri = os.environ["GATEHOUSE_REDIRECT_URI"]
    logout_url = os.environ["GATEHOUSE_LOGOUT_URL"]

    meta = requests.get(issuer + ".well-known/openid-configuration", timeout=10).json()
    check(meta["issuer"] == issuer, "discovery names the issuer")

    session = OAuth2Session(
        client_id,
        client_secret,
        scope="openid profile email offline_access",
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        revocation_endpoint_auth_method="client_secret_basic",
    )
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = session.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, connection="exact"
    )
    callback = browse_to_callback(requests.Session(), url, redirect_uri)
    check(parse_qs(urlparse(callback).query)["iss"] == [issuer], "the callback carries iss (RFC 9207)")

    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state
    )
    check(token["token_type"] == "Bearer" and "refresh_token" in token, "the code is exchanged with PKCE")

    keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
    claims = jwt.decode(
        token["id_token"],
        keys,
        claims_options={
            "iss": {"essential": True, "value": issuer},
            "aud": {"essential": True, "value": client_id},
            "nonce": {"essential": True, "value": nonce},
            "sub": {"essential": True},
        },
    )
    claims.validate()
    check(claims["sub"].startswith("exact|"), "the ID token verifies against the JWKS")
    expected_alg = os.environ.get("GATEHOUSE_EXPECTED_ALG", "RS256")
    check(claims.header["alg"] == expected_alg, f"the ID token is signed with {expected_alg}")
    check(expected_alg in meta["id_token_signing_alg_values_supported"], "discovery lists its algorithm")

    me = session.get(meta["userinfo_endpoint"], timeout=10).json()
    check(me["sub"] == claims["sub"] and me.get("email"), "/userinfo with the access token")

    refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
    check(refreshed["refresh_token"] != token["refresh_token"], "the refresh token rotates")

    res = session.revoke_token(
        meta["revocation_endpoint"], refreshed["refresh_token"], token_type_hint="refresh_token"
    )
    check(res.status_code == 200, "revocation at the discovered revocation_endpoint")
    try:
        session.refresh_token(meta["token_endpoint"], refresh_token=refreshed["refresh_token"])
        raise AssertionError("a revoked refresh token still worked")
    except OAuthError as e:
        check(e.error == "invalid_grant", "a revoked refresh token is invalid_grant")

    logout = meta["end_session_endpoint"] + "?" + urlencode(
        {"id_token_hint": token["id_token"], "post_logout_redirect_uri": logout_url, "state": "bye"}
    )
    res = requests.get(logout, allow_redirects=False, timeout=10)
    check(res.status_code == 302 and res.headers["Location"] == logout_url + "?state=bye",
          "RP-initiated logout returns to the application with its state")
    print("authlib completed the whole login")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any failure is the answer
        traceback.print_exc()
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
