"""Starts the whole chat on loopback: `usher serve`, `usher relay` and the chat's app server (server.py).

    python Examples/chat/stack.py --usher-bin .build/debug/usher      # what scripts/chat.sh runs

State (Usher's keys, the app, the identity secret, usher.yaml, logs) lives in --state-dir (default .build/chat) and
is reused by the next run, so the app's key stays the same. Ctrl-C stops all three. The browser test imports
`ChatStack` to run the same stack on free ports.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
APP_ID = "1"
ISSUER = "usher-chat"
AUDIENCE = "usher"
STARTUP_TIMEOUT = 30.0

USHER_YAML = """\
# Written by Examples/chat/stack.py on each start.
relay: {{ grace_ms: {grace_ms} }}
apps:
  - id: "{app_id}"
    identity:                        # the chat's app server signs these tokens (server.py /session)
      hs256_secret_file: identity.secret
      issuer: {issuer}
      audience: {audience}
    channels:
      - match: "presence-chat"
      - match: "private-chat"
    cors:                            # the page (served by the app server) calls /pusher/auth cross-origin
      origins: [{origins}]
"""


class StackError(Exception):
    """A part of the stack did not start; the message names it and carries its log's tail."""


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class ChatStack:
    """Usher, the relay and the app server for one chat, all on `host`."""

    usher_bin: str
    state_dir: Path
    host: str = "127.0.0.1"
    app_port: int = 8000
    usher_port: int = 8080
    relay_port: int = 6001
    grace_ms: int = 3000
    python: str = sys.executable
    services: list[Service] = field(default_factory=list)

    def __post_init__(self):
        # The processes run in the state directory, so a relative path to the binary must not stay relative.
        if os.sep in self.usher_bin:
            self.usher_bin = os.path.abspath(self.usher_bin)
        self.state_dir = Path(self.state_dir).resolve()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.app_port}/"

    @property
    def keys(self) -> Path:
        return self.state_dir / "keys"

    # -- preparing the state directory -------------------------------------------------------------------------
    def prepare(self) -> dict:
        """Creates (once) the app and the identity secret; writes usher.yaml. Returns the app record."""
        (self.state_dir / "logs").mkdir(parents=True, exist_ok=True)
        record_path = self.keys / "apps" / f"{APP_ID}.json"
        if not record_path.exists():
            created = subprocess.run(
                [self.usher_bin, "apps", "create", "--id", APP_ID, "--name", "chat", "--json", "--keys", str(self.keys)],
                capture_output=True, text=True, timeout=30,
            )
            if created.returncode != 0:
                raise StackError(f"usher apps create failed: {created.stderr.strip()}")
        secret_path = self.state_dir / "identity.secret"
        if not secret_path.exists():
            secret_path.write_text(secrets.token_hex(32) + "\n")
        secret_path.chmod(0o600)
        origins = ", ".join(f'"http://{h}:{self.app_port}"' for h in dict.fromkeys([self.host, "127.0.0.1", "localhost"]))
        (self.state_dir / "usher.yaml").write_text(USHER_YAML.format(
            grace_ms=self.grace_ms, app_id=APP_ID, issuer=ISSUER, audience=AUDIENCE, origins=origins))
        return json.loads(record_path.read_text())

    # -- running ---------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Starts the three processes in order, each once the previous one answers; raises StackError on failure."""
        self.prepare()
        try:
            usher = self.spawn("usher", [self.usher_bin, "serve", "--config", str(self.state_dir / "usher.yaml"),
                                         "--keys", str(self.keys), "--host", self.host, "--port", str(self.usher_port)])
            self.wait_until(usher, lambda: http_ok(f"http://{self.host}:{self.usher_port}/readyz"))
            self.wait_until(usher, lambda: (self.keys / "relay.token").exists())
            relay = self.spawn("relay", self.relay_command())
            self.wait_until(relay, lambda: http_ok(f"http://{self.host}:{self.relay_port}/healthz"))
            app = self.spawn("app", [self.python, str(HERE / "server.py"), *self.app_arguments()])
            self.wait_until(app, lambda: http_ok(f"http://{self.host}:{self.app_port}/healthz"))
        except BaseException:
            self.stop()
            raise

    def relay_command(self) -> list[str]:
        return [self.usher_bin, "relay", "--usher", f"http://{self.host}:{self.usher_port}",
                "--relay-token-file", str(self.keys / "relay.token"), "--keys", str(self.keys),
                "--host", self.host, "--port", str(self.relay_port)]

    def app_arguments(self) -> list[str]:
        return ["--host", self.host, "--port", str(self.app_port), "--keys", str(self.keys), "--app-id", APP_ID,
                "--identity-secret-file", str(self.state_dir / "identity.secret"), "--issuer", ISSUER,
                "--audience", AUDIENCE, "--usher-url", f"http://{self.host}:{self.usher_port}",
                "--relay-host", self.host, "--relay-port", str(self.relay_port)]

    def spawn(self, name: str, command: list[str]) -> Service:
        log_path = self.state_dir / "logs" / f"{name}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       cwd=self.state_dir, start_new_session=True)
        service = Service(name, process, log_path)
        self.services.append(service)
        return service

    def wait_until(self, service: Service, ready) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise StackError(f"{service.name} exited with {service.process.returncode}:\n{service.log_tail()}")
            if ready():
                return
            time.sleep(0.05)
        raise StackError(f"{service.name} not ready after {STARTUP_TIMEOUT:.0f} s:\n{service.log_tail()}")

    def exited(self) -> Service | None:
        """The first service that has stopped on its own, if any."""
        return next((s for s in self.services if s.process.poll() is not None), None)

    def stop(self) -> None:
        """SIGTERM in reverse start order, SIGKILL after 5 s."""
        for service in reversed(self.services):
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in reversed(self.services):
            try:
                service.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait(timeout=5)
        self.services.clear()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description="Run Usher, the relay and the chat together on loopback.")
    parser.add_argument("--usher-bin", default=os.environ.get("USHER_BIN"), required="USHER_BIN" not in os.environ)
    parser.add_argument("--state-dir", type=Path, default=ROOT / ".build" / "chat")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="the chat page (app server)")
    parser.add_argument("--usher-port", type=int, default=8080)
    parser.add_argument("--relay-port", type=int, default=6001)
    parser.add_argument("--grace-ms", type=int, default=3000, help="how long a closed tab stays in the member list")
    args = parser.parse_args()
    stack = ChatStack(usher_bin=args.usher_bin, state_dir=args.state_dir.resolve(), host=args.host,
                      app_port=args.port, usher_port=args.usher_port, relay_port=args.relay_port,
                      grace_ms=args.grace_ms)
    busy = [p for p in (args.port, args.usher_port, args.relay_port) if port_open(args.host, p)]
    if busy:
        print(f"chat: port(s) {', '.join(map(str, busy))} already in use; pick others with --port/--usher-port/"
              "--relay-port", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    try:
        stack.start()
        print(f"\n  Chat ready: open {stack.url} in two browser windows and join with different names.\n"
              f"  Usher http://{args.host}:{args.usher_port}  relay ws://{args.host}:{args.relay_port}  "
              f"logs {stack.state_dir / 'logs'}\n  Ctrl-C stops everything.\n", flush=True)
        while (gone := stack.exited()) is None:
            time.sleep(0.5)
        print(f"chat: {gone.name} exited with {gone.process.returncode}:\n{gone.log_tail()}", file=sys.stderr)
        return 1
    except StackError as error:
        print(f"chat: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nchat: stopping", file=sys.stderr)
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
