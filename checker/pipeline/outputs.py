"""The notebook-output stage of `checker scan`: learners' notebooks that print the same figures.

Reads what ingest read of every learner notebook (`Notebook.outputs`), matches the outputs
(`checker.code.outputs`), and puts into the report: a pair with `source` = `outputs` per pair of
notebooks that print the same figures or images (in `pairs`, so in pairs.csv and the HTML), and
the `outputs` section (every notebook's counts, its execution-count anomalies and, where retrain
ran, the metric its outputs print last beside what the re-run reached).
"""

from __future__ import annotations

import time
from pathlib import Path

from checker.code.outputs import (
    NotebookEvidence,
    OutputPair,
    count_anomalies,
    evidence_items,
    match_outputs,
    output_lines,
)
from checker.ingest.round import Submission, load_folder
from checker.report.model import (
    CountAnomalyEntry,
    FilePairEntry,
    NotebookOutputsEntry,
    OutputFragment,
    OutputsSection,
    PrintedMetric,
    Report,
    RetrainRun,
)


def handout_keys(base_dir: Path | None) -> set[tuple[str, ...]]:
    """What the handout's notebooks print: not evidence, whoever prints it."""
    if base_dir is None:
        return set()
    handout = load_folder(Path(base_dir), "handout")
    return {item.key for nb in handout.notebooks.values() for item in evidence_items(nb.outputs)}


def pair_entry(pair: OutputPair) -> FilePairEntry:
    """The report's entry of a pair of notebooks that print the same figures or images."""
    entry = FilePairEntry.of(pair)
    entry.outputs = [
        OutputFragment(*f.left_start, *f.left_end, *f.right_start, *f.right_end, f.lines, f.numbers,
                       f.images, f.min_digits, f.max_digits, f.text, f.right_text)
        for f in pair.runs
    ]
    return entry


def add_outputs(report: Report, subs: list[Submission], config, task=None) -> None:
    """The notebook-output evidence of a round into `report` (before its verdicts are made).
    `config`: the scan's ScanConfig (its handout folder; whether retrain ran); `task`: its task."""
    started = time.perf_counter()
    base_dir = config.base_dir
    retrain_config = None
    if config.retrain and task is not None and task.retrain_table:
        from checker.retrain.config import RetrainConfig

        retrain_config = RetrainConfig.from_table(task.retrain_table, Path(config.task_path))
    notebooks: list[NotebookEvidence] = []
    entries: list[NotebookOutputsEntry] = []
    for sub in subs:
        for rel, nb in sorted(sub.notebooks.items()):
            outputs = nb.outputs
            items = evidence_items(outputs)
            notebooks.append(NotebookEvidence(sub.learner, rel, items))
            entries.append(NotebookOutputsEntry(
                sub.learner, rel, len(outputs.cells),
                sum(c.execution_count is not None for c in outputs.cells),
                outputs.outputs, outputs.unread,
                sum(len(o.images) for c in outputs.cells for o in c.outputs),
                sum(not item.is_image for item in items),
                [CountAnomalyEntry(a.kind, list(a.cells), a.text) for a in count_anomalies(outputs)],
            ))
    pairs, stats = match_outputs(notebooks, exclude=handout_keys(base_dir))
    if pairs:
        # among the code pairs, by similarity (a stable merge: code pairs keep their order)
        report.pairs = sorted([*report.pairs, *map(pair_entry, pairs)], key=lambda p: -p.similarity)
    if retrain_config is not None:
        by_path = {(sub.learner, rel): nb for sub in subs for rel, nb in sub.notebooks.items()}
        for entry in entries:
            run = report.retrain.get(entry.learner)
            if isinstance(run, RetrainRun) and run.reached is not None:
                entry.printed_metric = printed_metric(by_path[(entry.learner, entry.path)].outputs,
                                                      run, retrain_config)
    report.outputs = OutputsSection(entries, stats)
    if report.stats is not None:
        report.stats.seconds["outputs"] = round(time.perf_counter() - started, 3)


def printed_metric(outputs, run: RetrainRun, config) -> PrintedMetric | None:
    """The task's metric as the notebook prints it last (`checker.retrain.claims.last_printed`),
    beside what the re-run reached: contradicted when the re-run falls short of it by more than
    the retrain tolerance, in the task's direction. A shortened re-run is not compared: it cannot
    reach what a full run printed."""
    from checker.retrain.claims import last_printed

    lines = list(output_lines(outputs))
    found = last_printed([ln.text for ln in lines], config.metric, unit=config.unit,
                         patterns=config.claim_patterns)
    if found is None:
        return None
    index, figure = found
    line = lines[index]
    reached = run.reached
    tolerance = run.tolerance if run.tolerance is not None else config.tolerance
    entry = PrintedMetric(config.metric, line.cell, line.line, figure.quote, figure.value,
                          reached, tolerance)
    if reached is None:
        return entry
    if run.short:
        entry.reason = "the re-run was shortened: its figure is not compared with a full run's"
        return entry
    sign = 1.0 if config.direction == "max" else -1.0
    shortfall = sign * (figure.value - reached)
    if shortfall > tolerance + 1e-12:
        entry.contradicted = True
        entry.reason = (f"the re-run reached {config.metric} {reached:.4g}, "
                        f"{shortfall:.4g} {'below' if sign > 0 else 'above'} the printed "
                        f"{figure.value:.4g} (tolerance {tolerance:.4g})")
    else:
        entry.reason = (f"the re-run reached {config.metric} {reached:.4g}, within "
                        f"{tolerance:.4g} of the printed {figure.value:.4g}")
    return entry


__all__ = ["add_outputs", "handout_keys", "pair_entry", "printed_metric"]
