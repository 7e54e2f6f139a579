"""A `usher serve` of its own for the channel-token and key-rotation tests (its key ring is rotated under it, so it
must not be the session server of conftest.py).

Apps: `tk` (HS256 identity, issues channel tokens), `rs`/`es`/`ed` (identity via `public_key_file`, one algorithm
each) and `jw` (identity via a `jwks_file` holding all three public keys with kids). The identity private keys stay
with the test, which signs identity tokens with PyJWT.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from conftest import STARTUP_TIMEOUT, _free_port, _stop, _usher_binary

ISSUER = "https://app.example"
AUDIENCE = "usher"
APPS = {"tk": "tokens-app-key-0001", "rs": "rs256-app-key-0001", "es": "es256-app-key-0001",
        "ed": "eddsa-app-key-0001", "jw": "jwks-app-key-00001"}
IDENTITY_ALGS = {"rs": "RS256", "es": "ES256", "ed": "EdDSA"}
CHANNELS = """
    channels:
      - match: "private-user-{sub}"
      - match: "private-*"
      - match: "presence-*"
"""


def _identity_keys() -> dict:
    return {"RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ES256": ec.generate_private_key(ec.SECP256R1()), "EdDSA": ed25519.Ed25519PrivateKey.generate()}


def public_pem(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _config(workdir: Path, keys: dict) -> str:
    (workdir / "identity.secret").write_bytes(secrets.token_hex(32).encode())
    (workdir / "identity.secret").chmod(0o600)
    text = "apps:\n"
    text += f'  - id: "tk"\n    identity:\n      hs256_secret_file: identity.secret\n{CHANNELS}'
    for app, alg in IDENTITY_ALGS.items():
        (workdir / f"{app}.pub.pem").write_bytes(public_pem(keys[alg]))
        text += (f'  - id: "{app}"\n    identity:\n      public_key_file: {app}.pub.pem\n      algorithm: {alg}\n'
                 f"      issuer: {ISSUER}\n      audience: {AUDIENCE}\n{CHANNELS}")
    entries = []
    for alg, key in keys.items():
        jwk = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
        entries.append({**jwk, "kid": f"id-{alg}", "alg": alg, "use": "sig"})
    (workdir / "identity.jwks.json").write_text(json.dumps({"keys": entries}))
    text += (f'  - id: "jw"\n    identity:\n      jwks_file: identity.jwks.json\n      issuer: {ISSUER}\n'
             f"      audience: {AUDIENCE}\n{CHANNELS}")
    return text


@dataclass
class TokenUsher:
    """A running `usher serve` with its key directory and the identity keys its apps trust."""

    binary: str
    base_url: str
    process: subprocess.Popen
    workdir: Path
    identity_keys: dict
    hs256_secret: bytes
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def keys(self) -> Path:
        return self.workdir / "keys"

    @property
    def jwks_url(self) -> str:
        return self.base_url + "/.well-known/jwks.json"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([self.binary, *args, "--keys", str(self.keys)], capture_output=True, text=True, timeout=60)
        assert not check or done.returncode == 0, f"usher {' '.join(args)} failed: {done.stderr}"
        return done

    def identity(self, sub: str = "alice", app: str = "tk", alg: str | None = None, kid: str | None = None,
                 key=None, **claims) -> str:
        """An identity token for `app`, signed as that app's login would (with `alg`'s key, or `key`)."""
        now = int(time.time())
        payload = {"sub": sub, "iat": now, "exp": now + 300, **claims}
        if app == "tk":
            return jwt.encode(payload, self.hs256_secret, algorithm="HS256")
        alg = alg or IDENTITY_ALGS[app]
        payload = {"iss": ISSUER, "aud": AUDIENCE, **payload}
        signing_key = key if key is not None else self.identity_keys[alg]
        return jwt.encode(payload, signing_key, algorithm=alg, headers={"kid": kid} if kid else None)

    def issue(self, channel: str = "private-room", socket_id: str | None = "1234.5678", app: str = "tk", **fields):
        data = {"channel": channel, "app_key": APPS[app], **fields}
        if socket_id is not None:
            data["socket_id"] = socket_id
        return self.session.post(self.base_url + "/v1/tokens", data=data, timeout=10,
                                 headers={"Authorization": f"Bearer {self.identity(app=app)}"})

    def verify(self, token: str, **fields):
        return self.session.post(self.base_url + "/v1/tokens/verify", json={"token": token, **fields}, timeout=10)

    def jwks(self) -> dict:
        response = self.session.get(self.jwks_url, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def wait_for_kid(self, kid: str, timeout: float = 3.0) -> float:
        """Polls the JWKS until `kid` is published; returns how long that took."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if kid in [key["kid"] for key in self.jwks()["keys"]]:
                return time.monotonic() - start
            time.sleep(0.05)
        pytest.fail(f"the server did not publish {kid} within {timeout} s")

    def wait_for_log(self, text: str, count: int, timeout: float = 3.0) -> None:
        """Waits until `text` occurs `count` times in the server log."""
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            assert time.monotonic() < deadline, f"no new {text!r} in the log within {timeout} s"
            time.sleep(0.05)

    def log(self) -> str:
        return (self.workdir / "usher.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def token_usher():
    binary = _usher_binary()
    workdir = Path(tempfile.mkdtemp(prefix="usher-tokens-"))
    process = None
    try:
        keys = _identity_keys()
        (workdir / "usher.yaml").write_text(_config(workdir, keys))
        for app, key in APPS.items():
            subprocess.run([binary, "apps", "create", "--id", app, "--key", key, "--keys", str(workdir / "keys")],
                           check=True, capture_output=True, timeout=30)
        subprocess.run([binary, "keys", "rotate", "--alg", "ES256", "--keys", str(workdir / "keys")],
                       check=True, capture_output=True, timeout=30)
        port = _free_port()
        with open(workdir / "usher.log", "wb") as log:
            process = subprocess.Popen(
                [binary, "serve", "--config", str(workdir / "usher.yaml"), "--keys", str(workdir / "keys"),
                 "--host", "127.0.0.1", "--port", str(port), "--threads", "2"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)
        server = TokenUsher(binary, f"http://127.0.0.1:{port}", process, workdir, keys,
                            (workdir / "identity.secret").read_bytes())
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if requests.get(server.base_url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.05)
        else:
            pytest.fail(f"usher serve did not start:\n{server.log()}")
        yield server
        assert process.poll() is None, f"usher serve exited:\n{server.log()}"
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


# -- libjwt: a 30-line verifier compiled against the system libjwt (1.10.2 on Debian 12) -------------------------
LIBJWT_VERIFIER = r"""
#include <jwt.h>
#include <stdio.h>
#include <string.h>
/* usage: v PEM_FILE TOKEN ALG -> prints "ok ALG SUB" and exits 0 when the token verifies with that key and alg */
int main(int argc, char **argv) {
    static unsigned char key[16384];
    if (argc != 4) return 64;
    jwt_alg_t expected = jwt_str_alg(argv[3]);
    if (expected == JWT_ALG_INVAL) { printf("unsupported %s\n", argv[3]); return 3; }
    FILE *file = fopen(argv[1], "rb");
    if (!file) return 66;
    size_t length = fread(key, 1, sizeof key - 1, file);
    fclose(file);
    jwt_t *token = NULL;
    int rc = jwt_decode(&token, argv[2], key, (int)length);
    if (rc != 0 || token == NULL) { printf("refused %d\n", rc); return 1; }
    if (jwt_get_alg(token) != expected) { printf("alg %s\n", jwt_alg_str(jwt_get_alg(token))); jwt_free(token); return 2; }
    const char *sub = jwt_get_grant(token, "sub");
    printf("ok %s %s\n", jwt_alg_str(expected), sub ? sub : "");
    jwt_free(token);
    return 0;
}
"""


@pytest.fixture(scope="module")
def libjwt_verifier(tmp_path_factory):
    """Path of the compiled verifier; skipped (with the reason) when no C compiler or libjwt headers exist."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler (cc) on PATH")
    folder = tmp_path_factory.mktemp("libjwt")
    (folder / "v.c").write_text(LIBJWT_VERIFIER)
    built = subprocess.run([compiler, "-o", str(folder / "v"), str(folder / "v.c"), "-ljwt"], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot build against libjwt (install libjwt-dev): {built.stderr.strip()[:300]}")
    return folder / "v"


def jwk_to_pem(jwk: dict) -> bytes:
    """The SubjectPublicKeyInfo PEM of a public JWK, as a relay without JWKS support would configure it."""
    key = jwt.algorithms.get_default_algorithms()[jwk["alg"]].from_jwk(json.dumps(jwk))
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
