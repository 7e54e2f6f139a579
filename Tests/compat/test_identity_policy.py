"""Identity tokens, channel policy and request validation over real HTTP.

Every refusal must be the JSON error shape with the right status, and must never echo the token or a secret
(`assert_error` checks both). Hostile inputs (huge headers and fields, broken encodings) must get a 4xx and leave the
server running; the session fixture checks at teardown that the process is still alive and answering /healthz.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
import urllib.parse

import jwt
import pytest

from conftest import AUDIENCE, ISSUER, assert_error

SOCKET = "1234.5678"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def form_post(usher, body: bytes | str, *, token: str | None = None, path: str = "/pusher/auth", headers=None):
    return usher.post(path, body, token=token, headers={**FORM, **(headers or {})})


# -- identity -----------------------------------------------------------------------------------------------------

def test_no_token_is_401_with_www_authenticate(usher):
    for response in [usher.channel_auth(SOCKET, "private-a"), usher.user_auth(SOCKET)]:
        assert_error(response, 401, usher, message="missing")
        assert response.headers.get("WWW-Authenticate", "").lower().startswith("bearer")


def test_non_bearer_authorization_header_is_no_token(usher):
    response = usher.channel_auth(SOCKET, "private-a", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_error(response, 401, usher)


def test_wrong_secret_is_401(usher):
    token = usher.token("alice", key=secrets.token_hex(32).encode())
    assert_error(usher.channel_auth(SOCKET, "private-a", token), 401, usher, tokens=[token])
    assert_error(usher.user_auth(SOCKET, token), 401, usher, tokens=[token])


def test_expired_is_401_and_says_expired(usher):
    now = int(time.time())
    token = usher.token("alice", iat=now - 7200, exp=now - 3600)
    for response in [usher.channel_auth(SOCKET, "private-a", token), usher.user_auth(SOCKET, token)]:
        assert_error(response, 401, usher, tokens=[token], message="expired")


def test_expiry_within_leeway_is_accepted(usher):
    token = usher.token("alice", exp=int(time.time()) - 5)  # default leeway is 30 s
    assert usher.channel_auth(SOCKET, "private-a", token).status_code == 200


def test_alg_none_is_401(usher):
    token = jwt.encode(usher.claims("alice"), None, algorithm="none")
    assert token.endswith(".")
    forged = token + "c2lnbmF0dXJl"  # an `alg: none` token with a non-empty "signature"
    usher.issued_tokens += [token, forged]
    for t in [token, forged]:
        assert_error(usher.channel_auth(SOCKET, "private-a", t), 401, usher, tokens=[t])
        assert_error(usher.post("/pusher/auth", {"socket_id": SOCKET, "channel_name": "private-a", "token": t}),
                     401, usher, tokens=[t])


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_other_hmac_algorithms_are_401(usher, algorithm):
    token = jwt.encode(usher.claims("alice"), usher.identity_secret, algorithm=algorithm)
    usher.issued_tokens.append(token)
    assert_error(usher.channel_auth(SOCKET, "private-a", token), 401, usher, tokens=[token])


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "someone-else"},
        {"aud": ["a", "b"]},
        {"aud": None},
        {"iss": "https://evil.example"},
        {"iss": None},
        {"exp": None},
        {"nbf": "future"},
        {"sub": None},
        {"sub": ""},
    ],
    ids=["wrong-aud", "aud-list-without-us", "no-aud", "wrong-iss", "no-iss", "no-exp", "nbf-future", "no-sub",
         "empty-sub"],
)
def test_invalid_claims_are_401(usher, claims):
    claims = dict(claims)
    if claims.get("nbf") == "future":
        claims["nbf"] = int(time.time()) + 3600
    token = usher.token("alice", **claims) if "sub" not in claims else jwt.encode(
        {k: v for k, v in {**usher.claims("x"), **claims}.items() if v is not None}, usher.identity_secret, "HS256")
    usher.issued_tokens.append(token)
    assert_error(usher.channel_auth(SOCKET, "private-a", token), 401, usher, tokens=[token])


def test_audience_list_containing_us_is_accepted(usher):
    assert usher.channel_auth(SOCKET, "private-a", usher.token("alice", aud=["other", AUDIENCE])).status_code == 200


@pytest.mark.parametrize("token", ["abc", "a.b", "a.b.c", "a.b.c.d", "..", "eyJ.eyJ.", "a b.c.d", "é.é.é"])
def test_malformed_tokens_are_401(usher, token):
    response = usher.post("/pusher/auth", {"socket_id": SOCKET, "channel_name": "private-a", "token": token})
    assert_error(response, 401, usher)


def test_unknown_kid_is_401(usher):
    token = usher.token("alice", headers={"kid": "nope"})
    assert_error(usher.channel_auth(SOCKET, "private-a", token), 401, usher, tokens=[token])


def test_user_info_claim_must_be_an_object(usher):
    token = usher.token("alice", user_info="not an object")
    assert_error(usher.channel_auth(SOCKET, "presence-a", token), 400, usher, tokens=[token])


def test_token_form_field_works(usher):
    token = usher.token("alice")
    via_field = usher.post("/pusher/auth", {"socket_id": SOCKET, "channel_name": "private-a", "token": token})
    via_header = usher.channel_auth(SOCKET, "private-a", token)
    assert via_field.status_code == 200 and via_field.json() == via_header.json()
    signin = usher.post("/pusher/user-auth", {"socket_id": SOCKET, "token": token})
    assert signin.status_code == 200 and signin.json() == usher.user_auth(SOCKET, token).json()


def test_bearer_scheme_is_case_insensitive(usher):
    token = usher.token("alice")
    response = usher.channel_auth(SOCKET, "private-a", headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200


def test_bearer_header_takes_precedence_over_token_field(usher):
    good, bad = usher.token("alice"), usher.token("alice", key=secrets.token_hex(32).encode())
    fields = {"socket_id": SOCKET, "channel_name": "private-a"}
    assert usher.post("/pusher/auth", {**fields, "token": bad}, token=good).status_code == 200
    assert_error(usher.post("/pusher/auth", {**fields, "token": good}, token=bad), 401, usher, tokens=[good, bad])


# -- policy ---------------------------------------------------------------------------------------------------------

def test_own_user_channel_allowed_other_users_refused(usher):
    token = usher.token("alice")
    assert usher.channel_auth(SOCKET, "private-user-alice", token).status_code == 200
    for other in ["private-user-bob", "private-user-alice2", "private-user-alic", "private-user-"]:
        assert_error(usher.channel_auth(SOCKET, other, token), 403, usher, tokens=[token])


def test_admin_channels_need_the_role(usher):
    plain, admin = usher.token("alice"), usher.token("root", role=["admin"])
    for token in [plain, usher.token("bob", role=["user"]), usher.token("bob", role="administrator")]:
        assert_error(usher.channel_auth(SOCKET, "private-admin-x", token), 403, usher, tokens=[token])
    assert usher.channel_auth(SOCKET, "private-admin-x", admin).status_code == 200
    assert usher.channel_auth(SOCKET, "private-admin-x", usher.token("root", role="admin")).status_code == 200


def test_token_channels_claim_only_narrows(usher):
    token = usher.token("alice", channels=["private-team-*"])
    assert usher.channel_auth(SOCKET, "private-team-red", token).status_code == 200
    assert_error(usher.channel_auth(SOCKET, "private-other", token), 403, usher, tokens=[token])
    widened = usher.token("alice", channels=["private-admin-*"])  # cannot grant what the rules refuse
    assert_error(usher.channel_auth(SOCKET, "private-admin-x", widened), 403, usher, tokens=[widened])


@pytest.mark.parametrize("name", ["my-channel", "cache-room", "public", "privat-x", "Private-x", "presence"])
def test_public_channels_are_400(usher, name):
    assert_error(usher.channel_auth(SOCKET, name, usher.token("alice")), 400, usher)


def test_server_to_user_channels_are_not_channel_authorized(usher):
    response = usher.channel_auth(SOCKET, "#server-to-user-alice", usher.token("alice"))
    assert response.status_code in (400, 403)
    assert_error(response, response.status_code, usher)


# -- request validation ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "socket_id",
    ["1234", "1.2.3", "a.b", " 1.2", "1.2 ", "1234.", ".1234", "1.2\n", "", "+1.2", "-1.2", "1,2", "١.٢", "1.٢",
     "1" * 21 + ".1", "1." + "9" * 21, "0x1.2"],
)
def test_malformed_socket_ids_are_400(usher, socket_id):
    token = usher.token("alice")
    assert_error(usher.channel_auth(socket_id, "private-a", token), 400, usher, tokens=[token])
    assert_error(usher.user_auth(socket_id, token), 400, usher, tokens=[token])


@pytest.mark.parametrize(
    "name",
    ["private-a b", "private-#x", "private-é", "private-中文", "private-" + "a" * 193, "presence-" + "b" * 192,
     "private-encrypted-" + "c" * 183, "", "private-a\n", "private-a\x00", "presence-a/b", "private-a:b",
     "private-encrypted-ü", "#server-to-user-", "#server-to-user-a b"],
    ids=lambda n: repr(n)[:40],
)
def test_invalid_channel_names_are_400(usher, name):
    assert_error(usher.channel_auth(SOCKET, name, usher.token("alice")), 400, usher)


def test_channel_name_of_exactly_200_is_accepted(usher):
    assert usher.channel_auth(SOCKET, "private-" + "a" * 192, usher.token("alice")).status_code == 200


@pytest.mark.parametrize("body", ["socket_id=1.2", "channel_name=private-a", "", "&&&", "socket_id&channel_name"])
def test_missing_fields_are_400(usher, body):
    assert_error(form_post(usher, body, token=usher.token("alice")), 400, usher)


def test_duplicate_fields_are_400(usher):
    token = usher.token("alice")
    for body in ["socket_id=1.2&channel_name=private-a&channel_name=private-b", "socket_id=1.2&socket_id=1.2&channel_name=private-a"]:
        assert_error(form_post(usher, body, token=token), 400, usher)


def test_percent_escapes_of_either_case_decode(usher):
    token = usher.token("alice")
    for body in ["socket_id=1%2E2&channel_name=private%2Dx", "socket_id=1%2e2&channel_name=private%2dx"]:
        response = form_post(usher, body, token=token)
        assert response.status_code == 200
        assert response.json() == usher.channel_auth("1.2", "private-x", token).json()


@pytest.mark.parametrize(
    "body",
    [b"socket_id=1.2&channel_name=private-\xff", b"socket_id=1.2&channel_name=private-%FF",
     b"socket_id=1.2&channel_name=private-%C0%AF", b"socket_id=1.2&channel_name=private-%ED%A0%80",
     b"socket_id=1.2&channel_name=private-%E4%B8", b"socket_id=1.2\xc3&channel_name=private-a",
     b"socket_id=1.2&channel_name=private-a&x\xfe=1"],
    ids=["raw-ff", "pct-ff", "overlong", "surrogate", "truncated", "raw-truncated", "bad-key"],
)
def test_invalid_utf8_is_400(usher, body):
    assert_error(form_post(usher, body, token=usher.token("alice")), 400, usher)


@pytest.mark.parametrize(
    "body",
    ["socket_id=1.2&channel_name=private-a%zz", "socket_id=1.2&channel_name=private-a%4", "socket_id=1.2&channel_name=private-a%",
     "socket_id=1.2&channel_name=private-a%%41", "socket_id=1%2&channel_name=private-a", "socket_id=1.2&channel_name=private-%4g",
     "socket_id=1.2&channel_name%=private-a"],
)
def test_invalid_percent_encoding_is_400(usher, body):
    assert_error(form_post(usher, body, token=usher.token("alice")), 400, usher)


def test_unsupported_content_type_is_400(usher):
    token = usher.token("alice")
    response = usher.post("/pusher/auth", "socket_id=1.2&channel_name=private-a", token=token,
                          headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert_error(response, 400, usher, tokens=[token])


def test_json_body_must_be_an_object_of_strings(usher):
    token = usher.token("alice")
    for body in ["[]", '"x"', "{", '{"socket_id":["1.2"],"channel_name":"private-a"}', "\xff"]:
        response = usher.post("/pusher/auth", body.encode("latin-1"), token=token, headers={"Content-Type": "application/json"})
        assert_error(response, 400, usher, tokens=[token])


def test_body_limit_is_16_kib(usher):
    token = usher.token("alice")
    prefix = "socket_id=1.2&channel_name=private-a&pad="
    exact = prefix + "a" * (16 * 1024 - len(prefix))
    assert len(exact) == 16384
    assert form_post(usher, exact, token=token).status_code == 200
    assert_error(form_post(usher, exact + "a", token=token), 413, usher, tokens=[token])
    assert_error(form_post(usher, "x" * (1 << 20), token=token), 413, usher, tokens=[token])
    assert_error(usher.post("/pusher/user-auth", "socket_id=1.2&pad=" + "a" * 20000, token=token, headers=FORM),
                 413, usher, tokens=[token])


def test_user_limits_are_400(usher):
    too_long = usher.token("u" * 129)
    assert_error(usher.channel_auth(SOCKET, "presence-a", too_long), 400, usher, tokens=[too_long])
    assert_error(usher.user_auth(SOCKET, too_long), 400, usher, tokens=[too_long])
    assert usher.channel_auth(SOCKET, "presence-a", usher.token("u" * 128)).status_code == 200
    big_info = usher.token("alice", user_info={"bio": "x" * 1100})
    assert_error(usher.channel_auth(SOCKET, "presence-a", big_info), 400, usher, tokens=[big_info])
    watchers = usher.token("alice", watchlist=[str(i) for i in range(101)])
    assert_error(usher.user_auth(SOCKET, watchers), 400, usher, tokens=[watchers])


def test_unknown_app_is_404(usher):
    token = usher.token("alice")
    for extra in [{"app_key": "0000000000"}, {"app_id": "999"}]:
        response = usher.post("/pusher/auth", {"socket_id": SOCKET, "channel_name": "private-a", **extra}, token=token)
        assert_error(response, 404, usher, tokens=[token])
    named = usher.post("/pusher/auth", {"socket_id": SOCKET, "channel_name": "private-a", "app_key": usher.key,
                                        "app_id": usher.app_id}, token=token)
    assert named.status_code == 200


# -- hostile sizes: 4xx, and the server keeps running ---------------------------------------------------------------

def raw_exchange(usher, request: bytes, timeout: float = 10.0) -> bytes:
    """Sends `request` from a background thread and reads the response head meanwhile.

    Clients like `requests` write the whole request before reading; a server may answer early (e.g. 400 after 80 KB of
    headers) and stop reading, so the response is read while the upload is still in flight.
    """
    host, port = usher.base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)

    def send():
        try:
            sock.sendall(request)
        except OSError:
            pass  # the server answered and stopped reading or closed: expected

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    received = b""
    try:
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    except TimeoutError:
        pass
    finally:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
        sender.join(5)
    return received


def status_of(head: bytes) -> int:
    assert head.startswith(b"HTTP/1.1 "), f"no HTTP response, got {head[:80]!r}"
    return int(head.split(b" ", 2)[1])


@pytest.mark.parametrize("size", [9 * 1024, 60 * 1024, 9 * 1024 * 1024])
def test_huge_authorization_header_is_4xx_and_server_survives(usher, size):
    body = b"socket_id=1.2&channel_name=private-a"
    token = b"eyJhbGciOiJIUzI1NiJ9." + b"a" * size + b".sig"
    request = (b"POST /pusher/auth HTTP/1.1\r\nHost: usher\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               b"Content-Length: %d\r\nAuthorization: Bearer %s\r\n\r\n%s" % (len(body), token, body))
    head = raw_exchange(usher, request)
    assert 400 <= status_of(head) < 500, head[:200]
    assert usher.healthy()


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_huge_token_field_is_413_and_server_survives(usher, content_type):
    huge = "eyJhbGciOiJIUzI1NiJ9." + "a" * (9 * 1024 * 1024) + ".sig"
    fields = {"socket_id": "1.2", "channel_name": "private-a", "token": huge}
    body = urllib.parse.urlencode(fields) if content_type.endswith("urlencoded") else json.dumps(fields)
    request = (b"POST /pusher/auth HTTP/1.1\r\nHost: usher\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
               % (content_type.encode(), len(body))) + body.encode()
    head = raw_exchange(usher, request)
    assert status_of(head) == 413, head[:200]
    assert usher.healthy()


def test_many_oversized_tokens_in_a_row(usher):
    """The 8 KiB token cap sits in front of libjwt (which crashes on ~9 MB tokens); hammer the path a little."""
    for size in [8193, 16_000, 40_000, 70_000]:
        token = "eyJhbGciOiJIUzI1NiJ9." + "b" * size + ".c2ln"
        assert_error(usher.channel_auth(SOCKET, "private-a", token), 401, usher, tokens=[token])
    assert usher.healthy()
