"""The Pusher HTTP API driven by the real server SDK (pusher 3.3.4 on PyPI) pointed at `usher serve`
(PUSHER-PROTOCOL.md §7): presence state is created through the relay API with auth strings from
`pusher.Pusher.authenticate`, then listed with `channels_info`, `channel_info` and `users_info`;
`terminate_user_connections` must reach relays over the event stream; every 400/401 path is a clear refusal.
"""

from __future__ import annotations

import json
import time

import pusher
import pytest
import requests
from pusher.errors import PusherBadAuth, PusherBadRequest, PusherBadStatus
from pusher.http import Request, make_query_string

from api_support import API_APP_ID, API_APP_KEY, GRACE_MS, api_usher  # noqa: F401 (fixture)

ROOM, LOBBY = "presence-api-room", "presence-api-lobby"


@pytest.fixture(scope="module")
def state(api_usher):
    """presence-api-room: ann (two sockets) and bo; presence-api-lobby: cy."""
    api_usher.join("10.1", ROOM, "ann", {"name": "Ann"})
    api_usher.join("10.2", ROOM, "ann")
    api_usher.join("11.1", ROOM, "bo")
    api_usher.join("12.1", LOBBY, "cy", {"name": "Cy"})
    return api_usher


def test_channels_info_filters_by_prefix_and_counts_users(state):
    client = state.client
    assert client.channels_info(prefix_filter="presence-api-", attributes=["user_count"]) == {
        "channels": {ROOM: {"user_count": 2}, LOBBY: {"user_count": 1}}}
    assert client.channels_info(prefix_filter="presence-api-r", attributes=["user_count", "subscription_count"]) == {
        "channels": {ROOM: {"user_count": 2, "subscription_count": 3}}}
    listed = client.channels_info()["channels"]
    assert listed[ROOM] == {} and listed[LOBBY] == {}
    assert client.channels_info(prefix_filter="presence-nothing-") == {"channels": {}}


def test_channel_info_reports_occupancy_and_counts(state):
    client = state.client
    assert client.channel_info(ROOM, ["user_count", "subscription_count"]) == {
        "occupied": True, "user_count": 2, "subscription_count": 3}
    assert client.channel_info(LOBBY) == {"occupied": True}
    assert client.channel_info("presence-api-empty", ["user_count"]) == {"occupied": False}


def test_users_info_lists_each_member_once(state):
    users = state.client.users_info(ROOM)["users"]
    assert sorted(users, key=lambda user: user["id"]) == [{"id": "ann"}, {"id": "bo"}]
    assert state.client.users_info("presence-api-empty") == {"users": []}


def test_users_info_follows_leaves_after_the_grace(state):
    state.join("13.1", LOBBY, "dee")
    assert sorted(u["id"] for u in state.client.users_info(LOBBY)["users"]) == ["cy", "dee"]
    state.leave("13.1", LOBBY)
    deadline = time.monotonic() + GRACE_MS / 1000 + 3
    while time.monotonic() < deadline and len(state.client.users_info(LOBBY)["users"]) > 1:
        time.sleep(0.05)
    assert state.client.users_info(LOBBY) == {"users": [{"id": "cy"}]}


def test_terminate_user_connections_reaches_the_relay_event_stream(state):
    headers = {"Authorization": f"Bearer {state.relay_token}"}
    with requests.get(state.base_url + "/relay/v1/events", headers=headers, stream=True, timeout=5) as stream:
        assert stream.status_code == 200 and stream.headers["Content-Type"] == "text/event-stream"
        lines = stream.iter_lines(chunk_size=1, decode_unicode=True)
        assert next(lines) == "retry: 1000"  # the stream is open; it starts at the newest event
        assert state.client.terminate_user_connections("ann") == {}
        event, deadline = None, time.monotonic() + 5
        for line in lines:
            if line.startswith("event: "):
                event = line[len("event: "):]
            elif line.startswith("data: ") and event == "terminate_connections":
                assert json.loads(line[len("data: "):]) == {"app": API_APP_ID, "user_id": "ann"}
                break
            assert time.monotonic() < deadline, "no terminate_connections event on the stream"


@pytest.mark.parametrize("call", [
    lambda c: c.channels_info(attributes=["user_count"]),
    lambda c: c.channels_info(prefix_filter="private-", attributes=["user_count"]),
    lambda c: c.channels_info(prefix_filter="presence-", attributes=["members"]),
    lambda c: c.channel_info("private-api-x", ["user_count"]),
    lambda c: c.channel_info(ROOM, ["bogus"]),
    lambda c: c.users_info("private-api-x"),
], ids=["user_count-no-prefix", "user_count-private", "unknown-attr", "channel-user_count-private",
        "channel-unknown-attr", "users-private"])
def test_inapplicable_attributes_are_bad_requests(state, call):
    with pytest.raises(PusherBadRequest) as refused:
        call(state.client)
    assert json.loads(str(refused.value))["error"]


def sdk_request(client: pusher.Pusher, method: str, *args) -> Request:
    """The signed request the SDK would send for `method(*args)`, to alter before sending by hand."""
    return getattr(client._pusher_client, method).make_request(*args)


def refusal(error) -> str:
    """The `error` text of an SDK exception carrying a `{"error":…}` body (PusherBadStatus prefixes the status)."""
    text = str(error.value)
    return json.loads(text.split(": ", 1)[-1] if isinstance(error.value, PusherBadStatus) else text)["error"]


def test_wrong_secret_names_the_expected_string_to_sign(state):
    client = pusher.Pusher(app_id=API_APP_ID, key=API_APP_KEY, secret="not-the-secret", host="127.0.0.1",
                           port=state.port, ssl=False)
    request = sdk_request(client, "users_info", ROOM)
    params = {k: v for k, v in request.query_params.items() if k != "auth_signature"}
    response = requests.get(state.base_url + request.signed_path, timeout=5)
    assert response.status_code == 401
    message = response.json()["error"]
    assert json.dumps("\n".join(["GET", request.path, make_query_string(params)])) in message
    assert state.secret not in response.text
    with pytest.raises(PusherBadAuth):
        client.users_info(ROOM)


@pytest.mark.parametrize("skew", [-601, 601])
def test_expired_timestamp_is_refused(state, monkeypatch, skew):
    real = time.time
    monkeypatch.setattr("pusher.http.time.time", lambda: real() + skew)
    with pytest.raises(PusherBadAuth) as refused:
        state.client.users_info(ROOM)
    assert "auth_timestamp" in refusal(refused)


def test_wrong_body_md5_is_refused(state):
    request = sdk_request(state.client, "terminate_user_connections", "ann")
    response = requests.post(state.base_url + request.signed_path, data=b'{"a":1}', headers=request.headers, timeout=5)
    assert response.status_code == 401 and "body_md5" in response.json()["error"]


@pytest.mark.parametrize("tamper", [str.upper, lambda s: s[:-1] + ("0" if s[-1] != "0" else "1"), lambda s: s[:-2]],
                         ids=["uppercase", "flipped", "truncated"])
def test_tampered_signature_is_refused(state, tamper):
    request = sdk_request(state.client, "users_info", ROOM)
    request.query_params["auth_signature"] = tamper(request.query_params["auth_signature"])
    response = requests.get(state.base_url + request.signed_path, timeout=5)
    assert response.status_code == 401 and response.json()["error"].startswith("invalid auth_signature")
    assert state.secret not in response.text


def test_unknown_key_and_wrong_app_are_refused(state):
    unknown = pusher.Pusher(app_id=API_APP_ID, key="unknownkey0000000000", secret=state.secret, host="127.0.0.1",
                            port=state.port, ssl=False)
    with pytest.raises(PusherBadAuth):
        unknown.users_info(ROOM)
    wrong_app = pusher.Pusher(app_id="9999", key=API_APP_KEY, secret=state.secret, host="127.0.0.1",
                              port=state.port, ssl=False)
    with pytest.raises((PusherBadAuth, PusherBadStatus)) as refused:
        wrong_app.channels_info()
    assert refusal(refused)
    assert state.secret not in str(refused.value)
