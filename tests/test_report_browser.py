"""The HTML report in a real headless Chromium (Debian `chromium`), driven over the DevTools
protocol through `--remote-debugging-pipe` (no extra Python package, no port opened).

Checked in the browser: fragments are highlighted and linked across the two sides (every in-page
link has its target, hovering one side lights the other), no request leaves the file (Network
events and CSP reports), hostile names and code stay text (no script runs, no dialog opens), the
single-file report shows one view per #target, the print stylesheet prints a pair as a PDF, a
corpus match shows both sides, Chinese names and notes draw glyphs (the screenshot's pixels, not
boxes), a 200-character learner name wraps instead of widening the page, and the 567-file real
round opens in seconds. Screenshots go to each test's tmp dir.

All tests are marked `browser` and skip when chromium is not installed
(`apt-get install -y chromium`); the Chinese-glyph test also skips without a CJK font
(`apt-get install -y fonts-noto-cjk`). The real-round test is also `slow` (~30 s: it scans the round).
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


def _cjk_fonts() -> list[str]:
    """Font families fontconfig offers for Chinese (`fc-list :lang=zh`); [] without fontconfig."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    out = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=60)
    return sorted({line.split(",")[0].strip() for line in out.stdout.splitlines() if line.strip()})


CHINESE_NOTE = ("卷积神经网络通过共享权重的卷积核提取局部特征，池化层再把特征图的分辨率减半，"
                "这样全连接层需要的参数就少得多。")


def _chinese_round_report(root: Path) -> dict:
    """A real scan of two learners with Chinese names, file names and notes (one note shared)."""
    from test_render_fixtures import MODEL, _renamed

    from checker.pipeline.scan import ScanConfig, scan

    files = {"张伟/模型训练.py": MODEL, "李娜/网络.py": _renamed(MODEL),
             "张伟/笔记.md": f"# 笔记\n\n{CHINESE_NOTE}\n", "李娜/笔记.md": f"# 我的笔记\n\n{CHINESE_NOTE}\n"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return scan(ScanConfig(round_dir=root, jobs=1))


def _crop(browser: Chromium, selector: str):
    """A grey-scale numpy array of the pixels of the first element `selector` matches."""
    import io

    import numpy as np
    from PIL import Image

    x, y, w, h = browser.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
        e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect();
        return [r.left + scrollX, r.top + scrollY, r.width, r.height]; }})()""")
    shot = browser.call("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": x, "y": y, "width": w, "height": h, "scale": 1}}, session=True)["data"]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(shot))).convert("L"))


def _map_chinese(browser: Chromium, selector: str, js_function: str) -> None:
    """Rewrite every Chinese character of the element's text with `js_function(char)`."""
    browser.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
        const walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT); let n;
        while ((n = walk.nextNode())) n.nodeValue = n.nodeValue.replace(/[\\u4e00-\\u9fff]/g, {js_function}); }})()""")


def test_chinese_file_name_and_note_render_as_glyphs_not_boxes(browser, tmp_path):
    """Pixels, not the DOM: a Chinese string and another Chinese string of the same length draw
    different pixels (glyphs), while two strings of characters no font has draw the same boxes
    (tofu), which is what Chinese text looks like when the font stack finds no CJK font."""
    pytest.importorskip("PIL")
    if not _cjk_fonts():
        pytest.skip("no CJK font installed: `apt-get install -y fonts-noto-cjk` (Debian package)")
    import numpy as np

    render_html(_chinese_round_report(tmp_path / "round"), tmp_path / "html")
    browser.open((tmp_path / "html" / "learners" / "L01.html").as_uri())  # 张伟
    browser.screenshot(tmp_path / "chinese-learner.png", full_page=True)
    targets = {"file name": "table.files td.path bdi", "note": ".notes-pair blockquote"}
    assert browser.js(f"document.querySelector({json.dumps(targets['file name'])}).textContent") == "模型训练.py"
    assert browser.js(f"document.querySelector({json.dumps(targets['note'])}).textContent") == CHINESE_NOTE
    family = browser.js(f"getComputedStyle(document.querySelector({json.dumps(targets['note'])})).fontFamily")
    assert "Noto Sans CJK SC" in family and "Microsoft YaHei" in family
    for what, selector in targets.items():
        shown = _crop(browser, selector)
        _map_chinese(browser, selector, "c => String.fromCharCode(c.charCodeAt(0) + 1)")
        other = _crop(browser, selector)  # other characters, same length
        _map_chinese(browser, selector, "c => '\\u0378'")  # unassigned: no font has it
        box = _crop(browser, selector)
        browser.js(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            const walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT); let n;
            while ((n = walk.nextNode())) n.nodeValue = n.nodeValue.replace(/\\u0378/g, '\\u0379'); }})()""")
        other_box = _crop(browser, selector)
        # the control: characters without a glyph all draw the same box
        assert box.shape == other_box.shape and np.array_equal(box, other_box), what
        # the Chinese text draws glyphs: other characters, other pixels; and not the boxes
        assert shown.shape != other.shape or not np.array_equal(shown, other), what
        assert shown.shape != box.shape or not np.array_equal(shown, box), what
        assert (shown < 128).sum() > 0, what


def test_a_200_character_learner_name_and_long_paths_wrap_instead_of_widening_the_page(tmp_path):
    from test_render_fixtures import MODEL, _renamed

    from checker.pipeline.scan import ScanConfig, scan

    long_name = "learner_" + "x" * 192
    long_file = "a_very_long_module_name_" + "y" * 120 + ".py"
    root = tmp_path / "round"
    for rel, text in {f"{long_name}/{long_file}": MODEL, "ben/cnn.py": _renamed(MODEL)}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    report = scan(ScanConfig(round_dir=root, jobs=1))
    assert len(report["learners"][1]["id"]) == 200
    render_html(report, tmp_path / "html")
    chromium = Chromium(tmp_path / "profile", width=1024, height=800)
    try:
        for page in ("index.html", "learners/L02.html", "pairs/pair-0001.html"):
            chromium.open((tmp_path / "html" / page).as_uri())
            width = chromium.js("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], (page, width)
            assert long_name in chromium.js("document.body.innerText"), page
        chromium.screenshot(tmp_path / "long-name.png")
    finally:
        chromium.close()


def test_corpus_pair_shows_both_sides_in_the_browser(browser, tmp_path, round_dir):
    from test_corpus_public_side import build_dir_corpus
    from test_scan_corpus import COPIED

    from checker.pipeline.scan import ScanConfig, scan

    index, spec = build_dir_corpus(tmp_path / "corpus")
    report = scan(ScanConfig(round_dir=round_dir({"ann/utils.py": COPIED}), index_dir=index, jobs=1))
    render_html(report, tmp_path / "html")
    browser.open((tmp_path / "html" / "pairs" / "pair-0001.html").as_uri())
    sides = browser.js("""(() => [...document.querySelectorAll('.pair-code .side')].map(s => {
        const r = s.getBoundingClientRect(), frag = s.querySelector('.seg.frag .ln');
        return {left: r.left, width: r.width, lines: s.querySelectorAll('.ln').length,
                frag: frag ? frag.textContent : '', head: s.querySelector('.side-head').innerText}; }))()""")
    left, right = sides
    assert left["lines"] > 20 and right["lines"] > 20  # both sides hold code
    assert right["left"] >= left["left"] + left["width"] - 1 and right["left"] + right["width"] <= 1400
    assert "class Counter" in left["frag"] and "class Accumulator" in right["frag"]
    assert spec in right["head"] and "MIT-0" in right["head"]
    assert _leaving(browser.requested_urls()) == [] and browser.console_problems() == []
    browser.screenshot(tmp_path / "corpus-pair.png")


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
    sheets = len(report["learners"]) + 1  # a question sheet per learner, and all.html to print
    assert len(files) == 1 + len(report["learners"]) + pages + sheets
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
