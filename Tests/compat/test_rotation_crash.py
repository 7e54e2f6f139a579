"""Crash safety of `usher keys rotate`: kill -9 at random points, many times, never leaves an unreadable key ring.

After every kill the ring on disk must be the previous one or the new one: `usher keys list --json` succeeds with
exactly one active key, every listed kid has a readable private PEM, `usher keys jwks` loads them all, and
`keyring.json` is complete JSON. Delays are spread over a calibrated run time so kills land before, during and
after the writes.
"""

from __future__ import annotations

import json
import random
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from conftest import _usher_binary

TRIALS = 40
BUDGET_SECONDS = 20.0


def usher(binary: str, keys: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary, *args, "--keys", str(keys)], capture_output=True, text=True, timeout=30)


def check_ring(binary: str, keys: Path, trial: int) -> list[dict]:
    listed = usher(binary, keys, "keys", "list", "--json")
    assert listed.returncode == 0, f"trial {trial}: keys list failed: {listed.stderr}"
    ring = json.loads(listed.stdout)
    on_disk = json.loads((keys / "signing" / "keyring.json").read_text())  # complete JSON, never half-written
    assert on_disk == ring, f"trial {trial}: keys list does not show keyring.json"
    assert [entry["status"] for entry in ring].count("active") == 1, f"trial {trial}: {ring}"
    assert len({entry["kid"] for entry in ring}) == len(ring)
    for entry in ring:
        pem = keys / "signing" / f"{entry['kid']}.pem"
        assert pem.stat().st_mode & 0o077 == 0, f"trial {trial}: {pem.name} is readable by others"
        serialization.load_pem_private_key(pem.read_bytes(), password=None)
    jwks = usher(binary, keys, "keys", "jwks")
    assert jwks.returncode == 0, f"trial {trial}: keys jwks failed: {jwks.stderr}"
    published = {key["kid"] for key in json.loads(jwks.stdout)["keys"]}
    assert published == {entry["kid"] for entry in ring if entry["status"] != "retired"}
    return ring


@pytest.fixture
def keys_dir():
    folder = Path(tempfile.mkdtemp(prefix="usher-crash-"))
    yield folder / "keys"
    shutil.rmtree(folder, ignore_errors=True)


def test_kill_9_during_rotation_never_leaves_an_unreadable_ring(keys_dir):
    binary = _usher_binary()
    assert usher(binary, keys_dir, "keys", "rotate", "--alg", "ES256").returncode == 0
    started = time.monotonic()
    assert usher(binary, keys_dir, "keys", "rotate", "--alg", "EdDSA").returncode == 0
    run_time = time.monotonic() - started
    previous = check_ring(binary, keys_dir, 0)
    rng = random.Random(20240601)
    outcomes = {"killed": 0, "completed": 0, "changed": 0, "orphan_pems": 0}
    deadline = time.monotonic() + BUDGET_SECONDS
    for trial in range(1, TRIALS + 1):
        if time.monotonic() > deadline:
            break
        alg = rng.choice(["ES256", "ES256", "EdDSA", "RS256"])
        delay = rng.uniform(0.0, max(0.030, 1.3 * run_time))
        process = subprocess.Popen([binary, "keys", "rotate", "--alg", alg, "--keys", str(keys_dir)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        code = process.wait(timeout=30)
        outcomes["killed" if code == -signal.SIGKILL else "completed"] += 1
        ring = check_ring(binary, keys_dir, trial)
        if ring != previous:
            # The new ring: the previous one plus one new active key, the old active key now retiring.
            assert [entry["kid"] for entry in ring[:-1]] == [entry["kid"] for entry in previous], f"trial {trial}"
            assert ring[-1]["status"] == "active" and ring[-1]["alg"] == alg
            outcomes["changed"] += 1
        listed = {entry["kid"] for entry in ring}
        outcomes["orphan_pems"] = sum(1 for pem in (keys_dir / "signing").glob("*.pem") if pem.stem not in listed)
        previous = ring
    outcomes["leftover_temp_files"] = sum(1 for path in (keys_dir / "signing").iterdir() if path.name.startswith(".tmp"))
    print(f"\nkill -9 trials: {outcomes}, rotate run time {run_time * 1000:.0f} ms")
    assert sum(outcomes[name] for name in ("killed", "completed")) >= 20, outcomes
    assert outcomes["killed"] > 0, f"no rotation was interrupted: {outcomes}"
    # Temporary files of interrupted writes are dot-files the server and the CLI ignore; the lock file stays.
    names = {path.name for path in (keys_dir / "signing").iterdir()}
    assert "keyring.json" in names and not any(name.startswith("keyring.json.") for name in names)
