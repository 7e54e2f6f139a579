"""The real pusher-js 8.6.0 in headless Chromium against `usher relay`, for the browser tests of Pusher's newer
client features.

pusher-js is read at run time from the shared vendor folder (../shared/vendor/pusher-js-8.6.0, or the file named by
USHER_PUSHER_JS) and never copied into this repository. A small page server plays the app's backend: it serves the
test page and pusher-js, and forwards the page's `/pusher/auth` and `/pusher/user-auth` requests to Usher with the
user's identity token, as an app server would (so the page needs no CORS set-up).
"""

from __future__ import annotations

import json
import os
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PUSHER_JS_CANDIDATES = [
    Path(os.environ["USHER_PUSHER_JS"]) if os.environ.get("USHER_PUSHER_JS") else None,
    ROOT.parent / "shared" / "vendor" / "pusher-js-8.6.0" / "pusher.min.js",
    Path("/work/shared/vendor/pusher-js-8.6.0/pusher.min.js"),
]

PAGE = """<!doctype html>
<meta charset="utf-8">
<title>pusher-js against usher relay</title>
<script src="/pusher.js"></script>
<script>
  window.__events = [];
  const params = new URLSearchParams(location.search);
  const auth = { transport: "ajax", headers: { Authorization: "Bearer " + params.get("token") } };
  const tls = params.get("tls") === "1";
  window.pusher = new Pusher(params.get("key"), {
    cluster: "local", wsHost: "127.0.0.1", wsPort: Number(params.get("ws")), wssPort: Number(params.get("ws")), forceTLS: tls,
    enabledTransports: ["ws"], disableStats: true,
    channelAuthorization: { endpoint: "/pusher/auth", ...auth },
    userAuthentication: { endpoint: "/pusher/user-auth", ...auth },
  });
  // Every event pusher-js hands the application (pusher:subscription_error included), in order.
  pusher.bind_global((name, data) => __events.push({ name, data }));
  pusher.connection.bind("error", (error) => __events.push({ name: "connection:error", data: JSON.stringify(error) }));
  pusher.user.bind("hello", (data) => __events.push({ name: "user:hello", data }));
  for (const status of ["online", "offline"]) {
    pusher.user.watchlist.bind(status, (event) => __events.push({ name: "watchlist:" + status, data: event.user_ids }));
  }
  if (params.get("signin") === "1") pusher.signin();
</script>
"""


def pusher_js_path() -> Path | None:
    """The vendored pusher-js build, or None when it is not on this machine."""
    return next((path for path in PUSHER_JS_CANDIDATES if path is not None and path.is_file()), None)


class PageServer:
    """Serves the test page and pusher-js, and forwards auth requests to Usher (the app backend's part)."""

    def __init__(self, usher_url: str, pusher_js: Path, tls: tuple[str, str, str] | None = None):
        """`tls` (certificate chain, key, CA) serves the page over https and trusts that CA for Usher's https URL."""
        script = pusher_js.read_bytes()
        verify = tls[2] if tls else True
        page = PAGE.encode()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                path = urllib.parse.urlsplit(self.path).path
                body, kind = {"/": (page, "text/html; charset=utf-8"),
                              "/pusher.js": (script, "application/javascript")}.get(path, (None, None))
                if body is None:
                    self.send_error(404)
                    return
                self._answer(200, kind, body)

            def do_POST(self):
                if self.path not in ("/pusher/auth", "/pusher/user-auth"):
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                response = requests.post(
                    usher_url + self.path, data=self.rfile.read(length), timeout=10, verify=verify,
                    headers={"Content-Type": self.headers.get("Content-Type", ""),
                             "Authorization": self.headers.get("Authorization", "")})
                self._answer(response.status_code, "application/json", response.content)

            def _answer(self, status: int, kind: str, body: bytes):
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.scheme = "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls[0], tls[1])
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, **params) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/?" + urllib.parse.urlencode(params)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def page_events(driver) -> list[dict]:
    """What the page recorded so far: every global event and the user's events."""
    return driver.execute_script("return window.__events || []")


def wait_until(driver, script: str, what: str, timeout: float = 15.0):
    """Polls `script` (a JavaScript expression) in the page until it is truthy; fails naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return {script}")
        if value:
            return value
        time.sleep(0.05)
    logs = [entry.get("message") for entry in driver.get_log("browser")][-20:]
    raise AssertionError(f"{what}: not within {timeout}s; page events {json.dumps(page_events(driver))}; console {logs}")
