"""The demo page at ``GET /`` and the ``/explain`` endpoint, over a real ``emoclassic serve``.

The browser tests drive Debian's headless Chromium with Selenium, through the
chromedriver at a fixed path (Selenium Manager never runs, so nothing is
downloaded). They are skipped, with the reason, when either program is missing;
``.ci/run`` installs both, so CI runs them. Every browser test ends by reading
the browser's console: any error there (a JavaScript exception, a request that
failed, a Content-Security-Policy violation) fails the test.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import math
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import LABELS, emoclassic_command, toy_split
from emoclassic.datasets import EmotionDataset
from emoclassic.persistence import save_model
from emoclassic.reporting import report_fit
from emoclassic.training import FitSettings, fit_model

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

CHROMIUM = Path(os.environ.get("EMOCLASSIC_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("EMOCLASSIC_CHROMEDRIVER", "/usr/bin/chromedriver"))
#: What Chromium needs on a machine with no display and no route out.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TEXT = "so happy today, but scared of the dark"
#: How long the page may take to answer (debounce, request, drawing) on a busy machine.
WAIT = 20


# --- a real server over a small linear model -------------------------------------------


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A small ``lr`` model, with the test macro-F1 in its sidecar as ``emoclassic fit`` writes."""
    ds = EmotionDataset(
        LABELS, {"train": toy_split(4), "validation": toy_split(2), "test": toy_split(1)}
    )
    fitted = fit_model("lr", ds, FitSettings(progress=False, search=False))
    fitted.metadata["metrics"] = report_fit(fitted, ds).metrics
    path = tmp_path_factory.mktemp("demo") / "lr.joblib"
    save_model(fitted, path)
    return fitted, path


@pytest.fixture(scope="module")
def tree_model(tmp_path_factory):
    """A model with no linear path (decision trees): explained with LIME only."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.tree import DecisionTreeClassifier

    from emoclassic.model import SklearnEmotionModel

    split = toy_split(4)
    pipe = make_pipeline(
        TfidfVectorizer(), OneVsRestClassifier(DecisionTreeClassifier(random_state=0))
    ).fit(split.texts, split.labels)
    fitted = SklearnEmotionModel(pipe, LABELS, [0.5] * len(LABELS), {"recipe": "tree"})
    assert fitted.linear is None
    path = tmp_path_factory.mktemp("demo-tree") / "tree.joblib"
    save_model(fitted, path)
    return fitted, path


def call(port: int, method: str, path: str, body=None) -> tuple[int, dict[str, str], bytes]:
    """Send one request; return the status, the headers (lower-case names) and the body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        payload = None if body is None else json.dumps(body)
        conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        headers = {key.lower(): value for key, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        conn.close()


def post(port: int, path: str, body: dict) -> dict:
    status, _, content = call(port, "POST", path, body)
    assert status == 200, content
    return json.loads(content)


def start_server(path: Path, *options: str):
    """Start the installed ``emoclassic serve`` on a free port; return the process, port, banner."""
    process = subprocess.Popen(
        [*emoclassic_command(), "serve", str(path), "--host", "127.0.0.1", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
    )
    banner = process.stdout.readline()
    found = re.match(r"serving \S+ on http://127\.0\.0\.1:(\d+) ", banner)
    if not found:
        process.kill()
        pytest.fail(f"server did not start: {banner!r} {process.communicate()[1]}")
    return process, int(found.group(1)), banner


def stop(process) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.fixture(scope="module")
def server(model):
    process, port, banner = start_server(model[1])
    assert banner.endswith("(docs: /docs; demo page: /)\n")
    yield port
    stop(process)


@pytest.fixture(scope="module")
def tree_server(tree_model):
    process, port, _ = start_server(tree_model[1])
    yield port
    stop(process)


# --- without a browser ------------------------------------------------------------------


def cli_explanation(path: Path, text: str, *options: str) -> dict:
    result = subprocess.run(
        [*emoclassic_command(), "explain", str(path), text, "--json", *options],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def assert_same_explanation(served: dict, printed: dict, tolerance: float = 1e-9) -> None:
    """Equal labels, features and flags; every number within ``tolerance``."""
    assert (served["text"], served["method"]) == (printed["text"], printed["method"])
    assert [e["label"] for e in served["emotions"]] == [e["label"] for e in printed["emotions"]]
    for got, expected in zip(served["emotions"], printed["emotions"], strict=True):
        assert set(got) - set(expected) == {"segments"}
        assert got["predicted"] == expected["predicted"]
        for key in ("score", "threshold", "intercept", "decision"):
            assert math.isclose(got[key], expected[key], rel_tol=0, abs_tol=tolerance), key
        assert [c["feature"] for c in got["contributions"]] == [
            c["feature"] for c in expected["contributions"]
        ]
        for key in ("value", "weight", "contribution"):
            np.testing.assert_allclose(
                [c[key] for c in got["contributions"]],
                [c[key] for c in expected["contributions"]],
                rtol=0,
                atol=tolerance,
            )


@pytest.mark.parametrize(
    ("text", "request_labels", "options"),
    [
        (TEXT, None, ()),
        ("furious and mad, what a rant!", None, ()),
        ("nothing the model knows", None, ()),  # none predicted: the top emotion is explained
        (TEXT, ["fear", "anger"], ("--emotion", "fear", "--emotion", "anger")),
        (TEXT, "all", ("--all",)),
    ],
)
def test_explain_matches_the_cli(server, model, text, request_labels, options):
    """``/explain`` returns the numbers of ``emoclassic explain --json``, within 1e-9."""
    served = post(server, "/explain", {"text": text, "labels": request_labels})
    printed = cli_explanation(model[1], text, *options)
    assert printed["emotions"], "the CLI explained no emotion"
    assert_same_explanation(served, printed)


def test_explain_segments_are_the_words_shares(server, model):
    """The segments cut the text at its words, with ``word_scores``' shares, and join back."""
    from emoclassic.explain import explain_linear, word_scores

    fitted, _ = model
    text = "So HAPPY today!!  But scared... <b>&amp;</b>"
    served = post(server, "/explain", {"text": text, "labels": "all"})
    expected_emotions = explain_linear(fitted, text, "all").emotions
    for emotion, got in zip(expected_emotions, served["emotions"], strict=True):
        assert "".join(s["text"] for s in got["segments"]) == text
        words = [(s["text"], s["share"]) for s in got["segments"] if s["share"] is not None]
        expected = [(text[a:b], share) for a, b, share in word_scores(emotion, text)]
        assert [w for w, _ in words] == [w for w, _ in expected]
        np.testing.assert_allclose([s for _, s in words], [s for _, s in expected], atol=1e-12)
    shown = [s["text"] for s in served["emotions"][0]["segments"] if s["share"] is not None]
    assert shown == ["So", "HAPPY", "today", "But", "scared", "amp"]  # words of 2+ characters


def test_explain_refuses_what_it_cannot_do(server):
    status, _, content = call(server, "POST", "/explain", {"text": "hi", "labels": ["pride"]})
    reply = json.loads(content)
    assert status == 422
    assert reply["error"] == (
        "labels: Value error, unknown emotion 'pride'; the model knows anger, fear, joy"
    )
    for body, fragment in [
        ({"text": " \t"}, "text: Value error, must contain a character"),
        ({"text": "hi", "labels": []}, "labels: Value error, must name at least one emotion"),
        ({"text": "hi", "method": "exact"}, "method: Input should be 'auto', 'linear' or 'lime'"),
        ({"text": "hi", "num_samples": 5001}, "num_samples: Input should be less than or equal"),
        ({"text": "hi", "colour": 1}, "colour: Extra inputs are not permitted"),
        ({"texts": ["hi"]}, "text: Field required"),
    ]:
        status, _, content = call(server, "POST", "/explain", body)
        assert (status, json.loads(content)["error"].startswith(fragment)) == (422, True), content


def test_lime_on_a_linear_model_and_linear_on_a_tree(server, tree_server):
    lime = post(server, "/explain", {"text": TEXT, "method": "lime", "num_samples": 200})
    assert lime["method"] == "lime" and lime["emotions"]
    status, _, content = call(tree_server, "POST", "/explain", {"text": TEXT, "method": "linear"})
    assert status == 422
    assert json.loads(content)["error"].startswith("method 'linear' needs a linear text model")
    auto = post(tree_server, "/explain", {"text": TEXT, "num_samples": 200})
    assert auto["method"] == "lime"
    status, _, content = call(tree_server, "POST", "/explain", {"text": "!!! ?"})
    assert (status, json.loads(content)) == (
        422,
        {"error": "text has no word, and LIME explains a text by removing words", "detail": None},
    )
    assert post(server, "/explain", {"text": "!!! ?"})["emotions"][0]["contributions"] == []


def test_model_describes_the_model_and_its_explanation(server, tree_server, model):
    fitted, _ = model
    status, _, content = call(server, "GET", "/model")
    info = json.loads(content)
    assert status == 200
    assert info == {
        "name": "lr.joblib",
        "kind": "sklearn",
        "recipe": "lr",
        "labels": 3,
        "test_macro_f1": fitted.metadata["metrics"]["test"]["tuned"]["macro_f1"],
        "explanation": "linear",
        "explanation_note": info["explanation_note"],
        "max_text_chars": 10_000,
    }
    tree = json.loads(call(tree_server, "GET", "/model")[2])
    assert (tree["recipe"], tree["test_macro_f1"], tree["explanation"]) == ("tree", None, "lime")


def test_without_lime_a_tree_model_gets_a_501_and_says_why(tree_model, monkeypatch):
    """In process: the ``explain`` extra missing is one line, status 501."""
    import sys

    from fastapi.testclient import TestClient

    from emoclassic.server import create_app

    monkeypatch.setitem(sys.modules, "lime", None)
    monkeypatch.setitem(sys.modules, "lime.lime_text", None)
    client = TestClient(create_app(tree_model[0]))
    assert client.get("/model").json()["explanation"] is None
    reply = client.post("/explain", json={"text": TEXT})
    assert reply.status_code == 501
    assert reply.json() == {
        "error": "this feature needs 'lime.lime_text': pip install 'emoclassic[explain]'",
        "detail": None,
    }


def test_the_page_is_self_contained_and_its_policy_allows_only_its_own_code(server):
    status, headers, body = call(server, "GET", "/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    page = body.decode("utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing from elsewhere
    assert "innerHTML" not in page and "insertAdjacentHTML" not in page
    policy = dict(part.split(" ", 1) for part in headers["content-security-policy"].split("; "))
    [script] = re.findall(r"<script>(.*?)</script>", page, re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert policy["script-src"] == f"'sha256-{digest}'"
    assert (policy["default-src"], policy["connect-src"]) == ("'none'", "'self'")
    assert headers["x-content-type-options"] == "nosniff"
    status, head_headers, head_body = call(server, "HEAD", "/")
    assert (status, head_body) == (200, b"")
    assert head_headers["content-length"] == str(len(body))


def test_no_ui_turns_the_page_off(model):
    process, port, banner = start_server(model[1], "--no-ui")
    try:
        assert banner.endswith("(docs: /docs)\n")
        status, headers, body = call(port, "GET", "/")
        assert (status, json.loads(body)) == (404, {"error": "Not Found", "detail": None})
        assert headers["content-type"] == "application/json"
        assert post(port, "/explain", {"text": TEXT})["method"] == "linear"
        status, _, content = call(port, "GET", "/openapi.json")
        assert "/" not in json.loads(content)["paths"]
    finally:
        stop(process)


# --- in a real browser ------------------------------------------------------------------


def _browser_missing() -> str | None:
    for program in (CHROMIUM, CHROMEDRIVER):
        if not (program.is_file() and os.access(program, os.X_OK)):
            return f"{program} is not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module; each test opens the page afresh."""
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    profile = tempfile.TemporaryDirectory(prefix="emoclassic-chromium-")
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile.name}", "--window-size=1200,1000"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()
    profile.cleanup()


def wait_for(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.05).until(condition, f"no {what}")


def open_page(driver, port: int, width: int = 1200, height: int = 1000) -> None:
    driver.set_window_size(width, height)
    driver.get_log("browser")  # start each test with an empty console
    driver.get(f"http://127.0.0.1:{port}/")
    wait_for(driver, lambda d: d.execute_script("return document.body.dataset.ready"), "ready")


def console_errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def bars(driver) -> list[tuple[str, float, bool]]:
    """The bars on the page: label, score and whether it is highlighted as predicted."""
    found = driver.execute_script(
        "return [...document.querySelectorAll('#bars li')].map(li => "
        "[li.dataset.label, Number(li.dataset.score), li.classList.contains('predicted')]);"
    )
    return [tuple(bar) for bar in found]


def words(driver) -> list[tuple[str, float]]:
    """The tinted words of the explanation: their text and share."""
    found = driver.execute_script(
        "return [...document.querySelectorAll('#why-text .word')].map(w => "
        "[w.textContent, Number(w.dataset.share)]);"
    )
    return [tuple(word) for word in found]


def type_text(driver, text: str) -> None:
    """Reach the text box with the keyboard (it is the first stop) and type."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    assert driver.switch_to.active_element.get_attribute("id") == "text"
    driver.switch_to.active_element.send_keys(text)


def wait_for_bars(driver, port: int, body: dict) -> dict:
    """Wait until the bars show ``/predict``'s answer to ``body``; return that answer."""
    [expected] = post(port, "/predict", body)["predictions"]
    shown = [
        (s["label"], s["score"], s["label"] in {e["label"] for e in expected["emotions"]})
        for s in expected["scores"]
    ]
    wait_for(driver, lambda d: bars(d) == shown, f"bars as /predict answers {body}")
    return expected


def test_typing_shows_the_bars_and_the_top_emotions_words(browser, server, model, tmp_path):
    from selenium.webdriver.common.by import By

    fitted, _ = model
    open_page(browser, server)
    info = browser.find_element(By.ID, "model-info").text
    f1 = fitted.metadata["metrics"]["test"]["tuned"]["macro_f1"]
    assert info == f"lr.joblib · sklearn (recipe lr) · 3 emotions · test macro-F1 {f1:.3f}"
    started = time.monotonic()
    type_text(browser, TEXT)
    prediction = wait_for_bars(browser, server, {"texts": [TEXT]})
    scores = [score for _, score, _ in bars(browser)]
    assert scores == sorted(scores, reverse=True) and len(scores) == len(LABELS)
    top = prediction["scores"][0]["label"]
    [explained] = post(server, "/explain", {"text": TEXT, "labels": [top]})["emotions"]
    expected = [(s["text"], s["share"]) for s in explained["segments"] if s["share"] is not None]
    wait_for(browser, lambda d: words(d) == expected, "highlighted words as /explain gives them")
    elapsed = time.monotonic() - started
    assert browser.find_element(By.ID, "why-title").text == f"Why “{top}”?"
    assert browser.find_element(By.ID, "why-text").text == TEXT
    tinted = browser.execute_script(
        "return [...document.querySelectorAll('#why-text .word')].map(w => "
        "[w.className, getComputedStyle(w).backgroundColor]);"
    )
    for (name, colour), (_, share) in zip(tinted, expected, strict=True):
        side = "up" if share > 0 else "down" if share < 0 else "none"
        assert name == f"word {side}"
        if side == "up":  # green raises the emotion
            red, green = map(int, re.findall(r"\d+", colour)[:2])
            assert green > red
        elif side == "down":  # red lowers it
            red, green = map(int, re.findall(r"\d+", colour)[:2])
            assert red > green
    assert any(share > 0 for _, share in expected)
    assert elapsed < WAIT
    shot = tmp_path / "demo.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
    assert console_errors(browser) == []


def test_the_threshold_and_top_k_change_the_predicted_set(browser, server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(browser, server)
    type_text(browser, TEXT)
    tuned = wait_for_bars(browser, server, {"texts": [TEXT]})
    predicted = {label for label, _, hit in bars(browser) if hit}
    assert predicted == {e["label"] for e in tuned["emotions"]}
    # The slider, with the keyboard: Home sets 0, which also selects the single threshold.
    browser.find_element(By.ID, "threshold").send_keys(Keys.HOME)
    everything = wait_for_bars(browser, server, {"texts": [TEXT], "threshold": 0.0})
    assert {label for label, _, hit in bars(browser) if hit} == set(LABELS) != predicted
    assert len(everything["emotions"]) == len(LABELS)
    assert browser.find_element(By.ID, "rule-fixed").is_selected()
    assert browser.find_element(By.ID, "threshold-value").text == "0.00"
    ticks = browser.execute_script(
        "return [...document.querySelectorAll('#bars li')].map(li => li.dataset.threshold);"
    )
    assert ticks == ["0"] * len(LABELS)
    browser.find_element(By.ID, "top-k").send_keys("1")
    wait_for_bars(browser, server, {"texts": [TEXT], "threshold": 0.0, "top_k": 1})
    assert sum(hit for _, _, hit in bars(browser)) == 1
    browser.find_element(By.ID, "threshold").send_keys(Keys.END)  # 1.0: nothing reaches it
    wait_for_bars(browser, server, {"texts": [TEXT], "threshold": 1.0, "top_k": 1})
    assert browser.find_element(By.ID, "predicted").text == "No emotion reaches its threshold."
    browser.find_element(By.ID, "rule-tuned").click()
    wait_for_bars(browser, server, {"texts": [TEXT], "top_k": 1})
    assert console_errors(browser) == []


def test_text_is_shown_as_text_never_as_html(browser, server):
    from selenium.webdriver.common.by import By

    hostile = '<img src=x onerror="document.title=1"><b>so happy</b> & scared'
    open_page(browser, server)
    type_text(browser, hostile)
    wait_for(browser, lambda d: words(d), "explained words")
    assert browser.find_element(By.ID, "why-text").text == hostile
    assert browser.find_elements(By.CSS_SELECTOR, "#why-text img, #why-text b") == []
    assert browser.title == "emoclassic demo"
    assert console_errors(browser) == []


def test_readable_at_phone_width(browser, server, tmp_path):
    open_page(browser, server, width=375, height=800)
    type_text(browser, TEXT)
    wait_for(browser, lambda d: words(d), "explained words")
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"
    )
    assert overflow <= 0
    assert browser.save_screenshot(str(tmp_path / "phone.png"))
    assert console_errors(browser) == []


def test_a_model_without_a_linear_path_offers_lime_on_demand(browser, tree_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    open_page(browser, tree_server)
    note = browser.find_element(By.ID, "why-note").text
    assert note.startswith("This model is not linear, so it has no exact explanation.")
    type_text(browser, TEXT)
    prediction = wait_for_bars(browser, tree_server, {"texts": [TEXT]})
    assert words(browser) == []  # nothing is explained until asked for
    button = browser.find_element(By.ID, "lime")
    assert button.is_displayed()
    browser.execute_script(  # record what the panel shows while LIME runs
        "window.seen = []; new MutationObserver(() => window.seen.push(["
        "  document.getElementById('why').getAttribute('aria-busy'),"
        "  document.getElementById('lime').disabled,"
        "  document.getElementById('lime-status').textContent,"
        "])).observe(document.getElementById('why'),"
        "  {attributes: true, childList: true, subtree: true, characterData: true});"
    )
    button.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: words(d), "LIME's words")
    busy = browser.execute_script("return window.seen;")[0]
    assert busy[:2] == ["true", True]
    assert busy[2].startswith(" Working: LIME scores 1,000 variants of the text")
    top = prediction["scores"][0]["label"]
    body = {"text": TEXT, "labels": [top], "method": "lime", "num_samples": 1000}
    [explained] = post(tree_server, "/explain", body)["emotions"]
    expected = [(s["text"], s["share"]) for s in explained["segments"] if s["share"] is not None]
    assert words(browser) == expected
    assert browser.find_element(By.ID, "lime-status").text == "Done (LIME: an approximation)."
    assert browser.find_element(By.ID, "why").get_attribute("aria-busy") is None
    assert console_errors(browser) == []


def test_a_console_error_would_be_caught(browser, server):
    """The console check is real: an error the page logs is read back."""
    open_page(browser, server)
    browser.execute_script("console.error('deliberate')")
    assert any("deliberate" in message for message in console_errors(browser))
