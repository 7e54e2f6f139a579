#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into Fuzz/Corpus/<target>/ (small files; run again after changing it).

Seeds are real requests and bodies as the relays, pusher-js and the server SDKs send them, channel_data and
user_data, JWTs, the YAML of docs/configuration.md and SSE streams as Usher writes them. Selector bytes come first
where a target reads them (see each target's doc comment in Fuzz/Sources/UsherFuzz/).
"""
import base64, hashlib, hmac, json, os, shutil

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Corpus")
APP_KEY, APP_SECRET = "fuzzappkey", "fuzz-app-secret-0123456789abcdef"
RELAY_TOKEN = "fuzz-relay-token-0123456789abcdef"
IDENTITY_SECRET = b"fuzz-identity-secret-0123456789abcdef"
corpus = {}

def add(target, data):
    corpus.setdefault(target, []).append(data if isinstance(data, bytes) else data.encode())

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def hs256(payload, secret=IDENTITY_SECRET, header=None):
    head = b64(json.dumps(header or {"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64(json.dumps(payload, separators=(",", ":")).encode())
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"

def sign(message):
    return APP_KEY + ":" + hmac.new(APP_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()

def request(target, body, headers=()):
    head = f"POST {target} HTTP/1.1\r\nHost: localhost:8080\r\n" + "".join(f"{h}\r\n" for h in headers)
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body.encode()

channel_data = '{"user_id":"42","user_info":{"name":"Ann"}}'
# wire: the fast path's three routes, as pusher-js and the relay send them.
form = "socket_id=123.456&channel_name=private-chat"
add("wire", request("/pusher/auth", form, ["Content-Type: application/x-www-form-urlencoded", "Origin: http://localhost:8000"]))
add("wire", request("/pusher/auth?app_key=" + APP_KEY, "socket_id=1.2&channel_name=presence-room&user_id=ann", ["Content-Type: application/x-www-form-urlencoded", "Connection: keep-alive"]))
add("wire", request("/pusher/auth", json.dumps({"socket_id": "1.2", "channel_name": "private-encrypted-x"}), ["Content-Type: application/json", "Authorization: Bearer " + hs256({"sub": "u", "exp": 4102444800})]))
sub = {"node": "node-a", "socket_id": "1.2", "channel": "presence-room", "auth": sign("1.2:presence-room:" + channel_data), "channel_data": channel_data}
add("wire", request("/relay/v1/apps/fuzz/subscriptions", json.dumps(sub), ["Authorization: Bearer " + RELAY_TOKEN, "Content-Type: application/json"]))
batch = {"ops": [{"op": "join", "app": "fuzz", "socket_id": "1.2", "channel": "private-a", "auth": sign("1.2:private-a")}, {"op": "leave", "app": "fuzz", "socket_id": "1.2", "channel": "private-a"}, {"op": "disconnect", "app": "fuzz", "socket_id": "1.3"}]}
add("wire", request("/relay/v1/nodes/node-a/batch", json.dumps(batch), ["Authorization: Bearer " + RELAY_TOKEN, "Connection: close"]))
add("wire", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
add("wire", b"POST /pusher/auth HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")

# auth-params: [content type][extras] body.
for ct, extras, body in [(1, 0, form), (1, 0, "socket_id=1.2&channel_name=presence-room&user_id=ann%20b+c"), (2, 1, json.dumps({"socket_id": "1.2", "channel_name": "presence-x", "app_id": "fuzz"})),
                         (0, 4, "socket_id=1.2&channel_name=private-team-blue"), (1, 1, "socket_id=1.2&channel_name=private-team-red&app_key=" + APP_KEY),
                         (3, 2, "socket_id=1.2&channel_name=private-encrypted-a&app_id=fuzz"), (4, 0, '{"socket_id":"1.2","channel_name":"presence-a","user_id":7}'),
                         (1, 0, "socket_id=1.2&channel_name=private-a&token=" + hs256({"sub": "t", "exp": 4102444800, "team": "blue"}) + "&app_key=" + APP_KEY),
                         (1, 0, "a=%zz&b=%e2%82%ac&c"), (1, 0, "x=1&x=2")]:
    add("auth-params", bytes([ct, extras]) + body.encode())

# json: channel_data, user_data, claims, edge numbers and strings.
for text in [channel_data, '{"user_id":10}', '{"user_id":"x","user_info":null}', '{"id":"12345","user_info":{"name":"Ann"},"watchlist":["7","8"]}',
             '{"sub":"42","exp":1700000000,"aud":["a","b"],"nbf":1.5e9}', '[1,-0,0.5,1e1,1E-400,9007199254740993.9,-9223372036854775808,18446744073709551616]',
             '"\\ud83d\\ude00\\u00e9\\n\\/"', '\ufeff {"a":[{"b":null}],"c":true,"d":false} ', '{"a":1,"a":2}', '[1,]', "[" * 40 + "]" * 40]:
    add("json", text)

# jwt: [selector] then a raw token, or header \0 payload for the harness to sign (selector bit 3; key in the high nibble).
claims = {"sub": "42", "exp": 1700000100, "iat": 1699999000, "user_info": {"name": "Ann"}}
for selector, header, payload in [(0x08, {"alg": "HS256", "typ": "JWT"}, claims), (0x19, {"alg": "ES256"}, claims), (0x2A, {"alg": "RS256", "typ": "JWT"}, claims),
                                  (0x3B, {"alg": "EdDSA"}, claims), (0x4C, {"alg": "HS256", "kid": "a"}, claims), (0x5C, {"alg": "ES256", "kid": "b"}, claims),
                                  (0x0D, {"alg": "HS256"}, dict(claims, iss="https://issuer.example", aud=["fuzz"])), (0x18, {"alg": "HS256"}, claims),
                                  (0x68, {"alg": "HS256", "typ": "JWT"}, {"sub": "u", "exp": 4102444800, "user_info": {"a": 1}, "channel": "presence-a", "socket_id": "1.2", "info": {"n": 1}}),
                                  (0x08, {"alg": "none"}, claims), (0x08, {"alg": "HS256", "crit": ["x"]}, claims)]:
    add("jwt", bytes([selector]) + json.dumps(header, separators=(",", ":")).encode() + b"\0" + json.dumps(payload, separators=(",", ":")).encode())
add("jwt", b"\x00" + hs256(claims, b"jwt-fuzz-secret-0123456789abcdef").encode())
add("jwt", b"\x00" + hs256({"sub": "u", "exp": 4102444800}).encode())
add("jwt", b"\x00eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.")

# channels: [max length selector] text.
for text in ["123.456", "1.2", "presence-room", "private-encrypted-x", "private-a", "cache-x", "#server-to-user-42", "#server-to-user-", "a b", "private-é", "00000000000000000001.1", "-_=@,.;"]:
    add("channels", b"\x00" + text.encode())

# api-signature: [method | app << 3 | resign << 5] target \n body.
add("api-signature", b"\x20/apps/fuzz/channels?filter_by_prefix=presence-&info=user_count,subscription_count")
add("api-signature", b"\x21/apps/fuzz/events\n" + json.dumps({"name": "e", "channels": ["a"], "data": "{}"}).encode())
add("api-signature", b"\x28/users/42/terminate_connections\n{}")
add("api-signature", b"\x00/apps/fuzz/channels/presence-room/users?auth_key=fuzzappkey&auth_timestamp=1700000000&auth_version=1.0&auth_signature=00")
add("api-signature", b"\x20/apps/fuzz/channels?A=1&a=2")
add("api-signature", b"\x20/apps/fuzz/channels?%C3%A9=1&f=2&e%CC%81x=3")

# client-message: what pusher-js and pysher send.
for message in [{"event": "pusher:subscribe", "data": {"channel": "presence-room", "auth": sign("1.2:presence-room:" + channel_data), "channel_data": channel_data}},
                {"event": "pusher:subscribe", "data": json.dumps({"channel": "private-a", "auth": "k:s"})}, {"event": "pusher:ping", "data": {}},
                {"event": "pusher:signin", "data": {"auth": "k:s", "user_data": '{"id":"1","watchlist":["2"]}'}},
                {"event": "client-typing", "channel": "private-a", "data": {"who": "ann", "n": 1.5}}, {"event": "pusher:unsubscribe", "data": {"channel": "x"}}]:
    add("client-message", json.dumps(message))
add("client-message", '{"event":1}')

# sse: [cut count][cuts] stream, as Usher writes it.
stream = ('id: 1\nevent: member_added\ndata: {"app":"fuzz","channel":"presence-room","user_id":"42","user_info":{"name":"Ann"}}\n\n'
          ': keep-alive\nid: 2\n\nid: 3\nevent: reset\ndata: {}\n\nevent: subscription_count\ndata: {"app":"fuzz","channel":"a","subscription_count":3}\n\n')
add("sse", b"\x00" + stream.encode())
add("sse", b"\x03\x10\x80\xf0" + stream.replace("\n", "\r\n").encode())
add("sse", b"\x01\x40data: a\ndata: b\r\nid: x\nretry: 5\nfoo\n\n")

# relay-api: lines of [selector] JSON (even selector: single subscribe for fuzz/dev/unknown; odd: batch on a node).
def join(socket, channel, user=None, info=None, **extra):
    op = {"socket_id": socket, "channel": channel, "auth": True}
    if user is not None:
        op["channel_data"] = json.dumps({"user_id": user, **({"user_info": info} if info else {})}, separators=(",", ":"))
    op.update(extra)
    return op

lines = [b"\x00" + json.dumps(dict(join("1.1", "presence-room", "a", {"n": 1}), node="node-a")).encode(),
         b"\x00" + json.dumps(dict(join("1.2", "presence-room", "a"), node="node-a")).encode(),
         b"\x01" + json.dumps({"ops": [dict(join("1.3", "presence-room", "b"), op="join", app="fuzz"), dict(join("1.4", "presence-room", "c"), op="join", app="fuzz"),
                                       dict(join("1.5", "presence-room", "d"), op="join", app="fuzz"), {"op": "leave", "app": "fuzz", "socket_id": "1.1", "channel": "presence-room"},
                                       {"op": "disconnect", "app": "fuzz", "socket_id": "1.2"}]}).encode()]
add("relay-api", b"\n".join(lines))
add("relay-api", b"\x02" + json.dumps(dict(join("1.1", "private-a"), node="n")).encode() + b"\n\x00" + json.dumps({"node": "n", "socket_id": "1.1", "channel": "presence-x", "token": {"sub": "u", "info": {"a": 1}}}).encode())
add("relay-api", b"\x00" + json.dumps(dict(join("1.1", "#server-to-user-7", user_data='{"id":"7"}'), node="n")).encode())
add("relay-api", b"\x00" + json.dumps(dict(join("1.1", "presence-big", "a", {"x": "y" * 200}), node="n")).encode())
add("relay-api", b"\x03{\"ops\":[1,{\"op\":\"nope\"}]}\n\x05{}\n\x07[]")

# relay-diff: [app] setup batch lines, then the join's fields.
add("relay-diff", b"\x00" + json.dumps(join("1.1", "presence-room", "a")).encode())
add("relay-diff", b"\x00" + b"\n".join([json.dumps({"ops": [dict(join(f"1.{i}", "presence-room", str(i)), op="join", app="fuzz") for i in range(3)]}).encode(),
                                         json.dumps(join("2.1", "presence-room", "9")).encode()]))
add("relay-diff", b"\x00" + b"\n".join([json.dumps({"ops": [dict(join("1.1", "presence-room", "a"), op="join", app="fuzz")]}).encode(), json.dumps(join("1.1", "presence-room", "a")).encode()]))
add("relay-diff", b"\x01" + json.dumps(join("1.1", "private-a")).encode())
add("relay-diff", b"\x00" + json.dumps({"socket_id": "1.1", "channel": "presence-t", "token": {"sub": "u", "info": {"a": 1}}}).encode())
add("relay-diff", b"\x02" + json.dumps({"socket_id": "x", "channel": "a"}).encode())

# config: the README/configuration.md example, and variants reaching each key source.
doc = open(os.path.join(os.path.dirname(ROOT), "..", "docs", "configuration.md")).read()
example = doc.split("```yaml\n", 1)[1].split("```", 1)[0].replace("identity-3.secret", "hs256.secret")
add("config", example)
add("config", "apps:\n  - id: a\n    identity: { public_key_file: public.pem, algorithm: ES256 }\n  - id: b\n    identity: { jwks_file: jwks.json }\n"
              "    webhooks: { url: 'https://hooks.example/x', events: [member_added, client_event], batch_ms: 100 }\n")
add("config", "server:\n  port: 0x1F90\n  max_body_bytes: 1_024\nrelay: { lease_ms: 15000, grace_ms: 3000, keepalive_seconds: 15 }\nstore: { url: memory, pool_size: 4 }\ntokens: { issuer: x, max_ttl_seconds: 60, default_ttl_seconds: 30 }\n")
add("config", "a: &a [1, 2]\nb: *a\napps: []\n")

shutil.rmtree(ROOT, ignore_errors=True)
for target, seeds in corpus.items():
    os.makedirs(os.path.join(ROOT, target))
    for data in seeds:
        with open(os.path.join(ROOT, target, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
            f.write(data)
print({target: len(seeds) for target, seeds in corpus.items()})
