"""build_context: a typed Report -> the view-model (`checker.report.html.context`) of every page.

Everything a page shows is decided here: numbers formatted, links resolved, rows ranked and
indexed by learner, the optional sections (findings, notes, retrain) read or marked "not run".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from checker import defaults
from checker.model import split_lines
from checker.report.html.analysis import corpus_sections, reason_lines, shared_reasons
from checker.report.html.anonymise import learner_codes
from checker.report.html.context import (
    FileRow,
    FindingRow,
    LearnerPairRow,
    LearnerRef,
    LearnerView,
    MetricRow,
    NotebookRow,
    NotesPairRow,
    NotesPassagePair,
    NotesView,
    Overview,
    PairRow,
    PairView,
    PassageRow,
    ReportContext,
    RetrainView,
    SectionState,
    VerdictRow,
    WarningRow,
)
from checker.report.html.exports import downloads
from checker.report.html.format import line_range, link_url, num, pct, risk_name
from checker.report.html.graph import cluster_graph, similarity_histogram
from checker.report.html.pairs import pair_view
from checker.report.html.sheets import question_sheets
from checker.report.model import (
    FileEntry,
    FilePairEntry,
    Finding,
    LearnerPairEntry,
    NotesLearner,
    NotesParagraph,
    NotesSection,
    NotesSpan,
    OutputsSection,
    Report,
    RetrainEntry,
    RetrainSkipped,
    as_report,
)
from checker.report.verdicts import RISK_ORDER, report_verdicts

_Row = TypeVar("_Row")

RETRAIN_STATUS_WORDS = {
    "reproduced": "reproduced",
    "not_reproduced": "not reproduced",
    "over_budget": "over budget",
    "failed": "failed",
    "timed_out": "timed out",
    "skipped": "skipped",
}
NOT_RUN = "not run"


class _Links:
    """Output-relative hrefs of every page, for the multi-page or the single-file layout."""

    def __init__(self, single_file: bool, learner_codes_: dict[str, str]):
        self.single_file = single_file
        self.codes = learner_codes_

    def learner(self, learner_id: str) -> str:
        code = self.codes.get(learner_id)
        if code is None:
            return ""
        return f"#learner-{code}" if self.single_file else f"learners/{code}.html"

    def learner_key(self, learner_id: str) -> str:
        return f"learner-{self.codes[learner_id]}"

    def pair(self, number: int) -> str:
        return f"#pair-{number:04d}" if self.single_file else f"pairs/pair-{number:04d}.html"

    def questions(self, learner_id: str) -> str:
        key = self.questions_key(learner_id)
        return f"#{key}" if self.single_file else f"questions/{self.codes[learner_id]}.html"

    def questions_key(self, learner_id: str) -> str:
        return f"questions-{self.codes[learner_id]}"

    def all_questions(self) -> str:
        return "" if self.single_file else "questions/all.html"

    def index(self) -> str:
        return "#overview" if self.single_file else "index.html"


def build_context(
    report: Report | dict,
    *,
    single_file: bool = False,
    anonymised: bool = False,
    csv_embed_max_bytes: int = defaults.REPORT_CSV_EMBED_MAX_BYTES,
    max_rows: int = defaults.REPORT_OVERVIEW_MAX_PAIRS,
    max_pair_pages: int = defaults.REPORT_MAX_PAIR_PAGES,
) -> ReportContext:
    """The view-model of a report (already anonymised when `anonymised`).

    Absent optional sections (findings, notes, retrain, warnings) are shown as "not run" or
    empty; a report dict is read through `Report.from_dict` first, which raises ReportError
    naming a missing or mistyped field. Verdicts are computed when the report has none.
    """
    report = as_report(report)
    threshold = defaults.SUSPICIOUS_SIMILARITY
    ids = report.learner_ids()
    links = _Links(single_file, learner_codes(ids))
    verdicts = report.verdicts or (report_verdicts(report) if ids else [])
    verdict_of = {v.learner: v for v in verdicts}

    def risk_of(lid: str) -> str:
        v = verdict_of.get(lid)
        return risk_name(v.risk if v else None)

    refs = {lid: LearnerRef(lid, links.learner(lid), risk_of(lid)) for lid in ids}

    def ref(name: str) -> LearnerRef:
        return refs.get(name) or LearnerRef(str(name), "", "none")

    # remembered files that appear in pairs (owner ROUND:LEARNER) are shown like the round's own
    remembered = report.history.files if report.history else []
    files = {(f.owner, f.path): f for f in [*report.files, *remembered]}

    # --- pairs
    pair_rows: list[PairRow] = []
    pair_views: list[PairView] = []
    line_cache: dict[tuple[str, str], list[str]] = {}

    def lines_of(owner: str, path: str) -> list[str] | None:
        entry = files.get((owner, path))
        if not entry or entry.text is None:
            return None
        key = (owner, path)
        if key not in line_cache:
            line_cache[key] = split_lines(entry.text)
        return line_cache[key]

    for number, p in enumerate(report.pairs, 1):
        row = PairRow(
            number=number,
            key=f"p{number}",
            section_id=f"pair-{number:04d}",
            # a huge round: the least similar pairs get no page of their own (pairs.csv and
            # report.json keep them); the row says so instead of linking
            href=links.pair(number) if number <= max_pair_pages else "",
            left=ref(p.left),
            left_file=p.left_file,
            right=ref(p.right) if p.source != "corpus" else LearnerRef(p.right, "", "none"),
            right_file=p.right_file,
            source=p.source,
            similarity_pct=pct(p.similarity),
            left_coverage_pct=pct(p.left_coverage),
            right_coverage_pct=pct(p.right_coverage),
            longest_lines=p.longest_lines,
            fragment_count=len(p.fragments) or len(p.outputs or []),
            attributed=p.attributed,
            attribution=p.attribution,
            hot=p.similarity >= threshold,
            history_note=_history_note(p),
            own_work=bool(p.history and p.history.own_work),
        )
        pair_rows.append(row)
        if number <= max_pair_pages:
            pair_views.append(pair_view(row, p, files, lines_of))

    learner_pair_rows = [
        LearnerPairRow(
            ref(lp.left),
            ref(lp.right),
            pct(lp.similarity),
            pct(lp.left_coverage),
            pct(lp.right_coverage),
            lp.longest_lines,
            lp.files,
            lp.similarity >= threshold,
        )
        for lp in report.learner_pairs
    ]

    # --- optional sections
    findings = report.findings
    # a task file ran the rules (report.task) even when they found nothing
    findings_state = "ran" if findings or report.task else NOT_RUN
    finding_rows = [
        _finding_row(f, ref)
        for f in sorted(
            findings,
            key=lambda f: (
                {"error": 0, "warning": 1, "info": 2}.get(f.severity, 3),
                f.learner,
                f.path,
                f.line,
            ),
        )
    ]
    notes = report.notes
    notes_learners = {entry.learner: entry for entry in notes.learners} if notes else {}
    notes_pair_rows, notes_edges = _shared_notes(notes, ref) if notes else ([], [])
    notes_state = "ran" if notes is not None or notes_pair_rows else NOT_RUN
    retrain = report.retrain
    retrain_state = "ran" if retrain else NOT_RUN
    warning_rows = [WarningRow(ref(w.learner), w.path, w.kind, w.reason) for w in report.warnings]

    # --- verdicts, ranked as the report ranks them (risk, then score)
    learner_entry = {lr.id: lr for lr in report.learners}

    def score_of(lid: str) -> float:
        v = verdict_of.get(lid)
        return v.score if v else 0.0

    ordered = sorted(ids, key=lambda i: (-RISK_ORDER[refs[i].risk], -score_of(i), i))
    common_reasons = shared_reasons(
        ordered, lambda lid: verdict_of[lid].reasons if lid in verdict_of else [], ref
    )
    common_by_text = {r.text: r for r in common_reasons}
    verdict_rows: dict[str, VerdictRow] = {}
    errors_of: dict[str, int] = {}
    for f in findings:
        if f.severity == "error":
            errors_of[f.learner] = errors_of.get(f.learner, 0) + 1
    for rank, lid in enumerate(ordered, 1):
        v = verdict_of.get(lid)
        nl = notes_learners.get(lid)
        rt = retrain.get(lid)
        verdict_rows[lid] = VerdictRow(
            rank,
            refs[lid],
            refs[lid].risk,
            pct(score_of(lid)),
            list(v.reasons) if v else [],
            len(learner_entry[lid].code_files),
            len(learner_entry[lid].notes_files),
            errors_of.get(lid, 0),
            pct(nl.own_share) if nl else ("no entry" if notes_state == "ran" else NOT_RUN),
            RETRAIN_STATUS_WORDS.get(rt.status, rt.status)
            if rt
            else ("no entry" if retrain_state == "ran" else NOT_RUN),
            reason_lines(v.reasons if v else [], common_by_text),
        )

    # --- learner views (rows indexed by learner once: a round of thousands stays linear)
    def by_learner(rows, *sides: str) -> dict[str, list]:
        index: dict[str, list] = {}
        for row in rows:
            for name in dict.fromkeys(getattr(row, side).name for side in sides):
                index.setdefault(name, []).append(row)
        return index

    pairs_of = by_learner(pair_rows, "left", "right")
    learner_pairs_of = by_learner(learner_pair_rows, "left", "right")
    findings_of = by_learner(finding_rows, "learner")
    notes_pairs_of = by_learner(notes_pair_rows, "left", "right")
    warnings_of = by_learner(warning_rows, "learner")
    notebooks_of = _notebook_rows(report.outputs)
    learner_views = []
    for lid in ids:
        lr = learner_entry[lid]
        learner_views.append(
            LearnerView(
                key=links.learner_key(lid),
                pairs_table_id=f"{links.learner_key(lid)}-pairs",
                learner=refs[lid],
                verdict=verdict_rows[lid],
                files=[
                    _file_row(files[(lid, path)])
                    if (lid, path) in files
                    else FileRow(path, "code", "–", "–", 0, 0, 0)
                    for path in lr.code_files
                ],
                notes_files=list(lr.notes_files),
                other_files=list(lr.other_files),
                pairs=pairs_of.get(lid, []),
                learner_pairs=learner_pairs_of.get(lid, []),
                findings_state=findings_state,
                findings=findings_of.get(lid, []),
                notes=_notes_view(notes_learners.get(lid), notes_state, ref, notes_pairs_of.get(lid, [])),
                retrain=_retrain_view(retrain.get(lid), retrain_state),
                notebooks=notebooks_of.get(lid, []),
                warnings=warnings_of.get(lid, []),
                questions_href=links.questions(lid),
            )
        )

    # --- overview
    stats, config = report.stats, report.config
    min_sim = config.min_similarity if config else defaults.MIN_REPORT_SIMILARITY
    below = f"pairs below {pct(min_sim)} similarity are not in the report"
    counts = {r: 0 for r in ("high", "medium", "low", "none")}
    for lid in ids:
        counts[refs[lid].risk] += 1
    seconds = stats.seconds if stats else {}
    fingerprint = config.fingerprint if config else {}
    facts = [
        ("learners", num(len(ids))),
        ("code files compared", num(stats.files if stats else len(report.files))),
        ("candidate file pairs", num(stats.candidate_pairs if stats else "–")),
        ("file pairs reported", num(len(pair_rows))),
        ("learner pairs reported", num(len(learner_pair_rows))),
        ("warnings", num(len(warning_rows))),
        ("scan time", f"{report.elapsed_s if report.elapsed_s is not None else '–'} s"),
        ("created", report.created),
        ("round folder", (config.round_dir if config else "") or "–"),
        ("handout subtracted", (config.base_dir if config else None) or "no"),
        ("fingerprints", ", ".join(f"{k}={v}" for k, v in sorted(fingerprint.items()))),
    ]
    if seconds:
        facts.append(("stage times", ", ".join(f"{k} {v} s" for k, v in seconds.items())))
    if report.history is not None:
        compared = ", ".join(r.name for r in report.history.compared) or "none"
        facts.append(("remembered rounds compared", compared))
        if report.history.stored is not None:
            facts.append(("stored as round", report.history.stored.name))
    sections = [
        SectionState(
            "code matching", "ran", f"{len(pair_rows)} file pairs, {len(learner_pair_rows)} learner pairs"
        ),
        SectionState(
            "rule checks",
            findings_state,
            f"{len(findings)} findings" if findings else "no findings in report.json",
        ),
        SectionState(
            "notes",
            notes_state,
            f"{len(notes_learners)} learners' notes, {len(notes_pair_rows)} shared-notes pairs"
            if notes_state == "ran"
            else "no notes section in report.json",
        ),
        SectionState(
            "notebook outputs",
            "ran" if report.outputs is not None else NOT_RUN,
            f"{len(report.outputs.notebooks)} notebooks read, "
            f"{sum(p.source == 'outputs' for p in report.pairs)} pairs print the same figures"
            if report.outputs is not None
            else "no outputs section in report.json",
        ),
        SectionState(
            "retrain",
            retrain_state,
            f"{len(retrain)} learners re-run" if retrain else "no retrain section in report.json",
        ),
        *corpus_sections(report),
    ]
    overview = Overview(
        headline=(
            f"{len(ids)} learners · {counts['high']} high risk · {counts['medium']} medium · "
            f"{counts['low']} low · {len(pair_rows)} file pairs"
        ),
        facts=facts,
        sections=sections,
        verdicts=[verdict_rows[lid] for lid in ordered],
        shared_reasons=common_reasons,
        risk_counts=list(counts.items()),
        file_histogram=similarity_histogram(
            [p.similarity for p in report.pairs], "file pairs by similarity", below
        ),
        learner_histogram=similarity_histogram(
            [lp.similarity for lp in report.learner_pairs], "learner pairs by similarity", below
        ),
        graph=cluster_graph(
            report.learner_pairs, notes_edges, refs, threshold, outputs_pairs=_outputs_edges(report)
        ),
        learner_pairs=_most_similar(learner_pair_rows, report.learner_pairs, max_rows),
        learner_pairs_left_out=max(0, len(learner_pair_rows) - max_rows),
        pairs=_most_similar(pair_rows, report.pairs, max_rows),
        pairs_left_out=max(0, len(pair_rows) - max_rows),
        notes_pairs=notes_pair_rows,
        findings_state=findings_state,
        findings=finding_rows,
        warnings=warning_rows,
        downloads=downloads(report, csv_embed_max_bytes),
    )
    return ReportContext(
        overview,
        learner_views,
        pair_views,
        anonymised,
        single_file,
        report.tool.version if report.tool else "",
        report.created,
        question_sheets(report, refs, links.questions, links.questions_key, ordered),
        links.all_questions(),
    )


def _history_note(p: FilePairEntry) -> str:
    """The badge of a match with a remembered round."""
    if p.source != "history":
        return ""
    if p.history is None:
        return "earlier round"
    if p.history.own_work:
        return f"own earlier work · {p.history.round}"
    return f"earlier round {p.history.round}"


def _most_similar(
    rows: list[_Row], entries: Sequence[FilePairEntry | LearnerPairEntry], limit: int
) -> list[_Row]:
    """The `limit` rows whose entries are most similar, most similar first (stable)."""
    order = sorted(range(len(rows)), key=lambda i: (-entries[i].similarity, i))
    return [rows[i] for i in order[:limit]]


def _file_row(f: FileEntry) -> FileRow:
    return FileRow(f.path, f.kind, f.parser, f.encoding, f.lines, f.tokens, len(f.cell_lines))


def _finding_row(f: Finding, ref: Callable[[str], LearnerRef]) -> FindingRow:
    where = f.path
    if f.cell:
        where += f" cell {f.cell}"
    if f.line:
        where += f":{f.line}:{f.col}" if not f.cell else f" line {f.line}:{f.col}"
    return FindingRow(ref(f.learner), f.code, f.severity, f.title, f.message, where)


def _passage_row(par: NotesParagraph, ref: Callable[[str], LearnerRef]) -> PassageRow:
    """A paragraph that comes from somewhere (copied, cited, shared), beside its source."""
    match = par.corpus_match or par.learner_match
    src = match.source if match else None
    start, end = par.span.start_line, par.span.end_line
    s_start, s_end = (src.span.start_line, src.span.end_line) if src else (0, 0)
    source = src.source if src else ""
    from_learner = par.corpus_match is None and par.learner_match is not None
    return PassageRow(
        file=par.path,
        lines=line_range(start, end or start) if start else "",
        kind=match.kind if match else "",
        status=par.status,
        text=par.text,
        source=ref(source) if from_learner else LearnerRef(source, "", "none"),
        source_path=src.path if src else "",
        source_span=f"lines {line_range(s_start, s_end)}" if s_start else "",
        source_url=link_url(src.url if src else ""),
        source_excerpt=src.excerpt if src else "",
        similarity_pct=pct(match.score) if match else "–",
        cited=match.cited if match else False,
        citation=match.citation if match else "",
        suggestion=par.suggestion,
    )


def _notes_view(
    entry: NotesLearner | None, state: str, ref: Callable[[str], LearnerRef], shared: list[NotesPairRow]
) -> NotesView:
    """One learner's notes: own-words share, findings as reasons, the paragraphs that come from
    somewhere (those judged `own`, `not_judged`, `handout` or `not_prose` are not listed) and the shared passages."""
    if state != "ran":
        return NotesView(NOT_RUN, NOT_RUN, "", False, [], [], [])
    if entry is None:
        return NotesView("no entry", "–", "", False, [], [], shared)
    passages = [
        _passage_row(par, ref)
        for par in entry.paragraphs
        if par.status not in ("own", "not_judged", "handout", "not_prose")
    ]
    return NotesView(
        "ran",
        pct(entry.own_share),
        num(entry.words),
        entry.needs_attention,
        [f.message for f in entry.findings],
        passages,
        shared,
    )


def _where(path: str, span: NotesSpan) -> str:
    """ "notes.md:3–5" for one side of a shared passage."""
    a, b = span.start_line, span.end_line
    return f"{path}:{line_range(a, b or a)}" if a else path


def _outputs_edges(report: Report) -> list[tuple[str, str, float]]:
    """(left, right, similarity) of the notebook-output pairs a verdict raises (medium or high
    `outputs` evidence naming the other learner), strongest pair of the two learners."""
    raised = {
        frozenset((v.learner, e.partner))
        for v in report.verdicts
        for e in v.evidence
        if e.kind == "outputs" and e.level in ("medium", "high") and e.partner
    }
    best: dict[frozenset, tuple[str, str, float]] = {}
    for p in report.pairs:
        key = frozenset((p.left, p.right))
        if p.source == "outputs" and key in raised and p.similarity > best.get(key, ("", "", -1.0))[2]:
            best[key] = (p.left, p.right, p.similarity)
    return sorted(best.values())


def _shared_notes(
    notes: NotesSection, ref: Callable[[str], LearnerRef]
) -> tuple[list[NotesPairRow], list[tuple[str, str, float]]]:
    """The shared passages grouped per learner pair (rows, and (left, right, similarity) edges
    for the cluster graph); each passage's text is taken from the two learners' paragraphs."""
    paragraph_text = {
        (entry.learner, par.path, par.index): par.text for entry in notes.learners for par in entry.paragraphs
    }
    grouped: dict[tuple[str, str], tuple[list[float], set[str], list[NotesPassagePair]]] = {}
    for sp in notes.shared:
        if not sp.learner_a or not sp.learner_b:
            continue
        scores, common, passages = grouped.setdefault((sp.learner_a, sp.learner_b), ([], set(), []))
        scores.append(sp.score)
        if sp.common_source:
            common.add(sp.common_source)
        passages.append(
            NotesPassagePair(
                sp.kind,
                pct(sp.score),
                _where(sp.path_a, sp.span_a),
                paragraph_text.get((sp.learner_a, sp.path_a, sp.index_a), ""),
                _where(sp.path_b, sp.span_b),
                paragraph_text.get((sp.learner_b, sp.path_b, sp.index_b), ""),
            )
        )
    rows, edges = [], []
    for (a, b), (scores, common, passages) in grouped.items():
        similarity = max([0.0, *scores])
        summary = f"{len(passages)} shared paragraph(s)" + (
            f"; both match {', '.join(sorted(common))}: possibly copied from there" if common else ""
        )
        rows.append(NotesPairRow(ref(a), ref(b), pct(similarity), summary, passages))
        edges.append((a, b, similarity))
    return rows, edges


def _notebook_rows(outputs: OutputsSection | None) -> dict[str, list[NotebookRow]]:
    """Per learner, their notebooks as read: counts, execution-count anomalies (information,
    never risk) and the metric the outputs print beside the re-run's."""
    rows: dict[str, list[NotebookRow]] = {}
    for nb in outputs.notebooks if outputs else []:
        unread = f" ({nb.unread} not read: over the caps)" if nb.unread else ""
        summary = (
            f"{nb.code_cells} code cells, {nb.executed_cells} run · {nb.outputs} outputs{unread} · "
            f"{nb.images} images · {nb.figure_lines} lines of figures"
        )
        pm = nb.printed_metric
        printed = (
            f"cell {pm.cell} prints “{pm.text}” ({pm.metric} {num(pm.value)}); {pm.reason}" if pm else ""
        )
        rows.setdefault(nb.learner, []).append(
            NotebookRow(
                nb.path,
                summary,
                [a.text for a in nb.anomalies],
                printed,
                bool(pm and pm.contradicted),
            )
        )
    return rows


def _retrain_view(entry: RetrainEntry | None, state: str) -> RetrainView:
    """One learner's re-run: the claim beside what the re-run reached, parameters against the
    budget, the facts of the run and the log's tail."""
    if state != "ran" or entry is None:
        label = NOT_RUN if state != "ran" else "no entry"
        return RetrainView(label, "", label, "", [], "", "", "", "", "", False, [], "")
    status = entry.status
    if isinstance(entry, RetrainSkipped):
        return RetrainView(
            "ran",
            status,
            RETRAIN_STATUS_WORDS.get(status, status or "–"),
            entry.reason,
            [],
            "–",
            "–",
            "–",
            "–",
            "",
            status == "over_budget",
            [],
            "",
        )
    metrics = []
    if entry.claimed is not None or entry.reached is not None or entry.metric:
        metrics = [MetricRow(entry.metric or "metric", num(entry.claimed), num(entry.reached))]
    params, max_params = entry.params, entry.max_params
    budget, over = "", False
    if params is not None and max_params is not None and max_params > 0:
        over = params > max_params
        budget = f"{num(params)} of {num(max_params)} allowed ({pct(params / max_params)} of the budget)" + (
            " — over budget" if over else ""
        )
    facts = []
    for value, label in (
        (entry.target, "target"),
        (entry.tolerance, "tolerance"),
        (entry.claim_source, "claim read from"),
        (entry.command, "command"),
        (entry.duration_s, "run time (s)"),
        (entry.peak_memory_mb, "peak memory (MB)"),
        (entry.short, "shortened run"),
        (entry.log_path, "full log"),
    ):
        if value not in (None, "", False):
            facts.append((label, num(value)))
    for warning in entry.warnings:
        facts.append(("warning", warning))
    return RetrainView(
        "ran",
        status,
        RETRAIN_STATUS_WORDS.get(status, status or "–"),
        entry.reason,
        metrics,
        num(entry.gap) if entry.gap is not None else "–",
        num(params),
        num(entry.claimed_params),
        num(max_params),
        budget,
        over or status == "over_budget",
        facts,
        entry.log_tail,
    )
