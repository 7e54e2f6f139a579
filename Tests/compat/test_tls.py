"""TLS end to end: `usher serve` on https and two `usher relay` nodes on wss/https that find each other through Usher
(over https), with the real clients: pusher-js in headless Chromium on an https page with `forceTLS: true`, the Python
server SDK with `ssl=True`, and Python's TLS client refusing an expired certificate and one for another name.

Certificates come from a CA made at test time (`cryptography`); Chromium trusts exactly the server's key through
`--ignore-certificate-errors-spki-list`, nothing else.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pusher
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chat_support import chromium_missing, new_browser
from conftest import STARTUP_TIMEOUT, _free_port, _stop, _usher_binary
from pusherjs_support import PageServer, page_events, pusher_js_path, wait_until

APP_ID = "88"
APP_KEY = "tlse2ekey01234567890"

USHER_YAML = """\
relay:
  lease_ms: 10000
  keepalive_seconds: 1
apps:
  - id: "{app_id}"
    identity:
      hs256_secret_file: identity.secret
    channels:
      - match: "private-*"
"""


class ThrowawayCA:
    """A throwaway CA and the certificates it signs, written as PEM files."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Usher TLS test CA")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.certificate = (
            x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(self.key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256()))
        self.path = folder / "ca.pem"
        self.path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, hosts: list[str], expired: bool = False) -> tuple[Path, Path, str]:
        """Writes `<name>.pem` (leaf and CA) and `<name>.key`; returns them and the key's SPKI SHA-256 (base64)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        start, end = (now - datetime.timedelta(days=3), now - datetime.timedelta(days=1)) if expired else (
            now - datetime.timedelta(hours=1), now + datetime.timedelta(days=1))
        alternatives = [x509.IPAddress(ipaddress.ip_address(h)) if h[0].isdigit() else x509.DNSName(h) for h in hosts]
        certificate = (
            x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
            .issuer_name(self.certificate.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.key, hashes.SHA256()))
        chain, key_path = self.folder / f"{name}.pem", self.folder / f"{name}.key"
        chain.write_bytes(certificate.public_bytes(serialization.Encoding.PEM)
                          + self.certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        spki = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return chain, key_path, base64.b64encode(hashlib.sha256(spki).digest()).decode()


@dataclass
class TLSStack:
    usher_url: str
    relay_ports: list[int]
    secret: str
    identity_secret: bytes
    ca: ThrowawayCA
    server: tuple[Path, Path, str]
    workdir: Path
    keys: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list = field(default_factory=list)

    def token(self, sub: str) -> str:
        now = int(time.time())
        return jwt.encode({"sub": sub, "iat": now, "exp": now + 300}, self.identity_secret, algorithm="HS256")

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "wb")
        self.logs.append(log)
        process = subprocess.Popen([_usher_binary(), *args], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=self.workdir)
        self.processes.append(process)
        return process

    def log_text(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.workdir.glob("*.log")))

    def wait_healthy(self, url: str, process: subprocess.Popen) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(url + "/healthz", timeout=2, verify=str(self.ca.path)).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{url} did not become healthy:\n{self.log_text()}")


@pytest.fixture(scope="module")
def tls_stack():
    workdir = Path(tempfile.mkdtemp(prefix="usher-tls-e2e-"))
    stack = None
    try:
        ca = ThrowawayCA(workdir)
        server = ca.issue("server", ["127.0.0.1", "localhost"])
        identity_secret = secrets.token_hex(32).encode()
        (workdir / "identity.secret").write_bytes(identity_secret)
        (workdir / "identity.secret").chmod(0o600)
        keys = workdir / "keys"
        secret = "tls-e2e-" + secrets.token_hex(20)
        created = subprocess.run([_usher_binary(), "apps", "create", "--id", APP_ID, "--key", APP_KEY, "--secret", secret,
                                  "--json", "--keys", str(keys)], capture_output=True, text=True, timeout=30)
        assert created.returncode == 0, created.stderr
        (workdir / "usher.yaml").write_text(USHER_YAML.format(app_id=APP_ID))
        usher_port = _free_port()
        stack = TLSStack(f"https://127.0.0.1:{usher_port}", [_free_port(), _free_port()], secret, identity_secret, ca, server,
                         workdir, keys)
        usher = stack.start("usher", ["serve", "--config", "usher.yaml", "--keys", str(keys), "--port", str(usher_port),
                                      "--threads", "2", "--tls-cert", str(server[0]), "--tls-key", str(server[1])])
        stack.wait_healthy(stack.usher_url, usher)
        # No --peer and no --forward-url: each node announces https://127.0.0.1:<port> and finds the other through
        # Usher, over https, trusting the test CA.
        for index, port in enumerate(stack.relay_ports):
            relay = stack.start(f"relay-{index}", [
                "relay", "--usher", stack.usher_url, "--keys", str(keys), "--port", str(port), "--node", f"tls-relay-{index}",
                "--heartbeat", "1", "--threads", "1", "--tls-cert", str(server[0]), "--tls-key", str(server[1]),
                "--tls-ca", str(ca.path)])
            stack.wait_healthy(f"https://127.0.0.1:{port}", relay)
        token = (keys / "relay.token").read_text().strip()
        wanted = sorted(f"https://127.0.0.1:{port}" for port in stack.relay_ports)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            answer = requests.put(f"{stack.usher_url}/relay/v1/nodes/tls-probe", headers={"Authorization": f"Bearer {token}"},
                                  timeout=5, verify=str(ca.path)).json()
            if sorted(peer["forward_url"] for peer in answer["peers"]) == wanted:
                break
            assert time.monotonic() < deadline, f"the relays never announced themselves: {answer}\n{stack.log_text()}"
            time.sleep(0.1)
        time.sleep(1.5)  # one more heartbeat each: both forward to the other now
        yield stack
        for process in stack.processes:
            assert process.poll() is None, f"a process exited early:\n{stack.log_text()}"
    finally:
        if stack is not None:
            for process in reversed(stack.processes):
                _stop(process)
            for log in stack.logs:
                log.close()
        shutil.rmtree(workdir, ignore_errors=True)


def sdk(stack: TLSStack, node: int) -> pusher.Pusher:
    """The Python server SDK with `ssl=True`, trusting the test CA instead of certifi's bundle."""
    client = pusher.Pusher(app_id=APP_ID, key=APP_KEY, secret=stack.secret, host="127.0.0.1", port=stack.relay_ports[node],
                           ssl=True)
    client._pusher_client.http.options["verify"] = str(stack.ca.path)
    return client


def test_https_auth_and_plain_http_refused(tls_stack):
    auth = requests.post(tls_stack.usher_url + "/pusher/auth", data={"socket_id": "1.1", "channel_name": "private-desk"},
                         headers={"Authorization": f"Bearer {tls_stack.token('ann')}"}, timeout=5, verify=str(tls_stack.ca.path))
    assert auth.status_code == 200, auth.text
    assert auth.json()["auth"].startswith(APP_KEY + ":")
    with pytest.raises(requests.RequestException):
        requests.get(tls_stack.usher_url.replace("https://", "http://") + "/healthz", timeout=5)


def test_server_sdk_triggers_over_https_and_queries_the_channel(tls_stack):
    client = sdk(tls_stack, 0)
    assert client.trigger("news", "headline", {"n": 1}) == {}
    assert client.channel_info("news", ["subscription_count"])["occupied"] is False


@pytest.mark.skipif(chromium_missing() is not None or pusher_js_path() is None, reason="Chromium or pusher-js missing")
def test_pusher_js_on_an_https_page_with_force_tls_receives_events_through_wss_relays(tls_stack):
    chain, key, spki = tls_stack.server
    page = PageServer(tls_stack.usher_url, pusher_js_path(), tls=(str(chain), str(key), str(tls_stack.ca.path)))
    driver = new_browser((f"--ignore-certificate-errors-spki-list={spki}",))
    try:
        driver.get(page.url(key=APP_KEY, ws=tls_stack.relay_ports[0], token=tls_stack.token("ann"), tls=1))
        assert driver.execute_script("return location.protocol") == "https:"
        wait_until(driver, "pusher.connection.state === 'connected'", "a wss:// connection")
        # The relay's port speaks only TLS: being connected means wss://.
        assert driver.execute_script("return pusher.config.useTLS") is True
        driver.execute_script("""
            window.desk = pusher.subscribe('private-desk');
            desk.bind('note', (data) => __events.push({ name: 'note', data }));""")
        wait_until(driver, "desk.subscribed", "the private subscription")
        # Triggered on the other node, over https: it forwards to the page's node over https (found through Usher).
        sdk(tls_stack, 1).trigger("private-desk", "note", {"text": "over TLS"})
        note = wait_until(driver, "__events.find((e) => e.name === 'note')", "the event from the other node")
        assert note["data"] == {"text": "over TLS"}
        names = [event["name"] for event in page_events(driver)]
        assert "pusher:subscription_error" not in names and "connection:error" not in names, names
    finally:
        driver.quit()
        page.stop()


@pytest.mark.parametrize("kind", ["expired", "another name"])
def test_clients_refuse_an_expired_certificate_and_one_for_another_name(tls_stack, kind):
    if kind == "expired":
        chain, key, _ = tls_stack.ca.issue("expired", ["127.0.0.1"], expired=True)
        expected = "expired"
    else:
        chain, key, _ = tls_stack.ca.issue("wrong", ["wrong.example"])
        expected = "match"
    port = _free_port()
    process = tls_stack.start(f"bad-{port}", ["serve", "--dev", "--keys", str(tls_stack.workdir / f"dev-{port}"),
                                              "--port", str(port), "--tls-cert", str(chain), "--tls-key", str(key)])
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        error = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                requests.get(f"https://127.0.0.1:{port}/healthz", timeout=2, verify=str(tls_stack.ca.path))
                pytest.fail(f"a certificate that is {kind} was accepted")
            except requests.exceptions.SSLError as refused:
                error = str(refused)
                break
            except requests.RequestException:
                time.sleep(0.05)
        assert error is not None and expected in error, error
    finally:
        _stop(process)
        tls_stack.processes.remove(process)


def test_start_up_refuses_a_key_that_is_not_the_certificates(tls_stack):
    _, other_key, _ = tls_stack.ca.issue("other", ["127.0.0.1"])
    result = subprocess.run([_usher_binary(), "serve", "--dev", "--keys", str(tls_stack.workdir / "dev-mismatch"),
                             "--port", str(_free_port()), "--tls-cert", str(tls_stack.server[0]), "--tls-key", str(other_key)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "does not belong to the first certificate" in result.stderr + result.stdout
    assert "PRIVATE KEY" not in result.stderr + result.stdout
