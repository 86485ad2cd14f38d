"""Remembered rounds on the real west2 submissions: a round stored in an index under a name
(`checker scan ROUND --index IDX --round-name NAME`), a later round scanned against it, and the
cross-round pairs that come out (`source` history) read against the human labels.

    python bench/bench_history.py                   # bench/history_results.json + history_results.md
    python bench/bench_history.py --case split-task2

Reads ../shared/datasets in place (or --datasets, or $NOSHORTCUT_DATASETS); exits 0 with a message
when it is absent. Rounds are materialised as bench/bench_round.py does (learner folders with the
bytes as handed in, the round's handout as `--base`), and every scan runs as a mentor runs it, in
its own process, with a fresh index per case. The cases:

- real rounds of the programme, one after the other: 2024 task 1 remembered and 2025's first round
  scanned (the labels read three cross-round pairs there, none a copy: two keep the programme's
  example files, one quotes a public tutorial); 2024 task 1 remembered and 2024 task 2 scanned
  (four learners hand in to both: their own earlier work); 2025's first round remembered and its
  second scanned (five learners in both);
- a labelled round split in two, the source of each labelled copy in the first half (remembered),
  the copier in the second (scanned): each copy becomes a cross-round copy, which the scan must
  pair with the remembered learner and name in the copier's verdict;
- a round scanned against its own stored copy under another name: every learner meets only their
  own earlier work, which must flag nobody.

Each scanned round runs twice, with and without `--no-history`, so that the flags the remembered
rounds add (and the time they cost) are measured, not assumed. Exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/bench_history.py`: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_round import (FLAGGED_RISKS, LABELS, ROOT, SUBMISSIONS, TASKS, _cell,  # noqa: E402
                               checker_commit, datasets_dir, default_checker_cmd, finish, materialise,
                               run_scan)

SCAN_TIMEOUT_S = 900

# (case id, what it shows, rounds remembered in order, round scanned, split: None or the round split)
CASES = [
    ("next-year", "2024 task 1 remembered, 2025 round 1 scanned", ["pre_task/2024/task1"], "work1"),
    ("next-task", "2024 task 1 remembered, 2024 task 2 scanned (4 learners in both)",
     ["pre_task/2024/task1"], "pre_task/2024/task2"),
    ("next-round", "2025 round 1 remembered, 2025 round 2 scanned (5 learners in both)", ["work1"], "work2"),
    ("split-work1", "2025 round 1 split: copy sources remembered, copiers scanned", ["work1"], "work1"),
    ("split-task2", "2024 task 2 split: copy sources remembered, copiers scanned",
     ["pre_task/2024/task2"], "pre_task/2024/task2"),
    ("same-round", "2025 round 1 remembered, then scanned again (all own earlier work)", ["work1"], "work1"),
]


def round_name(name: str, part: str = "") -> str:
    """The name a remembered round is stored under: `pre_task/2024/task1` -> `2024-task1`."""
    short = name.removeprefix("pre_task/").replace("/", "-")
    return f"{short}-{part}" if part else short


# --- scoring (pure: labels and reports in, figures out) ---------------------------------------


def split_learners(labels: dict) -> tuple[list[str], list[str]]:
    """(first half, second half) of a labelled round: the left side of every `copy` pair first
    (the source), its right side second (the copier); the others alternate in id order."""
    first: set[str] = set()
    second: set[str] = set()
    for pair in labels.get("pairs", []):
        left, right = pair.get("left", ""), pair.get("right", "")
        if pair.get("label") != "copy" or ":" in left + right:
            continue
        if left not in second and right not in first:
            first.add(left)
            second.add(right)
    rest = [lid for lid in sorted(labels.get("learners", {})) if lid not in first | second]
    first |= set(rest[0::2])
    second |= set(rest[1::2])
    return sorted(first), sorted(second)


def expected_copies(labels: dict, first: list[str], second: list[str], stored: str) -> list[tuple[str, str]]:
    """(copier in the second half, `STORED:source`) of every labelled copy the split puts across."""
    out = []
    for pair in labels.get("pairs", []):
        left, right = pair.get("left", ""), pair.get("right", "")
        if pair.get("label") != "copy":
            continue
        for a, b in ((left, right), (right, left)):
            if a in second and b in first and (a, f"{stored}:{b}") not in out:
                out.append((a, f"{stored}:{b}"))
    return out


def _remembered(partner: str, stored: list[str]) -> bool:
    return any(partner.startswith(f"{name}:") for name in stored)


def score_case(labels: dict, learners: list[str], stored: list[str], with_history: dict | None,
               without_history: dict | None, expected: list[tuple[str, str]] = ()) -> dict:
    """A scanned round's cross-round figures: history pairs (and how many are own earlier work),
    the learners whose verdict the remembered rounds raise (evidence medium/high naming a learner
    of a remembered round), the flags with and without them, read against the labels."""
    report = with_history or {}
    pairs = [p for p in report.get("pairs", []) if p.get("source") == "history"]
    own = [p for p in pairs if (p.get("history") or {}).get("own_work")]
    verdicts = {v["learner"]: v for v in report.get("verdicts", [])}
    before = {v["learner"]: v for v in (without_history or {}).get("verdicts", [])}
    labelled = labels.get("learners", {})

    def label(lid: str) -> str:
        entry = labelled.get(lid)
        if entry is None:
            return "unlabelled"
        if entry.get("uncertain"):
            return "uncertain"
        return "should flag" if entry.get("should_flag") else "clean"

    raised = []
    for lid in learners:
        items = [e for e in (verdicts.get(lid) or {}).get("evidence", [])
                 if e.get("level") in FLAGGED_RISKS and _remembered(e.get("partner", ""), stored)]
        if items:
            raised.append({"learner": lid, "risk": verdicts[lid]["risk"], "label": label(lid),
                           "partners": sorted({e["partner"] for e in items}), "reason": items[0]["text"],
                           "kinds": sorted({e["kind"] for e in items})})
    flagged_with = sorted(lid for lid in learners if (verdicts.get(lid) or {}).get("risk") in FLAGGED_RISKS)
    flagged_without = sorted(lid for lid in learners if (before.get(lid) or {}).get("risk") in FLAGGED_RISKS)
    named = [(a, b) for a, b in expected if any(r["learner"] == a and b in r["partners"] for r in raised)]
    paired = [(a, b) for a, b in expected if any(p["left"] == a and p["right"] == b for p in pairs)]
    return {
        "learners": len(learners),
        "history_pairs": len(pairs),
        "own_work_pairs": len(own),
        "own_work_learners": sorted({p["left"] for p in own}),
        "raised": raised,
        "raised_by_label": {k: sum(1 for r in raised if r["label"] == k)
                            for k in ("should flag", "clean", "uncertain", "unlabelled")},
        "flagged_without_history": flagged_without,
        "flagged_with_history": flagged_with,
        "expected_copies": [list(x) for x in expected],
        "expected_paired": [list(x) for x in paired],
        "expected_named": [list(x) for x in named],
        "compared": [r["name"] for r in (report.get("history") or {}).get("compared", [])],
    }


# --- running ----------------------------------------------------------------------------------


def _copy_learners(round_dir: Path, learners: list[str], dest: Path) -> Path:
    dest.mkdir(parents=True)
    for lid in learners:
        if (round_dir / lid).exists():
            shutil.copytree(round_dir / lid, dest / lid)
    return dest


def _scan(checker_cmd, round_dir: Path, base_dir: Path, out: Path, work: Path, index: Path,
          extra: tuple[str, ...]) -> dict:
    result = run_scan(checker_cmd, round_dir, base_dir, out, work, index, SCAN_TIMEOUT_S, extra)
    result["command"] = " ".join("python" if c == sys.executable else shlex.quote(c)
                                 for c in result["command"]).replace(str(work) + os.sep, "")
    return result


def run_case(case: tuple, trees: dict, labels: dict, work: Path, checker_cmd: list[str]) -> dict:
    case_id, title, remembered, scanned = case
    folder = work / case_id
    index = folder / "index"
    round_labels = labels["rounds"][scanned]
    tree = trees[scanned]
    stores = []
    expected: list[tuple[str, str]] = []
    scan_dir = tree["round_dir"]
    learners = sorted(p.name for p in scan_dir.iterdir() if p.is_dir())
    if case_id.startswith("split-"):
        first, second = split_learners(round_labels)
        name = round_name(scanned, "a")
        to_store = [(name, _copy_learners(tree["round_dir"], first, folder / "a"), tree["base_dir"])]
        scan_dir = _copy_learners(tree["round_dir"], second, folder / "b")
        learners = [lid for lid in second if (scan_dir / lid).exists()]
        expected = expected_copies(round_labels, first, second, name)
    else:
        to_store = [(round_name(r) + ("-before" if r == scanned else ""), trees[r]["round_dir"], trees[r]["base_dir"])
                    for r in remembered]
    for name, round_dir, base_dir in to_store:
        stored = _scan(checker_cmd, round_dir, base_dir, folder / f"store-{name}", work, index,
                       ("--round-name", name))
        report = stored.pop("report") or {}
        stores.append({"name": name, "wall_s": stored["wall_s"], "error": stored["error"],
                       "learners": ((report.get("history") or {}).get("stored") or {}).get("learners"),
                       "files": ((report.get("history") or {}).get("stored") or {}).get("files"),
                       "command": stored["command"]})
    with_history = _scan(checker_cmd, scan_dir, tree["base_dir"], folder / "with", work, index, ())
    without = _scan(checker_cmd, scan_dir, tree["base_dir"], folder / "without", work, index, ("--no-history",))
    report_with, report_without = with_history.pop("report"), without.pop("report")
    scored = score_case(round_labels, learners, [s["name"] for s in stores], report_with, report_without,
                        expected)
    scored.update({"title": title, "scanned": scanned, "stored": stores,
                   "scan": {"with_history_s": with_history["wall_s"], "without_history_s": without["wall_s"],
                            "error": with_history["error"] or without["error"],
                            "command": with_history["command"],
                            "history_stage_s": ((report_with or {}).get("stats") or {}).get("seconds", {})
                            .get("history")}})
    return scored


# --- output -----------------------------------------------------------------------------------


def markdown(results: dict) -> str:
    out = [
        "## Remembered rounds: cross-round pairs on the real rounds (`bench/bench_history.py`)",
        "",
        f"Measured {results['date']} at commit `{results['checker_commit']}` on {results['machine']} "
        f"(load average {results['load_before'][0]} before, {results['load_after'][0]} after: the machine "
        f"is shared, times are upper bounds); {results['wall_s']:.0f} s in all. Reproduce: "
        f"`{results['command']}`. Per case a fresh index: the remembered round(s) are scanned with "
        "`--round-name NAME` (as a mentor stores a round), then the scanned round runs with and "
        "without `--no-history` (both `--base` its handout). \"Raised by history\": learners whose "
        "verdict has medium/high evidence naming a learner of a remembered round, by their label. "
        "Own earlier work (same learner id) is shown and never raises risk. Scan seconds: the whole "
        "scan without / with the remembered rounds, and in brackets the code comparison with them "
        "(`stats.seconds.history`); the remembered rounds' notes are embedded when their round is "
        "stored and read back from the index's cache (`rounds/embeddings`), which also caches the "
        "scanned round's own notes when the round was stored before, so the wall time with history "
        "can be the lower one. The machine is shared with other jobs: wall times are upper bounds and "
        "move by tens of percent between runs.",
        "",
        "| case | remembered (learners, files) | scanned learners | history pairs (own earlier work) "
        "| raised by history: should flag / clean / uncertain | labelled copies across rounds: paired, "
        "named in the verdict "
        "| flagged without → with history | scan s without / with (history stage) |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for case_id, r in results["cases"].items():
        if r.get("skipped"):
            out.append(f"| {case_id} | skipped: {_cell(r['skipped'], 100)} | | | | | | |")
            continue
        stored = ", ".join(f"{s['name']} ({s['learners']}, {s['files']})" for s in r["stored"])
        by = r["raised_by_label"]
        n = len(r["expected_copies"])
        expected = f"{len(r['expected_paired'])} / {n}, {len(r['expected_named'])} / {n}" if n else "–"
        fail = " (failed)" if r["scan"]["error"] or any(s["error"] for s in r["stored"]) else ""
        out.append(
            f"| {case_id}: {r['title']} | {stored} | {r['learners']} | {r['history_pairs']} "
            f"({r['own_work_pairs']}) | {by['should flag']} / {by['clean']} / {by['uncertain']} | {expected} | "
            f"{len(r['flagged_without_history'])} → {len(r['flagged_with_history'])} | "
            f"{r['scan']['without_history_s']:.1f} / {r['scan']['with_history_s']:.1f} "
            f"({r['scan']['history_stage_s'] if r['scan']['history_stage_s'] is not None else '–'}){fail} |")
    raised = [(case_id, row) for case_id, r in results["cases"].items() if not r.get("skipped")
              for row in r["raised"]]
    out += ["", "### Learners whose verdict a remembered round raises", ""]
    if raised:
        out += ["| case | learner | risk | label | remembered partner(s) | first such reason |",
                "| --- | --- | --- | --- | --- | --- |"]
        out += [f"| {c} | {row['learner']} | {row['risk']} | {row['label']} | {_cell(', '.join(row['partners']), 80)} "
                f"| {_cell(row['reason'], 200)} |" for c, row in raised]
    else:
        out.append("None.")
    own = [(case_id, r) for case_id, r in results["cases"].items() if not r.get("skipped") and r["own_work_pairs"]]
    if own:
        out += ["", "Own earlier work shown (never risk): " + "; ".join(
            f"{c}: {r['own_work_pairs']} pairs of {len(r['own_work_learners'])} learner(s) "
            f"({_cell(', '.join(r['own_work_learners']), 120)})" for c, r in own) + "."]
    failed = [(c, r["scan"]["error"]) for c, r in results["cases"].items() if not r.get("skipped") and r["scan"]["error"]]
    if failed:
        out += ["", "Scans that failed: " + "; ".join(f"{c}: {_cell(e, 300)}" for c, e in failed) + "."]
    return "\n".join(out) + "\n"


def run(args: argparse.Namespace) -> int:
    datasets = datasets_dir(args.datasets)
    missing = [p for p in (datasets / SUBMISSIONS, datasets / TASKS, datasets / LABELS) if not p.exists()]
    if missing:
        print(f"bench_history: skipped: {', '.join(str(p) for p in missing)} not found (the shared "
              "datasets live in ../shared/datasets beside the repository)", file=sys.stderr)
        return 0
    labels = json.loads((datasets / LABELS).read_text(encoding="utf-8"))
    cases = [c for c in CASES if not args.case or c[0] in args.case]
    unknown = sorted(set(args.case or []) - {c[0] for c in CASES})
    if unknown:
        print(f"bench_history: unknown case(s) {', '.join(unknown)}; cases: {', '.join(c[0] for c in CASES)}",
              file=sys.stderr)
        return 2
    checker_cmd = default_checker_cmd()
    shown = " ".join(["python", "bench/bench_history.py",
                      *(shlex.quote(a.replace(str(ROOT) + os.sep, "")) for a in args.argv or [])])
    results = {"date": time.strftime("%Y-%m-%d"),
               "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
               "load_before": [round(x, 1) for x in os.getloadavg()], "command": shown,
               "checker_commit": checker_commit(), "cases": {}}
    started = time.perf_counter()
    names = sorted({r for c in cases for r in [*c[2], c[3]]})
    with tempfile.TemporaryDirectory(prefix="bench-history-") as tmp:
        work = Path(tmp)
        trees = materialise(datasets, labels, names, work)
        for case in cases:
            results["cases"][case[0]] = scored = run_case(case, trees, labels, work, checker_cmd)
            print(f"[bench_history] {case[0]}: {scored['history_pairs']} history pairs "
                  f"({scored['own_work_pairs']} own), raised {scored['raised_by_label']}, "
                  f"flagged {len(scored['flagged_without_history'])} -> {len(scored['flagged_with_history'])}"
                  + (f" FAILED {scored['scan']['error'][:200]}" if scored["scan"]["error"] else ""),
                  file=sys.stderr, flush=True)
    return finish(results, started, args, markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Remembered rounds on the labelled real rounds: cross-round pairs and flags.",
        epilog="Example: python bench/bench_history.py --case split-task2")
    parser.add_argument("--datasets", type=Path, help="the shared datasets folder")
    parser.add_argument("--case", action="append", help="run only this case (repeatable)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "history_results.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "bench" / "history_results.md")
    args = parser.parse_args(argv)
    args.argv = argv if argv is not None else sys.argv[1:]
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
