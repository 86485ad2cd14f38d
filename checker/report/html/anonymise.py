"""Learners as codes (L01, L02, ...) in a copy of the report, for pages and CSV files to share."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from checker.report.model import Report, RetrainEntry, RetrainRun, as_report

HIDDEN = "(hidden: anonymised report)"


def learner_codes(learner_ids: Iterable[str]) -> dict[str, str]:
    """Stable codes for learners: L01, L02, ... in sorted id order (width grows with the round)."""
    ids = sorted(set(learner_ids))
    width = max(2, len(str(len(ids))))
    return {lid: f"L{n:0{width}d}" for n, lid in enumerate(ids, 1)}


def _mention_replacer(codes: dict[str, str]) -> Callable[[str], str]:
    """A function replacing learner ids in free text (verdict reasons, messages, logs).

    An id counts only as a whole token: `learner-2` inside `learner-20` is left alone.
    """
    if not codes:
        return lambda text: text
    alternation = "|".join(re.escape(i) for i in sorted(codes, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w-])(?:{alternation})(?![\w-])")

    def replace(text):
        if not isinstance(text, str):
            return text
        return pattern.sub(lambda m: codes[m.group(0)], text)

    return replace


def _history_names(rep: Report) -> set[str]:
    """Every name of the report that may be a remembered learner (ROUND:LEARNER)."""
    names = {p.right for p in rep.pairs if p.source == "history"}
    names |= {f.owner for f in rep.history.files} if rep.history else set()
    if rep.notes is not None:
        names |= {sp.learner_b for sp in rep.notes.shared} | {sp.learner_a for sp in rep.notes.shared}
        names |= {
            par.learner_match.source.source
            for entry in rep.notes.learners
            for par in entry.paragraphs
            if par.learner_match is not None
        }
    return names


def anonymise_report(report: Report | dict) -> Report:
    """A copy of `report` with every learner id replaced by its code (see `learner_codes`).

    Replaced: id fields (learners, owners, pair sides, verdicts and their evidence and questions,
    findings, warnings, notes learners, paragraph owners and learner matches, shared passages,
    retrain keys, notebook outputs) and mentions in free text (reasons, evidence, questions,
    messages, warnings, suggestions, logs); the round folder is hidden.
    Not touched: the learners' own code and notes text, which is the evidence (a name in a
    comment stays visible), and file paths inside a submission.
    """
    rep = as_report(report).copy()
    codes = learner_codes(rep.learner_ids())
    # learners of remembered rounds (ROUND:LEARNER): their own code when they are of this round
    # too, else E01, E02, ...; the round names stay
    rounds = {r.name for r in rep.history.compared} if rep.history else set()

    def earlier(name: str) -> tuple[str, str] | None:
        round_name, sep, learner = name.partition(":")
        return (round_name, learner) if sep and round_name in rounds else None

    others = {
        found[1]
        for name in _history_names(rep)
        if (found := earlier(name)) is not None and found[1] not in codes
    }
    codes.update({lid: "E" + c[1:] for lid, c in learner_codes(others).items()})

    def code(name: str) -> str:  # corpus source ids are not learners and pass unchanged
        if name in codes:
            return codes[name]
        found = earlier(name)
        return f"{found[0]}:{codes.get(found[1], found[1])}" if found else name

    text = _mention_replacer(codes)
    for lr in rep.learners:
        lr.id = code(lr.id)
    for f in rep.files:
        f.owner = code(f.owner)
    for p in rep.pairs:
        p.left, p.right = code(p.left), code(p.right)
        p.attribution = text(p.attribution)
        if p.history is not None:
            p.history.learner = code(p.history.learner)
    if rep.history is not None:
        for f in rep.history.files:
            f.owner = code(f.owner)
    for lp in rep.learner_pairs:
        lp.left, lp.right = code(lp.left), code(lp.right)
    for v in rep.verdicts:
        v.learner = code(v.learner)
        v.reasons = [text(r) for r in v.reasons]
        for e in v.evidence:
            e.partner, e.text = code(e.partner), text(e.text)
        for q in v.questions:  # the quoted code is the learner's evidence: left as it is
            q.source, q.text = code(q.source), text(q.text)
            q.texts = {lang: text(t) for lang, t in q.texts.items()}
    for finding in rep.findings:
        finding.learner = code(finding.learner)
        finding.message = text(finding.message)
    for w in rep.warnings + (rep.notes.warnings if rep.notes else []):
        w.learner = code(w.learner)
        w.path = text(w.path)
        w.reason = text(w.reason)
    if rep.notes is not None:
        for entry in rep.notes.learners:
            entry.learner = code(entry.learner)
            for nf in entry.findings:
                nf.learner = code(nf.learner)
                nf.message = text(nf.message)
            for par in entry.paragraphs:
                par.owner = code(par.owner)
                par.suggestion = text(par.suggestion)
                if par.corpus_match is not None:
                    par.corpus_match.source.source = text(par.corpus_match.source.source)
                if par.learner_match is not None:
                    par.learner_match.source.source = code(par.learner_match.source.source)
        for sp in rep.notes.shared:
            sp.learner_a, sp.learner_b = code(sp.learner_a), code(sp.learner_b)
            sp.common_source = text(sp.common_source)
    retrain: dict[str, RetrainEntry] = {}
    for lid, result in rep.retrain.items():
        result.reason = text(result.reason)
        if isinstance(result, RetrainRun):
            result.log_tail = text(result.log_tail)
            result.submission = text(result.submission)
            result.command = None if result.command is None else text(result.command)
            result.log_path = None if result.log_path is None else text(result.log_path)
        retrain[code(lid)] = result
    rep.retrain = retrain
    for nb in rep.outputs.notebooks if rep.outputs else []:
        nb.learner = code(nb.learner)
        if nb.printed_metric is not None:
            nb.printed_metric.reason = text(nb.printed_metric.reason)
    if rep.config is not None:
        if rep.config.round_dir:
            rep.config.round_dir = HIDDEN
        if rep.config.base_dir:
            rep.config.base_dir = HIDDEN
    return rep
