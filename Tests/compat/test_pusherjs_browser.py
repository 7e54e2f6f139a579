"""pusher-js 8.6.0 itself, in headless Chromium, against two `usher relay` nodes and Usher (PUSHER-PROTOCOL.md §9a).

- `pusher.signin()`: the user authenticates through Usher's `/pusher/user-auth`; pusher-js then subscribes to its
  `#server-to-user-<id>` channel, which the relay confirms (no `pusher:subscription_error`), and an event sent to the
  user with the Python SDK's `send_to_user` through the other relay node reaches `pusher.user.bind`.
- A socket not signed in as that user that sends the subscribe anyway (pusher-js itself will not) is refused.
- `channel.trigger` past 10 client events per second: the excess gets `pusher:error` 4301 (pusher-js's connection
  `error` event) and never reaches the other subscriber.
- Cache channels: the last event is replayed on subscribe, `pusher:cache_miss` when nothing is cached.
- `subscription_count`: pusher-js emits `pusher:subscription_count` and keeps `channel.subscriptionCount` with the
  count across both nodes.
- Watchlist: a page signed in with a `watchlist` claim hears, through `pusher.user.watchlist`, who of its list is
  online at sign-in and who comes online (a sign-in on the other node) or goes offline (after the leave grace).
"""

from __future__ import annotations

import json
import time

import pusher
import pytest
import requests

from chat_support import chromium_missing, new_browser
from pusherjs_support import PageServer, page_events, pusher_js_path, wait_until
from relay_support import RELAY_APP_ID, RELAY_APP_KEY, relay_cluster  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or ""),
    pytest.mark.skipif(pusher_js_path() is None, reason="pusher-js 8.6.0 not found (../shared/vendor or USHER_PUSHER_JS)"),
]


@pytest.fixture
def page_server(relay_cluster):
    server = PageServer(relay_cluster.usher_url, pusher_js_path())
    yield server
    server.stop()


@pytest.fixture
def driver():
    browser = new_browser()
    yield browser
    browser.quit()


def test_signin_confirms_the_user_channel_and_send_to_user_arrives_across_nodes(relay_cluster, page_server, driver):
    driver.get(page_server.url(key=RELAY_APP_KEY, ws=relay_cluster.relay_ports[0], token=relay_cluster.token("ann"), signin=1))
    wait_until(driver, "pusher.user.user_data && pusher.user.user_data.id === 'ann'", "pusher:signin_success for ann")
    wait_until(driver, "pusher.user.serverToUserChannel && pusher.user.serverToUserChannel.subscribed",
               "the #server-to-user-ann subscription confirmed")
    sdk = pusher.Pusher(app_id=RELAY_APP_ID, key=RELAY_APP_KEY, secret=relay_cluster.secret, host="127.0.0.1",
                        port=relay_cluster.relay_ports[1], ssl=False)
    sdk.send_to_user("ann", "hello", {"text": "for Ann only"})
    hello = wait_until(driver, "__events.find((e) => e.name === 'user:hello')", "send_to_user's event on the page")
    assert hello["data"] == {"text": "for Ann only"}
    names = [event["name"] for event in page_events(driver)]
    assert "pusher:subscription_error" not in names, names
    assert "pusher:error" not in names, names


def test_a_socket_not_signed_in_as_the_user_cannot_join_the_user_channel(relay_cluster, page_server, driver):
    driver.get(page_server.url(key=RELAY_APP_KEY, ws=relay_cluster.relay_ports[0], token=relay_cluster.token("eve"), signin=0))
    wait_until(driver, "pusher.connection.state === 'connected'", "the connection")
    # pusher-js itself refuses to create such a channel; a hand-made client could still send the subscribe.
    driver.execute_script("pusher.send_event('pusher:subscribe', {channel: '#server-to-user-ann'})")
    error = wait_until(driver, "__events.find((e) => e.name === 'pusher:subscription_error')", "the refusal")
    assert error["data"]["status"] == 403


def test_client_events_over_ten_per_second_are_refused_with_4301(relay_cluster, page_server, driver):
    bo = relay_cluster.client(1, "bo")
    try:
        bo.subscribe("private-room", events=("client-typing",))
        bo.wait_for("private-room", "pusher_internal:subscription_succeeded")
        driver.get(page_server.url(key=RELAY_APP_KEY, ws=relay_cluster.relay_ports[0], token=relay_cluster.token("ann"), signin=0))
        wait_until(driver, "pusher.connection.state === 'connected'", "the connection")
        driver.execute_script("window.room = pusher.subscribe('private-room')")
        wait_until(driver, "room.subscribed", "the private-room subscription")
        driver.execute_script("for (let n = 0; n < 15; n++) room.trigger('client-typing', { n })")
        refusals = "__events.filter((e) => e.name === 'connection:error' && e.data.includes('4301')).length"
        wait_until(driver, f"{refusals} >= 3", "pusher:error 4301 for the excess")
        time.sleep(0.5)  # let every delivered event arrive
        delivered = [(json.loads(data) if isinstance(data, str) else data)["n"] for data in bo.seen("private-room", "client-typing")]
        refused = driver.execute_script(f"return {refusals}")
        assert delivered == list(range(len(delivered))), delivered  # in order, the first ones
        # A burst of 10 passes; the bucket refills 10 per second, so a slow machine may let one or two more through.
        assert 10 <= len(delivered) <= 12 and len(delivered) + refused == 15, (delivered, refused)
    finally:
        bo.close()


def test_cache_channel_replays_the_last_event_and_reports_a_miss(relay_cluster, page_server, driver):
    sdk = [pusher.Pusher(app_id=RELAY_APP_ID, key=RELAY_APP_KEY, secret=relay_cluster.secret, host="127.0.0.1",
                         port=port, ssl=False) for port in relay_cluster.relay_ports]
    sdk[1].trigger("cache-prices", "price", {"v": 1})
    sdk[1].trigger("cache-prices", "price", {"v": 2})
    # Node 0 learns it through node 1's forward; the SDK's channel query shows when it has.
    deadline = time.monotonic() + 10
    while (sdk[0].channel_info("cache-prices", ["cache"]).get("cache") or {}).get("data") != '{"v": 2}':
        assert time.monotonic() < deadline, sdk[0].channel_info("cache-prices", ["cache"])
        time.sleep(0.05)
    driver.get(page_server.url(key=RELAY_APP_KEY, ws=relay_cluster.relay_ports[0], token=relay_cluster.token("ann"), signin=0))
    wait_until(driver, "pusher.connection.state === 'connected'", "the connection")
    driver.execute_script("""
        const prices = pusher.subscribe('cache-prices');
        prices.bind('price', (data) => __events.push({ name: 'price', data }));
        pusher.subscribe('cache-empty').bind('pusher:cache_miss', () => __events.push({ name: 'miss' }));
    """)
    price = wait_until(driver, "__events.find((e) => e.name === 'price')", "the cached price")
    assert price["data"] == {"v": 2}
    wait_until(driver, "__events.find((e) => e.name === 'miss')", "pusher:cache_miss on the empty cache channel")
    info = sdk[1].channel_info("cache-prices", ["cache"])
    assert info["occupied"] is True and info["cache"]["event"] == "price" and 1700 < info["cache"]["ttl"] <= 1800, info


def test_subscription_count_reaches_pusher_js_with_subscribers_of_both_nodes(relay_cluster, page_server, driver):
    driver.get(page_server.url(key=RELAY_APP_KEY, ws=relay_cluster.relay_ports[0], token=relay_cluster.token("ann"), signin=0))
    wait_until(driver, "pusher.connection.state === 'connected'", "the connection")
    driver.execute_script("""
        window.scores = pusher.subscribe('private-scores');
        scores.bind('pusher:subscription_count', (data) => __events.push({ name: 'count', data }));
    """)
    first = wait_until(driver, "__events.find((e) => e.name === 'count')", "pusher:subscription_count")
    assert first["data"] == {"subscription_count": 1}
    bo = relay_cluster.client(1, "bo")
    try:
        bo.subscribe("private-scores")
        bo.wait_for("private-scores", "pusher_internal:subscription_succeeded")
        wait_until(driver, "scores.subscriptionCount === 2", "the count with node 1's subscriber")
        bo.pusher.unsubscribe("private-scores")
        wait_until(driver, "scores.subscriptionCount === 1", "the count after it left")
    finally:
        bo.close()


def test_watchlist_online_status_reaches_pusher_js(relay_cluster, page_server, driver):
    cy = relay_cluster.client(1, "cy")
    bo = relay_cluster.client(1, "bo")
    relay_token = (relay_cluster.workdir / "keys" / "relay.token").read_text().strip()
    try:
        def sign_in(client, user: str) -> None:
            answer = requests.post(relay_cluster.usher_url + "/pusher/user-auth", data={"socket_id": client.socket_id},
                                   headers={"Authorization": f"Bearer {relay_cluster.token(user)}"}, timeout=10)
            assert answer.status_code == 200, answer.text
            client.pusher.connection.send_event("pusher:signin", answer.json())

        def online(users: list[str]) -> list[str]:
            answer = requests.post(f"{relay_cluster.usher_url}/relay/v1/apps/{RELAY_APP_ID}/online", json={"user_ids": users},
                                   headers={"Authorization": f"Bearer {relay_token}"}, timeout=5)
            assert answer.status_code == 200, answer.text
            return answer.json()["online"]

        sign_in(cy, "cy")
        deadline = time.monotonic() + 10
        while online(["cy"]) != ["cy"]:  # the sign-in is asynchronous: wait until Usher has it
            assert time.monotonic() < deadline, relay_cluster.logs()
            time.sleep(0.05)
        token = relay_cluster.token("ann", watchlist=["bo", "cy", "dee"])
        driver.get(page_server.url(key=RELAY_APP_KEY, ws=relay_cluster.relay_ports[0], token=token, signin=1))
        first = wait_until(driver, "__events.find((e) => e.name === 'watchlist:online')", "the first online list")
        assert first["data"] == ["cy"]
        sign_in(bo, "bo")
        wait_until(driver, "__events.find((e) => e.name === 'watchlist:online' && e.data.includes('bo'))", "bo online")
        bo.abort()
        offline = wait_until(driver, "__events.find((e) => e.name === 'watchlist:offline')", "bo offline after the grace")
        assert offline["data"] == ["bo"]
        assert online(["ann", "bo", "cy", "dee"]) == ["ann", "cy"]
    finally:
        cy.close()
        bo.close()
