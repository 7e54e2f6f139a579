"""Helpers for the HTTP API and webhook compatibility tests: a webhook receiver that validates every delivery with
the real `pusher` SDK, and an `usher serve` configured to post webhooks to it, with relay API helpers to create
presence state the way a relay node would.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pusher
import pytest
import requests

from conftest import STARTUP_TIMEOUT, _free_port, _stop, _usher_binary

API_APP_ID = "4242"  # pusher-http-python requires a numeric app id
API_APP_KEY = "pyapikey0123456789ab"
GRACE_MS = 500
BATCH_MS = 100

API_YAML = """\
relay:
  grace_ms: {grace_ms}
  lease_ms: 60000
  subscription_count_interval_ms: {count_interval_ms}
apps:
  - id: "{app_id}"
    subscription_count: true
    webhooks:
      url: "http://127.0.0.1:{hook_port}/hook"
      batch_ms: {batch_ms}
      events: [channel_occupied, channel_vacated, member_added, member_removed, subscription_count]
"""
COUNT_INTERVAL_MS = 300


@dataclass
class Delivery:
    """One request the receiver got, with the answer it gave."""

    status: int
    content_type: str | None
    key: str | None
    signature: str | None
    body: str
    validated: dict | None  # what `validate_webhook` returned (None = rejected)


class WebhookReceiver:
    """A loopback HTTP server validating each POST with `pusher.Pusher.validate_webhook`; can fail on purpose."""

    def __init__(self, key: str, secret: str):
        self.client = pusher.Pusher(app_id=API_APP_ID, key=key, secret=secret)
        self.key = key
        self.deliveries: list[Delivery] = []
        self.failures_left = 0
        self.down_until = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8")
                key, signature = self.headers.get("X-Pusher-Key"), self.headers.get("X-Pusher-Signature")
                validated = receiver.client.validate_webhook(key or "", signature or "", body)
                with receiver.lock:
                    down = receiver.failures_left > 0 or time.monotonic() < receiver.down_until
                    status = 500 if down else 200
                    receiver.failures_left = max(0, receiver.failures_left - 1)
                    receiver.deliveries.append(
                        Delivery(status, self.headers.get("Content-Type"), key, signature, body, validated))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def fail_next(self, count: int) -> None:
        with self.lock:
            self.failures_left = count

    def fail_for(self, seconds: float) -> None:
        """Answers 500 to everything for `seconds` (an outage)."""
        with self.lock:
            self.down_until = time.monotonic() + seconds

    def snapshot(self) -> list[Delivery]:
        with self.lock:
            return list(self.deliveries)

    def events(self, channel: str) -> list[tuple]:
        """`(name, user_id or None)` of every event for `channel` in successful deliveries, in arrival order."""
        return [(e["name"], e.get("user_id")) for d in self.snapshot() if d.status == 200
                for e in json.loads(d.body)["events"] if e.get("channel") == channel]

    def wait_for(self, channel: str, count: int, timeout: float = 8.0) -> list[tuple]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.events(channel)) < count:
            time.sleep(0.02)
        return self.events(channel)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class ApiUsher:
    """A running `usher serve` with one numeric-id app whose webhooks go to `receiver`."""

    base_url: str
    port: int
    secret: str
    relay_token: str
    receiver: WebhookReceiver
    log_path: Path
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def client(self) -> pusher.Pusher:
        """The real SDK pointed at Usher (host, port, scheme), as the README tells app backends to do."""
        return pusher.Pusher(app_id=API_APP_ID, key=API_APP_KEY, secret=self.secret, host="127.0.0.1",
                             port=self.port, ssl=False, timeout=10)

    def relay(self, method: str, path: str, payload: dict | None = None) -> requests.Response:
        return self.session.request(method, f"{self.base_url}/relay/v1{path}", json=payload, timeout=10,
                                    headers={"Authorization": f"Bearer {self.relay_token}"})

    def join(self, socket_id: str, channel: str, user_id: str, user_info: dict | None = None, node: str = "py1") -> dict:
        """Subscribes like a relay node: the auth string and channel_data come from `pusher.Pusher.authenticate`."""
        data = {"user_id": user_id, **({"user_info": user_info} if user_info is not None else {})}
        auth = self.client.authenticate(channel=channel, socket_id=socket_id, custom_data=data)
        response = self.relay("POST", f"/apps/{API_APP_ID}/subscriptions", {
            "node": node, "socket_id": socket_id, "channel": channel, "auth": auth["auth"],
            "channel_data": auth["channel_data"]})
        assert response.status_code == 200, response.text
        return response.json()

    def subscribe(self, socket_id: str, channel: str, node: str = "py1") -> None:
        """Subscribes to a public or private channel like a relay node (private ones signed by the SDK)."""
        payload = {"node": node, "socket_id": socket_id, "channel": channel}
        if channel.startswith("private-"):
            payload["auth"] = self.client.authenticate(channel=channel, socket_id=socket_id)["auth"]
        response = self.relay("POST", f"/apps/{API_APP_ID}/subscriptions", payload)
        assert response.status_code == 200, response.text

    def leave(self, socket_id: str, channel: str) -> None:
        response = self.relay("DELETE", f"/apps/{API_APP_ID}/subscriptions", {"socket_id": socket_id, "channel": channel})
        assert response.status_code == 200, response.text

    def metric(self, name: str, **labels) -> float:
        """The value of one Prometheus sample from `/metrics` (0 when absent)."""
        text = self.session.get(self.base_url + "/metrics", timeout=5).text
        for line in text.splitlines():
            match = re.match(r"^([a-z_]+)(?:\{(.*)\})? ([0-9.e+-]+)$", line)
            if match and match.group(1) == name:
                found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
                if all(found.get(k) == v for k, v in labels.items()):
                    return float(match.group(3))
        return 0.0


@pytest.fixture(scope="module")
def api_usher():
    """`usher serve` with app 4242 (webhooks to a fresh receiver, grace 500 ms, batches of 100 ms); one per module."""
    binary = _usher_binary()
    workdir = Path(tempfile.mkdtemp(prefix="usher-api-"))
    keys, process, receiver = workdir / "keys", None, None
    try:
        secret = "api-" + secrets.token_hex(24)
        subprocess.run([binary, "apps", "create", "--id", API_APP_ID, "--key", API_APP_KEY, "--secret", secret,
                        "--keys", str(keys)], check=True, capture_output=True, timeout=30)
        receiver = WebhookReceiver(API_APP_KEY, secret)
        config = workdir / "usher.yaml"
        config.write_text(API_YAML.format(grace_ms=GRACE_MS, app_id=API_APP_ID, hook_port=receiver.port, batch_ms=BATCH_MS,
                                          count_interval_ms=COUNT_INTERVAL_MS))
        port, log_path = _free_port(), workdir / "usher.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [binary, "serve", "--config", str(config), "--keys", str(keys), "--host", "127.0.0.1",
                 "--port", str(port), "--threads", "2"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(base_url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.05)
        else:
            pytest.fail(f"usher serve did not start:\n{log_path.read_text(errors='replace')}")
        token = (keys / "relay.token").read_text().strip()
        yield ApiUsher(base_url, port, secret, token, receiver, log_path)
        assert process.poll() is None, f"usher serve exited:\n{log_path.read_text(errors='replace')}"
        log_text = log_path.read_text(errors="replace")
        assert secret not in log_text and token not in log_text, "a secret reached the log"
    finally:
        if process is not None:
            _stop(process)
        if receiver is not None:
            receiver.close()
        shutil.rmtree(workdir, ignore_errors=True)
