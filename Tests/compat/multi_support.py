"""Fixtures for multi-instance tests: two `usher serve --store postgres://…` processes sharing one database on the
throwaway cluster that scripts/test.sh starts (scripts/postgres.sh), with relay-API helpers and SSE followers that
reconnect with Last-Event-ID as a relay does.

Skipped with a reason when USHER_TEST_POSTGRES_URL is unset (plain local pytest runs without a cluster).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pusher
import pytest
import requests

from conftest import STARTUP_TIMEOUT, _free_port, _stop, _usher_binary

PG_URL = os.environ.get("USHER_TEST_POSTGRES_URL")
PG_DIR = os.environ.get("USHER_TEST_POSTGRES_DIR")
ROOT = Path(__file__).resolve().parents[2]
APP_ID = "5151"
APP_KEY = "multiappkey0123456789"
LEASE_MS = 1000

MULTI_YAML = """\
relay:
  grace_ms: 0
  lease_ms: {lease_ms}
store:
  pool_size: 4
  timeout_ms: 1500
apps:
  - id: "{app_id}"
{app_extra}"""

requires_postgres = pytest.mark.skipif(
    not PG_URL, reason="USHER_TEST_POSTGRES_URL is not set: run scripts/test.sh, or eval \"$(scripts/postgres.sh start)\"")


def postgres(command: str) -> None:
    """`scripts/postgres.sh halt|resume` on the test cluster (fault tests)."""
    assert PG_DIR, "USHER_TEST_POSTGRES_DIR is not set"
    subprocess.run([str(ROOT / "scripts/postgres.sh"), command, PG_DIR], check=True, timeout=60)


def create_database() -> str:
    """A fresh database on the test cluster; returns its URL."""
    name = "usher_multi_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", "-q", PG_URL, "-c", f"CREATE DATABASE {name}"], check=True, capture_output=True, timeout=30)
    return PG_URL.rsplit("/", 1)[0] + "/" + name


class EventFollower:
    """Follows `GET /relay/v1/events` in a thread, reconnecting with Last-Event-ID after any failure."""

    def __init__(self, base_url: str, token: str, start: int | None = None):
        self.base_url, self.token, self.last_id = base_url, token, start
        self.events: list[tuple[int, str, dict]] = []
        self.resets = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.connected.wait(10), "event stream did not open"

    def _run(self) -> None:
        while not self.stopped.is_set():
            headers = {"Authorization": f"Bearer {self.token}"}
            if self.last_id is not None:
                headers["Last-Event-ID"] = str(self.last_id)
            try:
                with requests.get(self.base_url + "/relay/v1/events", headers=headers, stream=True, timeout=5) as r:
                    if r.status_code != 200:
                        raise requests.RequestException(f"status {r.status_code}")
                    self.connected.set()
                    self._read(r.iter_lines(chunk_size=1, decode_unicode=True))
            except requests.RequestException:
                pass
            self.stopped.wait(0.2)

    def _read(self, lines) -> None:
        event_id, name = None, None
        for line in lines:
            if self.stopped.is_set():
                return
            if line.startswith("id: "):
                event_id = int(line[4:])
            elif line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and event_id is not None:
                with self.lock:
                    if name == "reset":
                        self.resets += 1
                    else:
                        self.events.append((event_id, name, json.loads(line[6:])))
            elif line == "":
                if event_id is not None:
                    self.last_id = event_id
                event_id, name = None, None

    def snapshot(self) -> list[tuple[int, str, dict]]:
        with self.lock:
            return list(self.events)

    def wait_for(self, predicate, timeout: float = 15.0) -> list[tuple[int, str, dict]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not predicate(self.snapshot()):
            time.sleep(0.05)
        return self.snapshot()

    def stop(self) -> None:
        self.stopped.set()


@dataclass
class Instance:
    """One `usher serve` process of the pair."""

    name: str
    base_url: str
    process: subprocess.Popen
    log_path: Path
    token: str
    secret: str
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def client(self) -> pusher.Pusher:
        return pusher.Pusher(app_id=APP_ID, key=APP_KEY, secret=self.secret, host="127.0.0.1",
                             port=int(self.base_url.rsplit(":", 1)[1]), ssl=False, timeout=10)

    def relay(self, method: str, path: str, payload: dict | None = None, timeout: float = 10) -> requests.Response:
        return self.session.request(method, f"{self.base_url}/relay/v1{path}", json=payload, timeout=timeout,
                                    headers={"Authorization": f"Bearer {self.token}"})

    def join(self, socket_id: str, channel: str, user_id: str, node: str = "relay-a", timeout: float = 10):
        """Subscribes like a relay node; returns the response (callers decide what a failure means)."""
        auth = self.client.authenticate(channel=channel, socket_id=socket_id, custom_data={"user_id": user_id})
        return self.relay("POST", f"/apps/{APP_ID}/subscriptions", {
            "node": node, "socket_id": socket_id, "channel": channel, "auth": auth["auth"],
            "channel_data": auth["channel_data"]}, timeout=timeout)

    def leave(self, socket_id: str, channel: str, timeout: float = 10) -> requests.Response:
        return self.relay("DELETE", f"/apps/{APP_ID}/subscriptions", {"socket_id": socket_id, "channel": channel},
                          timeout=timeout)

    def heartbeat(self, node: str) -> requests.Response:
        return self.relay("PUT", f"/nodes/{node}")

    def members(self, channel: str) -> list[str]:
        response = self.relay("GET", f"/apps/{APP_ID}/presence/{channel}")
        assert response.status_code == 200, response.text
        return list(response.json().get("presence", {}).get("ids", []))

    def ready(self) -> int | None:
        try:
            return self.session.get(self.base_url + "/readyz", timeout=2).status_code
        except requests.RequestException:
            return None

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None and self.ready() != 200:
            time.sleep(0.05)
        assert self.ready() == 200, f"{self.name} not ready:\n{self.log()}"

    def follow(self, start: int | None = None) -> EventFollower:
        return EventFollower(self.base_url, self.token, start)

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@dataclass
class Pair:
    """Two instances on one database, sharing one key directory (same app, same relay token)."""

    a: Instance
    b: Instance
    url: str


@pytest.fixture
def pair(request):
    """Two fresh `usher serve --store <url>` instances on a fresh database; stopped and checked after the test.

    The relay lease is LEASE_MS unless the test parametrizes the fixture indirectly with another value, or with a
    dict {"lease_ms": …, "app_extra": "<YAML lines under the app>"} (e.g. webhooks).
    """
    param = getattr(request, "param", LEASE_MS)
    lease_ms = param.get("lease_ms", LEASE_MS) if isinstance(param, dict) else param
    app_extra = param.get("app_extra", "") if isinstance(param, dict) else ""
    if not PG_URL:
        pytest.skip("USHER_TEST_POSTGRES_URL is not set")
    binary = _usher_binary()
    workdir = Path(tempfile.mkdtemp(prefix="usher-multi-"))
    keys, instances = workdir / "keys", []
    try:
        secret = "multi-" + secrets.token_hex(24)
        subprocess.run([binary, "apps", "create", "--id", APP_ID, "--key", APP_KEY, "--secret", secret,
                        "--keys", str(keys)], check=True, capture_output=True, timeout=30)
        config = workdir / "usher.yaml"
        config.write_text(MULTI_YAML.format(lease_ms=lease_ms, app_id=APP_ID, app_extra=app_extra))
        url = create_database()
        # One after the other: the first creates keys/relay.token, which both then share.
        for name in ("a", "b"):
            port, log_path = _free_port(), workdir / f"usher-{name}.log"
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    [binary, "serve", "--config", str(config), "--keys", str(keys), "--host", "127.0.0.1",
                     "--port", str(port), "--threads", "2", "--store", url],
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)
            instance = Instance(name, f"http://127.0.0.1:{port}", process, log_path, "", secret)
            instances.append(instance)
            instance.wait_ready()
            instance.token = (keys / "relay.token").read_text().strip()
        token = instances[0].token
        yield Pair(instances[0], instances[1], url)
        for instance in instances:
            log = instance.log()
            assert secret not in log and token not in log, f"a secret reached {instance.name}'s log"
            password = url.split("@")[0].rsplit(":", 1)[-1] if url.count(":") > 2 else None
            assert not password or password not in log
    finally:
        for instance in instances:
            _stop(instance.process)
        shutil.rmtree(workdir, ignore_errors=True)


def member_events(events, kind: str, channel: str) -> list[str]:
    """User ids of `kind` events on `channel`, in stream order."""
    return [data["user_id"] for _, name, data in events if name == kind and data.get("channel") == channel]


def assert_one_global_order(*streams) -> None:
    """Each stream's ids are consecutive (nothing lost, nothing repeated) and streams agree on every shared id."""
    by_id: dict[int, tuple] = {}
    for events in streams:
        ids = [event_id for event_id, _, _ in events]
        assert ids == list(range(ids[0], ids[0] + len(ids))) if ids else True, f"ids have holes or repeats: {ids}"
        for event in events:
            assert by_id.setdefault(event[0], event) == event, f"streams disagree about event {event[0]}"
