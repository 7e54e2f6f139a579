"""Channel tokens against real verifiers: PyJWT's PyJWKClient through /.well-known/jwks.json, libjwt, and
/v1/tokens/verify, across `usher keys rotate` runs under a live `usher serve`; identity tokens signed by PyJWT with
RS256/ES256/EdDSA keys configured as `public_key_file` and as `jwks_file`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import subprocess
import time

import jwt
import pytest

from tokens_support import APPS, IDENTITY_ALGS, jwk_to_pem, libjwt_verifier, token_usher  # noqa: F401 (fixtures)

SOCKET = "1234.5678"
ALGS = ["ES256", "RS256", "EdDSA"]


@pytest.fixture(scope="module")
def rotated(token_usher):
    """A token from each of an ES256, an RS256 and an EdDSA active key, rotated in by the CLI under the server."""
    tokens, reload_seconds = {}, []
    for alg in ALGS:
        if alg != "ES256":
            out = token_usher.cli("keys", "rotate", "--alg", alg, "--overlap", "2h", "--json")
            reload_seconds.append(token_usher.wait_for_kid(json.loads(out.stdout)["kid"]))
        response = token_usher.issue()
        assert response.status_code == 200, response.text
        tokens[alg] = response.json()["token"]
        assert jwt.get_unverified_header(tokens[alg])["alg"] == alg
    return {"tokens": tokens, "reload_seconds": reload_seconds}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_for(server, token: str) -> dict:
    kid = jwt.get_unverified_header(token)["kid"]
    return next(key for key in server.jwks()["keys"] if key["kid"] == kid)


def private_pem(server, alg: str) -> tuple[str, bytes]:
    """The kid and private PEM of the ring's key for `alg` (the test owns the key directory)."""
    ring = json.loads(server.cli("keys", "list", "--json").stdout)
    kid = next(entry["kid"] for entry in reversed(ring) if entry["alg"] == alg and entry["status"] != "retired")
    return kid, (server.keys / "signing" / f"{kid}.pem").read_bytes()


def pyjwt_decode(server, token: str, alg: str) -> dict:
    key = jwt.PyJWKClient(server.jwks_url, cache_keys=False).get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=[alg], audience=APPS["tk"], issuer="usher")


def test_server_picks_up_rotations_within_two_seconds(rotated):
    assert len(rotated["reload_seconds"]) == 2
    assert max(rotated["reload_seconds"]) < 2.5, rotated["reload_seconds"]


@pytest.mark.parametrize("alg", ALGS)
def test_tokens_verify_with_pyjwk_client_after_rotations(token_usher, rotated, alg):
    token = rotated["tokens"][alg]
    claims = pyjwt_decode(token_usher, token, alg)
    assert claims["sub"] == "alice" and claims["channel"] == "private-room" and claims["socket_id"] == SOCKET
    assert claims["aud"] == APPS["tk"] and claims["iss"] == "usher" and claims["exp"] > claims["iat"] == claims["nbf"]
    assert jwt.get_unverified_header(token) == {"alg": alg, "kid": jwk_for(token_usher, token)["kid"], "typ": "JWT"}
    response = token_usher.verify(token, channel="private-room", socket_id=SOCKET)
    assert response.status_code == 200 and response.json()["valid"] is True, response.text


def test_jwks_publishes_every_verifying_key_with_public_members_only(token_usher, rotated):
    response = token_usher.session.get(token_usher.jwks_url, timeout=10)
    assert response.headers["Content-Type"].startswith("application/json")
    max_age = int(response.headers["Cache-Control"].split("max-age=")[1].split(",")[0])
    assert 0 <= max_age <= 60
    keys = {key["alg"]: key for key in response.json()["keys"]}
    assert set(keys) == set(ALGS)
    expected = {"ES256": {"kty", "crv", "x", "y"}, "RS256": {"kty", "n", "e"}, "EdDSA": {"kty", "crv", "x"}}
    for alg, key in keys.items():
        assert set(key) == expected[alg] | {"kid", "alg", "use"} and key["use"] == "sig", key


REFUSALS = ["flipped-signature", "changed-payload", "expired", "wrong-audience", "hs256-with-public-pem", "alg-none",
            "alg-header-swapped"]


def forge(server, rotated, alg: str, case: str) -> str:
    good = rotated["tokens"][alg]
    header, payload, signature = good.split(".")
    claims = jwt.decode(good, options={"verify_signature": False})
    if case == "flipped-signature":
        middle = len(signature) // 2
        return f"{header}.{payload}.{signature[:middle]}{'A' if signature[middle] != 'A' else 'B'}{signature[middle + 1:]}"
    if case == "changed-payload":
        return f"{header}.{b64(json.dumps({**claims, 'sub': 'mallory'}).encode())}.{signature}"
    kid, pem = private_pem(server, alg)
    if case == "expired":
        now = int(time.time())
        return jwt.encode({**claims, "iat": now - 600, "nbf": now - 600, "exp": now - 60}, pem, algorithm=alg, headers={"kid": kid})
    if case == "wrong-audience":
        return jwt.encode({**claims, "aud": "someone-else-key"}, pem, algorithm=alg, headers={"kid": kid})
    if case == "hs256-with-public-pem":
        forged = f"{b64(json.dumps({'alg': 'HS256', 'kid': kid, 'typ': 'JWT'}).encode())}.{payload}"
        mac = hmac.new(jwk_to_pem(jwk_for(server, good)), forged.encode(), hashlib.sha256).digest()
        return f"{forged}.{b64(mac)}"
    if case == "alg-none":
        return f"{b64(json.dumps({'alg': 'none', 'kid': kid}).encode())}.{payload}."
    other = "RS256" if alg != "RS256" else "ES256"
    return f"{b64(json.dumps({'alg': other, 'kid': kid, 'typ': 'JWT'}).encode())}.{payload}.{signature}"


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("case", REFUSALS)
def test_forged_tokens_are_refused_by_pyjwt_and_usher(token_usher, rotated, alg, case):
    token = forge(token_usher, rotated, alg, case)
    with pytest.raises(jwt.PyJWTError):
        pyjwt_decode(token_usher, token, alg)
    response = token_usher.verify(token)
    assert response.status_code == 401 and set(response.json()) == {"error"}, response.text
    assert token.split(".")[-1] not in response.text or len(token.split(".")[-1]) < 16


@pytest.mark.parametrize("fields", [{"channel": "private-other"}, {"socket_id": "1234.9999"}])
def test_token_for_another_channel_or_socket_is_refused(token_usher, rotated, fields):
    assert token_usher.verify(rotated["tokens"]["ES256"], **fields).status_code == 401


@pytest.mark.parametrize("alg", ALGS)
def test_our_tokens_verify_with_libjwt(token_usher, rotated, libjwt_verifier, tmp_path, alg):
    token = rotated["tokens"][alg]
    pem = tmp_path / "key.pem"
    pem.write_bytes(jwk_to_pem(jwk_for(token_usher, token)))
    run = subprocess.run([str(libjwt_verifier), str(pem), token, alg], capture_output=True, text=True, timeout=10)
    if run.returncode == 3:
        pytest.skip(f"the system libjwt does not support {alg} ({run.stdout.strip()})")
    assert run.returncode == 0 and run.stdout.strip() == f"ok {alg} alice", (run.returncode, run.stdout)
    tampered = forge(token_usher, rotated, alg, "changed-payload")
    refused = subprocess.run([str(libjwt_verifier), str(pem), tampered, alg], capture_output=True, text=True, timeout=10)
    assert refused.returncode != 0, refused.stdout


@pytest.mark.parametrize("app", sorted(IDENTITY_ALGS))
def test_pyjwt_identity_tokens_via_public_key_file(token_usher, app):
    alg = IDENTITY_ALGS[app]
    token = token_usher.identity("bob", app=app)
    body = {"socket_id": SOCKET, "channel_name": "private-user-bob", "app_key": APPS[app]}
    accepted = token_usher.session.post(token_usher.base_url + "/pusher/auth", data=body, timeout=10,
                                        headers={"Authorization": f"Bearer {token}"})
    assert accepted.status_code == 200 and accepted.json()["auth"].startswith(APPS[app] + ":"), accepted.text
    issued = token_usher.session.post(token_usher.base_url + "/v1/tokens", timeout=10,
                                      data={"channel": "private-user-bob", "app_key": APPS[app]},
                                      headers={"Authorization": f"Bearer {token}"})
    assert issued.status_code == 200, issued.text
    other_alg = next(other for other in IDENTITY_ALGS.values() if other != alg)
    for bad in [token_usher.identity("bob", app=app, alg=other_alg),
                token_usher.identity("bob", app=app, exp=int(time.time()) - 120),
                token_usher.identity("bob", app=app, aud="not-usher")]:
        refused = token_usher.session.post(token_usher.base_url + "/pusher/auth", data=body, timeout=10,
                                           headers={"Authorization": f"Bearer {bad}"})
        assert refused.status_code == 401, refused.text


@pytest.mark.parametrize("alg", ALGS)
def test_pyjwt_identity_tokens_via_jwks_file(token_usher, alg):
    body = {"socket_id": SOCKET, "channel_name": "private-user-carol", "app_key": APPS["jw"]}

    def auth(token):
        return token_usher.session.post(token_usher.base_url + "/pusher/auth", data=body, timeout=10,
                                        headers={"Authorization": f"Bearer {token}"})

    assert auth(token_usher.identity("carol", app="jw", alg=alg, kid=f"id-{alg}")).status_code == 200
    assert auth(token_usher.identity("carol", app="jw", alg=alg, kid="id-unknown")).status_code == 401
    other = next(name for name in ALGS if name != alg)
    assert auth(token_usher.identity("carol", app="jw", alg=alg, kid=f"id-{other}")).status_code == 401


def test_sighup_reloads_at_once(token_usher, rotated):
    reloads = token_usher.log().count("keys reloaded")
    token_usher.process.send_signal(signal.SIGHUP)
    token_usher.wait_for_log("keys reloaded", reloads + 1, timeout=1.5)
    assert token_usher.issue().status_code == 200


def test_invalid_ring_on_disk_keeps_the_last_good_keys_serving(token_usher, rotated):
    ring = token_usher.keys / "signing" / "keyring.json"
    good, before = ring.read_bytes(), token_usher.jwks()
    invalid, reloads = token_usher.log().count("key directory is invalid"), token_usher.log().count("keys reloaded")

    def replace(data: bytes) -> None:
        temporary = ring.with_name(".tmp-compat-test")
        temporary.write_bytes(data)
        temporary.chmod(0o600)
        os.replace(temporary, ring)

    replace(b"[{")
    try:
        token_usher.wait_for_log("key directory is invalid", invalid + 1)
        response = token_usher.issue()
        assert response.status_code == 200, response.text
        assert pyjwt_decode(token_usher, response.json()["token"], "EdDSA")["sub"] == "alice"
        assert token_usher.jwks() == before
    finally:
        replace(good)
    token_usher.wait_for_log("keys reloaded", reloads + 1)
    assert token_usher.jwks() == before


def test_log_never_contains_channel_tokens_or_secrets(token_usher, rotated):
    log = token_usher.log()
    assert "keys reloaded" in log
    for token in rotated["tokens"].values():
        assert token not in log and token.split(".")[-1] not in log, "a channel token reached the log"
    assert token_usher.hs256_secret.decode() not in log
