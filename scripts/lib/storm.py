"""Reconnect-storm load client for scripts/bench-storm.sh.

N Pusher WebSocket clients join presence channels through relay node A (user u<i> on presence-storm-<i % C>, auth
signed with the app secret as an app server would). Once all are subscribed, an observer process follows Usher's
/relay/v1/events stream(s); node A is killed with SIGKILL (no disconnect reaches Usher) and every client reconnects
to relay node B at once (at most --in-flight handshakes at a time), same user and channel, new socket id. The
observer polls every channel's member list through the relay API until it holds exactly its users and node A's
lease has lapsed (its sockets swept), then the client reports:

  * kill -> last subscription_succeeded on B ("last reconnect"), and the client's subscribe round trips;
  * when Usher's member lists were complete again, relative to the last reconnect;
  * the member events after the kill, per user: none (reconnected within A's lease), or one member_removed (A's
    lease lapsed first) followed by one member_added. Anything else is an anomaly: two removals or adds, an add
    without a removal or the reverse, a removal after the user was back on B, a user missing at the end. The event
    stream itself is checked for sequence gaps, repeats and resets (lost events), and with two instances both
    streams must carry the same events;
  * CPU seconds each process used during the reconnect, to tell a slow client from a slow server.

The observer is a separate process so that its polling and stream reading never compete with the client's event
loop for the GIL. time.monotonic() is CLOCK_MONOTONIC, shared by both processes.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import signal
import sys
import threading
import time

import websockets

TICK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------------- process CPU

def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def tree(pid: int) -> list[int]:
    """The process and its children (PostgreSQL's postmaster and backends)."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        children.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return [pid] + children


class CPUWatch:
    """CPU seconds of named processes (a name may cover a process tree) between two snapshots."""

    def __init__(self, pids: dict[str, int], trees: dict[str, int]):
        self.pids, self.trees = pids, trees

    def snapshot(self) -> dict[str, dict[int, float]]:
        groups = {name: [pid] for name, pid in self.pids.items()}
        groups.update({name: tree(pid) for name, pid in self.trees.items()})
        return {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}

    @staticmethod
    def delta(before, after) -> dict[str, float]:
        # Backends started in between count from zero; ones gone in between are lost (none are, in practice).
        return {name: sum(after[name].values()) - sum(before[name].get(pid, 0.0) for pid in after[name])
                for name in after}


# ---------------------------------------------------------------------------------------------------- observer

def expected_members(sockets: int, channels: int) -> list[set[str]]:
    members = [set() for _ in range(channels)]
    for i in range(sockets):
        members[i % channels].add(f"u{i}")
    return members


def metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def observe(pipe, cfg: dict) -> None:
    """Runs in its own process: follows the event streams, then polls member lists from the kill until done."""
    headers = {"Authorization": f"Bearer {cfg['token']}"}
    ports, app, channels, sockets = cfg["ports"], cfg["app"], cfg["channels"], cfg["sockets"]
    expected = expected_members(sockets, channels)
    streams: dict[int, list] = {port: [] for port in ports}  # port -> [(t, seq, kind, channel, user)]
    stream_notes: dict[int, list[str]] = {port: [] for port in ports}
    opened = threading.Semaphore(0)

    def follow(port: int) -> None:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port)
            connection.request("GET", "/relay/v1/events", headers=headers)
            response = connection.getresponse()
            if response.status != 200:
                stream_notes[port].append(f"status {response.status}")
                opened.release()
                return
            seq = kind = None
            while True:
                raw = response.fp.readline()
                if not raw:
                    stream_notes[port].append(f"closed at +{time.monotonic():.3f}")
                    return
                line = raw.decode().rstrip("\r\n")
                if line.startswith("retry:"):
                    opened.release()
                elif line.startswith("id: "):
                    seq = int(line[4:])
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    data = json.loads(line[6:])
                    streams[port].append((time.monotonic(), seq, kind, data.get("channel"), data.get("user_id")))
                elif line == "":
                    seq = kind = None
        except Exception as error:  # noqa: BLE001 - reported, never fatal to the observer
            stream_notes[port].append(f"error {error!r}")
            opened.release()

    for port in ports:
        threading.Thread(target=follow, args=(port,), daemon=True).start()
    for _ in ports:
        opened.acquire(timeout=10)
    pipe.send(("ready",))

    connections = {port: http.client.HTTPConnection("127.0.0.1", port, timeout=10) for port in ports}

    def get(port: int, path: str) -> tuple[int, bytes]:
        for attempt in range(2):
            try:
                connections[port].request("GET", path, headers=headers)
                response = connections[port].getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                connections[port].close()
                connections[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                if attempt:
                    raise
        raise AssertionError

    final = {"missing": [], "unexpected": []}

    def poll_round() -> tuple[list[bool], int, int, int]:
        """One GET per channel, spread over the instances. Returns per-channel correctness, members present,
        unexpected members and failed requests (and keeps the round's missing and unexpected users in `final`)."""
        ok, present, extra, failed = [], 0, 0, 0
        final["missing"], final["unexpected"] = [], []
        for c in range(channels):
            port = ports[c % len(ports)]
            try:
                status, body = get(port, f"/relay/v1/apps/{app}/presence/presence-storm-{c}")
            except (OSError, http.client.HTTPException):
                status, body = 0, b""
            if status != 200:
                failed += 1
                ok.append(False)
                continue
            presence = json.loads(body)["presence"]
            ids = set(presence["ids"])
            present += len(ids & expected[c])
            extra += len(ids - expected[c])
            final["missing"] += sorted(expected[c] - ids)
            final["unexpected"] += sorted(ids - expected[c])
            ok.append(ids == expected[c] and presence["count"] == len(expected[c]))
        return ok, present, extra, failed

    def scrape() -> dict:
        try:
            status, body = get(ports[0], "/metrics")
            text = body.decode()
            return {"sockets": metric(text, "usher_presence_sockets"), "members": metric(text, "usher_presence_members"),
                    "expiries": metric(text, "usher_lease_expiries_total"), "nodes": metric(text, "usher_relay_nodes")}
        except (OSError, http.client.HTTPException):
            return {}

    def requests_by_route() -> dict[str, float]:
        """usher_http_requests_total of every instance, summed by route and status."""
        counts: dict[str, float] = {}
        for port in ports:
            try:
                _, body = get(port, "/metrics")
            except (OSError, http.client.HTTPException):
                continue
            for line in body.decode().splitlines():
                if line.startswith("usher_http_requests_total{"):
                    labels, value = line.rsplit(" ", 1)
                    counts[labels] = counts.get(labels, 0) + float(value)
        return counts

    before_ok, _, _, _ = poll_round()
    metrics_before = scrape()
    requests_before = requests_by_route()
    pipe.send(("baseline", all(before_ok), metrics_before))

    message = pipe.recv()
    assert message[0] == "kill", message
    t_kill = message[1]
    cpu_at_kill = time.process_time()
    lease = cfg["lease_ms"] / 1000
    last_bad = [None] * channels     # time of each channel's latest incorrect answer
    good_since = [None] * channels   # time of the first correct answer after that
    rounds = []                      # (start, end, present, extra, failed)
    sweeps = []                      # (t, metrics) whenever the socket count changed
    reconnected = None               # ("reconnected", t_last, ok)
    done_at = None
    hard_stop = t_kill + lease + cfg["timeout"]
    while True:
        start = time.monotonic()
        ok, present, extra, failed = poll_round()
        end = time.monotonic()
        for c, good in enumerate(ok):
            if not good:
                last_bad[c], good_since[c] = end, None
            elif good_since[c] is None:
                good_since[c] = end
        rounds.append((start, end, present, extra, failed))
        now_metrics = scrape()
        if not sweeps or any(sweeps[-1][1].get(k) != now_metrics.get(k) for k in ("sockets", "expiries")):
            sweeps.append((end, now_metrics))
        # Until the last reconnect a round every half second shows the dip (and leaves the CPU to the storm);
        # after it, back to back. The message from the client ends the wait at once.
        if reconnected is None and pipe.poll(max(0.0, 0.5 - (time.monotonic() - start))):
            reconnected = pipe.recv()
        elif reconnected is not None and all(ok):  # complete: keep watching, more gently, until A's lease is gone
            time.sleep(max(0.0, 0.25 - (time.monotonic() - start)))
        settled = (reconnected is not None and all(ok) and end >= t_kill + lease + 2
                   and now_metrics.get("sockets") == sockets)
        if settled and done_at is None:
            done_at = end
        if done_at is not None and end >= done_at + 1.5:  # watch a little longer for late events
            break
        # Past the deadline, the lists still get a few seconds after the last reconnect to show they are complete.
        if reconnected is not None and end > max(hard_stop, reconnected[1] + cfg["after_last"]):
            break
        if end > hard_stop + 600:  # the client never finished; it is bounded by its own timeouts
            break
    # Let every stream catch up with the newest event before handing them over.
    wait_until = time.monotonic() + 5
    while time.monotonic() < wait_until:
        lasts = {max((e[1] for e in streams[p] if e[1] is not None), default=None) for p in ports}
        if len(lasts) == 1:
            break
        time.sleep(0.1)
    if reconnected is None:
        reconnected = pipe.recv()
    own_cpu = time.process_time() - cpu_at_kill
    requests_after = requests_by_route()
    requests = {k: v - requests_before.get(k, 0) for k, v in requests_after.items() if v != requests_before.get(k, 0)}
    pipe.send(("result", {
        "cpu": own_cpu, "requests": requests,
        "streams": {p: list(streams[p]) for p in ports}, "notes": stream_notes, "last_bad": last_bad,
        "good_since": good_since, "rounds": rounds, "sweeps": sweeps, "metrics_before": metrics_before,
        "settled": done_at is not None, "final_ok": all(good is not None for good in good_since),
        "final_missing": final["missing"], "final_unexpected": final["unexpected"],
    }))


# ---------------------------------------------------------------------------------------------------- client

class Storm:
    def __init__(self, args):
        self.args = args
        work = args.work
        self.app = json.load(open(f"{work}/app.json"))
        self.secret = self.app["secret"].encode()
        self.key = self.app["key"]
        self.url_a = f"ws://127.0.0.1:{args.relay_a}/app/{self.key}?protocol=7&client=bench&version=1"
        self.url_b = f"ws://127.0.0.1:{args.relay_b}/app/{self.key}?protocol=7&client=bench&version=1"
        self.tasks: list[asyncio.Task] = []
        self.succeeded: dict[int, float] = {}   # index -> time of subscription_succeeded (current phase)
        self.round_trips: list[float] = []      # pusher:subscribe -> subscription_succeeded, reconnect phase
        self.errors: list[str] = []
        self.retries = 0                        # connection attempts repeated
        self.refusals: list[str] = []           # subscription_error answers, retried
        self.frames = {"member_added": 0, "member_removed": 0}
        self.killed = False

    def auth(self, socket_id: str, channel: str, channel_data: str) -> str:
        message = f"{socket_id}:{channel}:{channel_data}".encode()
        return f"{self.key}:{hmac.new(self.secret, message, hashlib.sha256).hexdigest()}"

    async def session(self, index: int, url: str, ready: asyncio.Future, phase: str) -> None:
        """One client: connect, subscribe (retrying a server-side refusal), then read until the socket dies."""
        user, channel = f"u{index}", f"presence-storm-{index % self.args.channels}"
        channel_data = json.dumps({"user_id": user})
        ws = None
        for attempt in range(5):
            try:
                ws = await websockets.connect(url, ping_interval=None, max_queue=None, open_timeout=60,
                                              close_timeout=1, compression=None)
                break
            except (OSError, asyncio.TimeoutError, websockets.InvalidHandshake) as error:
                self.retries += 1
                if attempt == 4:
                    self.errors.append(f"{phase} connect u{index}: {error!r}")
                    ready.done() or ready.set_result(False)
                    return
                await asyncio.sleep(0.2 * (attempt + 1))
        try:
            established = json.loads(await ws.recv())
            socket_id = json.loads(established["data"])["socket_id"]
            subscribe = json.dumps({"event": "pusher:subscribe", "data": {
                "channel": channel, "auth": self.auth(socket_id, channel, channel_data), "channel_data": channel_data}})
            attempts = 0
            sent = time.monotonic()
            await ws.send(subscribe)
            async for text in ws:
                frame = json.loads(text)
                event = frame.get("event")
                if event == "pusher_internal:subscription_succeeded":
                    now = time.monotonic()
                    self.succeeded[index] = now
                    if phase == "reconnect":
                        self.round_trips.append(now - sent)
                    ready.done() or ready.set_result(True)
                elif event == "pusher_internal:member_added":
                    self.frames["member_added"] += 1
                elif event == "pusher_internal:member_removed":
                    self.frames["member_removed"] += 1
                elif event == "pusher:ping":
                    await ws.send('{"event":"pusher:pong","data":{}}')
                elif event in ("pusher:subscription_error", "pusher:error"):
                    attempts += 1
                    if attempts < 5 and not ready.done():
                        # pusher-js and most SDKs do not retry a subscription_error: each one here is a client
                        # that would have stayed unsubscribed. Counted, and retried to keep the storm going.
                        self.refusals.append(f"{phase} u{index}: {text[:160]}")
                        await asyncio.sleep(0.2 * attempts)
                        sent = time.monotonic()
                        await ws.send(subscribe)
                    else:
                        self.errors.append(f"{phase} u{index}: {text[:200]}")
                        ready.done() or ready.set_result(False)
        except websockets.ConnectionClosed as closed:
            if not ready.done():
                self.errors.append(f"{phase} u{index}: closed before subscribing ({closed})")
                ready.set_result(False)
            elif phase == "reconnect" or not self.killed:  # A's sockets die with A; no other socket should close
                self.errors.append(f"{phase} u{index}: closed after subscribing ({closed})")
        except Exception as error:  # noqa: BLE001 - any client failure is counted, never fatal
            if not ready.done():
                self.errors.append(f"{phase} u{index}: {error!r}")
                ready.set_result(False)

    async def open_all(self, url: str, phase: str) -> tuple[float, float, int]:
        """Connects and subscribes every index, at most --in-flight at a time. Returns (start, last success, ok)."""
        gate = asyncio.Semaphore(self.args.in_flight)
        self.succeeded = {}
        ok = 0

        async def one(index: int) -> None:
            nonlocal ok
            async with gate:
                ready = asyncio.get_running_loop().create_future()
                self.tasks.append(asyncio.create_task(self.session(index, url, ready, phase)))
                try:
                    subscribed = await asyncio.wait_for(ready, self.args.phase_timeout)
                    ok += subscribed  # after the await: `ok += await …` would read ok before waiting
                except asyncio.TimeoutError:
                    self.errors.append(f"{phase} u{index}: no subscription_succeeded within {self.args.phase_timeout} s")

        start = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(self.args.sockets)))
        return start, max(self.succeeded.values(), default=start), ok


def pick(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def analyse(result: dict, t_kill: float, succeeded: dict[int, float], sockets: int, ports: list[int]) -> dict:
    """Member events after the kill, per user, and the integrity of the event stream(s)."""
    primary = result["streams"][ports[0]]
    kinds: dict[str, int] = {}
    per_user: dict[str, list[tuple[float, str]]] = {}
    before_kill = 0
    for t, seq, kind, channel, user in primary:
        if t < t_kill:
            before_kill += kind in ("member_added", "member_removed")
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind in ("member_added", "member_removed"):
            per_user.setdefault(user, []).append((t, kind))
    anomalies: dict[str, list[str]] = {}

    def flag(kind: str, user: str) -> None:
        anomalies.setdefault(kind, []).append(user)

    pairs = 0
    first_removed = last_removed = None
    for user, events in per_user.items():
        removed = [t for t, k in events if k == "member_removed"]
        added = [t for t, k in events if k == "member_added"]
        if removed:
            first_removed = min(first_removed or removed[0], removed[0])
            last_removed = max(last_removed or removed[-1], removed[-1])
        if len(removed) > 1:
            flag("removed more than once", user)
        if len(added) > 1:
            flag("added more than once", user)
        if added and not removed:
            flag("added without a removal", user)
        if removed and not added:
            flag("removed and never re-added", user)
        if removed and added and added[0] < removed[0]:
            flag("added before its removal", user)
        index = int(user[1:]) if user and user[1:].isdigit() else None
        if removed and index in succeeded and removed[0] > succeeded[index] + 2.0:
            flag("removed >2 s after it was back on B", user)
        if len(removed) == 1 and len(added) == 1 and added[0] >= removed[0]:
            pairs += 1
    unknown = [u for u in per_user if not (u.startswith("u") and u[1:].isdigit() and int(u[1:]) < sockets)]
    for user in unknown:
        flag("event for a user the bench never joined", user)

    integrity = {}
    for port, events in result["streams"].items():
        seqs = [seq for _, seq, _, _, _ in events if seq is not None]
        gaps = sum(1 for a, b in zip(seqs, seqs[1:]) if b > a + 1)
        repeats = sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a)
        resets = sum(1 for e in events if e[2] == "reset")
        notes = [f"reset at +{e[0] - t_kill:.1f} s" for e in events if e[2] == "reset"][:3] + result["notes"][port]
        integrity[port] = {"events": len(events), "gaps": gaps, "repeats": repeats, "resets": resets,
                           "notes": notes}
    agree = None
    if len(ports) == 2:
        a = {e[1]: e[2:] for e in result["streams"][ports[0]] if e[1] is not None}
        b = {e[1]: e[2:] for e in result["streams"][ports[1]] if e[1] is not None}
        if a and b:
            low, high = max(min(a), min(b)), min(max(a), max(b))
            agree = all(a.get(s) == b.get(s) for s in range(low, high + 1)) and max(a) == max(b)
        else:
            agree = not a and not b
    return {"kinds": kinds, "per_user": per_user, "anomalies": anomalies, "pairs": pairs,
            "before_kill": before_kill, "first_removed": first_removed, "last_removed": last_removed,
            "integrity": integrity, "agree": agree}


async def run(args) -> int:
    storm = Storm(args)
    token = open(f"{args.work}/keys/relay.token").read().strip()
    ports = args.usher
    label = args.label
    watch = CPUWatch({"client": os.getpid(), "relay-b": args.relay_b_pid,
                      **{f"usher-{n + 1}": pid for n, pid in enumerate(args.usher_pid)}},
                     {"postgres": args.postgres_pid} if args.postgres_pid else {})
    # Phase 1: everyone on node A.
    start, last, ok = await storm.open_all(storm.url_a, "ramp")
    print(f"ramp: {ok}/{args.sockets} connected and subscribed through relay A in {last - start:.1f} s "
          f"({ok / max(last - start, 1e-9):.0f}/s), {len(storm.errors)} errors, "
          f"{len(storm.refusals)} subscription_error answers (retried)", flush=True)
    if ok < args.sockets:
        for error in storm.errors[:5]:
            print(f"  {error}")
        return 1
    await asyncio.sleep(2)  # let the ramp's member_added fan-out drain
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    observer = context.Process(target=observe, args=(child, {
        "token": token, "ports": ports, "app": storm.app["id"], "channels": args.channels, "sockets": args.sockets,
        "lease_ms": args.lease_ms, "timeout": args.settle_timeout, "after_last": 10}), daemon=True)
    observer.start()
    watch.pids["observer"] = observer.pid
    assert parent.recv()[0] == "ready"
    _, baseline_ok, metrics_before = parent.recv()
    print(f"before the kill: Usher's member lists {'complete' if baseline_ok else 'NOT complete'}, "
          f"sockets {metrics_before.get('sockets')}, members {metrics_before.get('members')}, "
          f"relay nodes {metrics_before.get('nodes')}", flush=True)

    # Phase 2: kill A, everyone to B.
    ramp_errors = len(storm.errors)
    if ramp_errors:
        print(f"client errors before the kill: {ramp_errors}, e.g. {storm.errors[0]}")
    cpu_before = watch.snapshot()
    storm.killed = True
    os.kill(args.relay_a_pid, signal.SIGKILL)
    t_kill = time.monotonic()
    parent.send(("kill", t_kill))
    old_tasks, storm.tasks = storm.tasks, []
    storm.frames = {"member_added": 0, "member_removed": 0}
    start, t_last, ok = await storm.open_all(storm.url_b, "reconnect")
    cpu_reconnect = CPUWatch.delta(cpu_before, watch.snapshot())
    parent.send(("reconnected", t_last, ok))
    for task in old_tasks:
        task.cancel()
    result = None
    while result is None:  # the observer works for lease + a few seconds; keep the client's sockets read
        if parent.poll():
            result = parent.recv()[1]
        else:
            await asyncio.sleep(0.1)
    observer.join(5)
    cpu_total = CPUWatch.delta(cpu_before, watch.snapshot())
    cpu_total["observer"] = result["cpu"]  # it has exited: its own count
    t_end = time.monotonic()

    # Report.
    trips = [t * 1000 for t in storm.round_trips]
    errors = storm.errors[ramp_errors:]
    refusals = [r for r in storm.refusals if r.startswith("reconnect")]
    print(f"reconnect (client): {ok}/{args.sockets} resubscribed through relay B; kill -> last reconnect "
          f"{t_last - t_kill:.2f} s ({ok / max(t_last - start, 1e-9):.0f}/s); subscribe -> subscription_succeeded "
          f"p50 {pick(trips, .5):.0f} ms, p99 {pick(trips, .99):.0f} ms, max {max(trips, default=float('nan')):.0f} ms; "
          f"connect retries {storm.retries}, subscription_error answers {len(refusals)} (retried), errors {len(errors)}",
          flush=True)
    for error in errors[:5]:
        print(f"  {error}")
    if refusals:
        print(f"  WARNING: relay B refused {len(refusals)} subscribes during the storm (Pusher SDKs do not retry these), "
              f"e.g. {refusals[0]}")
    rounds = result["rounds"]
    durations = [end - begin for begin, end, *_ in rounds]
    lowest = min(rounds, key=lambda r: r[2]) if rounds else None
    bad_after = [t for t in result["last_bad"] if t is not None]
    if not result["final_ok"]:
        missing = sum(1 for g in result["good_since"] if g is None)
        complete_text = f"NOT complete: {missing} channels still wrong {t_end - t_last:.1f} s after the last reconnect"
        complete = None
    elif not bad_after:
        complete_text = "complete throughout (never incomplete after the kill)"
        complete = 0.0
    else:
        complete_at = max(result["good_since"][c] for c, t in enumerate(result["last_bad"]) if t is not None)
        complete = complete_at - t_last
        # Usher commits a join before the relay answers it, so the lists may be seen whole just before the client
        # reads its last subscription_succeeded: that counts as 0.
        ahead = f", {-complete:.2f} s before the client read the last subscription_succeeded" if complete < 0 else ""
        complete = max(complete, 0.0)
        complete_text = (f"complete {complete:.2f} s after the last reconnect ({complete_at - t_kill:.2f} s after the kill{ahead}; "
                         f"fewest members in one poll {lowest[2]} of {args.sockets} at +{lowest[1] - t_kill:.1f} s"
                         f"{f', {lowest[3]} unexpected' if lowest[3] else ''})")
    print(f"member lists: {complete_text}; {len(rounds)} polls of all {args.channels} channels, "
          f"one every {pick(durations, .5):.2f} s (p50), {sum(r[4] for r in rounds)} failed requests", flush=True)
    sweeps = result["sweeps"]
    if sweeps:
        counts = [(t, m["sockets"]) for t, m in sweeps if m.get("sockets") is not None]
        trail = "unknown"
        if counts:
            peak = max(counts, key=lambda tc: tc[1])
            trail = f"{counts[0][1]:.0f} at the kill, peak {peak[1]:.0f} at +{peak[0] - t_kill:.1f} s"
            after = [tc for tc in counts if tc[0] >= peak[0] and tc[1] == args.sockets and tc[0] > peak[0]]
            trail += f", {args.sockets} (A's sockets gone) at +{after[0][0] - t_kill:.1f} s" if after else ", never back to one per client"
        expired = next(((t, n) for n, (t, m) in enumerate(sweeps)
                        if (m.get("expiries") or 0) > (metrics_before.get("expiries") or 0)), None)
        if expired:
            since = sweeps[expired[1] - 1][0] - t_kill if expired[1] else float("nan")
            trail += f"; A's lease seen lapsed between +{since:.1f} s and +{expired[0] - t_kill:.1f} s"
        last_metrics = sweeps[-1][1]
        print(f"Usher's socket count: {trail}; lease expiries "
              f"{metrics_before.get('expiries')} -> {last_metrics.get('expiries')}, relay nodes {last_metrics.get('nodes')}")
    print("Usher's HTTP answers from the kill to the end (all instances, the observer's polls included): " + ", ".join(
        f"{label.split('{', 1)[1].rstrip('}')} {count:.0f}" for label, count in sorted(result["requests"].items())))
    report = analyse(result, t_kill, storm.succeeded, args.sockets, ports)
    kinds = report["kinds"]
    removed, added = kinds.get("member_removed", 0), kinds.get("member_added", 0)
    users = len(report["per_user"])
    window = ""
    if report["first_removed"] is not None:
        window = (f"; removals from +{report['first_removed'] - t_kill:.2f} s to +{report['last_removed'] - t_kill:.2f} s "
                  f"after the kill")
    added_times = [t for user_events in report["per_user"].values() for t, k in user_events if k == "member_added"]
    if added_times:
        window += f"; adds from +{min(added_times) - t_kill:.2f} s to +{max(added_times) - t_kill:.2f} s"
    print(f"member events after the kill (stream of instance 1): member_removed {removed}, member_added {added}, "
          f"channel_vacated {kinds.get('channel_vacated', 0)}, channel_occupied {kinds.get('channel_occupied', 0)}; "
          f"{report['pairs']} users removed once then re-added once, {args.sockets - users} untouched{window}")
    if report["before_kill"]:
        print(f"  (+{report['before_kill']} member events between following the stream and the kill)")
    for port, info in report["integrity"].items():
        print(f"event stream of :{port}: {info['events']} events, sequence gaps {info['gaps']}, repeats {info['repeats']}, "
              f"resets {info['resets']}{(', ' + '; '.join(info['notes'])) if info['notes'] else ''}")
    if report["agree"] is not None:
        print(f"both instances' streams carry the same events: {'yes' if report['agree'] else 'NO'}")
    anomalies = report["anomalies"]
    if result["final_missing"]:
        anomalies["missing from Usher's lists at the end"] = result["final_missing"]
    if result["final_unexpected"]:
        anomalies["unexpected in Usher's lists at the end"] = result["final_unexpected"]
    anomaly_count = sum(len(v) for v in anomalies.values())
    stream_faults = sum(i["gaps"] + i["repeats"] + i["resets"] for i in report["integrity"].values())
    stream_faults += report["agree"] is False
    for kind, users_flagged in anomalies.items():
        print(f"  ANOMALY {kind}: {len(users_flagged)} users, e.g. {', '.join(sorted(users_flagged)[:5])}")
    print(f"client saw on B: {storm.frames['member_removed']} member_removed and {storm.frames['member_added']} "
          f"member_added frames (fan-out of the events to the channels' other sockets)")
    wall = t_last - t_kill
    print(f"CPU seconds during the reconnect ({wall:.1f} s wall, {os.cpu_count()} cores): "
          + ", ".join(f"{name} {value:.1f}" for name, value in sorted(cpu_reconnect.items(), key=lambda kv: -kv[1])))
    print(f"CPU seconds from the kill to the end ({t_end - t_kill:.1f} s wall): "
          + ", ".join(f"{name} {value:.1f}" for name, value in sorted(cpu_total.items(), key=lambda kv: -kv[1])))
    complete_figure = f"{complete:.2f} s" if complete is not None else "NEVER"
    print(f"{label}: {args.sockets} sockets, reconnect {t_last - start:.1f} s (client), lists complete {complete_figure} "
          f"after last reconnect, member events after kill: removed {removed} added {added}, "
          f"anomalies {anomaly_count + stream_faults}, client errors {len(errors)}, subscribes refused {len(refusals)}")
    met = (complete is not None and complete <= 3.0 and anomaly_count == 0 and stream_faults == 0
           and ok == args.sockets and not errors)
    print(f"{label}: target (lists complete within 3 s of the last reconnect, no lost or duplicated member events): "
          f"{'met' if met else 'NOT met'}", flush=True)
    for task in storm.tasks:
        task.cancel()
    return 0 if met else 3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True, help="directory with app.json and keys/relay.token")
    parser.add_argument("--label", default="storm")
    parser.add_argument("--relay-a", type=int, required=True, help="relay A's port")
    parser.add_argument("--relay-a-pid", type=int, required=True)
    parser.add_argument("--relay-b", type=int, required=True, help="relay B's port")
    parser.add_argument("--relay-b-pid", type=int, required=True)
    parser.add_argument("--usher", type=int, action="append", required=True, help="an Usher instance's port (repeat)")
    parser.add_argument("--usher-pid", type=int, action="append", default=[])
    parser.add_argument("--postgres-pid", type=int, help="the postmaster, to count its backends' CPU")
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--lease-ms", type=int, default=15_000)
    parser.add_argument("--in-flight", type=int, default=500, help="connection handshakes in flight at a time")
    parser.add_argument("--phase-timeout", type=float, default=180, help="seconds one client may take to subscribe")
    parser.add_argument("--settle-timeout", type=float, default=60,
                        help="seconds after A's lease for the member lists to become complete")
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
