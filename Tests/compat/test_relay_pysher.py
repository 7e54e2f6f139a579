"""End to end with the real clients: pysher 1.0.8 on two `usher relay` nodes, Usher's /pusher/auth with a bearer
identity token, and the official `pusher` SDK triggering through the relay's trigger API.

Run: USHER_BIN=<path to usher> .build/venv/bin/python -m pytest -q Tests/compat/test_relay_pysher.py
"""

from __future__ import annotations

import json
import time

import pusher

from relay_support import GRACE_MS, RELAY_APP_ID, RELAY_APP_KEY, member_data, relay_cluster  # noqa: F401 (fixture)


def test_presence_across_two_relay_nodes_with_pysher(relay_cluster):
    ann = relay_cluster.client(0, "ann", user_info={"name": "Ann"})
    bo = relay_cluster.client(1, "bo", user_info={"name": "Bo"})
    try:
        ann.subscribe("presence-lobby", events=("news",))
        first = member_data(ann.wait_for("presence-lobby", "pusher_internal:subscription_succeeded"))
        assert first["presence"]["ids"] == ["ann"] and first["presence"]["hash"]["ann"] == {"name": "Ann"}

        bo.subscribe("presence-lobby", events=("news",))
        second = member_data(bo.wait_for("presence-lobby", "pusher_internal:subscription_succeeded"))
        assert sorted(second["presence"]["ids"]) == ["ann", "bo"] and second["presence"]["count"] == 2

        # Ann (node 0) sees Bo, who joined on node 1; Bo saw Ann in his member list.
        added = member_data(ann.wait_for("presence-lobby", "pusher_internal:member_added"))
        assert added == {"user_id": "bo", "user_info": {"name": "Bo"}}
        assert second["presence"]["hash"]["ann"] == {"name": "Ann"}

        # The official server SDK publishes through the relay's trigger API; both nodes deliver.
        sdk = pusher.Pusher(app_id=RELAY_APP_ID, key=RELAY_APP_KEY, secret=relay_cluster.secret, host="127.0.0.1",
                            port=relay_cluster.relay_ports[0], ssl=False, timeout=10)
        assert sdk.trigger("presence-lobby", "news", {"headline": "relay works"}) == {}
        for client in (ann, bo):
            assert json.loads(client.wait_for("presence-lobby", "news")) == {"headline": "relay works"}

        # Bo's connection dies without unsubscribing: after Usher's grace, Ann (other node) sees member_removed.
        gone_at = time.monotonic()
        bo.abort()
        removed = member_data(ann.wait_for("presence-lobby", "pusher_internal:member_removed"))
        assert removed == {"user_id": "bo"}
        assert time.monotonic() - gone_at >= GRACE_MS / 1000 * 0.8, "member_removed must wait for the grace"
    finally:
        ann.close()
        bo.close()


def test_forged_auth_gets_subscription_error_and_socket_stays_open(relay_cluster):
    eve = relay_cluster.client(1, "eve")
    try:
        forged = f"{RELAY_APP_KEY}:{'0' * 64}"
        eve.subscribe("private-vault", auth=forged)
        error = member_data(eve.wait_for("private-vault", "pusher:subscription_error"))
        assert error["type"] == "AuthError" and error["status"] == 403 and error["error"]
        assert eve.pusher.connection.state == "connected"
        assert eve.ping(), "the relay must still answer pusher:ping after a refused subscription"

        # Still receives events: a properly authorized private channel, then a trigger sent to the other node.
        eve.subscribe("private-inbox", events=("note",))
        assert member_data(eve.wait_for("private-inbox", "pusher_internal:subscription_succeeded")) == {}
        sdk = pusher.Pusher(app_id=RELAY_APP_ID, key=RELAY_APP_KEY, secret=relay_cluster.secret, host="127.0.0.1",
                            port=relay_cluster.relay_ports[0], ssl=False, timeout=10)
        sdk.trigger("private-inbox", "note", "still here")
        assert eve.wait_for("private-inbox", "note") == "still here"
        assert eve.pusher.connection.state == "connected"
    finally:
        eve.close()


def test_trigger_with_wrong_secret_is_refused(relay_cluster):
    sdk = pusher.Pusher(app_id=RELAY_APP_ID, key=RELAY_APP_KEY, secret="wrong-secret-0123456789", host="127.0.0.1",
                        port=relay_cluster.relay_ports[1], ssl=False, timeout=10)
    try:
        sdk.trigger("news", "x", {})
    except pusher.errors.PusherBadAuth as error:
        assert relay_cluster.secret not in str(error)
    else:
        raise AssertionError("a trigger signed with the wrong secret was accepted")


def test_connection_refusals_send_pusher_error_then_close_with_its_code(relay_cluster):
    """Unknown app key 4001, unsupported protocol 4007, none at all 4008: a pusher:error frame, then that close code.
    (A plain `websockets` client: the relay answers right after the upgrade, before any client message.)"""
    from websockets.sync.client import connect

    port = relay_cluster.relay_ports[0]
    for key, query, code in (("unknownkey0000000000", "protocol=7", 4001), (RELAY_APP_KEY, "protocol=3", 4007),
                             (RELAY_APP_KEY, "client=test", 4008)):
        with connect(f"ws://127.0.0.1:{port}/app/{key}?{query}", open_timeout=10) as ws:
            frame = json.loads(ws.recv(timeout=10))
            assert frame["event"] == "pusher:error" and frame["data"]["code"] == code, frame
            try:
                ws.recv(timeout=10)
            except Exception:  # noqa: BLE001 — ConnectionClosed is what we expect
                pass
            assert ws.close_code == code, (key, query, ws.close_code)


def test_client_events_and_cache_misses_reach_the_apps_webhooks(relay_cluster):
    """Only relays see client events and cache misses: they report them to Usher, whose webhooks carry them, signed
    like every webhook (the receiver validates each with the pusher SDK)."""
    ann, bo = relay_cluster.client(0, "ann"), relay_cluster.client(1, "bo")
    try:
        for client in (ann, bo):
            client.subscribe("presence-hooks", events=("client-typing",))
            client.wait_for("presence-hooks", "pusher_internal:subscription_succeeded")
        ann.pusher.channels["presence-hooks"].trigger("client-typing", {"n": 1})
        bo.wait_for("presence-hooks", "client-typing")
        bo.subscribe("cache-hooks-empty")
        bo.wait_for("cache-hooks-empty", "pusher_internal:subscription_succeeded")

        def events() -> list[dict]:
            return [event for delivery in relay_cluster.receiver.snapshot() if delivery.status == 200 and delivery.validated
                    for event in delivery.validated["events"]]

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(events()) < 2:
            time.sleep(0.05)
        assert {"name": "client_event", "channel": "presence-hooks", "event": "client-typing", "data": '{"n":1}',
                "socket_id": ann.socket_id, "user_id": "ann"} in events(), events()
        assert {"name": "cache_miss", "channel": "cache-hooks-empty"} in events(), events()
    finally:
        ann.close()
        bo.close()
