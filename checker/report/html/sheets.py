"""The printable review-question sheets: one page per learner, in the report's language.

Each sheet lists the learner's questions (`Verdict.questions`, made by
`checker.report.questions`), each with the evidence it points at (the learner's file and lines,
the other learner's or the public source's), a short quote of the lines and room for the
mentor's notes. The words around the questions are in the same language as the questions.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from checker.report.html.context import LearnerRef, Line, QuestionItem, QuestionSheet
from checker.report.model import Question, Report, Verdict
from checker.report.wording import HTML_LANG, location

_WORDS = {
    "en": {
        "title": "Review questions",
        "heading": "{title} · {learner} ({risk})",
        "risk": "risk: {risk}",
        "evidence": "evidence: ",
        "notes": "notes: ",
        "all": "every learner's sheet",
        "learner": "learner page",
        "print": "print (one page per learner)",
        "empty": "Nothing to ask about: no evidence beyond the handout and common code.",
    },
    "zh": {
        "title": "复核问题",
        "heading": "{title} · {learner}（{risk}）",
        "risk": "风险：{risk}",
        "evidence": "证据：",
        "notes": "记录：",
        "all": "全部学员的问题单",
        "learner": "学员页面",
        "print": "打印（每位学员一页）",
        "empty": "没有需要提问的证据：除讲义代码和常见代码外没有发现其他问题。",
    },
}
# the other side of the evidence, as pieces around the names ({who}, {file})
_SOURCE_PIECES = {
    "en": {
        "code": ["also in ", "{who}", "'s ", "{file}"],
        "corpus": ["public code: ", "{who}", " ", "{file}"],
        "notes": ["source: ", "{who}"],
        "notes_learner": ["also in ", "{who}", "'s notes"],
    },
    "zh": {
        "code": ["另见 ", "{who}", " 的 ", "{file}"],
        "corpus": ["公开代码：", "{who}", " ", "{file}"],
        "notes": ["来源：", "{who}"],
        "notes_learner": ["另见 ", "{who}", " 的笔记"],
    },
}
_KIND_WORDS = {
    "en": {
        "function": "function",
        "constant": "constants",
        "shape": "tensor shape",
        "removal": "a line removed",
        "own_part": "own work",
        "rule": "rule",
        "retrain": "retrain",
        "notes": "notes",
    },
    "zh": {
        "function": "函数",
        "constant": "常量",
        "shape": "张量形状",
        "removal": "删掉一行",
        "own_part": "自己写的部分",
        "rule": "规则",
        "retrain": "复现训练",
        "notes": "笔记",
    },
}
_RISK_WORDS = {
    "en": {"high": "high", "medium": "medium", "low": "low", "none": "none"},
    "zh": {"high": "高", "medium": "中", "low": "低", "none": "无"},
}


def _lines_words(lang: str, file: str, lines: list[int]) -> str:
    """What `location` writes after the file name: `:8`, ` lines 12–30`, ` 第 12–30 行`."""
    return location(lang, file, *lines)[len(file) :] if lines else ""


def _where(lang: str, file: str, lines: list[int]) -> list[tuple[bool, str]]:
    if not file:
        return []
    return [(True, file)] + ([(False, _lines_words(lang, file, lines))] if lines else [])


def _source(
    q: Question, verdict: Verdict, lang: str, is_learner: Callable[[str], bool]
) -> list[tuple[bool, str]]:
    """Where the other side of the evidence is, as pieces ([] when the question has none):
    another learner's file (code evidence), a public document (corpus), a notes source or
    another learner's notes."""
    if not q.source:
        return []
    kind = verdict.evidence[q.evidence].kind if 0 <= q.evidence < len(verdict.evidence) else "corpus"
    if kind == "notes":
        kind = "notes_learner" if is_learner(q.source) else "notes"
    elif kind != "code":
        kind = "corpus"
    out: list[tuple[bool, str]] = []
    for piece in _SOURCE_PIECES[lang][kind]:
        if piece == "{who}":
            out.append((True, q.source))
        elif piece == "{file}":
            if q.source_file:
                out += _where(lang, q.source_file, q.source_lines)
            elif out and not out[-1][0]:
                out.pop()  # no file: drop the space before it
        else:
            out.append((False, piece))
    if kind == "notes" and q.source_lines:
        a, b = q.source_lines[0], q.source_lines[-1]
        span = f"{a}" if a == b else f"{a}–{b}"
        out.append((False, f" 第 {span} 行" if lang == "zh" else f", line{'s' if a != b else ''} {span}"))
    return out


def _item(
    number: int, q: Question, verdict: Verdict, lang: str, is_learner: Callable[[str], bool]
) -> QuestionItem:
    first = q.lines[0] if q.lines else 0
    quote = (
        [Line(first + i if first else 0, text, 0) for i, text in enumerate(q.quote.split("\n"))]
        if q.quote
        else []
    )
    return QuestionItem(
        number,
        _KIND_WORDS[lang].get(q.kind, q.kind),
        q.text,
        _text_parts(q.text, [q.file, q.source, q.source_file, verdict.learner]),
        _where(lang, q.file, q.lines),
        _source(q, verdict, lang, is_learner),
        quote,
    )


def _text_parts(text: str, names: list[str]) -> list[tuple[str, str]]:
    """`text` as ("code" | "name" | "text", piece): what its backticks enclose is code; in the
    words between, each of `names` (the learner's file, the other side's id and file) is a name,
    isolated on the page like every learner-controlled name. An unpaired backtick stays text."""
    pieces = text.split("`")
    if len(pieces) % 2 == 0:  # an odd number of backticks: the last one is not a delimiter
        pieces[-2:] = [pieces[-2] + "`" + pieces[-1]]
    names = sorted({n for n in names if n}, key=len, reverse=True)
    pattern = re.compile("(" + "|".join(re.escape(n) for n in names) + ")") if names else None
    out: list[tuple[str, str]] = []
    for i, piece in enumerate(pieces):
        if i % 2 == 1:
            out.append(("code", piece))
            continue
        for j, part in enumerate(pattern.split(piece) if pattern else [piece]):
            if part:
                out.append(("name" if j % 2 == 1 else "text", part))
    return out


def question_sheets(
    report: Report,
    refs: dict[str, LearnerRef],
    href: Callable[[str], str],
    key: Callable[[str], str],
    order: list[str],
) -> list[QuestionSheet]:
    """A sheet per learner of `order` (learner ids, as the overview ranks them)."""
    lang = report.lang if report.lang in _WORDS else "en"
    words = _WORDS[lang]
    verdicts = {v.learner: v for v in report.verdicts}
    learners = set(report.learner_ids())
    sheets = []
    for lid in order:
        verdict = verdicts.get(lid) or Verdict(lid, "none")
        ref = refs[lid]
        sheets.append(
            QuestionSheet(
                key=key(lid),
                href=href(lid),
                learner=ref,
                lang=HTML_LANG.get(lang, "en"),
                title=words["title"],
                risk=words["risk"].format(risk=_RISK_WORDS[lang].get(ref.risk, ref.risk)),
                labels={k: words[k] for k in ("evidence", "notes", "all", "learner", "print", "heading")},
                empty=words["empty"],
                items=[
                    _item(n, q, verdict, lang, learners.__contains__)
                    for n, q in enumerate(verdict.questions, 1)
                ],
            )
        )
    return sheets


__all__ = ["question_sheets"]
