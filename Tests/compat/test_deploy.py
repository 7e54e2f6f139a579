"""The systemd units in deploy/: systemd accepts them without a warning, every flag and variable they (and their
comments' and deploy/*.env's examples) use exists, `systemctl reload` is declared exactly where the process survives
SIGHUP, and both commands serve under the units' syscall filter, address families and MemoryDenyWriteExecute.

`systemd-analyze` (Debian package `systemd`, installed by scripts/bootstrap.sh --test) works without systemd running,
so these run in containers too; they are skipped, saying why, only when it is missing.
"""

from __future__ import annotations

import ctypes
import os
import platform
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import _free_port, _usher_binary

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = {"usher.service": ["serve"], "usher-relay.service": ["relay"]}
INSTALLED_BINARY = "/usr/local/bin/usher"
# Every subcommand, longest first, so `usher apps rotate-secret` is not read as `usher apps`.
SUBCOMMANDS = sorted(
    [["serve"], ["relay"], ["config", "check"], ["apps", "create"], ["apps", "list"], ["apps", "show"],
     ["apps", "rotate-secret"], ["keys", "list"], ["keys", "rotate"], ["keys", "retire"], ["keys", "prune"],
     ["keys", "jwks"]], key=len, reverse=True)

systemd_analyze = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    systemd_analyze is None,
    reason="systemd-analyze is not installed (Debian package systemd; scripts/bootstrap.sh --test installs it)")


def unit_text(name: str) -> str:
    return (DEPLOY / name).read_text()


def directives(text: str) -> list[tuple[str, str]]:
    """(key, value) of every setting line, in order; comments and section headers left out."""
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            pairs.append((key.strip(), value.strip()))
    return pairs


def values(name: str, key: str) -> list[str]:
    return [value for k, value in directives(unit_text(name)) if k == key]


def help_text(subcommand: list[str]) -> str:
    run = subprocess.run([_usher_binary(), *subcommand, "--help"], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return run.stdout


def accepted_flags(subcommand: list[str]) -> set[str]:
    """The long options listed under OPTIONS in `usher <subcommand> --help`."""
    options = help_text(subcommand).split("OPTIONS:", 1)[1]
    return set(re.findall(r"(?m)^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)", options))


def command_lines(text: str, default: list[str] | None) -> list[tuple[list[str], list[str]]]:
    """(subcommand, flags) of every `usher …` command in `text` (ExecStart lines, examples in comments) and of every
    `USHER_…_ARGS=` value, which is passed to the unit's own command (`default`)."""
    found = []
    for line in text.splitlines():
        tokens = shlex.split(line.replace("`", " ").replace('"', " ").replace("'", " "), comments=False)
        for index, token in enumerate(tokens):
            if token != "usher" and not token.endswith("/usher"):
                continue
            rest = tokens[index + 1:]
            for sub in SUBCOMMANDS:
                if rest[:len(sub)] == sub:
                    args = rest[len(sub):]
                    stop = next((i for i, arg in enumerate(args) if arg in {"#", "|", ";", "&&", ">"}), len(args))
                    found.append((sub, [arg for arg in args[:stop] if arg.startswith("--")]))
                    break
        match = re.match(r"^\s*#?\s*(?:Environment=)?USHER_\w*ARGS=(.*)$", line)
        if match and default is not None:
            found.append((default, [arg for arg in shlex.split(match.group(1)) if arg.startswith("--")]))
    return found


def environment_names(text: str) -> set[str]:
    """USHER_* variables the unit sets or an env file example assigns."""
    return set(re.findall(r"(?m)^\s*#?\s*(?:Environment=)?(USHER_[A-Z_]+)=", text))


def installed_copies(tmp_path: Path) -> list[Path]:
    """The units with ExecStart pointing at the binary under test: verify insists the command exists."""
    copies = []
    for name in UNITS:
        copy = tmp_path / name
        copy.write_text(unit_text(name).replace(INSTALLED_BINARY, _usher_binary()))
        copies.append(copy)
    return copies


def verify(paths: list[Path]) -> tuple[int, str]:
    run = subprocess.run([systemd_analyze, "verify", "--man=no", *map(str, paths)],
                         capture_output=True, text=True, timeout=60)
    return run.returncode, run.stdout + run.stderr


# -- systemd accepts the units ---------------------------------------------------------------------------------------

@needs_systemd_analyze
def test_systemd_analyze_verify_prints_nothing_about_our_units(tmp_path: Path):
    code, output = verify(installed_copies(tmp_path))
    ours = [line for line in output.splitlines() if str(tmp_path) in line or any(name in line for name in UNITS)]
    assert code == 0 and not ours, f"systemd-analyze verify (exit {code}):\n{output}"


@needs_systemd_analyze
def test_systemd_analyze_verify_would_report_a_mistake(tmp_path: Path):
    """The check above is only worth something if verify reports a bad setting in such a unit."""
    copy = installed_copies(tmp_path)[0]
    copy.write_text(copy.read_text().replace("ProtectSystem=strict", "ProtectSystem=stricter\nProtectEverything=yes"))
    _, output = verify([copy])
    assert "stricter" in output and "ProtectEverything" in output, output


# -- flags and variables exist ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [*UNITS, "usher.env", "relay.env"])
def test_every_flag_the_deploy_files_pass_exists(name: str):
    own = UNITS.get(name) or (["serve"] if name == "usher.env" else ["relay"])
    commands = command_lines((DEPLOY / name).read_text(), own)
    if name in UNITS:
        assert any(sub == own for sub, _ in commands), f"{name}: no `usher {own[0]}` command found"
    unknown = [(sub, flag) for sub, flags in commands for flag in flags if flag not in accepted_flags(sub)]
    assert not unknown, f"{name}: flags `usher … --help` does not list: {unknown}"


@pytest.mark.parametrize("name", [*UNITS, "usher.env", "relay.env"])
def test_every_variable_the_deploy_files_set_is_read(name: str):
    own = UNITS.get(name) or (["serve"] if name == "usher.env" else ["relay"])
    documented = set(re.findall(r"USHER_[A-Z_]+", help_text(own)))
    names = environment_names((DEPLOY / name).read_text())
    exec_start = " ".join(values("usher-relay.service" if own == ["relay"] else "usher.service", "ExecStart"))
    for variable in names:
        if variable.endswith("_ARGS"):
            assert f"${variable}" in exec_start, f"{name}: {variable} is not expanded in ExecStart"
        else:
            assert variable in documented, f"{name}: `usher {own[0]}` does not read {variable}"


def test_units_point_at_the_documented_places():
    for name, sub in UNITS.items():
        exec_start = values(name, "ExecStart")
        assert len(exec_start) == 1 and exec_start[0].startswith(f"{INSTALLED_BINARY} {sub[0]}"), exec_start
        assert values(name, "User") == ["usher"]
        assert values(name, "CapabilityBoundingSet") == [""], "no capabilities at all"
        assert values(name, "UMask") == ["0077"]
        assert int(values(name, "LimitNOFILE")[0]) >= 65536
        assert "AmbientCapabilities=CAP_NET_BIND_SERVICE" in unit_text(name), "the port < 1024 note"
    assert "--keys /var/lib/usher/keys" in values("usher.service", "ExecStart")[0]
    assert "/var/lib/usher/keys" in values("usher.service", "ReadWritePaths")
    assert "USHER_KEYS=/var/lib/usher/keys" in values("usher-relay.service", "Environment")
    assert values("usher-relay.service", "EnvironmentFile") == ["-/etc/usher/relay.env"]
    assert "USHER_RELAY_CONFIG=/etc/usher/relay.yaml" in unit_text("usher-relay.service"), "relay.yaml is mentioned"


# -- the processes behave as the units assume ------------------------------------------------------------------------

def stop_timeout(name: str) -> float:
    value = values(name, "TimeoutStopSec")[0]
    assert value.endswith("s") and value[:-1].isdigit(), value
    return float(value[:-1])


def keys_for_relay(tmp_path: Path) -> Path:
    keys = tmp_path / "keys"
    created = subprocess.run([_usher_binary(), "apps", "create", "--id", "4712", "--keys", str(keys)],
                             capture_output=True, text=True, timeout=30)
    assert created.returncode == 0, created.stderr
    token = keys / "relay.token"
    token.write_text("f" * 64 + "\n")
    token.chmod(0o600)
    return keys


def start(command: list[str], env: dict, log: Path, url: str, preexec=None) -> subprocess.Popen:
    with log.open("wb") as output:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, preexec_fn=preexec)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"{command[1]} did not answer {url} (exit {process.poll()}):\n{log.read_text(errors='replace')}")


def stop(process: subprocess.Popen, budget: float) -> tuple[int, float]:
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"not stopped within TimeoutStopSec={budget:g}s")
    return code, time.monotonic() - began


def serve_command(keys: Path, port: int) -> list[str]:
    return [_usher_binary(), "serve", "--keys", str(keys), "--host", "127.0.0.1", "--port", str(port)]


def relay_environment(keys: Path, port: int, usher_port: int) -> dict:
    """What usher-relay.service passes, with the test's paths and ports."""
    return {"USHER_URL": f"http://127.0.0.1:{usher_port}", "USHER_KEYS": str(keys), "USHER_RELAY_HOST": "127.0.0.1",
            "USHER_RELAY_PORT": str(port)}


@pytest.mark.parametrize("name", UNITS)
def test_reload_is_declared_exactly_where_sighup_reloads(name: str, tmp_path: Path):
    """ExecReload sends SIGHUP: the process must survive it. A unit without ExecReload is checked the other way, so the
    relay's unit gains one when the relay learns to reload on SIGHUP."""
    keys = keys_for_relay(tmp_path)
    log = tmp_path / "process.log"
    port = _free_port()
    if UNITS[name] == ["serve"]:
        process = start(serve_command(keys, port), {}, log, f"http://127.0.0.1:{port}/readyz")
    else:
        process = start([_usher_binary(), "relay"], relay_environment(keys, port, _free_port()), log,
                        f"http://127.0.0.1:{port}/healthz")
    try:
        process.send_signal(signal.SIGHUP)
        time.sleep(1.5)
        survived = process.poll() is None
        reload = values(name, "ExecReload")
        if reload:
            assert reload == ["/bin/kill -HUP $MAINPID"], reload
            assert survived, f"ExecReload sends SIGHUP, which ended `usher {UNITS[name][0]}`:\n{log.read_text()}"
            reloaded = "keys reloaded" if UNITS[name] == ["serve"] else "apps reloaded"
            assert reloaded in log.read_text(), log.read_text()
        else:
            assert not survived, (f"`usher {UNITS[name][0]}` now survives SIGHUP: give {name} "
                                  "ExecReload=/bin/kill -HUP $MAINPID and drop RestartForceExitStatus=SIGHUP")
            assert process.returncode == -signal.SIGHUP, "killed by the signal, which systemd counts as a clean exit"
            assert values(name, "RestartForceExitStatus") == ["SIGHUP"], "a stray SIGHUP must not leave it down"
    finally:
        if process.poll() is None:
            stop(process, stop_timeout(name))


# -- the sandbox: syscall filter, address families, MemoryDenyWriteExecute ------------------------------------------

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
RET_KILL_PROCESS, RET_ERRNO, RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
LD_ABS, JEQ, JGE, AND, RET = 0x20, 0x15, 0x35, 0x54, 0x06
AUDIT_ARCH_X86_64 = 0xC000003E
EPERM, EAFNOSUPPORT = 1, 97
FAMILIES = {"AF_UNIX": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16, "AF_PACKET": 17}
PROT_WRITE, PROT_EXEC, SHM_EXEC = 2, 4, 0o100000


def syscall_numbers() -> dict[str, int]:
    header = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if platform.machine() != "x86_64" or not header.exists():
        pytest.skip("the sandbox emulation knows x86_64 syscall numbers only (from linux-libc-dev's unistd_64.h)")
    return {name: int(number) for name, number in re.findall(r"#define __NR_(\w+)\s+(\d+)", header.read_text())}


def syscall_groups() -> dict[str, list[str]]:
    listing = subprocess.run([systemd_analyze, "syscall-filter"], capture_output=True, text=True, timeout=30).stdout
    groups: dict[str, list[str]] = {}
    current = None
    for line in listing.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if not line.startswith(" "):
            current = groups.setdefault(entry, [])
        elif current is not None:
            current.append(entry)
    return groups


def allowed_syscalls(name: str) -> set[str]:
    """SystemCallFilter= as systemd applies it: the allow list, then every `~` list taken away."""
    groups = syscall_groups()

    def expand(items: list[str]) -> set[str]:
        out: set[str] = set()
        for item in items:
            out |= expand(groups[item]) if item.startswith("@") else {item}
        return out

    allowed: set[str] | None = None
    for value in values(name, "SystemCallFilter"):
        if value.startswith("~"):
            assert allowed is not None, "an allow list comes first"
            allowed -= expand(value[1:].split())
        else:
            allowed = (allowed or set()) | expand(value.split())
    assert allowed, f"{name} has no SystemCallFilter"
    return allowed


def seccomp_program(name: str) -> bytes:
    """A BPF filter doing what the unit asks of systemd 252: native architecture only, its syscall filter (EPERM for
    the rest, as SystemCallErrorNumber says), its address families (EAFNOSUPPORT), MemoryDenyWriteExecute (no mmap
    both writable and executable, no mprotect/pkey_mprotect adding PROT_EXEC, no shmat with SHM_EXEC)."""
    numbers = syscall_numbers()
    assert values(name, "SystemCallArchitectures") == ["native"]
    assert values(name, "SystemCallErrorNumber") == ["EPERM"]
    assert values(name, "MemoryDenyWriteExecute") == ["yes"]
    families = [FAMILIES[family] for family in values(name, "RestrictAddressFamilies")[0].split()]
    code: list[tuple[int, int, int, int]] = [
        (LD_ABS, 0, 0, 4), (JEQ, 1, 0, AUDIT_ARCH_X86_64), (RET, 0, 0, RET_KILL_PROCESS),
        (LD_ABS, 0, 0, 0), (JGE, 0, 1, 0x40000000), (RET, 0, 0, RET_ERRNO | EPERM),  # x32 calls
    ]
    argument = lambda index: (LD_ABS, 0, 0, 16 + 8 * index)  # low 32 bits of args[index]
    # socket(family, …): listed families only.
    block = [argument(0)]
    for i, family in enumerate(families):
        block.append((JEQ, len(families) - i, 0, family))
    block += [(RET, 0, 0, RET_ERRNO | EAFNOSUPPORT), (RET, 0, 0, RET_ALLOW)]
    code += [(JEQ, 0, len(block), numbers["socket"]), *block]
    # mmap(…, prot, …) with both PROT_WRITE and PROT_EXEC.
    block = [argument(2), (AND, 0, 0, PROT_WRITE | PROT_EXEC), (JEQ, 0, 1, PROT_WRITE | PROT_EXEC),
             (RET, 0, 0, RET_ERRNO | EPERM), (RET, 0, 0, RET_ALLOW)]
    code += [(JEQ, 0, len(block), numbers["mmap"]), *block]
    for call, flag in (("mprotect", PROT_EXEC), ("pkey_mprotect", PROT_EXEC), ("shmat", SHM_EXEC)):
        block = [argument(2), (AND, 0, 0, flag), (JEQ, 1, 0, 0), (RET, 0, 0, RET_ERRNO | EPERM), (RET, 0, 0, RET_ALLOW)]
        code += [(JEQ, 0, len(block), numbers[call]), *block]
    allowed = allowed_syscalls(name)
    assert "socket" in allowed and "mmap" in allowed and "mprotect" in allowed
    for call in sorted(allowed):
        if call in numbers:  # other architectures' calls (e.g. arm_fadvise64_64) do not exist here
            code += [(JEQ, 0, 1, numbers[call]), (RET, 0, 0, RET_ALLOW)]
    code.append((RET, 0, 0, RET_ERRNO | EPERM))
    assert len(code) < 4096
    return b"".join(struct.pack("HBBI", *instruction) for instruction in code)


def sandboxed(name: str):
    """A preexec_fn entering the unit's sandbox (NoNewPrivileges, UMask, the seccomp filter) just before exec."""
    program = ctypes.create_string_buffer(seccomp_program(name))
    count = len(program.raw) // 8

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(count, ctypes.addressof(program))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    umask = int(values(name, "UMask")[0], 8)

    def enter(keep=program):  # the filter must outlive this function's frame
        os.umask(umask)
        if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 or \
                libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "cannot enter the seccomp sandbox")

    return enter


def seccomp_mode(pid: int) -> str:
    return re.search(r"(?m)^Seccomp:\s*(\d)", Path(f"/proc/{pid}/status").read_text()).group(1)


PROBE = """
import errno, mmap, os, socket
def refused(call, code):
    try:
        call()
    except OSError as error:
        return error.errno == code
    return False
print(refused(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW), errno.EAFNOSUPPORT),
      refused(lambda: mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC), errno.EPERM),
      refused(lambda: os.chroot("/"), errno.EPERM),
      socket.socket(socket.AF_INET, socket.SOCK_STREAM).close() is None)
"""


@needs_systemd_analyze
@pytest.mark.parametrize("name", UNITS)
def test_the_emulated_sandbox_refuses_what_the_unit_forbids(name: str):
    """The emulation below is only evidence if it bites: a netlink socket, a writable and executable mapping and
    chroot (in @privileged) are refused, an inet socket is not."""
    probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=30,
                           preexec_fn=sandboxed(name))
    assert probe.stdout.split() == ["True"] * 4, probe.stdout + probe.stderr


@needs_systemd_analyze
def test_both_commands_serve_inside_the_units_sandbox(tmp_path: Path):
    """Usher and a relay, each under its unit's filter: Usher answers, the relay heartbeats to it (its lease shows on
    Usher's /metrics), a WebSocket client connects, and SIGTERM ends both cleanly (client closed with 4200) well
    within TimeoutStopSec."""
    keys = keys_for_relay(tmp_path)
    usher_port, relay_port = _free_port(), _free_port()
    usher = start(serve_command(keys, usher_port), {}, tmp_path / "usher.log",
                  f"http://127.0.0.1:{usher_port}/readyz", sandboxed("usher.service"))
    relay = None
    try:
        relay = start([_usher_binary(), "relay"], relay_environment(keys, relay_port, usher_port),
                      tmp_path / "relay.log", f"http://127.0.0.1:{relay_port}/healthz",
                      sandboxed("usher-relay.service"))
        assert seccomp_mode(usher.pid) == "2" and seccomp_mode(relay.pid) == "2", "both run under a seccomp filter"
        deadline = time.monotonic() + 20
        while "usher_relay_nodes 1" not in requests.get(f"http://127.0.0.1:{usher_port}/metrics", timeout=5).text:
            assert time.monotonic() < deadline, (tmp_path / "relay.log").read_text()
            time.sleep(0.2)
        key = next((keys / "apps").glob("*.json")).read_text().split('"key"')[1].split('"')[1]
        with connect(f"ws://127.0.0.1:{relay_port}/app/{key}?protocol=7&client=test&version=1", open_timeout=10) as ws:
            assert "pusher:connection_established" in ws.recv(timeout=10)
            code, took = stop(relay, stop_timeout("usher-relay.service"))
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4200
        assert code == 0 and took < stop_timeout("usher-relay.service") / 2, (code, took)
        code, took = stop(usher, stop_timeout("usher.service"))
        assert code == 0 and took < stop_timeout("usher.service") / 2, (code, took)
        for file in keys.rglob("*"):
            if file.is_file():
                assert file.stat().st_mode & 0o077 == 0, f"{file} is readable by others"
    finally:
        for process in (relay, usher):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
