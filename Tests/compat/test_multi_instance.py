"""Two `usher serve` processes on one PostgreSQL (issue #7): shared presence, one global event order on every
instance's SSE stream, and the faults a deployment must survive — an instance killed with SIGKILL, a database restart,
a relay node that dies. Relays retry a failed call (on the other instance when one is gone), as the relay contract
asks; the tests do the same and then check that nothing was lost or duplicated.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests

import pusher

from multi_support import (APP_ID, APP_KEY, LEASE_MS, Instance, assert_one_global_order, member_events, postgres,
                           requires_postgres)
from multi_support import pair  # noqa: F401  (the fixture)

pytestmark = requires_postgres
ROOM = "presence-multi"


def join_with_failover(instances: list[Instance], socket_id: str, user: str, channel: str = ROOM,
                       node: str = "relay-a", deadline: float = 30.0) -> int:
    """Joins through the first instance that answers 200, retrying through the others; returns the attempts made."""
    attempts, stop = 0, time.monotonic() + deadline
    while time.monotonic() < stop:
        for instance in instances:
            attempts += 1
            try:
                response = instance.join(socket_id, channel, user, node=node, timeout=5)
                if response.status_code == 200:
                    return attempts
                assert response.status_code == 503, (response.status_code, response.text)
            except requests.RequestException:
                pass
        time.sleep(0.1)
    raise AssertionError(f"join of {user} never succeeded")


def test_two_instances_share_members_and_one_event_order(pair):
    follow_a, follow_b = pair.a.follow(), pair.b.follow()
    try:
        for n in range(10):
            instance = pair.a if n % 2 else pair.b
            assert instance.join(f"1.{n}", ROOM, f"user{n}").status_code == 200
        # A second socket of a user already present joins on the other instance: no second member_added.
        assert pair.a.join("2.0", ROOM, "user0").json()["member_added"] is False
        assert sorted(pair.a.members(ROOM)) == sorted(pair.b.members(ROOM)) == sorted(f"user{n}" for n in range(10))
        for n in range(10):
            assert (pair.b if n % 2 else pair.a).leave(f"1.{n}", ROOM).status_code == 200
        assert pair.b.members(ROOM) == ["user0"]  # still has socket 2.0
        expected = 1 + 10 + 9  # occupied, added ×10, removed ×9 (grace 0)
        events_a = follow_a.wait_for(lambda e: len(e) >= expected)
        events_b = follow_b.wait_for(lambda e: len(e) >= expected)
        assert len(events_a) == len(events_b) == expected, (events_a, events_b)
        assert events_a == events_b, "both streams carry the same events in the same order"
        assert_one_global_order(events_a, events_b)
        assert sorted(member_events(events_a, "member_added", ROOM)) == sorted(f"user{n}" for n in range(10))
    finally:
        follow_a.stop()
        follow_b.stop()


def test_kill9_one_instance_mid_load_loses_and_duplicates_nothing(pair):
    follow_b = pair.b.follow()
    users = [f"k{n}" for n in range(60)]
    killed = threading.Event()

    def load(offset: int) -> None:
        for index in range(offset, len(users), 2):
            # Prefer A until it is gone, then fail over to B, as a relay with two upstreams would.
            order = [pair.a, pair.b] if index % 3 else [pair.b, pair.a]
            join_with_failover(order, f"3.{index}", users[index])
            if index == 20:
                killed.set()

    threads = [threading.Thread(target=load, args=(offset,)) for offset in (0, 1)]
    for thread in threads:
        thread.start()
    assert killed.wait(30)
    pair.a.kill9()
    for thread in threads:
        thread.join(60)
    assert pair.a.process.poll() is not None
    assert pair.b.ready() == 200, "the surviving instance keeps serving"
    assert sorted(pair.b.members(ROOM)) == sorted(users), "no member lost"
    events = follow_b.wait_for(lambda e: len(member_events(e, "member_added", ROOM)) >= len(users))
    follow_b.stop()
    added = member_events(events, "member_added", ROOM)
    assert sorted(added) == sorted(users), "each member added exactly once"
    assert_one_global_order(events)


# Relays cannot heartbeat while the database is down, so a lease shorter than the outage would (rightly) expire and
# drop their members; this test is about the outage itself, so leases outlast it.
@pytest.mark.parametrize("pair", [30_000], indirect=True)
def test_postgres_restart_mid_load_answers_503_then_recovers_without_losing_events(pair):
    follow_a, follow_b = pair.a.follow(), pair.b.follow()
    users = [f"p{n}" for n in range(40)]
    statuses: list[int] = []
    try:
        for index, user in enumerate(users[:20]):
            join_with_failover([pair.a if index % 2 else pair.b], f"4.{index}", user)
        postgres("halt")
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and (pair.a.ready() != 503 or pair.b.ready() != 503):
                time.sleep(0.05)
            assert pair.a.ready() == 503 and pair.b.ready() == 503, "/readyz reports the database outage"
            for index in range(20, 26):
                started = time.monotonic()
                response = (pair.a if index % 2 else pair.b).join(f"4.{index}", ROOM, users[index], timeout=10)
                statuses.append(response.status_code)
                assert time.monotonic() - started < 5, "requests fail fast while the database is down"
                assert response.json() == {"error": "the presence database is unavailable; retry shortly"}
        finally:
            postgres("resume")
        assert set(statuses) == {503}, statuses
        pair.a.wait_ready(30)
        pair.b.wait_ready(30)
        for index in range(20, len(users)):
            join_with_failover([pair.b if index % 2 else pair.a, pair.a], f"4.{index}", users[index])
        assert sorted(pair.a.members(ROOM)) == sorted(users)
        for follower in (follow_a, follow_b):
            events = follower.wait_for(lambda e: len(member_events(e, "member_added", ROOM)) >= len(users), 30)
            assert sorted(member_events(events, "member_added", ROOM)) == sorted(users), "no event lost or repeated"
            assert follower.resets == 0, "resumed from Last-Event-ID, not reset"
            assert_one_global_order(events)
        assert follow_a.snapshot() == follow_b.snapshot()
    finally:
        follow_a.stop()
        follow_b.stop()


def test_dead_relay_node_members_are_removed_exactly_once_across_instances(pair):
    follow_a, follow_b = pair.a.follow(), pair.b.follow()
    try:
        for n in range(8):
            instance = pair.a if n % 2 else pair.b
            assert instance.join(f"5.{n}", ROOM, f"d{n}", node="relay-dead").status_code == 200
        assert pair.a.join("6.0", ROOM, "alive", node="relay-live").status_code == 200
        # The live node keeps heartbeating (alternately on both instances); the dead one is silent. Both Usher
        # instances sweep every 100 ms, racing for the expiry.
        deadline = time.monotonic() + LEASE_MS / 1000 * 6
        while time.monotonic() < deadline and pair.b.members(ROOM) != ["alive"]:
            for instance in (pair.a, pair.b):
                assert instance.heartbeat("relay-live").status_code == 200
            time.sleep(0.2)
        assert pair.a.members(ROOM) == pair.b.members(ROOM) == ["alive"]
        for follower in (follow_a, follow_b):
            events = follower.wait_for(lambda e: len(member_events(e, "member_removed", ROOM)) >= 8)
            removed = member_events(events, "member_removed", ROOM)
            assert sorted(removed) == sorted(f"d{n}" for n in range(8)), "each dead member removed exactly once"
        time.sleep(0.5)  # any duplicate sweep would have logged by now
        assert len(member_events(follow_a.snapshot(), "member_removed", ROOM)) == 8
        assert follow_a.snapshot() == follow_b.snapshot()
        # The dead node is forgotten: if it comes back it is told to resync.
        assert pair.b.heartbeat("relay-dead").json()["resync"] is True
    finally:
        follow_a.stop()
        follow_b.stop()


def test_bad_store_url_fails_at_start_without_echoing_the_password(tmp_path):
    import subprocess

    from conftest import _usher_binary

    result = subprocess.run([_usher_binary(), "serve", "--keys", str(tmp_path / "keys"), "--dev", "--port", "0",
                             "--store", "postgres://user:hunter2secret@/nodb"], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "store" in result.stderr and "hunter2secret" not in result.stderr + result.stdout


HOOKS = None  # the webhook test's receiver: started at collection, so its port can go into the pair's config


def _hook_receiver():
    global HOOKS
    if HOOKS is None:
        from api_support import WebhookReceiver
        HOOKS = WebhookReceiver(APP_KEY, "secret set by the test")
    return HOOKS


@pytest.mark.parametrize("pair", [{"app_extra": "    webhooks:\n      url: \"http://127.0.0.1:{port}/hook\"\n"
                                   "      batch_ms: 50\n".format(port=_hook_receiver().port)}], indirect=True)
def test_webhooks_are_sent_once_by_one_instance_and_survive_its_death(pair):
    receiver = _hook_receiver()
    receiver.client = pusher.Pusher(app_id=APP_ID, key=APP_KEY, secret=pair.a.secret)  # the pair's app secret
    hook_room = "presence-hooks"
    for n in range(6):
        assert (pair.a if n % 2 else pair.b).join(f"3.{n}", hook_room, f"hooked{n}").status_code == 200
    events = receiver.wait_for(hook_room, 7, timeout=15)
    time.sleep(1.0)  # a second sender would deliver its copies within this time
    events = receiver.events(hook_room)
    added = [user for name, user in events if name == "member_added"]
    assert sorted(added) == [f"hooked{n}" for n in range(6)], events
    assert len(events) == 7, "every event exactly once although both instances have webhooks configured"
    assert all(d.validated is not None for d in receiver.snapshot()), "every delivery verifies with the SDK"
    # Whichever instance holds the claim, after A dies the survivor delivers what follows.
    pair.a.kill9()
    for n in range(6, 9):
        assert pair.b.join(f"3.{n}", hook_room, f"hooked{n}").status_code == 200
    # The claim lease is 10 s: the survivor takes over within it and resumes where the dead sender got to.
    events = receiver.wait_for(hook_room, 10, timeout=30)
    added = [user for name, user in events if name == "member_added"]
    assert set(added) == {f"hooked{n}" for n in range(9)}, f"{events}\nsurvivor's log:\n{pair.b.log()[-4000:]}"


FEATURES = {"app_extra": "    subscription_count: true\n    watchlist:\n      max_ids: 10\n"}


@pytest.mark.parametrize("pair", [FEATURES], indirect=True)
def test_online_status_and_subscription_counts_span_instances(pair):
    """What relays build watchlists and subscription counts from, over PostgreSQL: a sign-in through one instance is
    online for the other and its stream says so; subscriptions through both instances are counted together."""
    follower = pair.b.follow()
    try:
        signed = pair.a.client.authenticate_user("7.1", {"id": "ann"})
        signin = pair.a.relay("POST", f"/apps/{APP_ID}/subscriptions", {
            "node": "relay-a", "socket_id": "7.1", "channel": "#server-to-user-ann", "auth": signed["auth"],
            "user_data": signed["user_data"]})
        assert signin.status_code == 200, signin.text
        online = pair.b.relay("POST", f"/apps/{APP_ID}/online", {"user_ids": ["bob", "ann"]})
        assert online.status_code == 200 and online.json() == {"online": ["ann"]}, online.text
        for instance, socket in ((pair.a, "7.2"), (pair.b, "8.2")):
            joined = instance.relay("POST", f"/apps/{APP_ID}/subscriptions", {"node": "relay-a", "socket_id": socket, "channel": "news"})
            assert joined.status_code == 200, joined.text

        def seen(events) -> bool:
            counts = [data["subscription_count"] for _, name, data in events if name == "subscription_count"]
            return any(name == "user_online" for _, name, _ in events) and bool(counts) and counts[-1] == 2

        events = follower.wait_for(seen)
        assert seen(events), events
        assert [data["user_id"] for _, name, data in events if name == "user_online"] == ["ann"]
        assert pair.b.relay("DELETE", f"/apps/{APP_ID}/sockets/7.1").status_code == 200  # grace 0: offline at once
        events = follower.wait_for(lambda events: any(name == "user_offline" for _, name, _ in events))
        assert [data["user_id"] for _, name, data in events if name == "user_offline"] == ["ann"]
        assert pair.a.relay("POST", f"/apps/{APP_ID}/online", {"user_ids": ["ann"]}).json() == {"online": []}
    finally:
        follower.stop()
