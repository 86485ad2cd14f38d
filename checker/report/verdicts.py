"""A learner's verdict: one risk level and the reasons, in words a mentor can read out.

Inputs are the report's own typed sections (code pairs, rule findings, notes, retrain:
`checker.report.model`), so a verdict can be recomputed from report.json alone.
"""

from __future__ import annotations

from checker import defaults
from checker.report.model import (
    FilePairEntry,
    Finding,
    LearnerPairEntry,
    NotesSection,
    NotesSpan,
    RetrainEntry,
    Verdict,
)

RISK_ORDER = {"high": 3, "medium": 2, "low": 1, "none": 0}
# Code-sharing reasons listed per learner (most similar first); the rest are counted. A mentor
# reads the top few aloud; a learner in a 50-way cluster does not need 50 sentences.
MAX_PAIR_REASONS = 5


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _lines(span: NotesSpan | None) -> str:
    if not span:
        return ""
    a, b = span.start_line, span.end_line
    return f" lines {a}-{b}" if a and b and a != b else (f" line {a}" if a else "")


def _notes_reasons(learner: str, notes: NotesSection | None,
                   threshold: float) -> list[tuple[str, str]]:
    """Reasons (and risk levels) from the notes section (None: the notes did not run)."""
    out: list[tuple[str, str]] = []
    if notes is None:
        return out
    entry = next((e for e in notes.learners if e.learner == learner), None)
    if entry:
        copied = [p for p in entry.paragraphs if p.status == "copied"]
        cited = [p for p in entry.paragraphs if p.status == "cited"]
        if copied:
            first = copied[0]
            match = first.corpus_match or first.learner_match
            where = f"{match.source.source} {match.source.path}".strip() if match else ""
            own = entry.own_share
            out.append(((f"notes: {_pct(own)} in their own words; {len(copied)} paragraph(s) "
                         f"copied without citation, e.g. {first.path}{_lines(first.span)} "
                         f"({match.kind if match else 'copied'} from {where or 'another text'})"),
                        "high" if own < threshold else "medium"))
        if cited:
            out.append((f"notes: {len(cited)} paragraph(s) taken from cited sources", "low"))
        for finding in entry.findings:
            out.append((f"notes: {finding.message}", "low"))
    else:
        out.append(("notes: none handed in (no .md, .txt, .pdf, .docx, .html or notebook markdown)",
                    "low"))
    for shared in notes.shared:
        if learner in (shared.learner_a, shared.learner_b):
            other = shared.learner_b if shared.learner_a == learner else shared.learner_a
            mine = shared.path_a if shared.learner_a == learner else shared.path_b
            common = f" (both from {shared.common_source})" if shared.common_source else ""
            reason = (f"notes: {mine} shares a paragraph with {other}'s notes "
                      f"({shared.kind}){common}")
            out.append((reason, "medium"))
    return out


def learner_verdicts(learners: list[str], learner_pairs: list[LearnerPairEntry],
                     file_pairs: list[FilePairEntry], findings: list[Finding] | None = None,
                     notes: NotesSection | None = None,
                     retrain: dict[str, RetrainEntry] | None = None,
                     threshold: float = defaults.SUSPICIOUS_SIMILARITY) -> list[Verdict]:
    """One verdict per learner (risk and reasons), ranked by risk then score."""
    # group everything by learner once: a round of thousands of learners has 100,000+ pairs
    pairs_of: dict[str, list[LearnerPairEntry]] = {}
    for lp in learner_pairs:
        pairs_of.setdefault(lp.left, []).append(lp)
        pairs_of.setdefault(lp.right, []).append(lp)
    corpus_of: dict[str, list[FilePairEntry]] = {}
    for fp in file_pairs:
        if fp.source == "corpus":
            corpus_of.setdefault(fp.left, []).append(fp)
    findings_of: dict[str, list[Finding]] = {}
    for f in findings or []:
        findings_of.setdefault(f.learner, []).append(f)
    out = []
    for learner in learners:
        reasons: list[str] = []
        score = 0.0
        risk = "none"

        def raise_to(level: str) -> None:
            nonlocal risk
            if RISK_ORDER[level] > RISK_ORDER[risk]:
                risk = level

        shown = 0
        more = 0
        for lp in sorted(pairs_of.get(learner, []), key=lambda p: -p.similarity):
            other = lp.right if lp.left == learner else lp.left
            own_cov = lp.left_coverage if lp.left == learner else lp.right_coverage
            if lp.similarity < threshold / 2 and own_cov < threshold:
                continue
            score = max(score, lp.similarity)
            raise_to("high" if lp.similarity >= threshold else "medium")
            if shown == MAX_PAIR_REASONS:
                more += 1
                continue
            shown += 1
            reasons.append(f"shares {_pct(own_cov)} of their code with {other} "
                           f"(similarity {_pct(lp.similarity)}, longest common fragment "
                           f"{lp.longest_lines} lines)")
        if more:
            reasons.append(f"... and {more} more learner(s) above half the threshold")
        for fp in corpus_of.get(learner, []):
            if fp.left_coverage < threshold / 2:
                continue
            where = fp.right + (f" {fp.right_file}" if fp.right_file else "")
            if fp.attributed:
                raise_to("low")
                reasons.append(f"{fp.left_file}: {_pct(fp.left_coverage)} comes from {where}, "
                               f"attributed by the learner ({fp.attribution})")
            else:
                score = max(score, fp.left_coverage)
                raise_to("high" if fp.left_coverage >= threshold else "medium")
                reasons.append(f"{fp.left_file}: {_pct(fp.left_coverage)} matches public code "
                               f"{where} without attribution")
        errors = [f for f in findings_of.get(learner, []) if f.severity == "error"]
        if errors:
            # the example read out is one that points at a line, where there is one
            errors.sort(key=lambda f: (f.line == 0, f.code))
            raise_to("medium")
            codes = sorted({f.code for f in errors})
            reasons.append(f"{len(errors)} rule violation(s): {', '.join(codes)} — "
                           f"e.g. {errors[0].path}:{errors[0].line} {errors[0].message}")
        for reason, level in _notes_reasons(learner, notes, threshold):
            reasons.append(reason)
            raise_to(level)
        rt = (retrain or {}).get(learner)
        if rt and rt.status in ("not_reproduced", "over_budget", "failed", "timed_out"):
            raise_to("medium")
            reasons.append(f"retrain {rt.status.replace('_', ' ')}: {rt.reason}")
        if not reasons:
            reasons.append("nothing beyond the handout and common code was found")
        out.append(Verdict(learner, risk, round(score, 4), reasons))
    out.sort(key=lambda v: (-RISK_ORDER[v.risk], -v.score, v.learner))
    return out
