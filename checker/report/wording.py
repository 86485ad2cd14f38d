"""The languages of the review questions, and the few phrases every renderer of them shares.

Questions are stored in every language (`Question.texts`); `Question.text` is the one in the
report's `lang`. `in_language` switches a report to another language without recomputing, so the
HTML sheet and the terminal sheet can be printed in English or Chinese from one report.json.
"""

from __future__ import annotations

from collections.abc import Iterable

from checker.report.model import Report, replace

LANGS = ("en", "zh")
# the HTML `lang` of a sheet: a browser picks a Chinese font for zh-CN text
HTML_LANG = {"en": "en", "zh": "zh-CN"}


def check_lang(lang: str) -> str:
    """`lang` when it is a question language, else ValueError naming the choices."""
    if lang not in LANGS:
        raise ValueError(f"unknown question language {lang!r}: use one of {', '.join(LANGS)}")
    return lang


def location(lang: str, file: str, first: int, last: int) -> str:
    """`train.py:8`, `train.py lines 12–30`; `train.py 第 8 行`, `train.py 第 12–30 行`."""
    if lang == "zh":
        return f"{file} 第 {first} 行" if first == last else f"{file} 第 {first}–{last} 行"
    return f"{file}:{first}" if first == last else f"{file} lines {first}–{last}"


def listing(lang: str, items: Iterable[str], quote: str = "`") -> str:
    """Items quoted and joined as a sentence lists them: `` `1`, `10` and `5` ``, `“a”、“b” 和 “c”`.
    `quote` is "`" (code) or "“" (a term, closed with ”)."""
    close = "”" if quote == "“" else quote
    shown = [f"{quote}{x}{close}" for x in items]
    if len(shown) <= 1:
        return "".join(shown)
    if lang == "zh":
        return "、".join(shown[:-1]) + ("和" if quote == "“" else " 和 ") + shown[-1]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def in_language(report: Report, lang: str | None) -> Report:
    """`report` with every question's `text` in `lang`: the report itself when `lang` is None
    or already the report's, else a shallow copy with new verdicts and questions (questions are
    stored in every language: nothing is recomputed, and the report handed in is unchanged)."""
    if lang is None or check_lang(lang) == report.lang:
        return report
    verdicts = [
        replace(v, questions=[replace(q, text=q.texts.get(lang, q.text)) for q in v.questions])
        for v in report.verdicts
    ]
    return replace(report, lang=lang, verdicts=verdicts)


__all__ = ["HTML_LANG", "LANGS", "check_lang", "in_language", "listing", "location"]
