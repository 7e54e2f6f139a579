"""CORS for browser clients: pusher-js with `Authorization: Bearer` headers triggers a preflight.

The session's usher.yaml allows exactly one origin (`cors: { origins: ["https://app.example"] }`).
"""

from __future__ import annotations

import pytest
import requests

from conftest import CORS_ORIGIN, assert_error

OTHER_ORIGIN = "https://evil.example"


def preflight(usher, origin: str, path: str = "/pusher/auth", request_headers: str | None = "authorization"):
    headers = {"Origin": origin, "Access-Control-Request-Method": "POST"}
    if request_headers is not None:
        headers["Access-Control-Request-Headers"] = request_headers
    return requests.options(usher.base_url + path, headers=headers, timeout=10)


def allowed_list(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


@pytest.mark.parametrize("path", ["/pusher/auth", "/pusher/user-auth"])
def test_preflight_from_allowed_origin(usher, path):
    response = preflight(usher, CORS_ORIGIN, path)
    assert 200 <= response.status_code < 300, (response.status_code, response.text)
    assert response.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN
    assert "POST" in {m.upper() for m in allowed_list(response.headers.get("Access-Control-Allow-Methods"))}
    assert "authorization" in allowed_list(response.headers.get("Access-Control-Allow-Headers"))
    assert "origin" in allowed_list(response.headers.get("Vary"))
    # XHR never sends credentials, so they must not be allowed (and `*` must not be used).
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_preflight_with_content_type_header(usher):
    response = preflight(usher, CORS_ORIGIN, request_headers="authorization,content-type")
    assert 200 <= response.status_code < 300
    assert {"authorization", "content-type"} <= allowed_list(response.headers.get("Access-Control-Allow-Headers"))


@pytest.mark.parametrize("origin", [OTHER_ORIGIN, "https://app.example.evil.example", "http://app.example",
                                    "https://app.example:8443", "null"])
def test_preflight_from_other_origin_gets_no_allow_origin(usher, origin):
    response = preflight(usher, origin)
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Headers" not in response.headers


def test_actual_request_from_allowed_origin_carries_allow_origin(usher):
    response = usher.channel_auth("1.2", "private-a", usher.token("alice"), headers={"Origin": CORS_ORIGIN})
    assert response.status_code == 200
    assert response.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_actual_request_from_other_origin_has_no_allow_origin(usher):
    response = usher.channel_auth("1.2", "private-a", usher.token("alice"), headers={"Origin": OTHER_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("case", ["401-no-token", "403-policy", "400-bad-socket"])
def test_error_responses_to_allowed_origin_carry_allow_origin(usher, case):
    headers = {"Origin": CORS_ORIGIN}
    if case == "401-no-token":
        response = usher.channel_auth("1.2", "private-a", headers=headers)
    elif case == "403-policy":
        response = usher.channel_auth("1.2", "private-user-bob", usher.token("alice"), headers=headers)
    else:
        response = usher.channel_auth("1.2.3", "private-a", usher.token("alice"), headers=headers)
    assert_error(response, int(case[:3]), usher)
    assert response.headers.get("Access-Control-Allow-Origin") == CORS_ORIGIN
