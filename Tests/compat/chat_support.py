"""Helpers for the chat's browser test: the stack from Examples/chat/stack.py on free ports, headless Chromium,
and a small page object for the chat page.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Examples" / "chat"))

from stack import ChatStack, StackError  # noqa: E402  (needs the path above)

CHROMIUM = os.environ.get("USHER_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("USHER_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("USHER_ARTIFACTS", ROOT / ".build" / "test-artifacts"))

__all__ = ["ARTIFACTS", "ChatPage", "ChatStack", "StackError", "chromium_missing", "new_browser", "start_stack"]


def chromium_missing() -> str | None:
    """Why the browser test cannot run here, or None when Chromium and its driver are installed."""
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        return f"{' and '.join(missing)} not found: install Debian's chromium and chromium-driver (scripts/bootstrap.sh --test)"
    return None


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def start_stack(usher_bin: str, state_dir: Path, grace_ms: int) -> ChatStack:
    """Usher, the relay and the app server on three free loopback ports (raises StackError naming what failed)."""
    app_port, usher_port, relay_port = _free_ports(3)
    stack = ChatStack(usher_bin=usher_bin, state_dir=state_dir, app_port=app_port, usher_port=usher_port,
                      relay_port=relay_port, grace_ms=grace_ms)
    stack.start()
    return stack


def new_browser(arguments: tuple[str, ...] = ()):
    """Headless Chromium through Debian's chromedriver, with the page's console kept for failure messages."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1000,720", "--disable-background-timer-throttling",
                     "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows", *arguments):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


class ChatPage:
    """One chat window (a window handle of a shared driver); every read switches to it first."""

    def __init__(self, driver, url: str, name: str):
        self.driver = driver
        self.name = name
        driver.get(url)
        self.handle = driver.current_window_handle

    def focus(self):
        self.driver.switch_to.window(self.handle)
        return self.driver

    def join(self, timeout: float) -> None:
        """Types the name and clicks Join once the page enables it (after loading its config)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.wait import WebDriverWait

        driver = self.focus()
        field = driver.find_element(By.ID, "name")
        field.clear()
        field.send_keys(self.name)
        WebDriverWait(driver, timeout).until(expected_conditions.element_to_be_clickable((By.ID, "join"))).click()

    def send(self, text: str) -> None:
        from selenium.webdriver.common.by import By

        driver = self.focus()
        box = driver.find_element(By.ID, "message")
        box.send_keys(text)
        driver.find_element(By.ID, "send").click()

    def can_send(self) -> bool:
        return self.focus().execute_script("return !document.getElementById('send').disabled")

    def members(self) -> list[str]:
        return self.focus().execute_script(
            "return [...document.querySelectorAll('#members .member-name')].map(e => e.textContent)")

    def messages(self) -> list[tuple[str, str]]:
        return [tuple(pair) for pair in self.focus().execute_script(
            "return [...document.querySelectorAll('#messages li:not(.system)')].map(li => ["
            "li.querySelector('.message-name').textContent, li.querySelector('.message-text').textContent])")]

    def injected_elements(self) -> int:
        """Elements user text would have created had it been parsed as HTML (there must be none)."""
        return self.focus().execute_script(
            "return document.querySelectorAll('#members img, #members b, #messages img, #messages b').length"
            " + (window.__chat_pwned ? 1000 : 0)")

    def describe(self) -> str:
        """Status line, members, messages and the console, for assertion messages."""
        driver = self.focus()
        status = driver.execute_script("return document.getElementById('status').textContent")
        try:
            console = [entry["message"] for entry in driver.get_log("browser")]
        except Exception:  # noqa: BLE001 (logs are a best-effort aid)
            console = []
        return (f"[{self.name}] status={status!r} members={self.members()!r} messages={self.messages()!r}\n"
                f"  console: {console[-10:]!r}")
