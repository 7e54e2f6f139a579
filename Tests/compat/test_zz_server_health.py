"""Runs last (file order): after everything above, the server is still the same live process, and its log never
recorded a token or a secret."""

from __future__ import annotations


def test_server_process_is_alive_and_healthy(usher):
    assert usher.process.poll() is None, f"usher serve exited with {usher.process.returncode}:\n{usher.log()[-4000:]}"
    assert usher.healthy()
    ready = usher.session.get(usher.base_url + "/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


def test_log_never_contains_tokens_or_secrets(usher):
    log = usher.log()
    assert log, "no log captured"
    for secret in usher.sensitive:
        assert secret not in log, "a secret reached the log"
    assert usher.issued_tokens, "the tests above should have minted tokens"
    for token in usher.issued_tokens:
        signature = token.rsplit(".", 1)[-1]
        assert token not in log and (len(signature) < 16 or signature not in log), "a token reached the log"
