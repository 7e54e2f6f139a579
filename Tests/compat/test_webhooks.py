"""Pusher-format webhooks from `usher serve` to a real loopback receiver that validates every delivery with
`pusher.Pusher.validate_webhook` (PUSHER-PROTOCOL.md §8): presence joins and leaves, the leave grace, a failing
receiver (retried, in order, nothing lost, nothing duplicated) and the delivery counters in `/metrics`.

The server runs with `grace_ms: 500` and `batch_ms: 100` so the module stays within a few seconds.
"""

from __future__ import annotations

import json
import time

import pytest

from api_support import API_APP_ID, API_APP_KEY, BATCH_MS, GRACE_MS, api_usher  # noqa: F401 (fixture)

# Long enough for a grace to lapse, the presence ticker (100 ms) to notice and a batch to be sent.
SETTLE = GRACE_MS / 1000 + BATCH_MS / 1000 + 0.6


def deliveries_for(api_usher, channel: str) -> list:
    return [d for d in api_usher.receiver.snapshot() if channel in d.body]


def test_presence_join_sends_channel_occupied_and_member_added_in_one_batch(api_usher):
    channel = "presence-hook-join"
    api_usher.join("20.1", channel, "ann", {"name": "Ann"})
    assert api_usher.receiver.wait_for(channel, 2) == [("channel_occupied", None), ("member_added", "ann")]
    api_usher.join("20.2", channel, "ann")  # a second tab of a member: no webhook
    time.sleep(SETTLE)
    assert api_usher.receiver.events(channel) == [("channel_occupied", None), ("member_added", "ann")]
    [delivery] = deliveries_for(api_usher, channel)
    body = json.loads(delivery.body)
    assert set(body) == {"time_ms", "events"} and abs(body["time_ms"] / 1000 - time.time()) < 30
    assert body["events"] == [{"name": "channel_occupied", "channel": channel},
                              {"name": "member_added", "channel": channel, "user_id": "ann"}]


def test_rejoin_inside_the_grace_sends_neither_member_removed_nor_member_added(api_usher):
    channel = "presence-hook-reload"
    api_usher.join("21.1", channel, "bo")
    assert len(api_usher.receiver.wait_for(channel, 2)) == 2
    api_usher.leave("21.1", channel)
    api_usher.join("21.2", channel, "bo")  # a page reload: the new socket arrives inside the grace
    time.sleep(SETTLE)
    assert api_usher.receiver.events(channel) == [("channel_occupied", None), ("member_added", "bo")]


def test_leave_beyond_the_grace_sends_member_removed_then_channel_vacated(api_usher):
    channel = "presence-hook-leave"
    api_usher.join("22.1", channel, "cy")
    api_usher.join("22.2", channel, "dee")
    assert len(api_usher.receiver.wait_for(channel, 3)) == 3
    api_usher.leave("22.1", channel)
    api_usher.leave("22.2", channel)
    events = api_usher.receiver.wait_for(channel, 6)
    assert events[3:] == [("member_removed", "cy"), ("member_removed", "dee"), ("channel_vacated", None)]
    time.sleep(SETTLE)
    assert len(api_usher.receiver.events(channel)) == 6, "nothing is delivered twice"


def test_failing_receiver_gets_retries_until_delivered_in_order(api_usher):
    channel = "presence-hook-outage"
    metric = "usher_webhook_batches_total"
    retried_before = api_usher.metric(metric, app=API_APP_ID, result="retried")
    delivered_before = api_usher.metric(metric, app=API_APP_ID, result="delivered")
    api_usher.receiver.fail_next(2)
    api_usher.join("23.1", channel, "u1")
    time.sleep(BATCH_MS / 1000 + 0.15)  # the first batch is sealed and being refused
    api_usher.join("23.2", channel, "u2")
    api_usher.leave("23.1", channel)
    events = api_usher.receiver.wait_for(channel, 4, timeout=15)
    assert events == [("channel_occupied", None), ("member_added", "u1"), ("member_added", "u2"),
                      ("member_removed", "u1")], "retried batches arrive before later ones, each event once"
    attempts = deliveries_for(api_usher, channel)
    assert [d.status for d in attempts[:3]] == [500, 500, 200]
    assert len({d.body for d in attempts[:3]}) == 1, "a retry sends the same signed bytes"
    assert api_usher.metric(metric, app=API_APP_ID, result="retried") - retried_before == 2
    assert api_usher.metric(metric, app=API_APP_ID, result="delivered") - delivered_before >= 2
    assert api_usher.metric("usher_webhook_events_total", app=API_APP_ID, result="dropped") == 0


def test_receiver_outage_of_30_seconds_loses_nothing(api_usher):
    channel = "presence-hook-long-outage"
    api_usher.receiver.fail_for(30)
    api_usher.join("24.1", channel, "a")
    time.sleep(5)
    api_usher.join("24.2", channel, "b")
    time.sleep(5)
    api_usher.leave("24.1", channel)
    time.sleep(10)
    api_usher.join("24.3", channel, "c")
    events = api_usher.receiver.wait_for(channel, 5, timeout=100)
    assert events == [("channel_occupied", None), ("member_added", "a"), ("member_added", "b"),
                      ("member_removed", "a"), ("member_added", "c")]
    time.sleep(SETTLE)
    assert len(api_usher.receiver.events(channel)) == 5, "nothing is delivered twice"
    assert api_usher.metric("usher_webhook_events_total", app=API_APP_ID, result="dropped") == 0


def test_subscription_count_webhooks_carry_the_deployment_wide_count(api_usher):
    channel = "private-hook-count"
    for socket in range(1, 6):
        api_usher.subscribe(f"25.{socket}", channel)

    def counts() -> list[int]:
        return [e["subscription_count"] for d in api_usher.receiver.snapshot() if d.status == 200
                for e in json.loads(d.body)["events"] if e.get("channel") == channel and e["name"] == "subscription_count"]

    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and (not counts() or counts()[-1] != 5):
        time.sleep(0.02)
    assert counts() and counts()[-1] == 5, counts()
    for socket in range(1, 6):
        api_usher.leave(f"25.{socket}", channel)
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and counts()[-1] != 0:
        time.sleep(0.02)
    assert counts()[-1] == 0
    assert ("channel_vacated", None) in api_usher.receiver.events(channel)
    # Presence channels have members, not counts.
    assert all(name != "subscription_count" for d in api_usher.receiver.snapshot()
               for name, channel_name in [(e["name"], e.get("channel", "")) for e in json.loads(d.body)["events"]]
               if channel_name.startswith("presence-"))


def test_sign_ins_cause_no_webhooks(api_usher):
    """A sign-in is a subscription to `#server-to-user-<id>` (online status); the app's webhooks never see it."""
    signed = api_usher.client.authenticate_user("26.1", {"id": "zed"})
    response = api_usher.relay("POST", f"/apps/{API_APP_ID}/subscriptions", {
        "node": "py1", "socket_id": "26.1", "channel": "#server-to-user-zed", "auth": signed["auth"],
        "user_data": signed["user_data"]})
    assert response.status_code == 200, response.text
    channel = "presence-hook-after-signin"
    api_usher.join("26.1", channel, "zed")  # a later event: once it is delivered, the sign-in's would have been
    assert len(api_usher.receiver.wait_for(channel, 2)) == 2
    assert not [d for d in api_usher.receiver.snapshot() if "#server-to-user-" in d.body]


def test_every_delivery_is_signed_json_that_validate_webhook_accepts(api_usher):
    deliveries = api_usher.receiver.snapshot()
    assert deliveries, "the tests above should have caused webhooks"
    for delivery in deliveries:
        assert delivery.content_type == "application/json"
        assert delivery.key == API_APP_KEY
        assert delivery.validated is not None, delivery.body
        assert delivery.validated["events"] == json.loads(delivery.body)["events"]
    sample = deliveries[-1]
    client = api_usher.receiver.client
    assert client.validate_webhook(API_APP_KEY, sample.signature, sample.body + " ") is None
    assert client.validate_webhook(API_APP_KEY, sample.signature.upper(), sample.body) is None
    assert client.validate_webhook("otherkey", sample.signature, sample.body) is None
