"""Take the README's screenshot of the demo page (``docs/demo.png``) in headless Chromium.

Starts the installed ``emoclassic serve MODEL --port 0``, opens ``GET /`` in Debian's
headless Chromium (driven by Selenium through ``/usr/bin/chromedriver``, so nothing
is downloaded), types a text, waits until the bars and the highlighted words are
drawn, and saves a PNG of the whole page. The file is written atomically.

Needs ``apt-get install chromium chromium-driver`` and the test extra (selenium).

Usage::

    emoclassic fit lr
    python pipelines/demo_screenshot.py --model models/lr.joblib --out docs/demo.png
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

TEXT = "Thank you so much, I love it! But the ending made me sad."
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def start_server(model: Path) -> tuple[subprocess.Popen, int]:
    command = [sys.executable, "-m", "emoclassic.cli.main", "serve", str(model), "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    banner = server.stdout.readline()
    found = re.search(r":(\d+) \(docs", banner)
    if not found:
        server.kill()
        raise SystemExit(f"server did not start: {banner}{server.stderr.read()}")
    return server, int(found.group(1))


def browser(chromium: Path, chromedriver: Path, profile: str, width: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium)
    for flag in [*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},900"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(str(chromedriver)), options=options)


def screenshot(driver, port: int, text: str, width: int, out: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"http://127.0.0.1:{port}/")
    wait = WebDriverWait(driver, 30)
    wait.until(lambda d: d.execute_script("return document.body.dataset.ready"))
    driver.find_element(By.ID, "text").send_keys(text)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#why-text .word"))
    driver.execute_script("document.activeElement.blur()")  # no focus ring in the picture
    height = driver.execute_script("return document.documentElement.scrollHeight")
    metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # the whole page
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    if errors:
        raise SystemExit(f"the page logged errors: {errors}")
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.tmp.png")
    if not driver.save_screenshot(str(temporary)):
        raise SystemExit("Chromium took no screenshot")
    os.replace(temporary, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("models/lr.joblib"))
    parser.add_argument("--out", type=Path, default=Path("docs/demo.png"))
    parser.add_argument("--text", default=TEXT)
    parser.add_argument("--width", type=int, default=1100, help="window width in pixels")
    parser.add_argument("--chromium", type=Path, default=Path("/usr/bin/chromium"))
    parser.add_argument("--chromedriver", type=Path, default=Path("/usr/bin/chromedriver"))
    args = parser.parse_args()
    if not args.model.exists():
        raise SystemExit(f"{args.model}: no such model (emoclassic fit lr writes models/lr.joblib)")
    server, port = start_server(args.model)
    try:
        with tempfile.TemporaryDirectory(prefix="emoclassic-chromium-") as profile:
            driver = browser(args.chromium, args.chromedriver, profile, args.width)
            try:
                screenshot(driver, port, args.text, args.width, args.out)
            finally:
                driver.quit()
    finally:
        server.terminate()
        server.communicate(timeout=60)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
