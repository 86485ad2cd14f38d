"""Screenshots of the HTML report for review, and its timings (not a test).

    python bench/report_screenshots.py                    # review screenshots -> bench/screenshots/
    python bench/report_screenshots.py --timings          # small round + the 567-file real round
    python bench/report_screenshots.py --timings --small  # small round only (no dataset needed)

Review screenshots (committed, bench/screenshots/*.png): the bundled example round as
`checker scan --example -o DIR` writes it (overview, a learner page, a learner pair page) and a
corpus-matched round (overview with the analysis table, a learner page, the corpus pair page with
both sides: the learner's renamed copy of d2l 0.17.6's training helpers beside d2l/torch.py). The
corpus is the default corpus's `pypi:d2l==0.17.6` entry (corpus/sources.toml), indexed once into
bench/out/d2l-index (`pip download` the first time; later runs reuse it). Each page is
`Shot`: `review(extra=...)` takes more of them (a page to screenshot or to print to PDF, e.g. the
question sheet of a learner), so new pages join the same run.

Timings (`--timings`, written to bench/out/report/): the rendered reports (small/, real/,
real-single/), PNG screenshots (1400x1000) of the overview and of pair and learner views, a PDF of a
pair printed as evidence, and report_bench.json with the figures: scan, render (multi-page and
single-file), page sizes and the time Chromium takes to load each page (DevTools
Page.loadEventFired, browser already running) plus a cold `chromium --headless --dump-dom` of
index.html (browser start included). The real round is
../shared/datasets/west2-submissions-2024-2026.jsonl.gz, materialised into a temporary folder as one
round (`work1.learner-18/...`) and scanned.

Needs Debian `chromium` (and `fonts-noto-cjk` for Chinese text).
"""

from __future__ import annotations

import argparse
import ast
import base64
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from conftest import DATASETS, materialise_jsonl
from test_render_fixtures import small_round_report
from test_report_browser import (
    CHROMIUM,
    CHROMIUM_FLAGS,
    Chromium,
    materialise_flat_round,
)

from checker import defaults
from checker.report.html import learner_codes, render_html
from checker.report.writers import write_report

OUT = REPO / "bench" / "out" / "report"
SCREENSHOTS = REPO / "bench" / "screenshots"
D2L_INDEX = REPO / "bench" / "out" / "d2l-index"
D2L_SPEC = "pypi:d2l==0.17.6"
# a committed screenshot stays under this size (a 128-colour palette PNG when the full one is larger)
MAX_PNG_BYTES = 300_000


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _load(browser: Chromium, url: str) -> dict:
    wall = browser.open(url)
    nav = browser.js("JSON.stringify(performance.getEntriesByType('navigation')[0])")
    nav = json.loads(nav)
    return {"load_event_wall_s": round(wall, 3),
            "dom_content_loaded_ms": round(nav["domContentLoadedEventEnd"]),
            "load_event_end_ms": round(nav["loadEventEnd"]),
            "dom_elements": browser.js("document.getElementsByTagName('*').length")}


def _scroll_to(browser: Chromium, selector: str) -> None:
    browser.js(f"document.querySelector({json.dumps(selector)}).scrollIntoView({{block: 'start'}})")
    time.sleep(0.2)


def _cold_dump_dom(page: Path, profile: Path) -> float:
    started = time.perf_counter()
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                    page.as_uri()], capture_output=True, timeout=120, check=True)
    return round(time.perf_counter() - started, 3)


def small(browser: Chromium, figures: dict) -> None:
    report = small_round_report()
    out = OUT / "small"
    render_html(report, out)
    browser.open((out / "index.html").as_uri())
    browser.screenshot(OUT / "small-overview.png")
    _scroll_to(browser, "#similarity")
    browser.screenshot(OUT / "small-overview-charts.png")
    browser.open((out / "pairs" / "pair-0001.html").as_uri())
    browser.screenshot(OUT / "small-pair.png")
    browser.open((out / "pairs" / "pair-0005.html").as_uri())
    browser.screenshot(OUT / "small-corpus-pair.png")
    browser.open((out / "learners" / "L01.html").as_uri())
    browser.screenshot(OUT / "small-learner.png", full_page=True)
    browser.open((out / "pairs" / "pair-0002.html").as_uri())
    pdf = browser.call("Page.printToPDF", {"printBackground": True, "landscape": True}, session=True)
    (OUT / "small-pair-print.pdf").write_bytes(base64.b64decode(pdf["data"]))
    figures["small"] = {"pairs": len(report["pairs"]), "bytes": _size(out)}


def real(browser: Chromium, figures: dict, work: Path) -> None:
    from checker.pipeline.scan import ScanConfig, scan

    root = work / "round"
    files = materialise_flat_round(materialise_jsonl, root)
    started = time.perf_counter()
    report = scan(ScanConfig(round_dir=root))
    scan_s = time.perf_counter() - started
    write_report(report, work / "scan")

    out, single = OUT / "real", OUT / "real-single"
    started = time.perf_counter()
    written = render_html(report, out)
    render_s = time.perf_counter() - started
    started = time.perf_counter()
    render_html(report, single, single_file=True)
    single_s = time.perf_counter() - started
    # the command as a mentor runs it (a fresh process: import, load report.json, render)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from checker.cli.report import report; report()",
                    str(work / "scan" / "report.json"), "-o", str(work / "cli")],
                   capture_output=True, check=True, timeout=300)
    cli_s = time.perf_counter() - started
    pair_pages = sorted((out / "pairs").glob("*.html"), key=lambda p: p.stat().st_size)
    figures["real"] = {
        "files_in_round": len(files), "learners": len(report["learners"]),
        "file_pairs": len(report["pairs"]), "learner_pairs": len(report["learner_pairs"]),
        "scan_s": round(scan_s, 2), "render_multi_page_s": round(render_s, 2),
        "render_single_file_s": round(single_s, 2), "pages_written": len(written),
        "checker_report_command_s": round(cli_s, 2),
        "multi_page_bytes": _size(out), "index_html_bytes": (out / "index.html").stat().st_size,
        "largest_pair_page_bytes": pair_pages[-1].stat().st_size,
        "single_file_bytes": (single / "index.html").stat().st_size,
    }
    loads = figures["real"]["chromium"] = {}
    loads["index"] = _load(browser, (out / "index.html").as_uri())
    browser.screenshot(OUT / "real-overview.png")
    _scroll_to(browser, "#similarity")
    browser.screenshot(OUT / "real-overview-charts.png")
    _scroll_to(browser, "#clusters")
    browser.screenshot(OUT / "real-overview-clusters.png")
    loads["largest_pair_page"] = _load(browser, pair_pages[-1].as_uri())
    # the pair to show: a suspicious one with the most fragments (several colours on screen)
    number, _ = max(((n, p) for n, p in enumerate(report["pairs"], 1) if p["similarity"] >= 0.5),
                    key=lambda item: (len(item[1]["fragments"]), -item[0]))
    loads["shown_pair"] = _load(browser, (out / "pairs" / f"pair-{number:04d}.html").as_uri())
    browser.screenshot(OUT / "real-pair.png")
    top = report["verdicts"][0]["learner"]
    code = learner_codes(lr["id"] for lr in report["learners"])[top]
    loads["learner"] = _load(browser, (out / "learners" / f"{code}.html").as_uri())
    browser.screenshot(OUT / "real-learner.png")
    loads["single_file_index"] = _load(browser, (single / "index.html").as_uri())
    loads["cold_dump_dom_index_s"] = _cold_dump_dom(out / "index.html", work / "cold-profile")
    loads["cold_dump_dom_single_file_s"] = _cold_dump_dom(single / "index.html", work / "cold-profile")


# --- review screenshots -----------------------------------------------------------------------


@dataclass(frozen=True)
class Shot:
    """One page of a rendered report to capture: `page` (an HTML file, optionally `#fragment`),
    written to bench/screenshots/`name`.png, or .pdf when `pdf` (printed by headless Chromium
    as A4, e.g. a learner's question sheet). `prepare`: JavaScript run once the page has loaded
    (scroll, click); `height`: the window's height for a screenshot."""

    name: str
    page: Path
    fragment: str = ""
    prepare: str = ""
    height: int = 1000
    pdf: bool = False


def _d2l_index() -> Path:
    """bench/out/d2l-index: the default corpus's d2l 0.17.6 entry, indexed once (pip download)."""
    from checker.corpus.index import CorpusIndex

    if CorpusIndex.exists(D2L_INDEX):
        return D2L_INDEX
    from checker.corpus.sources import load_manifest

    (entry,) = [e for e in load_manifest(defaults.CORPUS_MANIFEST) if e.spec.text == D2L_SPEC]
    aliases = [arg for alias in entry.aliases for arg in ("--alias", alias)]
    _checker("corpus", "add", D2L_SPEC, "--index", str(D2L_INDEX), "--licence", entry.licence,
             "--url", entry.url, *aliases, "-q", cwd=REPO)
    return D2L_INDEX


def _renamed_d2l_helpers(index_dir: Path) -> str:
    """A learner's file: d2l 0.17.6's Accumulator, accuracy, evaluate_accuracy_gpu and train_ch6,
    taken from the indexed d2l/torch.py and renamed (docstrings dropped, d2l.* made local), below
    a LeNet of the learner's own."""
    from checker.corpus.index import CorpusIndex

    with CorpusIndex.open(index_dir) as index:
        document = index.document(D2L_SPEC, "d2l/torch.py")
        text = index.text(document.content_id)
    wanted = ("Accumulator", "accuracy", "evaluate_accuracy_gpu", "train_ch6")
    tree = ast.parse(text)
    parts = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in wanted:
            source = ast.get_source_segment(text, node)
            parts.append(re.sub(r'\n(\s+)"""[^"]*?"""', "", source))  # drop docstrings
    copied = "\n\n\n".join(parts)
    for old, new in (("d2l.Accumulator", "Tally"), ("d2l.accuracy", "hits"), ("Accumulator", "Tally"),
                     ("evaluate_accuracy_gpu", "score_on"), ("train_ch6", "fit"),
                     ("accuracy", "hits"), ("metric", "tally"), ("net", "model"),
                     ("data_iter", "loader"), ("train_iter", "train_loader"),
                     ("test_iter", "test_loader"), ("d2l.", "")):
        copied = re.sub(rf"\b{re.escape(old)}" if old[0].isalpha() else re.escape(old), new, copied)
    own = (
        "import torch\nfrom torch import nn\n\nfrom utils import Animator, Timer, argmax, astype, reduce_sum, size\n\n\n"
        "def lenet():\n    return nn.Sequential(\n        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),\n"
        "        nn.AvgPool2d(kernel_size=2, stride=2),\n        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),\n"
        "        nn.AvgPool2d(kernel_size=2, stride=2),\n        nn.Flatten(),\n"
        "        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),\n        nn.Linear(120, 84), nn.Sigmoid(),\n"
        "        nn.Linear(84, 10))\n\n\n")
    main = "\n\n\nif __name__ == \"__main__\":\n    fit(lenet(), None, None, 10, 0.9, torch.device(\"cpu\"))\n"
    return own + copied + main


OWN_CODE = '''import torch
from torch import nn


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(8 * 13 * 13, 10)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))


def train(model, batches, epochs=3):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        for images, labels in batches:
            opt.zero_grad()
            nn.functional.cross_entropy(model(images), labels).backward()
            opt.step()
    return model
'''


def _checker(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "checker", *args], check=True, cwd=cwd,
                   env={**os.environ, "PYTHONPATH": str(REPO)})


def _pair_number(report_json: Path, source: str) -> int:
    pairs = json.loads(report_json.read_text())["pairs"]
    return next(n for n, p in enumerate(pairs, 1) if p["source"] == source)


def _learner_page(out: Path, learner: str) -> Path:
    learners = [lr["id"] for lr in json.loads((out / "report.json").read_text())["learners"]]
    return out / "learners" / f"{learner_codes(learners)[learner]}.html"


# each code box scrolled to its first fragment when that is below the box's first third (the page
# itself stays at its top)
_SHOW_FIRST_FRAGMENT = """document.querySelectorAll('.pair-code .code').forEach(box => {
    const seg = box.querySelector('.seg.frag');
    if (seg && seg.offsetTop > box.clientHeight / 3) box.scrollTop = seg.offsetTop - 4; })"""


def review_rounds(work: Path) -> dict[str, Path]:
    """The two rounds, scanned and rendered as a mentor does: {"example": DIR, "corpus": DIR}."""
    example = work / "example"
    _checker("scan", "--example", "-o", str(example), "-q", cwd=work)  # cwd: no fingerprints/ here
    root = work / "corpus-round"
    files = {"mei/train_lenet.py": _renamed_d2l_helpers(_d2l_index()),
             "tom/model.py": OWN_CODE,
             "mei/笔记.md": "# 训练笔记\n\n我用 LeNet 在 Fashion-MNIST 上训练了十轮，学习率 0.9。\n"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    corpus = work / "corpus"
    index = _d2l_index().relative_to(REPO)  # as the page shows it: bench/out/d2l-index
    _checker("scan", str(root), "--index", str(index), "-o", str(corpus), "-q", cwd=REPO)
    return {"example": example, "corpus": corpus}


def review_shots(rounds: dict[str, Path]) -> list[Shot]:
    example, corpus = rounds["example"], rounds["corpus"]
    learner_pair = _pair_number(example / "report.json", "learner")
    corpus_pair = _pair_number(corpus / "report.json", "corpus")
    return [
        Shot("example-overview", example / "index.html"),
        Shot("example-learner", _learner_page(example, "alice")),
        Shot("example-pair", example / "pairs" / f"pair-{learner_pair:04d}.html",
             prepare=_SHOW_FIRST_FRAGMENT, height=1250),
        Shot("corpus-overview", corpus / "index.html"),
        Shot("corpus-learner", _learner_page(corpus, "mei")),
        Shot("corpus-pair", corpus / "pairs" / f"pair-{corpus_pair:04d}.html",
             prepare=_SHOW_FIRST_FRAGMENT, height=1250),
        # the review meeting's question sheets: one learner on screen, every learner printed (A4,
        # one page each), and the d2l copier's sheet printed on its own
        Shot("corpus-questions", _sheet_page(corpus, "mei"), height=1250),
        Shot("example-questions", example / "questions" / "all.html", pdf=True),
        Shot("corpus-questions", _sheet_page(corpus, "mei"), pdf=True),
    ]


def _sheet_page(report_dir: Path, learner: str) -> Path:
    """The learner's question sheet: questions/ beside learners/, under the same code."""
    page = _learner_page(report_dir, learner)
    return report_dir / "questions" / page.name


def _small_png(data: bytes) -> bytes:
    """The PNG as it is, or as a 128-colour palette PNG when larger than MAX_PNG_BYTES."""
    if len(data) <= MAX_PNG_BYTES:
        return data
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").quantize(128).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def capture(shots: Sequence[Shot], profile: Path, out: Path | None = None) -> list[Path]:
    """Each shot's page in headless Chromium, to `out` (default bench/screenshots)/NAME.png (or .pdf)."""
    out = out or SCREENSHOTS
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for shot in shots:
        browser = Chromium(profile, width=1400, height=shot.height)
        try:
            browser.open(shot.page.as_uri() + (f"#{shot.fragment}" if shot.fragment else ""))
            problems = browser.console_problems()
            leaving = [u for u in browser.requested_urls() if not u.startswith(("file:", "data:", "about:"))]
            if problems or leaving:
                raise SystemExit(f"{shot.page}: {problems or leaving}")
            if shot.prepare:
                browser.js(shot.prepare)
                time.sleep(0.3)
            if shot.pdf:
                pdf = browser.call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True},
                                   session=True)
                path = out / f"{shot.name}.pdf"
                path.write_bytes(base64.b64decode(pdf["data"]))
            else:
                data = browser.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
                path = out / f"{shot.name}.png"
                path.write_bytes(_small_png(base64.b64decode(data)))
            written.append(path)
        finally:
            browser.close()
    return written


def check_both_sides(rounds: dict[str, Path], profile: Path) -> int:
    """Every pair page of every round opens offline (no request leaves the file, no error) with
    code on both sides; returns the pages checked (SystemExit naming the first that fails)."""
    browser = Chromium(profile)
    checked = 0
    try:
        for out in rounds.values():
            for page in sorted((out / "pairs").glob("*.html")):
                browser.events.clear()
                browser.open(page.as_uri())
                lines = browser.js("[...document.querySelectorAll('.pair-code .side')]"
                                   ".map(s => s.querySelectorAll('.ln').length)")
                leaving = [u for u in browser.requested_urls()
                           if not u.startswith(("file:", "data:", "about:"))]
                if len(lines) != 2 or min(lines) == 0 or leaving or browser.console_problems():
                    raise SystemExit(f"{page}: lines per side {lines}, requests {leaving}, "
                                     f"problems {browser.console_problems()}")
                checked += 1
    finally:
        browser.close()
    return checked


def review(extra: Callable[[dict[str, Path]], Sequence[Shot]] | None = None) -> list[Path]:
    """The review screenshots into bench/screenshots/: the example and the corpus-matched round,
    after checking that every pair page of both shows both sides (`check_both_sides`).
    `extra(rounds)` adds more shots of the same rendered rounds (rounds: name -> report folder,
    with report.json, index.html, learners/, pairs/), e.g. a learner's question sheet printed to
    PDF: `review(lambda r: [Shot("questions-alice", r["example"] / "learners" / "L01.html",
    fragment="questions", pdf=True)])`."""
    with tempfile.TemporaryDirectory(prefix="report-review-") as tmp:
        rounds = review_rounds(Path(tmp))
        pages = check_both_sides(rounds, Path(tmp) / "profile")
        print(f"{pages} pair pages open offline with code on both sides")
        shots = review_shots(rounds) + list(extra(rounds) if extra else [])
        return capture(shots, Path(tmp) / "profile")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timings", action="store_true",
                        help="render timings and screenshots of the small and the real round instead")
    parser.add_argument("--small", action="store_true", help="with --timings: the small round only")
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("chromium is not installed (apt-get install -y chromium)")
    if not args.timings:
        for path in review():
            print(f"{path.relative_to(REPO)}  {path.stat().st_size // 1000} KB")
        return
    timings(args.small)


def timings(small_only: bool) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        browser = Chromium(Path(tmp) / "profile")
        try:
            small(browser, figures)
            if not small_only:
                if (DATASETS / "west2-submissions-2024-2026.jsonl.gz").exists():
                    real(browser, figures, Path(tmp))
                else:
                    figures["real"] = f"skipped: {DATASETS} is absent"
        finally:
            browser.close()
    (OUT / "report_bench.json").write_text(json.dumps(figures, indent=1))
    print(json.dumps(figures, indent=1))
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    main()
