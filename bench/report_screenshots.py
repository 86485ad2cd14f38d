"""Screenshots and timings of the HTML report, for review (not a test).

    python bench/report_screenshots.py            # small round + the 567-file real round
    python bench/report_screenshots.py --small    # small round only (no dataset needed)

Writes bench/out/report/: the rendered reports (small/, real/, real-single/), PNG screenshots
(1400x1000) of the overview and of pair and learner views, a PDF of a pair printed as evidence,
and report_bench.json with the figures: scan, render (multi-page and single-file), page sizes and
the time Chromium takes to load each page (DevTools Page.loadEventFired, browser already
running) plus a cold `chromium --headless --dump-dom` of index.html (browser start included).

Needs Debian `chromium`. The real round is ../shared/datasets/west2-submissions-2024-2026.jsonl.gz,
materialised into a temporary folder as one round (`work1.learner-18/...`) and scanned.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
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

from checker.report.html import learner_codes, render_html
from checker.report.writers import write_report

OUT = REPO / "bench" / "out" / "report"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="only the small hand-made round")
    args = parser.parse_args()
    if CHROMIUM is None:
        sys.exit("chromium is not installed (apt-get install -y chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        browser = Chromium(Path(tmp) / "profile")
        try:
            small(browser, figures)
            if not args.small:
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
