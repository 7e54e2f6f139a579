"""Load client for scripts/bench-relay.sh: N concurrent Pusher WebSocket connections on one relay node, each
subscribing to one of C presence channels, measuring join-to-member_added latency and the relay's memory.

Auth strings are signed with the app secret, as an app server would (Usher verifies them through the relay API).
Phase 1 (ramp) opens N - C connections, filling every channel with all members but one; phase 2 (probe) joins the
last member of each channel one at a time with the relay holding N - 1 connections, so the probe latency is the
steady-state number (the client's own event loop is idle then). Latency = time from a probe's pusher:subscribe to
each other member of that channel receiving its pusher_internal:member_added (every receiver is one sample).

Usage: relay_load.py WS_URL APP_KEY SECRET RELAY_PID [CONNECTIONS] [CHANNELS]
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import statistics
import sys
import time

import websockets


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Bench:
    def __init__(self, url: str, key: str, secret: str, connections: int, channels: int):
        self.url, self.key, self.secret = url, key, secret.encode()
        self.connections, self.channels = connections, channels
        self.join_sent: dict[str, float] = {}  # user id -> monotonic time its subscribe was sent
        self.samples: dict[str, list[float]] = {"ramp": [], "probe": []}
        self.phase = "ramp"
        self.subscribed = 0
        self.errors: list[str] = []
        self.sockets = []
        self.tasks = []

    def auth(self, socket_id: str, channel: str, channel_data: str) -> str:
        message = f"{socket_id}:{channel}:{channel_data}".encode()
        return f"{self.key}:{hmac.new(self.secret, message, hashlib.sha256).hexdigest()}"

    async def client(self, index: int, ready: asyncio.Event) -> None:
        user, channel = f"u{index}", f"presence-bench-{index % self.channels}"
        ws = await websockets.connect(self.url, ping_interval=None, max_queue=None, open_timeout=60,
                                      compression=None)
        self.sockets.append(ws)
        established = json.loads(await ws.recv())
        socket_id = json.loads(established["data"])["socket_id"]
        channel_data = json.dumps({"user_id": user})
        self.join_sent[user] = time.monotonic()
        await ws.send(json.dumps({"event": "pusher:subscribe", "data": {
            "channel": channel, "auth": self.auth(socket_id, channel, channel_data), "channel_data": channel_data}}))
        async for text in ws:
            frame = json.loads(text)
            event = frame.get("event")
            if event == "pusher_internal:member_added":
                now = time.monotonic()
                joined = json.loads(frame["data"])["user_id"]
                if joined in self.join_sent:
                    self.samples[self.phase].append(now - self.join_sent[joined])
            elif event == "pusher_internal:subscription_succeeded":
                self.subscribed += 1
                ready.set()
            elif event == "pusher:ping":
                await ws.send('{"event":"pusher:pong","data":{}}')
            elif event in ("pusher:subscription_error", "pusher:error"):
                self.errors.append(text)
                ready.set()

    async def open(self, indexes: list[int], concurrency: int) -> None:
        gate = asyncio.Semaphore(concurrency)

        async def one(index: int) -> None:
            async with gate:
                ready = asyncio.Event()
                self.tasks.append(asyncio.create_task(self.client(index, ready)))
                await asyncio.wait_for(ready.wait(), 60)

        await asyncio.gather(*(one(i) for i in indexes))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def describe(label: str, values: list[float]) -> str:
    if not values:
        return f"{label}: no samples"
    ms = [v * 1000 for v in values]
    return (f"{label}: {len(ms)} deliveries, p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
            f"max {max(ms):.1f} ms, mean {statistics.fmean(ms):.1f} ms")


async def main() -> None:
    url, key, secret, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    connections = int(sys.argv[5]) if len(sys.argv) > 5 else 10_000
    channels = int(sys.argv[6]) if len(sys.argv) > 6 else 100
    bench = Bench(url, key, secret, connections, channels)
    baseline = rss_kib(pid)
    started = time.monotonic()
    ramp = [i for i in range(connections) if i < connections - channels]
    await bench.open(ramp, concurrency=200)
    ramp_seconds = time.monotonic() - started
    await asyncio.sleep(2)  # let the member_added fan-out of the ramp drain
    bench.phase = "probe"
    for index in range(connections - channels, connections):  # one probe join per channel, sequentially
        await bench.open([index], concurrency=1)
        await asyncio.sleep(0.02)
    await asyncio.sleep(2)
    loaded = rss_kib(pid)
    print(f"connections: {len(bench.sockets)} open, {bench.subscribed} subscribed to {channels} presence channels, "
          f"{len(bench.errors)} errors{(' e.g. ' + bench.errors[0]) if bench.errors else ''}")
    print(f"ramp: {len(ramp)} connect+subscribe in {ramp_seconds:.1f} s ({len(ramp) / ramp_seconds:.0f}/s)")
    print(describe("join-to-member_added during ramp (client saturated)", bench.samples["ramp"]))
    print(describe("join-to-member_added at steady state (probe joins)", bench.samples["probe"]))
    print(f"relay RSS: {baseline / 1024:.1f} MiB idle -> {loaded / 1024:.1f} MiB with {len(bench.sockets)} connections; "
          f"{(loaded - baseline) / max(1, len(bench.sockets)):.1f} KiB per connection")
    for task in bench.tasks:
        task.cancel()
    await asyncio.gather(*bench.tasks, return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main())
