"""Headless Chromium for the browser tests (the supervisor dashboard), driven by Selenium.

Debian's packages, never a downloaded browser: /usr/bin/chromium and /usr/bin/chromedriver
(`asterisk/lab/packages.sh chromium chromium-driver`, both in LAB_PACKAGES). The flags keep Chromium
from reaching for the network: on a machine without internet it otherwise stalls on refused
connections (component updates, sync, QUIC probes). Every session gets a fresh profile in a
temporary directory, removed afterwards.

    from tests.browser import chromium

    ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"   # tests/artifacts/ (git-ignored)

    def test_dashboard(app_url, token):
        with chromium(artifacts=ARTIFACTS / "dashboard") as b:
            b.open(f"{app_url}/dashboard#token={token}")
            row = b.wait_for('[data-testid="call-row"]')
            row.click()
            b.wait_for('[data-testid="call-detail"][data-state="ready"]')
            b.wait_for_text('[data-testid="call-detail"] [data-testid="transcript-line"]', "Hola")
            b.screenshot("dashboard")

When the block raises (a failed wait included), `chromium` first saves `failure.png`, `failure.html`
and `console.log` (the page's console) into `artifacts`, so a CI failure can be looked at afterwards.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL_HINT = "sudo asterisk/lab/packages.sh chromium chromium-driver"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # root in CI/containers: the setuid sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # small /dev/shm in containers
    "--lang=es-CL",
    "--hide-scrollbars",
)
DEFAULT_TIMEOUT = 15.0
T = TypeVar("T")


class Browser:
    """A Selenium driver with the few waits and captures the dashboard tests need."""

    def __init__(self, driver: webdriver.Chrome, artifacts: Path | None, timeout: float) -> None:
        self.driver = driver
        self.artifacts = artifacts
        self.timeout = timeout

    # --- navigation and lookup ---
    def open(self, url: str) -> None:
        self.driver.get(url)

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    # --- waits (each raises AssertionError with what it waited for) ---
    def wait_until(self, condition: Callable[[], T], what: str, timeout: float | None = None) -> T:
        """Poll `condition` until it returns something truthy; return that."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        last_error: Exception | None = None
        while True:
            try:
                value = condition()
                if value:
                    return value
            except (StaleElementReferenceException, WebDriverException) as exc:
                last_error = exc  # the page re-rendered under us: try again
            if time.monotonic() >= deadline:
                detail = f" (last error: {last_error.__class__.__name__})" if last_error else ""
                raise AssertionError(f"timed out waiting for {what}{detail}")
            time.sleep(0.1)

    def wait_for(self, css: str, timeout: float | None = None, visible: bool = True) -> WebElement:
        """The first element matching `css` (displayed, unless visible=False)."""
        def found() -> WebElement | None:
            for element in self.find_all(css):
                if not visible or element.is_displayed():
                    return element
            return None
        return self.wait_until(found, f"{'a visible ' if visible else ''}{css!r}", timeout)

    def wait_for_text(self, css: str, text: str, timeout: float | None = None) -> WebElement:
        """The first displayed element matching `css` whose text contains `text`."""
        def found() -> WebElement | None:
            for element in self.find_all(css):
                if element.is_displayed() and text in element.text:
                    return element
            return None
        return self.wait_until(found, f"{css!r} containing {text!r}", timeout)

    def wait_gone(self, css: str, timeout: float | None = None) -> None:
        """Until no displayed element matches `css`."""
        self.wait_until(lambda: not any(e.is_displayed() for e in self.find_all(css)), f"{css!r} to go away", timeout)

    def wait_count(self, css: str, count: int, timeout: float | None = None) -> list[WebElement]:
        """Until exactly `count` elements match `css`."""
        def found() -> list[WebElement] | None:
            elements = self.find_all(css)
            return elements if len(elements) == count else None
        if count == 0:
            self.wait_until(lambda: not self.find_all(css), f"no {css!r}", timeout)
            return []
        return self.wait_until(found, f"{count} of {css!r}", timeout)

    def click(self, css: str, timeout: float | None = None) -> WebElement:
        element = self.wait_for(css, timeout)
        self.js("arguments[0].scrollIntoView({block: 'center'})", element)  # clear of sticky headers
        element.click()
        return element

    # --- captures ---
    def screenshot(self, name: str, directory: Path | str | None = None, full_page: bool = True) -> Path:
        """Save `<name>.png` into `directory` (default: this session's artifacts) and return its path."""
        target = Path(directory) if directory is not None else self.artifacts
        if target is None:
            raise ValueError("screenshot() needs a directory: pass one, or artifacts= to chromium()")
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"{name}.png"
        if full_page:
            scrolled = self.js("const s = [scrollX, scrollY]; scrollTo(0, 0); return s;")  # sticky bars on top
            size = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
            shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
            path.write_bytes(base64.b64decode(shot["data"]))
            self.js("scrollTo(arguments[0], arguments[1])", *scrolled)
        else:
            self.driver.save_screenshot(str(path))
        return path

    def console(self) -> list[dict[str, Any]]:
        """The page's console messages since the last call (level, message, timestamp)."""
        return self.driver.get_log("browser")

    def console_errors(self) -> list[str]:
        return [e["message"] for e in self.console() if e.get("level") == "SEVERE"]

    def save_failure(self) -> None:
        if self.artifacts is None:
            return
        self.artifacts.mkdir(parents=True, exist_ok=True)
        for save in (lambda: self.screenshot("failure"),
                     lambda: (self.artifacts / "failure.html").write_text(self.driver.page_source),
                     lambda: (self.artifacts / "console.log").write_text(
                         "\n".join(f"{e.get('level')} {e.get('message')}" for e in self.console()))):
            with suppress(Exception):  # best effort: the original failure is what matters
                save()


def require_chromium() -> None:
    """Fail (not skip) with the install command when the Debian packages are missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing; run `{INSTALL_HINT}`", pytrace=False)


@contextmanager
def chromium(*, artifacts: Path | str | None = None, width: int = 1440, height: int = 1000,
             timeout: float = DEFAULT_TIMEOUT, extra_flags: tuple[str, ...] = (),
             downloads: Path | None = None) -> Iterator[Browser]:
    """A headless Chromium session with a fresh profile; quits and removes the profile on exit.
    `downloads`: where files the page downloads are saved (without asking)."""
    require_chromium()
    artifacts_dir = Path(artifacts) if artifacts is not None else None
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}", *extra_flags):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if downloads is not None:
        options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                                  "download.prompt_for_download": False})
    log_path = None
    if artifacts_dir is not None:
        artifacts_dir.mkdir(parents=True, exist_ok=True)
        log_path = str(artifacts_dir / "chromedriver.log")
    service = Service(executable_path=CHROMEDRIVER, log_output=log_path or os.devnull)
    driver = None
    try:
        driver = webdriver.Chrome(service=service, options=options)
        driver.set_page_load_timeout(timeout * 2)
        driver.set_script_timeout(timeout)
        browser = Browser(driver, artifacts_dir, timeout)
        try:
            yield browser
        except BaseException:
            browser.save_failure()
            raise
    except TimeoutException as exc:
        raise AssertionError(f"Chromium timed out: {exc.msg}") from exc
    finally:
        if driver is not None:
            driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
