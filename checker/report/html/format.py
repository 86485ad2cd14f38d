"""Small formatting helpers of the HTML report: percentages, numbers, line ranges, risks, links."""

from __future__ import annotations

import re

from checker.report.verdicts import RISK_ORDER


def pct(x) -> str:
    try:
        return f"{round(100 * float(x))}%"
    except (TypeError, ValueError):
        return "–"


def num(x) -> str:
    if x is None or x == "":
        return "–"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.0f}" if x.is_integer() and abs(x) >= 1000 else f"{x:.4g}"
    return str(x)


def line_range(a: int, b: int) -> str:
    return f"{a}" if a == b else f"{a}–{b}"


def risk_name(x) -> str:
    return x if x in RISK_ORDER else "none"


def link_url(url) -> str:
    """`url` when it is an http(s) address a person may click, else "": a `javascript:` or
    `data:` URL from a corpus manifest must not become a link (the page's CSP allows inline
    script, which covers javascript: URLs)."""
    url = str(url or "").strip()
    return url if re.match(r"https?://[^\s\"'<>]+$", url, re.IGNORECASE) else ""
