"""A small cluster for the relay end-to-end tests: one `usher serve` (HS256 identity, short presence grace) and two
`usher relay` nodes against it, each the other's peer, plus the real `pysher` client pointed at them.

pysher 1.0.8 needs two small adaptations, both in `PysherClient`, neither touching its WebSocket protocol code:
- presence through an `auth_endpoint` sends `json.dumps(user_data)` as channel_data instead of the `channel_data`
  the endpoint signed (it only reads `auth` from the response); we subscribe with the endpoint's `channel_data`;
- `abort()` drops the TCP connection without a close frame or unsubscribe, and stops pysher from reconnecting.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pysher
from pysher.channel import Channel
import pytest
import requests

from api_support import WebhookReceiver
from conftest import STARTUP_TIMEOUT, _free_port, _stop, _usher_binary

RELAY_APP_ID = "77"
RELAY_APP_KEY = "relaye2ekey012345678"
GRACE_MS = 500

RELAY_YAML = """\
relay:
  grace_ms: {grace_ms}
  lease_ms: 10000
  keepalive_seconds: 1
  subscription_count_interval_ms: 500
apps:
  - id: "{app_id}"
    subscription_count: true
    watchlist:
      max_ids: 10
    webhooks:
      url: "http://127.0.0.1:{hook_port}/hook"
      batch_ms: 100
      events: [client_event, cache_miss]
    identity:
      hs256_secret_file: identity.secret
    channels:
      - match: "presence-*"
      - match: "private-*"
"""


def _wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not become healthy:\n{log.read_text(errors='replace')}")


@dataclass
class RelayCluster:
    """Usher and two relay nodes, and what clients and app servers need to reach them."""

    usher_url: str
    relay_ports: list[int]
    secret: str
    identity_secret: bytes
    workdir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    # Receives the app's `client_event` and `cache_miss` webhooks, validating each with the pusher SDK.
    receiver: WebhookReceiver | None = None

    def token(self, sub: str, **claims) -> str:
        now = int(time.time())
        return jwt.encode({"sub": sub, "iat": now, "exp": now + 300, **claims}, self.identity_secret, algorithm="HS256")

    def client(self, node: int, sub: str, **claims) -> "PysherClient":
        return PysherClient(self, self.relay_ports[node], self.token(sub, **claims))

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in sorted(self.workdir.glob("*.log")))


@pytest.fixture(scope="module")
def relay_cluster():
    binary = _usher_binary()
    workdir = Path(tempfile.mkdtemp(prefix="usher-relay-e2e-"))
    cluster = None
    logs = []
    try:
        identity_secret = secrets.token_hex(32).encode()
        (workdir / "identity.secret").write_bytes(identity_secret)
        (workdir / "identity.secret").chmod(0o600)
        keys = workdir / "keys"
        secret = "relay-e2e-" + secrets.token_hex(20)
        created = subprocess.run(
            [binary, "apps", "create", "--id", RELAY_APP_ID, "--key", RELAY_APP_KEY, "--secret", secret, "--json",
             "--keys", str(keys)], capture_output=True, text=True, timeout=30)
        assert created.returncode == 0, created.stderr
        receiver = WebhookReceiver(RELAY_APP_KEY, secret)
        (workdir / "usher.yaml").write_text(RELAY_YAML.format(grace_ms=GRACE_MS, app_id=RELAY_APP_ID, hook_port=receiver.port))
        usher_port = _free_port()
        cluster = RelayCluster(f"http://127.0.0.1:{usher_port}", [_free_port(), _free_port()], secret, identity_secret,
                               workdir, receiver=receiver)

        def start(name: str, args: list[str]) -> subprocess.Popen:
            log = open(workdir / f"{name}.log", "wb")
            logs.append(log)
            process = subprocess.Popen([binary, *args], stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, cwd=workdir)
            cluster.processes.append(process)
            return process

        usher = start("usher", ["serve", "--config", "usher.yaml", "--keys", str(keys), "--port", str(usher_port),
                                "--threads", "2"])
        _wait_healthy(cluster.usher_url, usher, workdir / "usher.log")  # creates keys/relay.token
        # The nodes find each other through Usher (no --peer): each announces http://127.0.0.1:<port> by default.
        for index, port in enumerate(cluster.relay_ports):
            relay = start(f"relay-{index}", [
                "relay", "--usher", cluster.usher_url, "--keys", str(keys), "--port", str(port),
                "--node", f"e2e-relay-{index}", "--heartbeat", "1", "--threads", "1"])
            _wait_healthy(f"http://127.0.0.1:{port}", relay, workdir / f"relay-{index}.log")
        _wait_for_peers(cluster, keys)
        yield cluster
        for process in cluster.processes:
            assert process.poll() is None, f"a process exited early:\n{cluster.logs()}"
    finally:
        if cluster is not None:
            for process in reversed(cluster.processes):
                _stop(process)
            cluster.receiver.close()
        for log in logs:
            log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for_peers(cluster: RelayCluster, keys: Path) -> None:
    """Waits until Usher lists both relays' forward URLs, then one more heartbeat, so each forwards to the other."""
    token = (keys / "relay.token").read_text().strip()
    wanted = sorted(f"http://127.0.0.1:{port}" for port in cluster.relay_ports)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        answer = requests.put(f"{cluster.usher_url}/relay/v1/nodes/e2e-probe", headers={"Authorization": f"Bearer {token}"},
                              timeout=5).json()
        if sorted(peer["forward_url"] for peer in answer["peers"]) == wanted:
            break
        assert time.monotonic() < deadline, f"the relays never announced themselves: {answer}\n{cluster.logs()}"
        time.sleep(0.1)
    time.sleep(1.5)


class PysherClient:
    """A real `pysher.Pusher` on one relay node, authenticating at Usher's /pusher/auth with a bearer identity token,
    recording every channel event it receives."""

    def __init__(self, cluster: RelayCluster, port: int, token: str):
        self.cluster = cluster
        self.events: list[tuple[str, str, object]] = []
        self.lock = threading.Lock()
        self.pusher = pysher.Pusher(
            RELAY_APP_KEY, custom_host="127.0.0.1", port=port, secure=False,
            auth_endpoint=cluster.usher_url + "/pusher/auth",
            auth_endpoint_headers={"Authorization": f"Bearer {token}"}, reconnect_interval=60)
        connected = threading.Event()
        self.pusher.connection.bind("pusher:connection_established", lambda _data: connected.set())
        self.pusher.connect()
        assert connected.wait(10), "pysher did not get pusher:connection_established"

    @property
    def socket_id(self) -> str:
        return self.pusher.connection.socket_id

    def subscribe(self, channel: str, events: tuple[str, ...] = (), auth: str | None = None) -> None:
        """Subscribes and records the subscription events plus `events` on that channel.

        The channel and its handlers are in place before `pusher:subscribe` goes out (pysher's own `subscribe` sends
        first and registers the channel after, so an answer that comes back at once — a refusal — was dropped)."""
        data: dict[str, str] = {"channel": channel}
        if auth is not None:
            data["auth"] = auth
        elif channel.startswith("presence-"):
            response = requests.post(self.pusher.auth_endpoint, data={"socket_id": self.socket_id, "channel_name": channel},
                                     headers=self.pusher.auth_endpoint_headers, timeout=10)
            assert response.status_code == 200, response.text
            body = response.json()
            data.update(auth=body["auth"], channel_data=body["channel_data"])
        elif channel.startswith("private-"):
            data["auth"] = self.pusher._generate_auth_token(channel)
        ch = Channel(channel, self.pusher.connection)
        for name in ("pusher_internal:subscription_succeeded", "pusher:subscription_error",
                     "pusher_internal:member_added", "pusher_internal:member_removed", *events):
            ch.bind(name, self._recorder(channel, name))
        self.pusher.channels[channel] = ch
        self.pusher.connection.send_event("pusher:subscribe", data)

    def _recorder(self, channel: str, name: str):
        def record(data):
            with self.lock:
                self.events.append((channel, name, data))
        return record

    def wait_for(self, channel: str, name: str, predicate=lambda data: True, timeout: float = 8.0):
        """The data of the first recorded `name` event on `channel` that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for ch, event, data in self.events:
                    if ch == channel and event == name and predicate(data):
                        return data
            time.sleep(0.02)
        with self.lock:
            seen = list(self.events)
        raise AssertionError(f"no {name} on {channel} within {timeout}s; saw {seen}\n{self.cluster.logs()}")

    def seen(self, channel: str, name: str) -> list:
        with self.lock:
            return [data for ch, event, data in self.events if ch == channel and event == name]

    def ping(self, timeout: float = 5.0) -> bool:
        """Sends pusher:ping and waits for the relay's pusher:pong."""
        connection = self.pusher.connection
        connection.pong_received = False
        connection.send_ping()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if connection.pong_received:
                return True
            time.sleep(0.02)
        return False

    def abort(self) -> None:
        """Kills the TCP connection without unsubscribing or a WebSocket close frame; pysher does not reconnect."""
        connection = self.pusher.connection
        connection.disconnect_called = True
        connection.needs_reconnect = False
        raw = connection.socket.sock.sock
        raw.shutdown(socket.SHUT_RDWR)
        raw.close()

    def close(self) -> None:
        try:
            self.pusher.disconnect(timeout=2)
        except Exception:  # noqa: BLE001 — best effort at teardown; the socket may already be gone
            pass


def member_data(data) -> dict:
    """pusher_internal events carry JSON text as data."""
    return json.loads(data) if isinstance(data, str) else data
