"""The chat (Examples/chat) in a real browser: headless Chromium, two windows with different names.

Runs the same stack as scripts/chat.sh — `usher serve`, `usher relay` and the chat's app server — on free loopback
ports, with a 1 s presence grace. Proves, through the page only:
- each window sees both names in the member list (presence channel: subscription_succeeded + member_added);
- each sees the other's message (posted to the app server, triggered with the `pusher` SDK through the relay's
  HTTP API on the private channel) and its own;
- user text is shown as text, never parsed as HTML;
- closing one window removes its name from the other's list after the grace (member_removed from Usher's stream).
Saves a screenshot of a window to .build/test-artifacts/chat.png (override with USHER_ARTIFACTS).
The app server's own checks (identity token required to post, name validation, CSP) are tested over HTTP.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import jwt
import pytest
import requests

from chat_support import ARTIFACTS, ChatPage, StackError, chromium_missing, new_browser, start_stack
from conftest import _usher_binary

GRACE_MS = 1000
TIMEOUT = 20.0  # generous for a loaded CI machine; every wait polls and returns as soon as the page shows it

# Bob's name and message would create elements if the page ever used innerHTML.
ANN = "Ann Zoë"  # non-ASCII: JWT claim → Usher channel_data → relay → page
BOB = "Bob <b>the Builder</b>"
ANN_SAYS = "Hello from Ann"
BOB_SAYS = "Hi Ann <img src=x onerror=\"window.__chat_pwned=1\">"

needs_chromium = pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or "")


@pytest.fixture(scope="module")
def chat():
    state_dir = Path(tempfile.mkdtemp(prefix="usher-chat-"))
    try:
        try:
            stack = start_stack(_usher_binary(), state_dir, GRACE_MS)
        except StackError as error:
            pytest.fail(f"the chat stack did not start (is `usher relay` implemented and working?):\n{error}")
        try:
            yield stack
        finally:
            stack.stop()
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def driver():
    browser = new_browser()
    yield browser
    browser.quit()


def wait_for(pages, condition, what: str, timeout: float = TIMEOUT):
    """Polls `condition()` until it is truthy; on timeout fails with what every window shows."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.wait import WebDriverWait

    try:
        return WebDriverWait(pages[0].driver, timeout, poll_frequency=0.1).until(lambda _: condition())
    except TimeoutException:
        pytest.fail(f"timed out after {timeout:.0f} s waiting until {what}\n" + "\n".join(p.describe() for p in pages))


@needs_chromium
def test_two_windows_see_each_other_and_each_others_messages_and_a_closed_window_leaves(chat, driver, capsys):
    ann = ChatPage(driver, chat.url, ANN)
    ann.join(TIMEOUT)
    wait_for([ann], lambda: ann.members() == [ANN] and ann.can_send(), "Ann sees herself and may send")

    driver.switch_to.new_window("window")
    bob = ChatPage(driver, chat.url, BOB)
    bob.join(TIMEOUT)
    pages = [ann, bob]
    wait_for(pages, lambda: sorted(bob.members()) == sorted([ANN, BOB]), "Bob's list shows both names")
    wait_for(pages, lambda: sorted(ann.members()) == sorted([ANN, BOB]), "Ann's list shows both names")
    wait_for(pages, bob.can_send, "Bob may send")

    ann.send(ANN_SAYS)
    bob.send(BOB_SAYS)
    for page, other, said in ((ann, BOB, BOB_SAYS), (bob, ANN, ANN_SAYS)):
        wait_for(pages, lambda p=page, o=other, s=said: (o, s) in p.messages(), f"{page.name} sees {other}'s message")
    for page, own in ((ann, ANN_SAYS), (bob, BOB_SAYS)):
        wait_for(pages, lambda p=page, s=own: (p.name, s) in p.messages(), f"{page.name} sees their own message")
    for page in pages:
        assert sorted(page.messages()) == sorted([(ANN, ANN_SAYS), (BOB, BOB_SAYS)]), page.describe()  # each once
        assert page.injected_elements() == 0, f"user text was parsed as HTML: {page.describe()}"

    save_screenshot(ann, capsys)

    bob.focus().close()
    wait_for([ann], lambda: ann.members() == [ANN], f"Ann's list drops Bob after the {GRACE_MS} ms grace")
    assert (BOB, BOB_SAYS) in ann.messages(), "messages stay after their sender leaves"


def test_app_server_publishes_only_for_a_valid_identity_token(chat):
    session = requests.post(chat.url + "session", json={"name": "Cy"}, timeout=10)
    assert session.status_code == 200, session.text
    token = session.json()["token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-identity-secret-of-this-chat", algorithm="HS256")
    for headers, status in (({}, 401), ({"Authorization": f"Bearer {forged}"}, 401)):
        response = requests.post(chat.url + "messages", json={"name": "Cy", "text": "hi"}, headers=headers, timeout=10)
        assert response.status_code == status, response.text
    as_someone_else = requests.post(chat.url + "messages", json={"name": "Ann", "text": "hi"},
                                    headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert as_someone_else.status_code == 403, as_someone_else.text
    accepted = requests.post(chat.url + "messages", json={"name": "Cy", "text": "hi"},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert accepted.status_code == 202, f"the relay's trigger API refused the SDK's request: {accepted.text}"


@pytest.mark.parametrize("name", ["", "   ", "a" * 41, "tab\there", 7])
def test_app_server_refuses_unusable_names(chat, name):
    response = requests.post(chat.url + "session", json={"name": name}, timeout=10)
    assert response.status_code == 400 and "error" in response.json(), response.text


def test_page_is_served_with_a_content_security_policy(chat):
    response = requests.get(chat.url, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy


def save_screenshot(page: ChatPage, capsys) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "chat.png"
    assert page.focus().save_screenshot(str(path)), "could not save the screenshot"
    with capsys.disabled():
        print(f"\nchat screenshot: {path}")
