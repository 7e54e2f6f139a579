"""The CLI around serving: `usher --version`, `usher config check` (validates like start-up, creates nothing) and an
example in every subcommand's --help.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import _free_port, _usher_binary

SUBCOMMANDS = [
    ["serve"], ["relay"], ["config", "check"], ["apps", "create"], ["apps", "list"], ["apps", "show"],
    ["apps", "rotate-secret"], ["keys", "list"], ["keys", "rotate"], ["keys", "retire"], ["keys", "prune"],
    ["keys", "jwks"],
]


def usher(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([_usher_binary(), *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def setup(tmp_path: Path):
    """An app with credentials and a configuration that serves it with an HS256 identity secret."""
    keys = tmp_path / "keys"
    assert usher("apps", "create", "--id", "4712", "--keys", str(keys), "--json").returncode == 0
    secret = tmp_path / "identity.secret"
    secret.write_text("0123456789abcdef0123456789abcdef\n")
    secret.chmod(0o600)
    config = tmp_path / "usher.yaml"
    config.write_text('apps:\n  - id: "4712"\n    identity: { hs256_secret_file: identity.secret }\n'
                      '    channels:\n      - match: "private-*"\n')
    return keys, config


def test_version():
    result = usher("--version")
    assert result.returncode == 0 and result.stdout.strip() == "0.9.0", result


def test_every_subcommand_help_has_an_example():
    for command in SUBCOMMANDS:
        result = usher(*command, "--help")
        assert result.returncode == 0 and "Example" in result.stdout, (command, result.stdout)


def test_config_check_reports_what_it_found_and_creates_nothing(setup):
    keys, config = setup
    before = sorted(p.relative_to(keys) for p in keys.rglob("*"))
    result = usher("config", "check", "--config", str(config), "--keys", str(keys))
    assert result.returncode == 0, result.stderr
    assert "apps: 1 (4712)" in result.stdout and "app 4712: 1 channel rule(s), 1 identity key(s)" in result.stdout
    assert "signing keys: none yet" in result.stdout and "relay token: none yet" in result.stdout
    assert result.stdout.strip().endswith("configuration OK")
    assert sorted(p.relative_to(keys) for p in keys.rglob("*")) == before, "config check must not create key files"
    assert "0123456789abcdef" not in result.stdout + result.stderr


@pytest.mark.parametrize("mutation, fragment", [
    (lambda config, keys: config.write_text(config.read_text().replace("channels:", "chanels:")), "chanels"),
    (lambda config, keys: config.write_text(config.read_text().replace('"4712"', '"999"')), "usher apps create --id 999"),
    (lambda config, keys: (config.parent / "identity.secret").chmod(0o644), "chmod 600"),
    (lambda config, keys: (keys / "apps" / "4712.json").write_text("{not json"), "4712"),
])
def test_config_check_fails_as_start_up_does(setup, mutation, fragment):
    keys, config = setup
    mutation(config, keys)
    check = usher("config", "check", "--config", str(config), "--keys", str(keys))
    assert check.returncode == 1 and fragment in check.stderr, check
    serve = usher("serve", "--config", str(config), "--keys", str(keys), "--port", str(_free_port()), timeout=60)
    assert serve.returncode != 0
    message = check.stderr.strip().removeprefix("Error: ")
    assert message in serve.stderr + serve.stdout, (check.stderr, serve.stderr)


def test_relay_reads_its_config_file_and_variables_override_it(tmp_path: Path):
    import os
    import time

    import requests

    keys = tmp_path / "keys"
    created = usher("apps", "create", "--id", "5", "--keys", str(keys), "--json")
    assert created.returncode == 0, created.stderr
    (keys / "relay.token").write_text("t" * 40)
    (keys / "relay.token").chmod(0o600)
    from_file, from_env = _free_port(), _free_port()
    (tmp_path / "relay.yaml").write_text(
        f"keys: keys\nserver: {{ port: {from_file} }}\nnode: {{ id: cli-relay, heartbeat_seconds: 60 }}\n")

    def serves(port: int, environment: dict) -> bool:
        process = subprocess.Popen([_usher_binary(), "relay", "--config", str(tmp_path / "relay.yaml")],
                                   env={**os.environ, **environment}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()
                    return answer["node"] == "cli-relay"
                except requests.RequestException:
                    time.sleep(0.05)
            return False
        finally:
            process.terminate()
            process.wait(timeout=10)

    assert serves(from_file, {})
    assert serves(from_env, {"USHER_RELAY_PORT": str(from_env)})
    (tmp_path / "bad.yaml").write_text("server: { prot: 1 }\n")
    refused = usher("relay", "--config", str(tmp_path / "bad.yaml"))
    assert refused.returncode != 0 and "server.prot" in refused.stderr, refused.stderr
