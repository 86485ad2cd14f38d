"""Rendering: the jinja2 environment and templates, every page of a report, and the files written.

Report ─► anonymise_report() (optional) ─► build_context() ─► templates ─► index.html,
learners/L01.html ..., pairs/pair-0001.html ..., questions/L01.html ... and questions/all.html
(or one index.html, `single_file=True`)
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from checker.report.html.anonymise import anonymise_report
from checker.report.html.context import Page, ReportContext
from checker.report.html.exports import csv_exports
from checker.report.html.filters import name_filter, plain_filter, text_filter
from checker.report.html.view import build_context
from checker.report.model import Report, as_report
from checker.report.wording import in_language
from checker.report.writers import atomic_write

# The policy of every page: nothing may be fetched; inline CSS/JS and data: images only.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def templates_dir() -> Path:
    """reports/templates in a source checkout, checker/templates in an installed wheel."""
    package = Path(__file__).resolve().parents[2]  # checker/ (this is checker/report/html/pages.py)
    for candidate in (package.parent / "reports" / "templates", package / "templates"):
        if (candidate / "base.html").is_file():
            return candidate
    raise FileNotFoundError(f"HTML templates not found beside {package} (reports/templates)")


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(name=name_filter, text=text_filter, plain=plain_filter)
    return env


@functools.lru_cache(maxsize=1)
def _assets() -> tuple[object, object]:
    """report.css (with questions.css, the question sheets') and report.js, checked to be safe
    to inline (no closing tag inside)."""
    from markupsafe import Markup

    folder = templates_dir()
    css = "\n".join((folder / name).read_text(encoding="utf-8") for name in ("report.css", "questions.css"))
    js = (folder / "report.js").read_text(encoding="utf-8")
    if re.search(r"</style", css, re.IGNORECASE) or re.search(r"</script", js, re.IGNORECASE):
        raise ValueError("report.css/report.js must not contain a closing </style> or </script>")
    return Markup(css), Markup(js)


def _page(kind: str, title: str, root: str, ctx: ReportContext) -> Page:
    css, js = _assets()
    return Page(
        title,
        kind,
        root,
        "#overview" if ctx.single_file else "index.html",
        css,
        js,
        CSP,
        ctx.tool_version,
        ctx.created,
        ctx.anonymised,
        ctx.single_file,
    )


def render_pages(ctx: ReportContext) -> dict[str, str]:
    """Output-relative file name -> HTML of every page of the report."""
    env = _environment()
    if ctx.single_file:
        page = _page("single", "noshortcut report", "", ctx)
        return {"index.html": env.get_template("single.html").render(page=page, ctx=ctx)}
    pages = {
        "index.html": env.get_template("overview.html").render(
            page=_page("overview", "noshortcut report: overview", "", ctx), ov=ctx.overview
        )
    }
    learner_tpl = env.get_template("learner.html")
    for view in ctx.learners:
        page = _page("learner", f"{view.learner.name}: noshortcut report", "../", ctx)
        pages[view.learner.href] = learner_tpl.render(page=page, view=view)
    pair_tpl = env.get_template("pair.html")
    for pair in ctx.pairs:
        row = pair.row
        page = _page("pair", f"pair {row.number}: {row.left.name} ↔ {row.right.name}", "../", ctx)
        pages[row.href] = pair_tpl.render(page=page, view=pair)
    sheet_tpl = env.get_template("questions.html")
    for sheet in ctx.sheets:
        page = _page("questions", f"{sheet.learner.name}: {sheet.title}", "../", ctx)
        pages[sheet.href] = sheet_tpl.render(page=page, sheets=[sheet], all_href=ctx.sheets_href)
    if ctx.sheets:
        # every learner with something to ask, one page each, to print for a meeting
        asked = [s for s in ctx.sheets if s.items] or ctx.sheets
        page = _page("questions", f"{asked[0].title}: noshortcut report", "../", ctx)
        pages[ctx.sheets_href] = sheet_tpl.render(page=page, sheets=asked, all_href="")
    return pages


def render_html(
    report: Report | dict,
    out_dir: Path,
    *,
    single_file: bool = False,
    anonymise: bool = False,
    lang: str | None = None,
) -> list[Path]:
    """Render the HTML report of `report` into `out_dir`; returns the files written.

    Multi-page (default): index.html, learners/L01.html..., pairs/pair-0001.html...; pages of an
    earlier render that this report no longer has are removed. `single_file`: one index.html
    holding every view. `anonymise`: learners shown as codes (see `anonymise_report`).
    `lang`: the question sheets' language (en | zh; None: the report's `lang`).
    A report dict is read through `Report.from_dict` (ReportError names a missing or mistyped
    field).
    """
    report = anonymise_report(report) if anonymise else as_report(report)
    ctx = build_context(in_language(report, lang), single_file=single_file, anonymised=anonymise)
    pages = render_pages(ctx)
    out_dir = Path(out_dir)
    written = []
    for rel, html in pages.items():
        path = out_dir / rel
        atomic_write(path, html)
        written.append(path)
    remove_stale_pages(out_dir, written)
    return written


def remove_stale_pages(out_dir: Path, written: list[Path]) -> None:
    """Remove the learner, pair and question pages of an earlier render in `out_dir` that are not
    among `written` (a page of a learner who is no longer in the round would mislead)."""
    keep = {p.resolve() for p in written}
    for folder, pattern in (("learners", "L*.html"), ("pairs", "pair-*.html"), ("questions", "*.html")):
        for stale in (out_dir / folder).glob(pattern):
            if stale.resolve() not in keep:
                stale.unlink()


def render_csv(report: Report | dict, out_dir: Path, *, anonymise: bool = False) -> list[Path]:
    """Write pairs.csv, findings.csv and learners.csv to `out_dir`; returns the paths."""
    report = anonymise_report(report) if anonymise else as_report(report)
    out_dir = Path(out_dir)
    written = []
    for name, text in csv_exports(report).items():
        atomic_write(out_dir / name, text)
        written.append(out_dir / name)
    return written
