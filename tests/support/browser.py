"""Debian's headless chromium through chromium-driver, for the tests, the benchmarks and the README's screenshots.

``.ci/run`` installs both packages (``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
# software WebGL (SwiftShader) for pages that want it, without a GPU or a display
ARGUMENTS = ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader",
             "--enable-unsafe-swiftshader", "--hide-scrollbars")


class BrowserMissing(RuntimeError):
    """chromium or chromium-driver is not installed."""


@contextmanager
def headless_chromium(width: int = 1400, height: int = 900) -> Iterator:
    """A selenium ``webdriver.Chrome`` on a ``width`` x ``height`` window, quit on exit."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        raise BrowserMissing("chromium and chromium-driver are needed (apt-get install chromium chromium-driver; "
                             ".ci/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in (*ARGUMENTS, f"--window-size={width},{height}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
