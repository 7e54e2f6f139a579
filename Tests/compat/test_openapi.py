"""The OpenAPI descriptions of `usher serve` (docs/openapi.yaml) and of the relay's HTTP side
(docs/relay-openapi.yaml): both are valid OpenAPI 3.1 (openapi-spec-validator), and a live server and relay answer
exactly as described, checked by schemathesis fuzzing every operation with positive and negative data.

The servers are `relay_support.relay_cluster` (one `usher serve`, two relay nodes, app 77). Every request is
authenticated the way a real caller would be (`UsherAuth`): the relay token on `/relay/v1/*`, a fresh HS256 identity
token on the auth routes, and a Pusher signature (HMAC-SHA256 over the request as sent) on the HTTP and trigger
APIs, so the fuzzing reaches the handlers behind the 401s. Checks: not_a_server_error, status_code_conformance,
content_type_conformance, response_schema_conformance. Any failure is a server bug (or a wrong spec): fix the
server, not the spec, unless the spec is what is wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from relay_support import RELAY_APP_ID, RELAY_APP_KEY, relay_cluster  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
USHER_SPEC = DOCS / "openapi.yaml"
RELAY_SPEC = DOCS / "relay-openapi.yaml"

# Examples per operation and generation mode: enough to reach every documented status of every route, small enough
# that the whole file runs in under a minute on two cores. Derandomized, so a run is reproducible; for a deeper,
# random search set USHER_OPENAPI_EXAMPLES (e.g. 500).
MAX_EXAMPLES = int(os.environ.get("USHER_OPENAPI_EXAMPLES", "30"))
DERANDOMIZE = "USHER_OPENAPI_EXAMPLES" not in os.environ
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance"]

# Requests sent per operation label ("POST /pusher/auth"), by schema: proves the fuzzing reached the servers.
SENT: dict[str, Counter] = {"usher": Counter(), "relay": Counter()}
# Statuses answered per operation label.
STATUSES: dict[str, Counter] = defaultdict(Counter)


def _config(base_url: str) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({
        "base-url": base_url,
        # Positive and negative data are generated below, per operation; the signing parameters are UsherAuth's.
        "generation": {"with-security-parameters": False},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "request-timeout": 10,
        "operations": [
            # The event stream never ends: read it for a moment (schemathesis validates each event read).
            {"include-path": "/relay/v1/events", "request-timeout": 1.0, "max-stream-events": 5},
        ],
    })


class UsherAuth(requests.auth.AuthBase):
    """Authenticates a request as its route expects, after schemathesis built it (so the signature covers exactly
    the path, query and body that are sent)."""

    def __init__(self, cluster, relay_token: str, label: str):
        self.cluster = cluster
        self.relay_token = relay_token
        self.label = label

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        SENT[self.label][f"{request.method} {_template(request.path_url)}"] += 1
        path = urlsplit(request.url).path
        if path.startswith(("/relay/v1/", "/relay-internal/")):
            request.headers["Authorization"] = f"Bearer {self.relay_token}"
        elif path in ("/pusher/auth", "/pusher/user-auth", "/v1/tokens"):
            request.headers["Authorization"] = "Bearer " + self.cluster.token("fuzzer", user_info={"name": "Fuzz"})
        elif path.startswith(("/apps/", "/users/")):
            _sign(request, RELAY_APP_KEY, self.cluster.secret)
        return request


def _template(path_url: str) -> str:
    return urlsplit(path_url).path


SIGNING_PARAMETERS = {"auth_key", "auth_timestamp", "auth_version", "body_md5", "auth_signature"}


def _sign(request: requests.PreparedRequest, key: str, secret: str) -> None:
    """Signs like the official Pusher server SDKs (PUSHER-PROTOCOL.md §7)."""
    scheme, netloc, path, query, fragment = urlsplit(request.url)
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode()
    # Whatever the generator put in the signing parameters (the security scheme names `auth_signature`) is replaced.
    pairs = [(n, v) for n, v in parse_qsl(query, keep_blank_values=True) if n.lower() not in SIGNING_PARAMETERS]
    query = urlencode(pairs)
    auth = {"auth_key": key, "auth_timestamp": str(int(time.time())), "auth_version": "1.0"}
    if body:
        auth["body_md5"] = hashlib.md5(body).hexdigest()
    params = {name.lower(): value for name, value in pairs}
    params.update(auth)
    to_sign = "\n".join([request.method.upper(), path, "&".join(f"{k}={params[k]}" for k in sorted(params))])
    auth["auth_signature"] = hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
    signed_query = "&".join(filter(None, [query, urlencode(auth)]))
    request.url = urlunsplit((scheme, netloc, path, signed_query, fragment))


def _relay_token(cluster) -> str:
    return (cluster.workdir / "keys" / "relay.token").read_text().strip()


@pytest.fixture(scope="module")
def usher_schema(relay_cluster):  # noqa: F811 (fixture)
    return schemathesis.openapi.from_path(USHER_SPEC, config=_config(relay_cluster.usher_url))


@pytest.fixture(scope="module")
def relay_schema(relay_cluster):  # noqa: F811 (fixture)
    return schemathesis.openapi.from_path(RELAY_SPEC, config=_config(f"http://127.0.0.1:{relay_cluster.relay_ports[0]}"))


@pytest.mark.parametrize("spec", [USHER_SPEC, RELAY_SPEC], ids=lambda p: p.name)
def test_spec_is_valid_openapi_3_1(spec):
    document, _ = read_from_filename(str(spec))
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema


ROUTE = re.compile(r'\b(router|group)\.(get|post|put|delete)\("([^"]+)"')


def registered_routes(folder: str) -> set[tuple[str, str]]:
    """The routes a target registers, read from its Swift sources: `router.get("/x")`, and `group.post("/y")` under
    the relay API's `/relay/v1` group (the only route group)."""
    routes = set()
    for source in (ROOT / "Sources" / folder).rglob("*.swift"):
        for kind, method, path in ROUTE.findall(source.read_text()):
            routes.add((method.upper(), ("/relay/v1" if kind == "group" else "") + path))
    return routes


def documented_routes(spec: Path) -> set[tuple[str, str]]:
    document, _ = read_from_filename(str(spec))
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item
            if method in ("get", "post", "put", "delete", "options")}


def test_usher_spec_covers_every_route():
    """Each route Usher registers (Sources/UsherServer) is in the spec and the reverse, so a new route cannot go
    undocumented; the CORS middleware answers OPTIONS /pusher/auth without a route."""
    routes = registered_routes("UsherServer") | {("OPTIONS", "/pusher/auth")}
    assert len(routes) > 20, routes  # the pattern still finds the registrations
    assert documented_routes(USHER_SPEC) == routes


def test_relay_spec_covers_every_route():
    """The same for the relay's HTTP side (Sources/UsherRelay); the peer route is registered through a constant."""
    routes = registered_routes("UsherRelay") | {("POST", "/relay-internal/v1/publish")}
    assert len(routes) >= 4, routes
    assert documented_routes(RELAY_SPEC) == routes


# Hypothesis drives each operation directly (not `schema.parametrize()`, whose pytest plugin needs a pytest internal
# the pinned pytest lacks). Failures are collected rather than raised, so one run reports every distinct problem.
EXAMPLES_BY_PATH = {"/relay/v1/events": 4}  # each read of the stream takes its request timeout


def _fuzz(schema, auth: "UsherAuth") -> list[str]:
    failures: dict[tuple, str] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        examples = EXAMPLES_BY_PATH.get(operation.path, MAX_EXAMPLES)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            # The app the servers serve; otherwise nearly every request would stop at "unknown app".
            pinned = {"app": RELAY_APP_ID} if any(p.name == "app" for p in operation.path_parameters) else None

            @given(case=operation.as_strategy(generation_mode=mode, path_parameters=pinned))
            @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
                      derandomize=DERANDOMIZE,
                      suppress_health_check=list(HealthCheck))
            def run(case):
                response = case.call(auth=auth)
                STATUSES[operation.label][response.status_code] += 1
                if response.status_code == 401 and _always_authorized(operation):
                    key = (operation.label, "refused credentials", response.text)
                    failures.setdefault(key, _describe(operation.label, mode, _Refused(), response))
                try:
                    case.validate_response(response, transport_kwargs={"auth": auth})
                except FailureGroup as group:
                    for failure in group.exceptions:
                        key = (operation.label, type(failure).__name__, failure.title, response.status_code)
                        failures.setdefault(key, _describe(operation.label, mode, failure, response))

            try:
                run()
            except Unsatisfiable:
                pass  # nothing negative to generate (an operation without parameters or body)
    return list(failures.values())


def _always_authorized(operation) -> bool:
    """Whether `UsherAuth` always sends valid credentials for this operation (so a 401 is a server bug): the relay
    token, or a correct Pusher signature. Not the identity routes, whose bodies may carry a generated `token`."""
    return any(name in ("relayToken", "pusherSignature") for requirement in operation.definition.raw.get("security", [])
               for name in requirement)


class _Refused:
    title = "Correctly authenticated request refused with 401"
    message = "UsherAuth sent the relay token or a correct Pusher signature (PUSHER-PROTOCOL.md §7)"


def _describe(label: str, mode, failure, response) -> str:
    request = response.request
    body = request.body.decode(errors="replace") if isinstance(request.body, bytes) else request.body
    return (f"{label} ({mode.value}): {failure.title}: {failure.message}\n"
            f"    request: {request.method} {request.url}\n"
            f"    content-type: {request.headers.get('Content-Type')}; body: {str(body)[:400]!r}\n"
            f"    response: {response.status_code} {response.headers.get('content-type', [None])[0]} {response.text[:400]!r}")


def test_usher_serve_matches_spec(usher_schema, relay_cluster):  # noqa: F811 (fixture)
    failures = _fuzz(usher_schema, UsherAuth(relay_cluster, _relay_token(relay_cluster), "usher"))
    assert not failures, f"{len(failures)} distinct failures:\n" + "\n".join(failures)


def test_relay_matches_spec(relay_schema, relay_cluster):  # noqa: F811 (fixture)
    failures = _fuzz(relay_schema, UsherAuth(relay_cluster, _relay_token(relay_cluster), "relay"))
    assert not failures, f"{len(failures)} distinct failures:\n" + "\n".join(failures)


def test_fuzzing_reached_every_operation(usher_schema, relay_schema):
    """The fuzz tests above really talked to the servers: every operation got many requests."""
    for label, schema in (("usher", usher_schema), ("relay", relay_schema)):
        counts = SENT[label]
        assert sum(counts.values()) > 0, f"no request reached the {label} server"
        for result in schema.get_all_operations():
            operation = result.ok()
            pattern = operation.path
            sent = sum(n for key, n in counts.items() if _matches(key, operation.method.upper(), pattern))
            # An operation without inputs has one distinct request; any other gets many.
            wanted = 5 if operation.path_parameters or operation.query or operation.body else 1
            assert sent >= wanted, f"{operation.method.upper()} {pattern}: only {sent} requests"


def _matches(key: str, method: str, template: str) -> bool:
    sent_method, sent_path = key.split(" ", 1)
    if sent_method != method:
        return False
    parts, template_parts = sent_path.split("/"), template.split("/")
    return len(parts) == len(template_parts) and all(
        t.startswith("{") or p == t for p, t in zip(parts, template_parts))



def test_relay_signature_decodes_plus_as_space(relay_cluster):  # noqa: F811 (fixture)
    """The SDKs send a space in a query value as `+` (`urlencode`) and sign the decoded value; the relay must verify
    the signature over the same decoding Usher uses, so such a request is judged on its content (400, unknown info
    attribute), not refused as badly signed (401)."""
    for base in (relay_cluster.usher_url, f"http://127.0.0.1:{relay_cluster.relay_ports[0]}"):
        request = requests.Request("GET", f"{base}/apps/{RELAY_APP_ID}/channels/presence-room?info=user+count").prepare()
        _sign(request, RELAY_APP_KEY, relay_cluster.secret)
        with requests.Session() as session:
            response = session.send(request, timeout=10)
        assert response.status_code == 400, (base, response.status_code, response.text)
        assert response.json()["error"], response.text


def test_relay_answers_oversized_bodies_with_json(relay_cluster):  # noqa: F811 (fixture)
    """A body over the relay's limit is refused as every other refusal is, `413 {"error":…}` in JSON (as Usher does),
    not with an empty body and no Content-Type."""
    body = ('{"name":"e","channel":"c","data":"' + "x" * 200_000 + '"}').encode()
    base = f"http://127.0.0.1:{relay_cluster.relay_ports[0]}"
    for path in (f"/apps/{RELAY_APP_ID}/events", f"/apps/{RELAY_APP_ID}/batch_events"):
        request = requests.Request("POST", base + path, data=body, headers={"Content-Type": "application/json"}).prepare()
        _sign(request, RELAY_APP_KEY, relay_cluster.secret)
        with requests.Session() as session:
            response = session.send(request, timeout=10)
        assert response.status_code == 413, (path, response.status_code, response.text[:200])
        assert response.headers.get("Content-Type", "").startswith("application/json"), (path, response.headers)
        assert response.json()["error"], response.text
