#!/usr/bin/env python3
"""Drives Gatehouse's management API with the official Auth0 Python SDK (auth0-python 4.x),
unmodified, to prove its request and response shapes are Auth0's: a management token by
client credentials, then create, list with paging, get, update, enabled clients and delete of
an Exact connection.

Environment:
  GATEHOUSE_DOMAIN         the tenant's domain, e.g. acme.localhost:8080
  GATEHOUSE_CLIENT_ID      a machine application with a management API grant
  GATEHOUSE_CLIENT_SECRET  its secret
  GATEHOUSE_USER_ID        a user who logged in through Exact (found, blocked, unblocked)
  GATEHOUSE_WEB_CLIENT_ID, GATEHOUSE_WEB_CLIENT_SECRET, GATEHOUSE_REFRESH_TOKEN
                           a web application and a refresh token it holds for that user
                           (rotated, then revoked through the authentication API)
  GATEHOUSE_PROTOCOL       http or https (default https); the SDK's classes take it as
                           `protocol` (the `Auth0` facade has no such option, so the script
                           builds `Connections` and `Clients` directly, as the facade does)

Name resolution: `*.localhost` is mapped to 127.0.0.1 by `loopback.py` (beside this script);
nothing in the SDK is touched.

Exits 0 when every step behaved as Auth0 would, non-zero with the failing step otherwise.
"""

import os
import sys
import time
import traceback

import loopback  # noqa: E402,F401 - before any HTTP library resolves a name

from auth0.authentication import GetToken  # noqa: E402
from auth0.authentication.revoke_token import RevokeToken  # noqa: E402
from auth0.exceptions import Auth0Error  # noqa: E402
from auth0.management.clients import Clients  # noqa: E402
from auth0.management.connections import Connections  # noqa: E402
from auth0.management.logs import Logs  # noqa: E402
from auth0.management.stats import Stats  # noqa: E402
from auth0.management.users import Users  # noqa: E402
from auth0.management.users_by_email import UsersByEmail  # noqa: E402


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok: {what}")


def expect_error(call, status, code, what):
    try:
        call()
    except Auth0Error as e:
        check(e.status_code == status and e.error_code == code,
              f"{what} -> {status} {code} (got {e.status_code} {e.error_code}: {e.message})")
        return
    raise AssertionError(f"{what}: no error raised")


def main():
    domain = os.environ["GATEHOUSE_DOMAIN"]
    protocol = os.environ.get("GATEHOUSE_PROTOCOL", "https")
    client_id = os.environ["GATEHOUSE_CLIENT_ID"]
    client_secret = os.environ["GATEHOUSE_CLIENT_SECRET"]

    token = GetToken(domain, client_id, client_secret=client_secret, protocol=protocol)
    answer = token.client_credentials(f"{protocol}://{domain}/api/v2/")
    check(answer["token_type"] == "Bearer" and isinstance(answer["expires_in"], int),
          "client credentials give a Bearer token")
    access_token = answer["access_token"]

    connections = Connections(domain, access_token, protocol=protocol)
    clients = Clients(domain, access_token, protocol=protocol)

    app = clients.create({"name": "SDK web app", "app_type": "regular_web",
                          "callbacks": ["https://app.example.com/callback"]})
    check(app["client_id"] and app["client_secret"], "clients.create returns the id and the secret once")
    check("client_secret" not in clients.get(app["client_id"]), "clients.get hides the secret")

    created = connections.create({
        "name": "exact-sdk",
        "strategy": "exact",
        "display_name": "Exact Online",
        "options": {"client_id": "sdk-exact-app", "client_secret": "sdk-exact-secret",
                    "baseUrl": "https://start.exactonline.nl"},
        "enabled_clients": [app["client_id"]],
    })
    con_id = created["id"]
    check(con_id.startswith("con_") and created["strategy"] == "exact", "connections.create")
    check("client_secret" not in created["options"], "the connection secret is never returned")
    check(created["enabled_clients"] == [app["client_id"]], "enabled_clients as given")
    expect_error(lambda: connections.create({"name": "exact-sdk", "strategy": "exact",
                                             "options": {"client_id": "a", "client_secret": "b"}}),
                 409, "connection_conflict", "a duplicate name")
    expect_error(lambda: connections.create({"name": "bad name", "strategy": "exact"}),
                 400, "invalid_body", "an invalid name")

    for name in ("exact-sdk-2", "exact-sdk-3"):
        connections.create({"name": name, "strategy": "exact",
                            "options": {"client_id": name, "client_secret": "s"}})
    first = connections.all(page=0, per_page=2)
    last = connections.all(page=1, per_page=2)
    check(isinstance(first, list) and len(first) == 2 and len(last) == 1, "connections.all pages by offset")
    check({c["name"] for c in first + last} == {"exact-sdk", "exact-sdk-2", "exact-sdk-3"}, "all three listed once")
    totals = connections.all(page=0, per_page=2, extra_params={"include_totals": "true"})
    check(totals["total"] == 3 and totals["limit"] == 2 and len(totals["connections"]) == 2, "include_totals")
    named = connections.all(name="exact-sdk", strategy="exact")
    check([c["id"] for c in named] == [con_id], "filter by name and strategy")
    only = connections.all(fields=["id", "name"])
    check(all(set(c) == {"id", "name"} for c in only), "fields selection")
    checkpoint = connections.all(extra_params={"take": 2})
    rest = connections.all(extra_params={"take": 2, "from": checkpoint["next"]})
    check(len(checkpoint["connections"]) == 2 and "next" not in rest and len(rest["connections"]) == 1,
          "checkpoint paging with take/from")

    got = connections.get(con_id)
    check(got["name"] == "exact-sdk" and got["display_name"] == "Exact Online", "connections.get")
    check(set(connections.get(con_id, fields=["id"])) == {"id"}, "connections.get with fields")
    expect_error(lambda: connections.get("con_doesnotexist"), 404, "inexistent_connection", "an unknown id")

    updated = connections.update(con_id, {"display_name": "Exact NL",
                                          "options": {"client_id": "sdk-exact-app-2"}})
    check(updated["display_name"] == "Exact NL" and updated["options"]["client_id"] == "sdk-exact-app-2",
          "connections.update replaces options")
    status = connections.client.get(f"{connections._url(con_id)}/status")
    check(status["status"] == "ok", "the omitted client secret was kept (status ok)")

    clients_url = f"{connections._url(con_id)}/clients"
    enabled = connections.client.get(clients_url)
    check(enabled["clients"] == [{"client_id": app["client_id"]}], "GET connections/{id}/clients")
    connections.client.patch(clients_url, data=[{"client_id": app["client_id"], "status": False}])
    check(connections.client.get(clients_url)["clients"] == [], "PATCH connections/{id}/clients disables")
    connections.update(con_id, {"enabled_clients": [app["client_id"]]})
    check(connections.get(con_id)["enabled_clients"] == [app["client_id"]], "enabled_clients through update")

    # A log exporter: logs.search sends page, per_page and include_totals along with the
    # checkpoint, which then reads the events after `from`, oldest first.
    logs = Logs(domain, access_token, protocol=protocol)
    total = logs.search(per_page=100)["total"]
    check(total >= 5, "logs.search by page counts the configuration changes")
    exported, checkpoint = [], None
    deadline = time.monotonic() + 10
    while len(exported) < total and time.monotonic() < deadline:
        page = logs.search(from_param=checkpoint, take=2)
        check(isinstance(page, list) and len(page) <= 2, "logs.search from a checkpoint answers an array")
        if page:
            exported += [e["log_id"] for e in page]
            checkpoint = page[-1]["log_id"]
        else:
            time.sleep(0.05)  # another transaction still running holds newer events back
    check(len(exported) == total and len(set(exported)) == total,
          "reading from checkpoints gives every event once")
    check(logs.get(exported[0])["log_id"] == exported[0], "logs.get")

    # A user who logged in through Exact: found, blocked and unblocked, their log read.
    users = Users(domain, access_token, protocol=protocol)
    user_id = os.environ["GATEHOUSE_USER_ID"]
    check(users.get(user_id)["blocked"] is False, "users.get")
    listed = users.list(q='email:"sdk.user@example.nl"')
    check([u["user_id"] for u in listed["users"]] == [user_id] and listed["total"] == 1,
          "users.list with an e-mail search")
    by_email = UsersByEmail(domain, access_token, protocol=protocol)
    check([u["user_id"] for u in by_email.search_users_by_email("SDK.USER@example.nl")] == [user_id],
          "users_by_email.search_users_by_email")
    check(users.update(user_id, {"blocked": True})["blocked"] is True, "users.update blocks")
    expect_error(lambda: users.update(user_id, {"name": "Someone else"}), 400, "invalid_body",
                 "users.update of a profile field")
    check(users.update(user_id, {"blocked": False})["blocked"] is False, "users.update unblocks")
    events = users.get_log_events(user_id)
    check([(e["type"], e["event"]) for e in events] == [("sapi", "user_unblocked"), ("sapi", "user_blocked")],
          "users.get_log_events, newest first, with Auth0's type codes")
    changes = logs.search(q="type:sapi", per_page=100)
    check(changes["total"] >= 5 and all(e["type"] == "sapi" for e in changes["logs"]),
          "logs.search with Auth0's q")

    # A usage report: the user who signed up today is active, and today's figures count them.
    stats = Stats(domain, access_token, protocol=protocol)
    check(stats.active_users() == 1, "stats.active_users")
    today = time.strftime("%Y%m%d", time.gmtime())
    days = stats.daily_stats(from_date=today, to_date=today)
    check(len(days) == 1 and days[0]["signups"] == 1 and days[0]["date"].endswith("T00:00:00.000Z"),
          "stats.daily_stats for today")

    # A web application of the tenant signs its user out: the authentication API's revocation.
    web_id = os.environ["GATEHOUSE_WEB_CLIENT_ID"]
    web_secret = os.environ["GATEHOUSE_WEB_CLIENT_SECRET"]
    first = os.environ["GATEHOUSE_REFRESH_TOKEN"]
    web = GetToken(domain, web_id, client_secret=web_secret, protocol=protocol)
    rotated = web.refresh_token(first)["refresh_token"]
    check(rotated != first, "get_token.refresh_token rotates the refresh token")
    RevokeToken(domain, web_id, client_secret=web_secret, protocol=protocol).revoke_refresh_token(first)
    expect_error(lambda: web.refresh_token(rotated), 400, "invalid_grant",
                 "revoke_token.revoke_refresh_token ends the grant")

    connections.delete(con_id)
    expect_error(lambda: connections.get(con_id), 404, "inexistent_connection", "connections.delete")
    clients.delete(app["client_id"])
    expect_error(lambda: clients.get(app["client_id"]), 404, "inexistent_client", "clients.delete")
    print("auth0-python drove every step")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any failure is the answer
        traceback.print_exc()
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
