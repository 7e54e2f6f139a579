"""Relay-API client for the two-instance Postgres benchmarks (scripts/lib/postgres-bench.sh sets the instances up).

Acts as a relay node would: signs presence subscriptions with the app secret, calls Usher's relay API with the relay
token, and follows an instance's /relay/v1/events stream.
"""
import hashlib, hmac, http.client, json, threading, time


class Relay:
    def __init__(self, work):
        self.app = json.load(open(f"{work}/app.json"))
        token = open(f"{work}/keys/relay.token").read().strip()
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.subscriptions = f"/relay/v1/apps/{self.app['id']}/subscriptions"

    def subscribe_body(self, node, socket_id, channel, user):
        data = json.dumps({"user_id": user})
        signature = hmac.new(self.app["secret"].encode(), f"{socket_id}:{channel}:{data}".encode(), hashlib.sha256).hexdigest()
        return json.dumps({"node": node, "socket_id": socket_id, "channel": channel,
                           "auth": f"{self.app['key']}:{signature}", "channel_data": data})

    def call(self, connection, method, path, body, expect_ok=True):
        """Sends one request on `connection` and returns its status (asserting 200 unless told otherwise)."""
        connection.request(method, path, body=body, headers=self.headers)
        response = connection.getresponse(); response.read()
        assert response.status == 200 or not expect_ok, (response.status, path)
        return response.status

    def join(self, connection, node, socket_id, channel, user, expect_ok=True):
        return self.call(connection, "POST", self.subscriptions, self.subscribe_body(node, socket_id, channel, user), expect_ok)

    def leave(self, connection, socket_id, channel, expect_ok=True):
        return self.call(connection, "DELETE", self.subscriptions, json.dumps({"socket_id": socket_id, "channel": channel}), expect_ok)

    def follow(self, port, kind, seen, lock, prefix=""):
        """Follows `port`'s event stream in a daemon thread, recording in `seen` when the first `kind` event of each
        user whose id starts with `prefix` arrived (under `lock`); returns once the stream is likely open.

        Reads the stream in chunks and parses only the events that name `prefix`: under load the stream carries every
        instance's events (tens of thousands a second), and parsing each line in Python made this reader, not Usher,
        the latency measured."""
        marker, wanted = f'"user_id":"{prefix}'.encode(), f"event: {kind}\n".encode()
        def run():
            connection = http.client.HTTPConnection("127.0.0.1", port)
            connection.request("GET", "/relay/v1/events", headers=self.headers)
            response, pending = connection.getresponse(), b""
            while chunk := response.fp.read1(1 << 16):
                arrived = time.monotonic()
                pending += chunk
                complete, _, pending = pending.rpartition(b"\n\n")
                if marker not in complete: continue
                for block in complete.split(b"\n\n"):
                    if marker not in block or wanted not in block: continue
                    data = next(line[6:] for line in block.split(b"\n") if line.startswith(b"data: "))
                    with lock: seen.setdefault(json.loads(data)["user_id"], arrived)
        threading.Thread(target=run, daemon=True).start(); time.sleep(0.5)
