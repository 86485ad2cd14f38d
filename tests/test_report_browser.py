"""The HTML report in a real headless Chromium (Debian `chromium`), driven over the DevTools
protocol through `--remote-debugging-pipe` (no extra Python package, no port opened).

Checked in the browser: fragments are highlighted and linked across the two sides (every in-page
link has its target, hovering one side lights the other), no request leaves the file (Network
events and CSP reports), hostile names and code stay text (no script runs, no dialog opens), the
single-file report shows one view per #target, the print stylesheet prints a pair as a PDF, and
the 567-file real round opens in seconds. Screenshots go to each test's tmp dir.

All tests are marked `browser` and skip when chromium is not installed
(`apt-get install -y chromium`). The real-round test is also `slow` (~30 s: it scans the round).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from checker import defaults
from conftest import DATASETS
from test_render_fixtures import HOSTILE_CODE, HOSTILE_NAME, small_round_report

from checker.report.html import render_html

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytestmark = [pytest.mark.browser, pytest.mark.skip(
        reason="headless Chromium is not installed: `apt-get install -y chromium` (Debian package)")]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--disable-default-apps", "--hide-scrollbars", "--window-size=1400,1000"]


class Chromium:
    """A headless Chromium speaking the DevTools protocol over fds 3/4 (--remote-debugging-pipe).

    Messages are JSON terminated by NUL. `call` sends a command and returns its result, keeping
    the events that arrive meanwhile in `events` (method, params, sessionId).
    """

    def __init__(self, user_data_dir: Path, width: int = 1400, height: int = 1000):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire_pipe_fds() -> None:  # runs in the child before exec
            # Park both ends above 9 first: a pipe end may itself be fd 3 or 4, and dup2 onto
            # itself would keep its close-on-exec flag. dup2 onto 3/4 makes inheritable copies.
            high_r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, "--remote-debugging-pipe",
             f"--user-data-dir={user_data_dir}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipe_fds, close_fds=False)  # noqa: PLW1509 - tests start no threads
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1, "mobile": False},
                  session=True)

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError("chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params: dict | None = None, session: bool = False,
             timeout: float = 60.0) -> dict:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, timeout: float = 60.0, since: int = 0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events[since:]:
                if event.get("method") == method:
                    return event
            since = len(self.events)
            self.events.append(self._read_message(deadline))

    def open(self, url: str, timeout: float = 60.0) -> float:
        """Navigate and wait for the load event; returns the wall seconds it took."""
        mark = len(self.events)
        started = time.monotonic()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait_event("Page.loadEventFired", timeout, since=mark)
        return time.monotonic() - started

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = False) -> Path:
        params = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        data = self.call("Page.captureScreenshot", params, session=True)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]

    def console_problems(self) -> list[str]:
        """Log entries (CSP violations are reported here), JS exceptions and dialogs opened."""
        out = []
        for e in self.events:
            method = e.get("method")
            if method == "Log.entryAdded" and e["params"]["entry"]["level"] in ("error", "warning"):
                out.append(e["params"]["entry"]["text"])
            elif method == "Runtime.exceptionThrown":
                out.append(json.dumps(e["params"]["exceptionDetails"])[:300])
            elif method == "Page.javascriptDialogOpening":
                out.append("dialog: " + e["params"].get("message", ""))
        return out

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


@pytest.fixture
def browser(tmp_path):
    chromium = Chromium(tmp_path / "chromium-profile")
    yield chromium
    chromium.close()


def _leaving(urls: list[str]) -> list[str]:
    return [u for u in urls if not u.startswith(("file://", "data:", "about:"))]


def test_pair_view_highlights_and_links_fragments_across_the_two_sides(browser, tmp_path):
    render_html(small_round_report(), tmp_path / "html")
    pair_page = tmp_path / "html" / "pairs" / "pair-0001.html"
    browser.open(pair_page.as_uri())
    shape = browser.js("""(() => {
        const L = document.querySelectorAll('.side-left .seg.frag').length;
        const R = document.querySelectorAll('.side-right .seg.frag').length;
        const links = [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href'));
        const dangling = links.filter(h => !document.getElementById(h.slice(1)));
        const anchors = [...document.querySelectorAll('.side-left a.anchor')].map(a => a.getAttribute('href'));
        const numbers = document.querySelectorAll('.side-left .ln[data-n]').length;
        return {L, R, links: links.length, dangling, anchors, numbers,
                firstLine: document.querySelector('.side-left .ln').textContent};
    })()""")
    assert shape["L"] >= 1 and shape["R"] >= 1
    assert shape["anchors"] and all(h.startswith("#p1-R") for h in shape["anchors"])
    assert shape["links"] >= 2 and shape["dangling"] == []
    assert shape["numbers"] > 10
    # hovering a fragment on the left outlines the same fragment on the right
    box = browser.js("""(() => { const s = document.querySelector('.side-left .seg.frag .ln');
        s.scrollIntoView({block: 'center'}); const r = s.getBoundingClientRect();
        return [r.left + 60, r.top + r.height / 2]; })()""")
    browser.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box[0], "y": box[1]},
                 session=True)
    lit = browser.js("""[...document.querySelectorAll('.hl')].map(e => e.closest('.side') ?
        e.closest('.side').className : 'table')""")
    assert any("side-left" in s for s in lit) and any("side-right" in s for s in lit)
    # following the left fragment's link lands on the right side's copy of it
    browser.js("document.querySelector('.side-left a.anchor').click()")
    target = browser.js("document.querySelector(':target') && document.querySelector(':target').closest('.side').className")
    assert "side-right" in target
    browser.screenshot(tmp_path / "pair.png")
    assert _leaving(browser.requested_urls()) == []
    assert browser.console_problems() == []


def test_every_link_of_every_page_has_its_target(browser, tmp_path):
    render_html(small_round_report(), tmp_path / "html")
    pages = sorted((tmp_path / "html").rglob("*.html"))
    assert len(pages) == 15  # overview, 4 learners, 5 pairs, 4 question sheets and all of them
    for page in pages:
        browser.open(page.as_uri())
        broken = browser.js("""(async () => {
            const out = [];
            for (const a of document.querySelectorAll('a[href]')) {
                const href = a.getAttribute('href');
                if (href.startsWith('#')) {
                    if (!document.getElementById(href.slice(1))) out.push(href);
                } else if (!/^(https?:|data:)/.test(href)) {
                    const url = new URL(href, location.href);
                    if (!url.pathname.endsWith('.html')) out.push(href);
                }
            }
            return out; })()""")
        assert broken == [], (page.name, broken)
        linked = browser.js("""[...document.querySelectorAll('a[href]')]
            .map(a => new URL(a.getAttribute('href'), location.href).href)
            .filter(h => h.startsWith('file:') && !h.includes('#')).map(h => decodeURI(h.slice(7)))""")
        assert all(Path(p).exists() for p in linked), (page.name, linked)
    assert _leaving(browser.requested_urls()) == []


def test_overview_draws_histogram_graph_and_ranked_learners_without_any_request(browser, tmp_path):
    render_html(small_round_report(), tmp_path / "html")
    browser.open((tmp_path / "html" / "index.html").as_uri())
    found = browser.js("""(() => ({
        bars: document.querySelectorAll('.histogram rect').length,
        nodes: document.querySelectorAll('.graph .node').length,
        edges: document.querySelectorAll('.graph .edge').length,
        first: document.querySelector('#verdicts tbody tr .badge').textContent,
        csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]').content,
        externalResources: [...document.querySelectorAll('[src], link[href]')].length,
    }))()""")
    assert found["bars"] == 20 and found["nodes"] >= 2 and found["edges"] >= 1
    assert found["first"] == "high"
    assert "default-src 'none'" in found["csp"] and found["externalResources"] == 0
    browser.screenshot(tmp_path / "overview.png")
    requested = browser.requested_urls()
    assert requested and all(u.startswith("file://") for u in requested)
    assert browser.console_problems() == []


def test_hostile_names_and_code_render_as_text_and_run_nothing(browser, tmp_path):
    render_html(small_round_report(hostile=True), tmp_path / "html")
    pages = [tmp_path / "html" / "index.html", tmp_path / "html" / "pairs" / "pair-0001.html"]
    pages += sorted((tmp_path / "html" / "learners").glob("*.html"))
    for page in pages:
        browser.open(page.as_uri())
        scripts = browser.js("document.scripts.length")
        text = browser.js("document.body.innerText")
        injected = browser.js("typeof window.pwned")
        assert scripts == 1, page  # only the report's own inlined script
        assert injected == "undefined", page
        if page.name in ("index.html", "pair-0001.html"):
            assert HOSTILE_NAME in text, page
    browser.open(pages[1].as_uri())
    assert HOSTILE_CODE.strip() in browser.js("document.querySelector('.side-left .code').innerText")
    assert browser.console_problems() == []
    assert _leaving(browser.requested_urls()) == []


def test_single_file_report_shows_one_view_per_target_and_keeps_it_for_fragment_links(browser, tmp_path):
    render_html(small_round_report(), tmp_path / "one", single_file=True)
    index = tmp_path / "one" / "index.html"
    assert sorted(p.name for p in (tmp_path / "one").rglob("*.html")) == ["index.html"]

    def visible() -> dict:
        return browser.js("""(() => { const shown = id => { const e = document.getElementById(id);
            return !!e && getComputedStyle(e).display !== 'none'; };
            return {overview: shown('overview'), pair: shown('pair-0001')}; })()""")

    browser.open(index.as_uri() + "#pair-0001")
    assert visible() == {"overview": False, "pair": True}
    browser.js("location.hash = '#p1-R1'")  # a fragment inside the pair keeps the pair shown
    assert visible() == {"overview": False, "pair": True}
    browser.screenshot(tmp_path / "single-pair.png")
    browser.js("location.hash = '#overview'")
    assert visible() == {"overview": True, "pair": False}
    assert _leaving(browser.requested_urls()) == []


def test_pair_prints_as_evidence_with_highlights_and_all_lines(browser, tmp_path):
    report = small_round_report()
    render_html(report, tmp_path / "html")
    browser.open((tmp_path / "html" / "pairs" / "pair-0001.html").as_uri())
    browser.call("Emulation.setEmulatedMedia", {"media": "print"}, session=True)
    printed = browser.js("""(() => ({
        maxHeight: getComputedStyle(document.querySelector('.code')).maxHeight,
        button: getComputedStyle(document.querySelector('.print-button')).display,
        fragBg: getComputedStyle(document.querySelector('.seg.frag')).backgroundColor,
    }))()""")
    assert printed["maxHeight"] == "none" and printed["button"] == "none"
    assert printed["fragBg"] not in ("rgba(0, 0, 0, 0)", "transparent")
    pdf = base64.b64decode(browser.call("Page.printToPDF", {"printBackground": True,
                                                            "landscape": True}, session=True)["data"])
    (tmp_path / "pair.pdf").write_bytes(pdf)
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "pair.pdf").pages)
    last_line = report["files"][0]["text"].rstrip("\n").split("\n")[-1].strip()
    assert last_line and last_line in text  # nothing cut off by the screen's scroll box


@pytest.mark.slow
def test_real_round_of_567_files_renders_and_opens_in_seconds(browser, tmp_path):
    from conftest import materialise_jsonl

    from checker.pipeline.scan import ScanConfig, scan

    if not (DATASETS / "west2-submissions-2024-2026.jsonl.gz").exists():
        pytest.skip(f"shared dataset folder {DATASETS} is absent")
    root = tmp_path / "round"
    written = materialise_flat_round(materialise_jsonl, root)
    assert len(written) == 567
    report = scan(ScanConfig(round_dir=root))
    started = time.perf_counter()
    files = render_html(report, tmp_path / "html")
    render_s = time.perf_counter() - started
    assert render_s < 20, render_s
    pages = min(len(report["pairs"]), defaults.REPORT_MAX_PAIR_PAGES)
    assert len(files) == 1 + len(report["learners"]) + pages
    open_s = browser.open((tmp_path / "html" / "index.html").as_uri())
    rows = browser.js("document.querySelectorAll('#pairs-table tbody tr').length")
    assert rows == min(len(report["pairs"]), defaults.REPORT_OVERVIEW_MAX_PAIRS)
    assert open_s < 10, open_s
    biggest = max((tmp_path / "html" / "pairs").glob("*.html"), key=lambda p: p.stat().st_size)
    assert browser.open(biggest.as_uri()) < 10
    browser.screenshot(tmp_path / "real-pair.png")
    assert _leaving(browser.requested_urls()) == []


def materialise_flat_round(materialise_jsonl, root: Path) -> list[str]:
    """All 567 files as one round: `work1/learner-18/x` becomes `work1.learner-18/x` (the same
    person in two assignments is two submissions), loose files go to `<round>.loose/`."""
    staging = root.parent / "staging"
    written = materialise_jsonl("west2-submissions-2024-2026.jsonl.gz", staging)
    for rel in written:
        parts = rel.split("/")
        depth = 3 if parts[0] == "pre_task" else 1
        prefix, rest = "-".join(parts[:depth]), parts[depth:]
        learner, inner = (f"{prefix}.loose", rest) if len(rest) == 1 else (f"{prefix}.{rest[0]}", rest[1:])
        target = root / learner / "/".join(inner)
        target.parent.mkdir(parents=True, exist_ok=True)
        (staging / rel).replace(target)
    return written
