"""The HTML report for review meetings (and its CSV export), rendered from report.json alone.

    Report ─► anonymise_report() (optional) ─► build_context(): a documented view-model
    ─► jinja2 templates in reports/templates ─► index.html + one page per learner and per pair
    (or one index.html with everything, `single_file=True`)

Everything a page shows is decided here, in Python: numbers are formatted, links resolved,
histogram bins counted, clusters found and the cluster graph laid out (each cluster a circle in
spectral order: deterministic, and the page needs no JS library). Every section is read from the
typed `checker.report.model.Report` (a report.json dict goes through `Report.from_dict` first).
The templates only read the context fields documented in
docs/report-schema.md (`autoescape=True`, `StrictUndefined`: a misspelt field fails the render
instead of printing nothing).

The pages are self-contained and offline: CSS and JS are inlined, a Content-Security-Policy meta
tag forbids every network request (`default-src 'none'`), and the only `http(s)://` strings are
links a person clicks (a corpus document's URL). Page file names are numbers, never learner ids
or paths, so a hostile file name cannot escape the output folder.

The package, one module per part:

- `context`: the view-model (frozen dataclasses) the templates read, documented field by field;
- `view`: `build_context`, Report -> view-model (learner, notes, retrain and overview views);
- `pairs`: the side-by-side pair view (fragments, anchors, corpus source);
- `graph`: similarity histograms and the clusters graph (spectral circle layout);
- `anonymise`: learner codes and `anonymise_report`;
- `exports`: the CSV files and their download links;
- `filters`: the jinja2 `name`, `text` and `plain` filters (bidi and control characters);
- `format`: small formatting helpers;
- `pages`: the jinja2 environment, `render_pages`, `render_html`, `render_csv`.
"""

from __future__ import annotations

from checker.report.html.anonymise import anonymise_report, learner_codes
from checker.report.html.context import ReportContext
from checker.report.html.exports import csv_exports
from checker.report.html.graph import circle_order, cluster_graph, similarity_histogram
from checker.report.html.pages import (
    CSP,
    render_csv,
    render_html,
    render_pages,
    templates_dir,
)
from checker.report.html.pairs import code_segments
from checker.report.html.view import build_context

__all__ = [
    "CSP",
    "ReportContext",
    "anonymise_report",
    "build_context",
    "circle_order",
    "cluster_graph",
    "code_segments",
    "csv_exports",
    "learner_codes",
    "render_csv",
    "render_html",
    "render_pages",
    "similarity_histogram",
    "templates_dir",
]
