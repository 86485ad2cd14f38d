"""A learner's verdict: one risk level from their strongest evidence, and the reasons in words.

The unit of evidence is a matched region: a learner file against another learner's file or a
public corpus document, a notes passage against another learner's or a public text, a rule
finding, a retrain result. Code evidence is weighed by its length in *own* code: tokens that no
handout or common k-gram covers, counted only in runs long enough to be more than an idiom
(`VerdictPolicy.min_run_tokens`). A learner's risk is the level of their strongest item, so
neither the number of files in a folder nor averages over it can hide a copied file or make one.

Inputs are the report's own typed sections (pairs, findings, notes, retrain:
`checker.report.model`), so a verdict can be recomputed from report.json alone; reports written
before fragments carried `own_tokens` are weighed by their raw fragment tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from checker import defaults
from checker.report.model import (
    Evidence,
    FilePairEntry,
    Finding,
    LearnerPairEntry,
    NotesSection,
    OutputFragment,
    OutputsSection,
    PairFragment,
    Report,
    RetrainEntry,
    Verdict,
)

RISK_ORDER = {"high": 3, "medium": 2, "low": 1, "none": 0}


@dataclass(frozen=True)
class VerdictPolicy:
    """What makes matched code evidence. Measured on the labelled real rounds
    (bench/bench_round.py): every copied file there shares at least one run of 80+ own tokens
    (10+ lines) with its source, while the longest own run between independent learners of a
    task is 34 tokens (4-6 lines of task-dictated calls); 40 sits between them."""

    # a run of matched own code shorter than this is an idiom (a training step, a plot call),
    # however many of them two files share
    min_run_tokens: int = 40
    # own tokens in such runs, summed over one file pair: from here a file pair raises risk
    medium_tokens: int = 60
    high_tokens: int = 100
    # both files covered at least this much: the same file. Too small to reach `medium_tokens`,
    # it is shown, never raised ("too short to tell"); from `medium_tokens` on it is high
    identical_coverage: float = 0.9
    # notes copied without citation from one source into one file: from here it raises to
    # medium (about 20 lines of prose, the labels' bar for an unattributed public copy);
    # below, it is shown at low
    notes_medium_words: int = 150
    # notes paragraphs one learner shares with another, in one file: from here it raises to
    # medium (a few sentences; the one clean learner flagged on the dev rounds shared 2
    # paragraphs of ~30 words of textbook definitions)
    notes_shared_medium_words: int = 60
    # code evidence lines per learner; the rest are counted in one line
    max_code_reasons: int = 5
    # notebooks printing the same figures (defaults.py says why): a shared run of this many
    # figures over this many lines (a training log) is high; this many figures in all, medium
    outputs_high_numbers: int = defaults.OUTPUTS_HIGH_NUMBERS
    outputs_high_lines: int = defaults.OUTPUTS_HIGH_LINES
    outputs_medium_numbers: int = defaults.OUTPUTS_MEDIUM_NUMBERS


DEFAULT_POLICY = VerdictPolicy()


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _span(lines: list[tuple[int, int]]) -> str:
    if not lines:
        return ""
    a, b = min(x for x, _ in lines), max(y for _, y in lines)
    return f" line {a}" if a == b else f" lines {a}-{b}"


def _own(f: PairFragment) -> int:
    return f.own_tokens if f.own_tokens >= 0 else f.tokens


def _runs(pair: FilePairEntry, policy: VerdictPolicy) -> list[PairFragment]:
    """The fragments of a pair that are long enough in own code to count."""
    return [f for f in pair.fragments if _own(f) >= policy.min_run_tokens]


def evidence_runs(pair: FilePairEntry, policy: VerdictPolicy = DEFAULT_POLICY) -> list[PairFragment]:
    """The matched regions of a pair that count as evidence (`_runs`), the most own code first:
    what `checker.report.questions` asks about."""
    return sorted(_runs(pair, policy), key=lambda f: (-_own(f), f.left_start_line))


def _run_weight(runs: list[PairFragment]) -> int:
    return sum(_own(f) for f in runs)


def _lines_of(f: PairFragment, side: str) -> tuple[int, int]:
    if side == "left":
        return f.left_start_line, f.left_end_line
    return f.right_start_line, f.right_end_line


def _run_lines(runs: list[PairFragment], side: str) -> int:
    return sum(b - a + 1 for a, b in (_lines_of(f, side) for f in runs))


def _level(weight: float, policy: VerdictPolicy) -> str:
    if weight >= policy.high_tokens:
        return "high"
    if weight >= policy.medium_tokens:
        return "medium"
    return "none"


@dataclass(frozen=True)
class _Matched:
    """A file pair seen from one side: its long own-code runs, their weight and level."""

    mine: str  # "left" | "right"
    other: str
    my_file: str
    their_file: str
    share: float
    runs: list[PairFragment]
    weight: int
    level: str
    whole: bool  # both files covered: the same file

    @classmethod
    def of(cls, learner: str, pair: FilePairEntry, policy: VerdictPolicy) -> _Matched:
        left = pair.left == learner
        share, their_share = (
            (pair.left_coverage, pair.right_coverage) if left else (pair.right_coverage, pair.left_coverage)
        )
        runs = _runs(pair, policy)
        weight = _run_weight(runs)
        return cls(
            "left" if left else "right",
            pair.right if left else pair.left,
            pair.left_file if left else pair.right_file,
            pair.right_file if left else pair.left_file,
            share,
            runs,
            weight,
            _level(weight, policy),
            share >= policy.identical_coverage and their_share >= policy.identical_coverage,
        )

    @property
    def theirs(self) -> str:
        return "right" if self.mine == "left" else "left"

    def lines(self) -> int:
        return _run_lines(self.runs, self.mine)

    def where(self) -> tuple[str, str, str]:
        """(my lines, their lines, how: "" or " in N runs (longest L lines)")."""
        my_lines = [_lines_of(f, self.mine) for f in self.runs]
        longest = max(b - a + 1 for a, b in my_lines)
        how = "" if len(self.runs) == 1 else f" in {len(self.runs)} runs (longest {longest} lines)"
        return _span(my_lines), _span([_lines_of(f, self.theirs) for f in self.runs]), how

    def evidence(self, kind: str, level: str, text: str) -> Evidence:
        return Evidence(kind, level, self.weight, text, self.other, self.my_file, self.their_file, self.share)


def _too_little(m: _Matched, whose: str) -> Evidence:
    return Evidence(
        "info",
        "none",
        0,
        f"{m.my_file} is identical to {whose} {m.their_file} but holds too little code "
        f"of its own (beyond handout and common code) to tell copying from coincidence",
        m.other,
        m.my_file,
        m.their_file,
        m.share,
    )


def _shared_code(m: _Matched, kind: str, also: str, whence: str = "") -> Evidence:
    """The evidence of code shared with another learner (`whence`: " from the earlier round X"
    for a learner of a remembered round)."""
    if m.whole:
        # the whole file, not a passage of it: the strongest form of the same code
        text = (
            f"{m.my_file} is the same code as {m.other}'s {m.their_file}{whence} ({m.lines()} lines "
            f"of own code, {_pct(m.share)} of the file){also}"
        )
        return m.evidence(kind, "high", text)
    mine, theirs, how = m.where()
    text = (
        f"{m.my_file}{mine}: {m.lines()} lines of own code{how} also in "
        f"{m.other}'s {m.their_file}{theirs}{whence}; {_pct(m.share)} of {m.my_file}{also}"
    )
    return m.evidence(kind, m.level, text)


def _code_evidence(learner: str, pair: FilePairEntry, policy: VerdictPolicy) -> Evidence | None:
    """A learner-to-learner file pair seen from `learner`'s side, or None when it is no evidence."""
    m = _Matched.of(learner, pair, policy)
    if m.level == "none":
        return _too_little(m, f"{m.other}'s") if m.whole else None
    shared_by = max(f.learners for f in m.runs)
    return _shared_code(m, "code", f"; {shared_by - 2} other learner(s) have it too" if shared_by > 2 else "")


def _history_evidence(pair: FilePairEntry, policy: VerdictPolicy) -> Evidence | None:
    """A match with a learner of a remembered round (`source` history), seen from the left side:
    raised as a learner pair is, or, for the learner's own earlier work, shown and never raised."""
    m = _Matched.of(pair.left, pair, policy)
    earlier = f"the earlier round {pair.history.round}" if pair.history else "an earlier round"
    if pair.history is not None and pair.history.own_work:
        if m.level == "none" and not m.whole:
            return None
        what = "the same file as" if m.whole else f"{m.lines()} lines of own code also in"
        return m.evidence(
            "history",
            "none",
            f"{m.my_file}: own earlier work, {what} their own {m.their_file} of {earlier} "
            f"({m.other}); not counted as copying",
        )
    if m.level == "none":
        return _too_little(m, f"{m.other}'s (of {earlier})") if m.whole else None
    shared_by = max(f.learners for f in m.runs)
    also = f"; {shared_by - 1} other learner(s) of this round have it too" if shared_by > 1 else ""
    return _shared_code(m, "history", also, f" from {earlier}")


def _corpus_evidence(pair: FilePairEntry, policy: VerdictPolicy) -> Evidence | None:
    runs = _runs(pair, policy)
    weight = _run_weight(runs)
    share = pair.left_coverage
    where = pair.right + (f" {pair.right_file}" if pair.right_file else "")
    lines = [_lines_of(f, "left") for f in runs]
    if pair.expected:
        return Evidence(
            "info",
            "none",
            weight,
            f"{pair.left_file}{_span(lines)}: "
            f"{_pct(share)} from {where}, a source the task tells learners to use",
            pair.right,
            pair.left_file,
            pair.right_file,
            share,
        )
    level = _level(weight, policy)
    if level == "none":
        return None
    if pair.attributed:
        return Evidence(
            "corpus",
            "low",
            weight,
            f"{pair.left_file}{_span(lines)}: "
            f"{_pct(share)} comes from {where}, attributed by the learner "
            f"({pair.attribution})",
            pair.right,
            pair.left_file,
            pair.right_file,
            share,
        )
    return Evidence(
        "corpus",
        level,
        weight,
        f"{pair.left_file}{_span(lines)}: "
        f"{_run_lines(runs, 'left')} lines of own code match public code {where} "
        f"without attribution, {_pct(share)} of the file",
        pair.right,
        pair.left_file,
        pair.right_file,
        share,
    )


def _notes_evidence(learner: str, notes: NotesSection | None, policy: VerdictPolicy) -> list[Evidence]:
    """Items from the notes section (None: the notes were not checked)."""
    out: list[Evidence] = []
    if notes is None:
        return out
    entry = next((e for e in notes.learners if e.learner == learner), None)
    if entry:
        copied = [p for p in entry.paragraphs if p.status == "copied"]
        by_file: dict[tuple[str, str, str], list] = {}
        for p in copied:
            match = p.corpus_match or p.learner_match
            where = f"{match.source.source} {match.source.path}".strip() if match else ""
            key = (p.path, where or "another text", match.kind if match else "copied")
            by_file.setdefault(key, []).append(p)
        for (path, where, kind), paragraphs in sorted(by_file.items(), key=lambda kv: -len(kv[1])):
            words = sum(p.words for p in paragraphs)
            level = "medium" if words >= policy.notes_medium_words else "low"
            out.append(
                Evidence(
                    "notes",
                    level,
                    words,
                    f"notes: {len(paragraphs)} paragraph(s) "
                    f"({words} words) of {path} copied without citation ({kind} "
                    f"from {where})",
                    where,
                    path,
                )
            )
        cited = [p for p in entry.paragraphs if p.status == "cited"]
        if cited:
            out.append(
                Evidence("notes", "low", 0, f"notes: {len(cited)} paragraph(s) taken from cited sources")
            )
        for finding in entry.findings:
            # a norm the task set (min_words, min_own_share) raises; one it did not is information
            level = "medium" if finding.norm_from_task and finding.severity != "info" else "none"
            out.append(Evidence("notes", level, 0, f"notes: {finding.message}"))
    else:
        out.append(
            Evidence(
                "notes",
                "low",
                0,
                "notes: none handed in (no .md, .txt, .pdf, .docx, .html or notebook markdown)",
            )
        )
    # learner-to-learner passages only: passages two learners share because both copied one
    # public source (notes.shared_sources) are each learner's own copied paragraph, above
    grouped: dict[tuple[str, str, str], list[int]] = {}
    for shared in notes.shared:
        if learner not in (shared.learner_a, shared.learner_b):
            continue
        mine_a = shared.learner_a == learner
        other = shared.learner_b if mine_a else shared.learner_a
        path, index = (shared.path_a, shared.index_a) if mine_a else (shared.path_b, shared.index_b)
        grouped.setdefault((other, path, shared.kind), []).append(index)
    words_of = {(p.path, p.index): p.words for p in entry.paragraphs} if entry else {}
    for (other, path, kind), indices in sorted(grouped.items(), key=lambda kv: -len(kv[1])):
        words = sum(words_of.get((path, i), 0) for i in set(indices))
        # a sentence or two of standard phrasing (a definition, a cheat-sheet line) two learners
        # both wrote is shown, not raised
        level = "medium" if words >= policy.notes_shared_medium_words else "low"
        out.append(
            Evidence(
                "notes",
                level,
                words,
                f"notes: {len(set(indices))} paragraph(s) "
                f"({words} words) of {path} also in {other}'s notes ({kind})",
                other,
                path,
            )
        )
    return out


def _digits(frags: list[OutputFragment]) -> str:
    low = min((f.min_digits for f in frags if f.numbers), default=0)
    high = max((f.max_digits for f in frags if f.numbers), default=0)
    return f"{low}" if low == high else f"{low}-{high}"


def _cell_span(start: int, end: int) -> str:
    return f"cell {start}" if start == end else f"cells {start}-{end}"


def _outputs_evidence(learner: str, pair: FilePairEntry, policy: VerdictPolicy) -> Evidence:
    """Two notebooks that print the same figures or images, seen from `learner`'s side."""
    mine = pair.left == learner
    other = pair.right if mine else pair.left
    my_file, their_file = (pair.left_file, pair.right_file) if mine else (pair.right_file, pair.left_file)
    share = pair.left_coverage if mine else pair.right_coverage
    frags = pair.outputs or []
    numbers = sum(f.numbers for f in frags)
    images = sum(f.images for f in frags)
    figure_runs = [f for f in frags if f.numbers]
    longest = max(figure_runs, key=lambda f: (f.numbers, f.lines), default=None)
    if (
        longest is not None
        and longest.numbers >= policy.outputs_high_numbers
        and (longest.lines >= policy.outputs_high_lines)
    ):
        level = "high"
    elif numbers >= policy.outputs_medium_numbers:
        level = "medium"
    else:
        level = "low"  # a figure or two, or an image alone: shown, not raised (defaults.py says why)
    parts = []
    if longest is not None:
        a, b = (
            (longest.left_cell, longest.left_end_cell)
            if mine
            else (longest.right_cell, longest.right_end_cell)
        )
        c, d = (
            (longest.right_cell, longest.right_end_cell)
            if mine
            else (longest.left_cell, longest.left_end_cell)
        )
        what = (
            "the same training log as"
            if longest.lines >= policy.outputs_high_lines
            else "the same figures as"
        )
        lines = sum(f.lines for f in figure_runs)
        parts.append(
            f"{learner}'s notebook {my_file} prints {what} {other}'s {their_file}: {lines} line(s), "
            f"{numbers} numbers to {_digits(figure_runs)} digits, {_cell_span(a, b)} ↔ {_cell_span(c, d)}"
        )
        if len(figure_runs) > 1:
            parts[-1] += f" ({len(figure_runs)} runs)"
    if images:
        pictures = [f for f in frags if f.images]
        first = pictures[0]
        a, c = (first.left_cell, first.right_cell) if mine else (first.right_cell, first.left_cell)
        text = f"{images} identical image output(s), cell {a} ↔ cell {c}"
        if parts:
            parts.append(text)
        else:
            parts.append(
                f"{learner}'s notebook {my_file} shows {text} of {other}'s {their_file} (a plot of "
                f"the data drawn by the same code is identical too: ask what it shows)"
            )
    return Evidence("outputs", level, numbers, "; ".join(parts), other, my_file, their_file, share)


def _printed_metric_evidence(learner: str, outputs: OutputsSection | None) -> list[Evidence]:
    """A metric the learner's notebook prints that the re-run contradicts."""
    out = []
    for nb in outputs.notebooks if outputs else []:
        pm = nb.printed_metric
        if nb.learner == learner and pm is not None and pm.contradicted:
            out.append(
                Evidence(
                    "retrain",
                    "medium",
                    0,
                    f"retrain: {nb.path} cell {pm.cell} prints “{pm.text}”, yet {pm.reason}",
                    file=nb.path,
                )
            )
    return out


def _rules_evidence(findings: list[Finding]) -> list[Evidence]:
    errors = [f for f in findings if f.severity == "error"]
    if not errors:
        return []
    # the example read out is one that points at a line, where there is one
    errors.sort(key=lambda f: (f.line == 0, f.code))
    first = errors[0]
    where = (
        f"{first.path}:{first.line}"
        if first.line
        else ("the submission" if first.path in (".", "") else first.path)
    )
    codes = sorted({f.code for f in errors})
    return [
        Evidence(
            "rules",
            "medium",
            0,
            f"{len(errors)} rule violation(s): {', '.join(codes)} — e.g. {where}: {first.message}",
        )
    ]


def learner_verdicts(
    learners: list[str],
    learner_pairs: list[LearnerPairEntry],
    file_pairs: list[FilePairEntry],
    findings: list[Finding] | None = None,
    notes: NotesSection | None = None,
    retrain: dict[str, RetrainEntry] | None = None,
    policy: VerdictPolicy = DEFAULT_POLICY,
    outputs: OutputsSection | None = None,
) -> list[Verdict]:
    """One verdict per learner (risk, score, reasons, evidence), ranked by risk then score.
    `score`: the share of the learner's file (or notes) behind their strongest raising item.
    `learner_pairs` are not evidence (averages over folders): the HTML draws them, nothing here
    reads them."""
    del learner_pairs
    code_of: dict[str, list[FilePairEntry]] = {}
    corpus_of: dict[str, list[FilePairEntry]] = {}
    outputs_of: dict[str, list[FilePairEntry]] = {}
    history_of: dict[str, list[FilePairEntry]] = {}
    for fp in file_pairs:
        if fp.source == "outputs":
            outputs_of.setdefault(fp.left, []).append(fp)
            outputs_of.setdefault(fp.right, []).append(fp)
        elif fp.source == "corpus":
            corpus_of.setdefault(fp.left, []).append(fp)
        elif fp.source == "history":
            history_of.setdefault(fp.left, []).append(fp)
        elif fp.source == "learner":
            code_of.setdefault(fp.left, []).append(fp)
            code_of.setdefault(fp.right, []).append(fp)
    findings_of: dict[str, list[Finding]] = {}
    for f in findings or []:
        findings_of.setdefault(f.learner, []).append(f)
    out = []
    for learner in learners:
        items: list[Evidence] = []
        for pair in code_of.get(learner, []):
            item = _code_evidence(learner, pair, policy)
            if item:
                items.append(item)
        for pair in corpus_of.get(learner, []):
            item = _corpus_evidence(pair, policy)
            if item:
                items.append(item)
        items += [_outputs_evidence(learner, pair, policy) for pair in outputs_of.get(learner, [])]
        items += _printed_metric_evidence(learner, outputs)
        for pair in history_of.get(learner, []):
            item = _history_evidence(pair, policy)
            if item:
                items.append(item)
        items += _rules_evidence(findings_of.get(learner, []))
        items += _notes_evidence(learner, notes, policy)
        rt = (retrain or {}).get(learner)
        if rt and rt.status in ("not_reproduced", "over_budget", "failed", "timed_out"):
            items.append(
                Evidence("retrain", "medium", 0, f"retrain {rt.status.replace('_', ' ')}: {rt.reason}")
            )
        out.append(_verdict(learner, items, policy))
    out.sort(key=lambda v: (-RISK_ORDER[v.risk], -v.score, v.learner))
    return out


def report_verdicts(report: Report) -> list[Verdict]:
    """The verdicts of a report, from its own sections."""
    return learner_verdicts(
        report.learner_ids(),
        report.learner_pairs,
        report.pairs,
        report.findings,
        report.notes,
        report.retrain,
        outputs=report.outputs,
    )


def _verdict(learner: str, items: list[Evidence], policy: VerdictPolicy) -> Verdict:
    items.sort(key=lambda e: (-RISK_ORDER[e.level], e.kind == "info", -e.weight, e.text))
    risk = items[0].level if items else "none"
    raising = [e for e in items if e.level in ("high", "medium")]
    score = max((e.share for e in raising), default=0.0)
    reasons: list[str] = []
    code_shown = hidden = 0
    for e in items:
        matched = e.kind in ("code", "history")
        if matched and code_shown == policy.max_code_reasons:
            hidden += 1
            continue
        code_shown += matched
        if e.text not in reasons:
            reasons.append(e.text)
    if hidden:
        reasons.append(f"... and {hidden} more file(s) shared with other learners")
    if not reasons:
        reasons.append("nothing beyond the handout and common code was found")
    for e in items:
        e.weight, e.share = round(e.weight, 4), round(e.share, 4)
    return Verdict(learner, risk, round(score, 4), reasons, items)
