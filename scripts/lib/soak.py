"""Churn soak for scripts/soak-relay.sh: CONNECTIONS Pusher WebSocket clients kept open on relay nodes for DURATION
seconds, each joining one of 100 presence channels as a user of its own, staying 2-20 s and then dropping its TCP
connection without a close frame (a phone losing signal), replaced at once by a new one. Meanwhile it follows
Usher's event stream and counts every user's member_added and member_removed.

At the end it stops, waits for every presence channel to be empty (the leave grace, then the relay's disconnects),
and checks that each user whose join succeeded was added exactly once and removed exactly once, and that no other
user appears. Prints the churn achieved, the processes' RSS at start, after the ramp, at the end and after the
drain, and every anomaly; exits 1 on any.

Usage: soak.py WS_URL[,WS_URL…] USHER_URL RELAY_TOKEN APP_ID APP_KEY SECRET DURATION CONNECTIONS PID[,PID…]
Env: SOAK_ROUNDS=N churns and drains N times in a row (memory after each drain: flat from the second on, or a leak);
SOAK_TRIM=1 also measures RSS after calling malloc_trim(0) in each process through gdb.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
import os
import random
import subprocess
import sys
import threading
import time

import requests
import websockets

CHANNELS = 100


def rss_mib(pids: list[int]) -> list[str]:
    """Each process's resident memory, open file descriptors and threads."""
    values = []
    for pid in pids:
        with open(f"/proc/{pid}/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        rss = int(fields["VmRSS"].split()[0]) / 1024
        values.append(f"{rss:.1f} MiB ({len(os.listdir(f'/proc/{pid}/fd'))} fds, {fields['Threads'].strip()} threads)")
    return values


class EventCounter(threading.Thread):
    """Follows GET /relay/v1/events and counts member events per (channel, user)."""

    def __init__(self, usher_url: str, token: str, app_id: str):
        super().__init__(daemon=True)
        self.url, self.token, self.app_id = usher_url, token, app_id
        self.added: collections.Counter = collections.Counter()
        self.removed: collections.Counter = collections.Counter()
        self.resets = 0
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.last_id: str | None = None

    def run(self) -> None:
        while True:
            headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
            if self.last_id:
                headers["Last-Event-ID"] = self.last_id
            try:
                with requests.get(self.url + "/relay/v1/events", headers=headers, stream=True, timeout=(5, 60)) as stream:
                    self.ready.set()
                    event, data = None, None
                    for line in stream.iter_lines(decode_unicode=True):
                        if line.startswith("id:"):
                            self.last_id = line[3:].strip()
                        elif line.startswith("event:"):
                            event = line[6:].strip()
                        elif line.startswith("data:"):
                            data = line[5:].strip()
                        elif line == "" and data is not None:
                            self.count(event, data)
                            event, data = None, None
            except requests.RequestException:
                time.sleep(0.2)

    def count(self, event: str | None, data: str) -> None:
        if event == "reset":
            with self.lock:
                self.resets += 1
            return
        body = json.loads(data)
        kind = body.get("kind") or event
        if body.get("app") not in (None, self.app_id):
            return
        key = (body.get("channel"), body.get("user_id"))
        with self.lock:
            if kind == "member_added":
                self.added[key] += 1
            elif kind == "member_removed":
                self.removed[key] += 1


class Soak:
    def __init__(self, urls: list[str], key: str, secret: str):
        self.urls, self.key, self.secret = urls, key, secret.encode()
        self.next_user = 0
        self.joined: set[tuple[str, str]] = set()
        self.errors = collections.Counter()
        self.stopping = False
        self.open_sockets: set = set()

    def auth(self, socket_id: str, channel: str, channel_data: str) -> str:
        message = f"{socket_id}:{channel}:{channel_data}".encode()
        return f"{self.key}:{hmac.new(self.secret, message, hashlib.sha256).hexdigest()}"

    async def one(self) -> None:
        index = self.next_user
        self.next_user += 1
        user, channel = f"s{index}", f"presence-soak-{index % CHANNELS}"
        try:
            ws = await websockets.connect(random.choice(self.urls), ping_interval=None, max_queue=None, open_timeout=30,
                                          compression=None)
        except Exception as error:  # noqa: BLE001 - counted
            status = getattr(getattr(error, "response", None), "status_code", None)
            self.errors[type(error).__name__ + (f" {status}" if status else "")] += 1
            await asyncio.sleep(0.5)
            return
        self.open_sockets.add(ws)
        try:
            socket_id = json.loads(json.loads(await ws.recv())["data"])["socket_id"]
            channel_data = json.dumps({"user_id": user})
            await ws.send(json.dumps({"event": "pusher:subscribe", "data": {
                "channel": channel, "auth": self.auth(socket_id, channel, channel_data), "channel_data": channel_data}}))
            hold = time.monotonic() + random.uniform(2, 20)
            while not self.stopping and time.monotonic() < hold:
                try:
                    text = await asyncio.wait_for(ws.recv(), timeout=max(0.01, hold - time.monotonic()))
                except asyncio.TimeoutError:
                    break
                frame = json.loads(text)
                if frame.get("event") == "pusher_internal:subscription_succeeded":
                    self.joined.add((channel, user))
                elif frame.get("event") == "pusher:ping":
                    await ws.send('{"event":"pusher:pong","data":{}}')
                elif frame.get("event") in ("pusher:subscription_error", "pusher:error"):
                    self.errors["refused"] += 1
        except Exception as error:  # noqa: BLE001 - counted
            self.errors[type(error).__name__] += 1
        finally:
            # Abrupt: no close frame, no unsubscribe.
            ws.transport.abort()
            self.open_sockets.discard(ws)

    async def lane(self) -> None:
        while not self.stopping:
            await self.one()


async def drained(usher_url: str, token: str, app_id: str) -> int | None:
    """Waits up to 60 s for every presence channel to empty (the grace, 3 s, then the relays' disconnects reach
    Usher); returns the members still listed, or None when Usher kept answering errors."""
    deadline, remaining = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        remaining = 0
        for n in range(CHANNELS):
            response = requests.get(f"{usher_url}/relay/v1/apps/{app_id}/presence/presence-soak-{n}",
                                    headers={"Authorization": f"Bearer {token}"}, timeout=5)
            if response.status_code != 200:  # Usher overloaded (503): not known yet, ask again
                remaining = None
                break
            remaining += response.json()["presence"]["count"]
        if remaining == 0:
            break
        await asyncio.sleep(1)
    return remaining


async def main() -> int:
    urls, usher_url, token, app_id, key, secret = sys.argv[1].split(","), *sys.argv[2:7]
    duration, connections = float(sys.argv[7]), int(sys.argv[8])
    pids = [int(p) for p in sys.argv[9].split(",")]
    counter = EventCounter(usher_url, token, app_id)
    counter.start()
    counter.ready.wait(10)
    soak = Soak(urls, key, secret)
    memory = {"start": rss_mib(pids)}
    rounds = int(os.environ.get("SOAK_ROUNDS", "1"))
    start = time.monotonic()
    remaining, open_after_ramp = None, 0
    for round_ in range(1, rounds + 1):
        # Later rounds show whether what the first left behind is reused (flat) or added to (a leak).
        label = "" if rounds == 1 else f" (round {round_})"
        soak.stopping = False
        began = time.monotonic()
        lanes = [asyncio.create_task(soak.lane()) for _ in range(connections)]
        await asyncio.sleep(min(60, duration / 4))
        memory["after ramp" + label] = rss_mib(pids)
        open_after_ramp = max(open_after_ramp, len(soak.open_sockets))
        await asyncio.sleep(max(0, duration - (time.monotonic() - began)))
        memory["end of churn" + label] = rss_mib(pids)
        soak.stopping = True
        await asyncio.gather(*lanes, return_exceptions=True)
        remaining = await drained(usher_url, token, app_id)
        if remaining != 0:
            break
        await asyncio.sleep(2)  # the last member_removed events reach the stream
        memory["after drain" + label] = rss_mib(pids)
        if os.environ.get("SOAK_TRIM"):
            # How much of what is left is free memory glibc keeps for reuse rather than memory still in use.
            for pid in pids:
                subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "call (int) malloc_trim(0)"], capture_output=True, timeout=60)
            memory["after malloc_trim(0)" + label] = rss_mib(pids)
    churned = soak.next_user
    with counter.lock:
        added, removed, resets = dict(counter.added), dict(counter.removed), counter.resets
    anomalies = []
    for key_ in soak.joined:
        if added.get(key_, 0) != 1 or removed.get(key_, 0) != 1:
            anomalies.append(f"{key_}: added {added.get(key_, 0)}, removed {removed.get(key_, 0)}")
    for key_ in set(added) | set(removed):
        if key_ not in soak.joined and key_[0] and key_[0].startswith("presence-soak-"):
            # A join Usher applied but the client never saw confirmed (dropped first) must still be undone once.
            if added.get(key_, 0) != removed.get(key_, 0) or added.get(key_, 0) > 1:
                anomalies.append(f"{key_} (unconfirmed join): added {added.get(key_, 0)}, removed {removed.get(key_, 0)}")
    elapsed = time.monotonic() - start
    print(f"churn: {churned} connections in {elapsed:.0f} s ({churned / elapsed:.0f}/s), {connections} lanes, "
          f"{open_after_ramp} open after the ramp; joins confirmed {len(soak.joined)}; client errors {dict(soak.errors)}")
    print(f"member events: {sum(added.values())} added, {sum(removed.values())} removed; stream resets {resets}")
    print(f"presence members left after the drain: {'unknown (Usher answered errors)' if remaining is None else remaining}")
    for phase, values in memory.items():
        print(f"RSS {phase}: " + ", ".join(values))
    print(f"anomalies: {len(anomalies)}")
    for line in anomalies[:20]:
        print("  " + line)
    return 1 if anomalies or remaining != 0 or resets else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
