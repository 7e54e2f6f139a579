"""Byte-identical compatibility with the real Pusher server SDK (pusher 3.3.4 on PyPI).

For random socket ids, channel names, user ids and unicode user_info, Usher's answers over HTTP must equal what
`pusher.Pusher(...).authenticate(...)` / `.authenticate_user(...)` compute with the same credentials, and an
independent HMAC-SHA256 computed here with `hmac`/`hashlib`.

Usher builds presence channel_data / sign-in user_data itself, as compact JSON with sorted keys and non-ASCII kept
as UTF-8. The SDK's `json_encoder` hook is given an encoder forcing exactly those settings, so the SDK produces the
same text from the same data; then both the text and the signature must be byte-identical.

The random cases are reproducible: set USHER_COMPAT_SEED to replay a run (the seed is in every failure message).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import string
import urllib.parse

import pusher
import pytest

CASES = 200
SEED = int(os.environ.get("USHER_COMPAT_SEED", random.SystemRandom().randrange(1 << 32)))
CHANNEL_CHARSET = string.ascii_letters + string.digits + "_-=@,.;"
MAX_CHANNEL = 200
MAX_DIGITS = 20  # Usher bounds each socket id part to 20 digits; real ids are far shorter.

# Pieces for random unicode text: accents, CJK, emoji (incl. a ZWJ sequence), JSON-special characters,
# control characters, U+2028, a private-use and a fullwidth letter (code-point vs UTF-16 ordering).
UNICODE_PIECES = [
    "é", "ë", "Zoë", "Ünïcödé", "中文", "漢字", "😀", "🎉", "👩‍💻", '"', "\\", "/", "</script>", "\\u00e9", "'", "&",
    "=", "+", "%", " ", "\n", "\t", "\r", "\b", "\f", "\u0001", "\u001f", "\u007f", "\u2028", "ß", "Ω", "ñ", "Ａ",
    "\ue000", "a", "b", "Z", "0", "9", "name", "Mr. Channels",
]
NICE_FLOATS = [1.5, -2.25, 0.1, 3.14159, -0.5, 2.5e-05, 1e300, 123.456]


class UsherJSONEncoder(json.JSONEncoder):
    """What Usher writes: compact, sorted keys, non-ASCII as UTF-8 (pusher calls `json.dumps(data, cls=this)`)."""

    def __init__(self, *args, **kwargs):
        kwargs.update(separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        super().__init__(*args, **kwargs)


def usher_json(value) -> str:
    return json.dumps(value, cls=UsherJSONEncoder)


def hmac_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


@pytest.fixture(scope="module")
def sdk(usher):
    """The real SDK configured with the app's credentials and the encryption master key Usher generated."""
    return pusher.Pusher(
        app_id=usher.app_id, key=usher.key, secret=usher.secret,
        encryption_master_key_base64=usher.encryption_master_key_base64, json_encoder=UsherJSONEncoder,
    )


@pytest.fixture(scope="module")
def alice(usher):
    return usher.token("alice")


def rng(salt: str) -> random.Random:
    return random.Random(f"{SEED}:{salt}")


def socket_id(r: random.Random) -> str:
    run = lambda: "".join(r.choice(string.digits) for _ in range(r.randint(1, MAX_DIGITS)))  # noqa: E731
    return f"{run()}.{run()}"


def channel(r: random.Random, prefix: str, avoid: tuple[str, ...] = ()) -> str:
    while True:
        length = r.choice([1, 2, 5, 20, r.randint(1, MAX_CHANNEL - len(prefix)), MAX_CHANNEL - len(prefix)])
        name = prefix + "".join(r.choice(CHANNEL_CHARSET) for _ in range(length))
        if not any(name.startswith(a) for a in avoid):
            return name


def text(r: random.Random, max_pieces: int = 6) -> str:
    return "".join(r.choice(UNICODE_PIECES) for _ in range(r.randint(1, max_pieces)))


def scalar(r: random.Random):
    kind = r.randrange(7)
    if kind == 0:
        return r.randint(-(2**53), 2**53)
    if kind == 1:
        return r.choice([0, 1, -1, 2**63 - 1, -(2**63)])
    if kind == 2:
        return r.choice([True, False])
    if kind == 3:
        return None
    if kind == 4:
        return r.choice(NICE_FLOATS)
    return text(r)


def user_info(r: random.Random, depth: int = 0) -> dict:
    while True:
        info = {}
        if depth == 0 and r.random() < 0.8:
            info["name"] = text(r)
        for _ in range(r.randint(0, 4 if depth == 0 else 2)):
            roll = r.random()
            if roll < 0.15 and depth < 2:
                value = user_info(r, depth + 1)
            elif roll < 0.3:
                value = [scalar(r) for _ in range(r.randint(0, 3))]
            else:
                value = scalar(r)
            info[text(r, 3)] = value
        if len(usher_json(info).encode()) <= 900:  # Usher's default limit is 1024 bytes of compact user_info
            return info


def check(failures: list, label: str, condition: bool, detail) -> None:
    if not condition:
        failures.append(f"{label}: {detail}")


def report(failures: list, total: int) -> None:
    assert not failures, (
        f"{len(failures)} of {total} cases differ (replay with USHER_COMPAT_SEED={SEED}):\n" + "\n".join(failures[:10])
    )


def sdk_payload(payload: dict) -> dict:
    """The SDK returns shared_secret as bytes (base64.b64encode); as JSON it is that ASCII text."""
    return {k: v.decode("ascii") if isinstance(v, bytes) else v for k, v in payload.items()}


def ok_json(response) -> dict:
    assert response.status_code == 200, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def test_private_channels_match_sdk(usher, sdk, alice):
    r, failures = rng("private"), []
    for i in range(CASES):
        sid = socket_id(r)
        name = channel(r, "private-", avoid=("private-encrypted-", "private-user-", "private-admin-"))
        body = ok_json(usher.channel_auth(sid, name, alice))
        expected = sdk_payload(sdk.authenticate(name, sid))
        label = f"#{i} {sid} {name}"
        check(failures, label, body == expected, (body, expected))
        check(failures, label, body.get("auth") == expected["auth"], "auth differs")
        check(failures, label, body.get("auth") == f"{usher.key}:{hmac_hex(usher.secret, f'{sid}:{name}')}", "hmac")
    report(failures, CASES)


def test_encrypted_channels_match_sdk(usher, sdk, alice):
    master_key = base64.b64decode(usher.encryption_master_key_base64)
    assert len(master_key) == 32
    r, failures = rng("encrypted"), []
    for i in range(CASES):
        sid = socket_id(r)
        name = channel(r, "private-encrypted-")
        body = ok_json(usher.channel_auth(sid, name, alice))
        expected = sdk_payload(sdk.authenticate(name, sid))
        label = f"#{i} {sid} {name}"
        check(failures, label, body == expected, (body, expected))
        check(failures, label, set(body) == {"auth", "shared_secret"}, body)
        check(failures, label, body.get("auth") == expected["auth"], "auth differs")
        check(failures, label, body.get("shared_secret") == expected["shared_secret"], "shared_secret differs")
        independent = base64.b64encode(hashlib.sha256(name.encode() + master_key).digest()).decode()
        check(failures, label, body.get("shared_secret") == independent, "shared_secret != b64(sha256(name‖key))")
        check(failures, label, body.get("auth") == f"{usher.key}:{hmac_hex(usher.secret, f'{sid}:{name}')}", "hmac")
    report(failures, CASES)


def test_presence_channels_match_sdk(usher, sdk):
    r, failures = rng("presence"), []
    for i in range(CASES):
        sid = socket_id(r)
        name = channel(r, "presence-")
        sub = text(r, 8)
        info = user_info(r) if r.random() < 0.9 else None
        token = usher.token(sub, user_info=info)
        body = ok_json(usher.channel_auth(sid, name, token))
        label = f"#{i} {sid} {name} sub={sub!r} user_info={info!r}"
        if set(body) != {"auth", "channel_data"}:
            failures.append(f"{label}: {body}")
            continue
        data = body["channel_data"]
        # Usher's text is exactly compact, sorted, UTF-8 JSON of {"user_id": sub, "user_info": …}.
        member = {"user_id": sub} if info is None else {"user_id": sub, "user_info": info}
        check(failures, label, data == usher_json(member), (data, usher_json(member)))
        check(failures, label, json.loads(data) == member, data)
        # The SDK, given the same data and the same JSON settings, produces the same text and signature.
        expected = sdk_payload(sdk.authenticate(name, sid, json.loads(data)))
        check(failures, label, expected["channel_data"] == data, (expected["channel_data"], data))
        check(failures, label, body == expected, (body, expected))
        check(failures, label, body["auth"] == expected["auth"], "auth differs")
        signed = hmac_hex(usher.secret, f"{sid}:{name}:{data}")
        check(failures, label, body["auth"] == f"{usher.key}:{signed}", "hmac over the exact channel_data text")
    report(failures, CASES)


def test_user_signin_matches_sdk(usher, sdk):
    r, failures = rng("signin"), []
    for i in range(CASES):
        sid = socket_id(r)
        # pusher validates sign-in ids against the channel charset (≤ 200); Usher caps user ids at 128.
        sub = "".join(r.choice(CHANNEL_CHARSET) for _ in range(r.choice([1, 10, r.randint(1, 128), 128])))
        info = user_info(r) if r.random() < 0.8 else None
        watchlist = ["".join(r.choice(CHANNEL_CHARSET) for _ in range(r.randint(1, 12))) for _ in range(r.randint(0, 5))]
        if r.random() < 0.5:
            watchlist = None
        token = usher.token(sub, user_info=info, watchlist=watchlist)
        body = ok_json(usher.user_auth(sid, token))
        label = f"#{i} {sid} sub={sub!r} user_info={info!r} watchlist={watchlist!r}"
        if set(body) != {"auth", "user_data"}:
            failures.append(f"{label}: {body}")
            continue
        data = body["user_data"]
        user = {"id": sub}
        if info is not None:
            user["user_info"] = info
        if watchlist is not None:
            user["watchlist"] = watchlist
        check(failures, label, data == usher_json(user), (data, usher_json(user)))
        expected = sdk.authenticate_user(sid, json.loads(data))
        check(failures, label, expected["user_data"] == data, (expected["user_data"], data))
        check(failures, label, body == expected, (body, expected))
        check(failures, label, body["auth"] == f"{usher.key}:{hmac_hex(usher.secret, f'{sid}::user::{data}')}", "hmac")
    report(failures, CASES)


def test_longest_and_shortest_names(usher, sdk, alice):
    for name in ["private-" + "a" * (MAX_CHANNEL - 8), "private-x", "private-encrypted-" + "=" * (MAX_CHANNEL - 18)]:
        for sid in ["0.0", "1" * MAX_DIGITS + "." + "9" * MAX_DIGITS]:
            assert ok_json(usher.channel_auth(sid, name, alice)) == sdk_payload(sdk.authenticate(name, sid))
    name = "presence-" + ";" * (MAX_CHANNEL - 9)
    body = ok_json(usher.channel_auth("1.1", name, alice))
    assert body == sdk.authenticate(name, "1.1", json.loads(body["channel_data"]))


def pusher_js_form(fields: dict) -> str:
    """pusher-js encodes every key and value with encodeURIComponent."""
    return "&".join(f"{urllib.parse.quote(k, safe='-_.!~*()' + chr(39))}={urllib.parse.quote(v, safe='-_.!~*()' + chr(39))}"
                    for k, v in fields.items())


@pytest.mark.parametrize("encoding", ["pusher-js form", "form with +", "no content type", "json"])
def test_request_encodings(usher, sdk, encoding):
    sid, name = "123.456", "presence-=@,;.room_-X"
    token = usher.token("u-42", user_info={"name": "Zoë 中文 😀"})
    fields = {"socket_id": sid, "channel_name": name}
    if encoding == "pusher-js form":
        response = usher.post("/pusher/auth", pusher_js_form(fields), token=token,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    elif encoding == "form with +":
        response = usher.post("/pusher/auth", urllib.parse.urlencode(fields), token=token,
                              headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
    elif encoding == "no content type":  # pusher-websocket-swift
        response = usher.post("/pusher/auth", pusher_js_form(fields).encode(), token=token)
        assert "Content-Type" not in response.request.headers
    else:
        response = usher.post("/pusher/auth", json.dumps(fields), token=token, headers={"Content-Type": "application/json"})
    body = ok_json(response)
    assert body["channel_data"] == '{"user_id":"u-42","user_info":{"name":"Zoë 中文 😀"}}'
    assert body == sdk.authenticate(name, sid, json.loads(body["channel_data"]))


def test_custom_params_from_pusher_js_are_ignored(usher, sdk, alice):
    """pusher-js appends the app's custom `params` after socket_id and channel_name."""
    fields = {"socket_id": "1.2", "channel_name": "private-a", "room": "x y", "csrf": "%&="}
    body = ok_json(usher.post("/pusher/auth", pusher_js_form(fields), token=alice,
                              headers={"Content-Type": "application/x-www-form-urlencoded"}))
    assert body == sdk.authenticate("private-a", "1.2")


def test_numeric_user_info_values_keep_their_json_types(usher):
    """Integers stay integers (never booleans), booleans stay booleans, nested order is sorted."""
    info = {"n": 1, "z": 0, "t": True, "f": False, "neg": -7, "list": [1, True, None, "1"], "o": {"b": 1, "a": 2}}
    body = ok_json(usher.channel_auth("1.2", "presence-types", usher.token("typed", user_info=info)))
    assert body["channel_data"] == usher_json({"user_id": "typed", "user_info": info})
    decoded = json.loads(body["channel_data"])["user_info"]
    assert [type(decoded[k]) for k in ("n", "z", "t", "f")] == [int, int, bool, bool]


@pytest.mark.xfail(strict=True, reason="BUG: HS256 tokens are re-parsed by libjwt/jansson, which refuses integers "
                   "beyond int64 and \\u0000 in strings, so validly signed tokens are rejected as 'invalid signature' "
                   "(Sources/UsherCrypto/JWT/SignatureEngine.swift:31)")
@pytest.mark.parametrize("claim", [{"counter": 2**64}, {"user_info": {"name": "nul\x00byte"}}], ids=["int>int64", "NUL"])
def test_validly_signed_token_with_unusual_json_is_accepted(usher, claim):
    token = usher.token("alice", **claim)
    assert usher.channel_auth("1.2", "presence-odd", token).status_code == 200


@pytest.mark.xfail(strict=True, reason="BUG: user_info keys are Swift String dictionary keys, which compare by "
                   "canonical equivalence: 'é' (U+00E9) and 'e'+U+0301 collapse into one member "
                   "(Sources/UsherCrypto/Encoding/JSONValue.swift, case .object([String: JSONValue]))")
def test_canonically_equivalent_user_info_keys_are_kept(usher):
    info = {"\u00e9": 1, "e\u0301": 2}
    body = ok_json(usher.channel_auth("1.2", "presence-nfc", usher.token("nfc", user_info=info)))
    assert json.loads(body["channel_data"])["user_info"] == info


def test_non_nfc_keys_sorted_by_code_point(usher):
    info = {"e\u0301x": 1, "\u00e9a": 2}
    body = ok_json(usher.channel_auth("1.2", "presence-nfc", usher.token("nfc", user_info=info)))
    assert body["channel_data"] == usher_json({"user_id": "nfc", "user_info": info})


def test_concurrent_requests_match_sdk(usher, sdk):
    """Parallel clients over several connections: every answer still equals the SDK's (no cross-request mixing)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    local = threading.local()
    r = rng("concurrent")
    jobs = []
    for i in range(400):
        sid, kind = socket_id(r), i % 4
        if kind == 0:
            jobs.append(("/pusher/auth", sid, channel(r, "private-", avoid=("private-encrypted-", "private-user-",
                                                                             "private-admin-")), "alice", None))
        elif kind == 1:
            jobs.append(("/pusher/auth", sid, channel(r, "private-encrypted-"), "alice", None))
        elif kind == 2:
            jobs.append(("/pusher/auth", sid, channel(r, "presence-"), text(r, 4), user_info(r)))
        else:
            jobs.append(("/pusher/user-auth", sid, None, "user-" + str(i), user_info(r)))
    tokens = [usher.token(sub, user_info=info) for _, _, _, sub, info in jobs]

    def run(index):
        path, sid, name, _, _ = jobs[index]
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        fields = {"socket_id": sid} if name is None else {"socket_id": sid, "channel_name": name}
        response = session.post(usher.base_url + path, data=fields, timeout=10,
                                headers={"Authorization": f"Bearer {tokens[index]}"})
        return index, response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(run, range(len(jobs))))

    failures = []
    for index, status, body in results:
        path, sid, name, sub, info = jobs[index]
        if status != 200:
            failures.append(f"#{index}: {status} {body}")
            continue
        if path == "/pusher/user-auth":
            expected = sdk.authenticate_user(sid, {"id": sub, "user_info": info})
        elif name.startswith("presence-"):
            expected = sdk.authenticate(name, sid, {"user_id": sub, "user_info": info})
        else:
            expected = sdk_payload(sdk.authenticate(name, sid))
        check(failures, f"#{index} {path} {sid} {name} sub={sub!r}", body == expected, (body, expected))
    report(failures, len(jobs))
