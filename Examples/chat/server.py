"""The chat's app server: the part of a real app that Usher and the relay do not replace.

It serves the static page and its configuration, "logs in" a user by name (issuing a short-lived HS256 identity
token that Usher verifies as a bearer token — in a real app this is your login), and receives posted messages,
which it publishes on the private channel through the relay's Pusher HTTP API with the official `pusher` SDK.

    python Examples/chat/server.py --keys KEYS --app-id 1 --identity-secret-file identity.secret \
        --usher-url http://127.0.0.1:8080 --relay-host 127.0.0.1 --relay-port 6001 --port 8000

Routes: `GET /` (the page), `GET /static/…`, `GET /config.json`, `GET /healthz`,
`POST /session` `{name}` → `{token, user_id, name, expires_at}`,
`POST /messages` `{name, text}` with `Authorization: Bearer <token>` → 202 `{}` once triggered.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import unicodedata
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pusher

STATIC = Path(__file__).resolve().parent / "static"
STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/chat.js": ("chat.js", "text/javascript; charset=utf-8"),
    "/static/relay-client.js": ("relay-client.js", "text/javascript; charset=utf-8"),
    "/static/chat.css": ("chat.css", "text/css; charset=utf-8"),
}
PRESENCE_CHANNEL = "presence-chat"
MESSAGE_CHANNEL = "private-chat"
MAX_BODY_BYTES = 4096
MAX_NAME_CHARS = 40
MAX_TEXT_CHARS = 500
# Direction overrides and isolates would let one name reorder the text around it; other format characters
# (zero-width joiners in emoji sequences) are fine.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class Refusal(Exception):
    """A request the server refuses, answered as `{"error": message}` with `status`."""

    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Settings:
    """Everything the handlers need; built once from the command line."""

    keys: Path
    app_id: str
    identity_secret: bytes
    issuer: str
    audience: str
    token_ttl: int
    usher_url: str
    relay_host: str
    relay_port: int
    relay_public_host: str

    def app_record(self) -> dict:
        """The app's credentials, read on each use so `usher apps rotate-secret` needs no restart."""
        return json.loads((self.keys / "apps" / f"{self.app_id}.json").read_text())

    def signing_secret(self, record: dict) -> str:
        """The newest secret without an end date: the one Usher signs with now (the old one only verifies)."""
        current = [entry for entry in record["secrets"] if not entry.get("not_after")]
        return (current or record["secrets"])[-1]["secret"]

    def page_config(self) -> dict:
        key = self.app_record()["key"]
        return {
            "key": key,
            "relay_url": f"ws://{self.relay_public_host}:{self.relay_port}/app/{key}?protocol=7&client=usher-chat&version=1",
            "auth_endpoint": f"{self.usher_url}/pusher/auth",
            "channels": {"presence": PRESENCE_CHANNEL, "messages": MESSAGE_CHANNEL},
        }

    def content_security_policy(self) -> str:
        relay = f"ws://{self.relay_public_host}:{self.relay_port}"
        return (f"default-src 'self'; connect-src 'self' {relay} {self.usher_url}; object-src 'none'; "
                "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def clean_text(value, field: str, limit: int) -> str:
    """Trimmed, NFC-normalized text of 1…limit characters without control characters."""
    if not isinstance(value, str):
        raise Refusal(HTTPStatus.BAD_REQUEST, f"{field} must be a string")
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise Refusal(HTTPStatus.BAD_REQUEST, f"{field} is empty")
    if len(text) > limit:
        raise Refusal(HTTPStatus.BAD_REQUEST, f"{field} is longer than {limit} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") or ch in BIDI_CONTROLS for ch in text):
        raise Refusal(HTTPStatus.BAD_REQUEST, f"{field} contains control characters")
    return text


def user_id_for(name: str) -> str:
    """A stable id for a name, so two tabs with one name are one presence member (as two tabs of one user are)."""
    return "u-" + hashlib.sha256(name.encode()).hexdigest()[:16]


def issue_session(settings: Settings, body: dict) -> dict:
    name = clean_text(body.get("name"), "name", MAX_NAME_CHARS)
    now = int(time.time())
    claims = {
        "sub": user_id_for(name), "iss": settings.issuer, "aud": settings.audience, "iat": now,
        "exp": now + settings.token_ttl, "user_info": {"name": name},
        "channels": [PRESENCE_CHANNEL, MESSAGE_CHANNEL],  # narrows what this token may join
    }
    token = jwt.encode(claims, settings.identity_secret, algorithm="HS256")
    return {"token": token, "user_id": claims["sub"], "name": name, "expires_at": claims["exp"]}


def verified_claims(settings: Settings, authorization: str | None) -> dict:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Refusal(HTTPStatus.UNAUTHORIZED, "missing bearer token")
    try:
        return jwt.decode(token, settings.identity_secret, algorithms=["HS256"], issuer=settings.issuer,
                          audience=settings.audience, options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as error:
        raise Refusal(HTTPStatus.UNAUTHORIZED, f"invalid token: {type(error).__name__}") from None


def publish_message(settings: Settings, authorization: str | None, body: dict) -> dict:
    claims = verified_claims(settings, authorization)
    name = claims.get("user_info", {}).get("name", claims["sub"])
    if "name" in body and clean_text(body["name"], "name", MAX_NAME_CHARS) != name:
        raise Refusal(HTTPStatus.FORBIDDEN, "name does not match the signed-in user")
    text = clean_text(body.get("text"), "text", MAX_TEXT_CHARS)
    record = settings.app_record()
    client = pusher.Pusher(app_id=record["id"], key=record["key"], secret=settings.signing_secret(record),
                           host=settings.relay_host, port=settings.relay_port, ssl=False, timeout=5)
    message = {"user_id": claims["sub"], "name": name, "text": text, "sent_at": int(time.time() * 1000)}
    try:
        client.trigger(MESSAGE_CHANNEL, "message", message)
    except Exception as error:  # the SDK raises its own types and requests' errors alike
        print(f"chat: trigger failed: {type(error).__name__}: {error}", file=sys.stderr)
        raise Refusal(HTTPStatus.BAD_GATEWAY, "the relay did not accept the message") from None
    return {}


class ChatHandler(BaseHTTPRequestHandler):
    server_version = "usher-chat/1"
    settings: Settings  # set on the subclass built in `serve`

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path == "/config.json":
            return self.send_json(HTTPStatus.OK, self.settings.page_config())
        if path == "/healthz":
            return self.send_json(HTTPStatus.OK, {"ok": True})
        if path == "/favicon.ico":
            return self.send_bytes(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
        if path not in STATIC_FILES:
            return self.send_json(HTTPStatus.NOT_FOUND, {"error": "not found"})
        filename, content_type = STATIC_FILES[path]
        self.send_bytes(HTTPStatus.OK, (STATIC / filename).read_bytes(), content_type)

    def do_POST(self):
        routes = {
            "/session": lambda body: (HTTPStatus.OK, issue_session(self.settings, body)),
            "/messages": lambda body: (HTTPStatus.ACCEPTED,
                                       publish_message(self.settings, self.headers.get("Authorization"), body)),
        }
        route = routes.get(self.path.split("?", 1)[0])
        try:
            if route is None:
                raise Refusal(HTTPStatus.NOT_FOUND, "not found")
            status, answer = route(self.read_json())
        except Refusal as refusal:
            status, answer = refusal.status, {"error": refusal.message}
        self.send_json(status, answer)

    def read_json(self) -> dict:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise Refusal(HTTPStatus.BAD_REQUEST, "bad Content-Length") from None
        if length > MAX_BODY_BYTES:
            raise Refusal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body over {MAX_BODY_BYTES} bytes")
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise Refusal(HTTPStatus.BAD_REQUEST, "body is not JSON") from None
        if not isinstance(body, dict):
            raise Refusal(HTTPStatus.BAD_REQUEST, "body must be a JSON object")
        return body

    def send_json(self, status: HTTPStatus, value) -> None:
        self.send_bytes(status, json.dumps(value).encode(), "application/json")

    def send_bytes(self, status: HTTPStatus, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", self.settings.content_security_policy())
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        sys.stderr.write(f"chat: {self.address_string()} {format % args}\n")


def parse_settings(argv: list[str] | None = None) -> tuple[Settings, str, int]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--keys", required=True, type=Path, help="Usher's key directory (reads apps/<id>.json)")
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--identity-secret-file", required=True, type=Path, help="HS256 key Usher verifies tokens with")
    parser.add_argument("--issuer", default="usher-chat")
    parser.add_argument("--audience", default="usher")
    parser.add_argument("--token-ttl", type=int, default=900, help="identity token lifetime in seconds")
    parser.add_argument("--usher-url", default="http://127.0.0.1:8080", help="Usher as the browser reaches it")
    parser.add_argument("--relay-host", default="127.0.0.1", help="the relay as this server reaches it")
    parser.add_argument("--relay-port", type=int, default=6001)
    parser.add_argument("--relay-public-host", help="the relay's host as the browser reaches it (default --relay-host)")
    args = parser.parse_args(argv)
    settings = Settings(
        keys=args.keys, app_id=args.app_id, identity_secret=args.identity_secret_file.read_bytes().rstrip(b"\r\n"),
        issuer=args.issuer, audience=args.audience, token_ttl=args.token_ttl, usher_url=args.usher_url.rstrip("/"),
        relay_host=args.relay_host, relay_port=args.relay_port,
        relay_public_host=args.relay_public_host or args.relay_host,
    )
    return settings, args.host, args.port


def serve(settings: Settings, host: str, port: int) -> ThreadingHTTPServer:
    """A bound server (call `serve_forever`); the handler class carries the settings."""
    handler = type("BoundChatHandler", (ChatHandler,), {"settings": settings})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    settings, host, port = parse_settings(argv)
    server = serve(settings, host, port)
    print(f"chat: app server on http://{host}:{server.server_address[1]}/", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
