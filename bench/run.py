"""The one benchmark command: accuracy and speed of noshortcut against the peers that run here.

    python bench/run.py                 # full run (~45 min on 2 cores): bench/RESULTS.md + results.json
    python bench/run.py --quick         # ~3 min smoke run, written to bench/out/quick/
    python bench/run.py --sizes 100,300,1000,3000 --seed 7
    python bench/run.py --only speed,scans --sizes 200   # some stages, into bench/out/only/

It regenerates everything it needs: pinned wheels into bench/data/, the labelled round and the
speed corpora into bench/out/. Kept in bench/data/ between runs (ignored by git): the speed pool
(bench/data/speed-pools/, about 4 minutes to generate 30,000 files the first time, under a second
after) and the default corpus index (bench/data/corpus-index/, a few minutes and the downloads
the first time). Every number in RESULTS.md comes from this run; nothing is typed in. Not part of
the test suite (tests/test_bench_generator.py covers the generator, tests/test_bench_waits.py
the harness's sizes, projections and targets).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/run.py`: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dataset, metrics, peers, report, waits  # noqa: E402
from bench.runs import ToolRun, run_tool, shown, total_memory_mb  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DATASETS_DIR = REPO_DIR.parent / "shared" / "datasets"
DOLOS_BENCHMARK_DIR = DATASETS_DIR / "dolos-python-benchmark"
NOTES_SCRIPT = BENCH_DIR / "bench_notes.py"
ROUND_SCRIPT = BENCH_DIR / "bench_round.py"
HISTORY_SCRIPT = BENCH_DIR / "bench_history.py"
GPU_SCRIPT = BENCH_DIR / "gpu_check.py"
# The quick run scans only the labelled rounds that hold copiers (about half the time).
QUICK_ROUNDS = ("work1", "pre_task/2024/task2")
# ... and of the remembered-rounds cases, the smallest real one and one labelled copy across rounds
QUICK_HISTORY_CASES = ("next-task", "split-task2")

# 10,000 and 30,000 files (issue #18) run for every tool whose growth over the smaller sizes
# projects it within an hour and half the machine's memory (waits.skip_reason): at 10,000 that
# leaves noshortcut alone on this machine (copydetect and Dolos are projected past the memory),
# about 10 minutes of the full run.
FULL_SIZES = (100, 300, 1000, 3000, 10_000, 30_000)
QUICK_SIZES = (100, 300)
# What a run can do (--only picks some): the labelled accuracy round, the Dolos benchmark, the
# speed rounds, the re-scan and task scans, the corpus check, notes, real rounds, GPU check.
STAGES = ("accuracy", "dolos", "speed", "scans", "corpus", "notes", "rounds", "history", "gpu")
# Wall times on this shared 2-core machine move by up to 25% between identical runs (measured:
# 7.9-9.9 s for the same N=1000 scan within minutes), so a tool whose run takes less than
# SPEED_REPEAT_MAX_S runs SPEED_REPEATS times, the tools taking turns, and the median run is
# reported; longer runs (copydetect and Dolos at N=3000, minutes each) run once.
SPEED_REPEATS = 3
SPEED_REPEAT_MAX_S = 60.0


@dataclass(frozen=True)
class BenchConfig:
    quick: bool
    sizes: tuple[int, ...]
    seed: int
    n_originals: int  # labelled originals (each gets 6 variants)
    n_groups: int | None  # task groups used for negatives (None: all)
    accuracy_timeout_s: float
    speed_timeout_s: float
    notes_timeout_s: float
    rounds_timeout_s: float
    memory_limit_mb: float  # a speed run predicted to need more is skipped, with the reason
    data_dir: Path
    out_dir: Path
    results_dir: Path  # where RESULTS.md and results.json go
    stages: tuple[str, ...] = STAGES
    scans_n: int = waits.SCANS_N  # files of the re-scan and task rounds
    scan_repeats: int = 3  # each scan mode (cold, warm, task) and the corpus check, in turn
    gpu_timeout_s: float = 900

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchConfig:
        quick = args.quick
        sizes = waits.parse_sizes(args.sizes) if args.sizes else (
            QUICK_SIZES if quick else FULL_SIZES)
        stages = tuple(s for s in STAGES if s in args.only) if args.only else STAGES
        if args.skip_speed:
            stages = tuple(s for s in stages if s not in ("speed", "scans"))
        out_dir = BENCH_DIR / "out" / ("quick" if quick else "only" if args.only else "full")
        return cls(
            quick=quick,
            sizes=tuple(sorted(sizes)),
            seed=args.seed,
            # 200 originals -> 1,400 files: about 10 minutes for all four tools on 2 cores
            n_originals=40 if quick else 200,
            n_groups=10 if quick else None,
            accuracy_timeout_s=300 if quick else 900,
            # 15 minutes per tool and size keeps the full run near 30 minutes even when
            # copydetect's quadratic all-pairs loop reaches its limit at the largest size
            speed_timeout_s=120 if quick else 900,
            notes_timeout_s=300 if quick else 900,
            rounds_timeout_s=300 if quick else 900,
            memory_limit_mb=total_memory_mb() * 0.5,
            data_dir=BENCH_DIR / "data",
            out_dir=out_dir,
            # a run of some stages only never overwrites the committed RESULTS.md
            results_dir=out_dir if quick or args.only else BENCH_DIR,
            stages=stages,
            scans_n=min(waits.SCANS_N, max(sizes)) if quick else waits.SCANS_N,
            scan_repeats=1 if quick else 3,
        )


def parse_stages(text: str) -> tuple[str, ...]:
    """`--only`: comma-separated stage names, each one of STAGES."""
    stages = tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not stages:
        raise ValueError(f"--only: unknown stage(s) {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(STAGES)}")
    return stages


@dataclass
class Results:
    config: dict
    environment: dict
    tools: dict[str, dict] = field(default_factory=dict)
    dataset: dict = field(default_factory=dict)
    accuracy: dict[str, dict[str, float]] = field(default_factory=dict)
    precision_recall: dict[str, dict[str, dict]] = field(default_factory=dict)
    accuracy_runs: list[dict] = field(default_factory=list)
    hardest_positives: list[dict] = field(default_factory=list)
    dolos_benchmark: dict = field(default_factory=dict)
    speed: dict[str, dict[str, dict]] = field(default_factory=dict)
    speed_runs: list[dict] = field(default_factory=list)
    # peak memory of each tool's median run by size, MB (also in speed[tool][n].peak_mb)
    speed_peak_rss_mb: dict[str, dict[str, float]] = field(default_factory=dict)
    speed_corpus: dict = field(default_factory=dict)  # the pool the speed rounds are cut from
    growth: dict[str, dict[str, float]] = field(default_factory=dict)
    cpu_growth: dict[str, dict[str, float]] = field(default_factory=dict)  # as growth, CPU time
    ratios: dict[str, dict[str, float]] = field(default_factory=dict)
    # issue #18 (bench/waits.py)
    corpus_check: dict = field(default_factory=dict)
    rescan: dict = field(default_factory=dict)
    task_scan: dict = field(default_factory=dict)
    targets: list[dict] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)
    notes: dict = field(default_factory=dict)
    rounds: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)
    gpu: dict = field(default_factory=dict)
    command: str = ""
    started: str = ""
    duration_s: float = 0.0


# ------------------------------------------------------------------------------------------------
# environment


def environment() -> dict:
    def version_of(command: list[str]) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "not installed"

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "node": version_of(["node", "--version"]),
        "packages_benchmarked": {name: version for name, version in dataset.PACKAGES},
    }


def available_tools(config: BenchConfig) -> dict[str, peers.Tool]:
    dolos_prefix = config.data_dir / "dolos"
    install_problem = peers.install_dolos(dolos_prefix)
    dolos = peers.dolos_tool(dolos_prefix)
    if install_problem and not dolos.available:
        dolos = peers.Tool("dolos", "", dolos.threshold, dolos.threshold_source, False,
                           install_problem)
    return {
        "noshortcut": peers.noshortcut_tool(),
        "copydetect": peers.copydetect_tool(),
        "pycode_similar": peers.pycode_similar_tool(),
        "dolos": dolos,
    }


# ------------------------------------------------------------------------------------------------
# scoring a round with every tool


def score_round(
    round_dir: Path, work_dir: Path, wanted: list[tuple[str, str]],
    tools: dict[str, peers.Tool], timeout_s: float, config: BenchConfig,
) -> tuple[dict[str, dict[tuple[str, str], float]], list[ToolRun]]:
    """Every available tool's scores for the `wanted` pairs of a round (absent pairs: 0)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    pairs_json = work_dir / "pairs.json"
    pairs_json.write_text(json.dumps(sorted({peers.pair_key(a, b) for a, b in wanted})))
    files_json = work_dir / "files.json"
    files_json.write_text(json.dumps(sorted(str(p) for p in round_dir.glob("*/*.py"))))
    commands = {
        "noshortcut": (peers.noshortcut_command(round_dir, work_dir / "noshortcut"),
                       lambda: peers.noshortcut_scores(work_dir / "noshortcut")),
        "copydetect": (peers.copydetect_command(round_dir, work_dir / "copydetect.json",
                                                pairs_json),
                       lambda: peers.json_scores(work_dir / "copydetect.json")),
        "pycode_similar": (peers.pycode_similar_command(round_dir,
                                                        work_dir / "pycode_similar.json",
                                                        pairs_json),
                           lambda: peers.json_scores(work_dir / "pycode_similar.json")),
        "dolos": (peers.dolos_command(config.data_dir / "dolos", files_json,
                                      work_dir / "dolos.json", "scores", pairs_json),
                  lambda: peers.dolos_scores(work_dir / "dolos.json")),
    }
    scores: dict[str, dict[tuple[str, str], float]] = {}
    runs: list[ToolRun] = []
    for name, tool in tools.items():
        command, read = commands[name]
        if not tool.available:
            runs.append(ToolRun(name, shown(command), "unavailable", reason=tool.reason))
            continue
        run, _ = run_tool(name, command, timeout_s)
        runs.append(run)
        if run.status == "ok":
            try:
                found = read()
            except (OSError, ValueError, KeyError) as error:
                run.status, run.reason = "failed", f"unreadable output: {error}"
                continue
            scores[name] = {peers.pair_key(a, b): found.get(peers.pair_key(a, b), 0.0)
                            for a, b in wanted}
    errors = peers.json_errors(work_dir / "pycode_similar.json")
    if errors:
        for run in runs:
            if run.tool == "pycode_similar":
                reasons = sorted(set(errors.values()))
                run.reason = (f"{len(errors)} pairs unscorable (scored 0): "
                              + "; ".join(reasons[:3]))
    return scores, runs


# ------------------------------------------------------------------------------------------------
# accuracy on the generated benchmark


def run_accuracy(config: BenchConfig, tools, units, results: Results) -> None:
    work = config.out_dir / "accuracy"
    shutil.rmtree(work, ignore_errors=True)
    started = time.perf_counter()
    bench = dataset.build_benchmark(units, work, config.n_originals, config.seed,
                                    config.n_groups)
    generation_s = time.perf_counter() - started
    levels = [f"L{k}" for k in dataset.LEVELS]
    by_level = {level: [p for p in bench.pairs if p.level == level] for level in levels}
    negatives = [p for p in bench.pairs if p.label == 0]
    results.dataset = {
        "originals": len(bench.originals),
        "files": len(list(bench.round_dir.iterdir())),
        "positives_per_level": {level: len(by_level[level]) for level in levels},
        "negatives": len(negatives),
        "negative_groups": sorted({p.group for p in negatives}),
        "originals_by_package": dict(sorted(Counter(units[k].package
                                                    for k in bench.originals).items())),
        "skipped_originals": bench.skipped,
        "variants_equal_to_previous_level": bench.unchanged,
        "generation_s": round(generation_s, 1),
        "round_dir": str(bench.round_dir.relative_to(REPO_DIR)),
        "labels": str((work / "labels.json").relative_to(REPO_DIR)),
        "pair_scores": str((work / "pair_scores.csv").relative_to(REPO_DIR)),
    }
    wanted = [(p.left, p.right) for p in bench.pairs]
    scores, runs = score_round(bench.round_dir, work / "tools", wanted, tools,
                               config.accuracy_timeout_s, config)
    results.accuracy_runs = [asdict(r) for r in runs]
    for name, tool_scores in scores.items():
        neg = [tool_scores[peers.pair_key(p.left, p.right)] for p in negatives]
        results.accuracy[name] = {}
        results.precision_recall[name] = {}
        all_pos: list[float] = []
        for level in levels:
            pos = [tool_scores[peers.pair_key(p.left, p.right)] for p in by_level[level]]
            all_pos += pos
            if pos and neg:
                results.accuracy[name][level] = round(metrics.roc_auc(pos, neg), 4)
                results.precision_recall[name][level] = asdict(
                    metrics.precision_recall(pos, neg, tools[name].threshold))
        if all_pos and neg:
            results.accuracy[name]["all"] = round(metrics.roc_auc(all_pos, neg), 4)
            results.precision_recall[name]["all"] = asdict(
                metrics.precision_recall(all_pos, neg, tools[name].threshold))
    _write_pair_scores(work / "pair_scores.csv", bench.pairs, scores)
    if "noshortcut" in scores:  # where to look first when noshortcut's AUC drops
        ours = scores["noshortcut"]
        positives = sorted((p for p in bench.pairs if p.label == 1),
                           key=lambda p: ours[peers.pair_key(p.left, p.right)])
        results.hardest_positives = [
            {"left": p.left, "right": p.right, "level": p.level, "original": p.group,
             **{n: round(s[peers.pair_key(p.left, p.right)], 3) for n, s in scores.items()}}
            for p in positives[:10]]


def _write_pair_scores(path: Path, pairs, scores) -> None:
    """Every labelled pair with every tool's score: the raw material of the tables."""
    names = sorted(scores)
    lines = ["left,right,label,level,group," + ",".join(names)]
    for p in pairs:
        key = peers.pair_key(p.left, p.right)
        values = ",".join(f"{scores[n][key]:.4f}" for n in names)
        lines.append(f"{p.left},{p.right},{p.label},{p.level},{p.group},{values}")
    path.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------------------
# the Dolos Python benchmark (shared dataset)

DOLOS_PAIRS = (
    ("UPGMA_A", "UPGMA_A_copy", "copy: everything matches"),
    ("UPGMA_A", "UPGMA_A_functionsmoved", "functions moved: everything matches"),
    ("UPGMA_A", "UPGMA_A_linesmoved", "lines moved: everything matches"),
    ("UPGMA_A", "UPGMA_A_variablenames", "variables renamed: everything matches"),
    ("UPGMA_A", "UPGMA_A_functioncopied", "all but loadtxt (taken from B) matches"),
    ("UPGMA_A", "UPGMA_A_B_combined", "A's classes/functions match"),
    ("UPGMA_B", "UPGMA_A_B_combined", "B's classes/functions match"),
    ("UPGMA_B", "UPGMA_A_functioncopied", "only loadtxt matches"),
    ("UPGMA_A", "UPGMA_B", "independent: only loadtxt and savetxt match"),
)


def run_dolos_benchmark(config: BenchConfig, tools, results: Results) -> None:
    if not DOLOS_BENCHMARK_DIR.is_dir():
        results.dolos_benchmark = {"skipped": f"{DOLOS_BENCHMARK_DIR} is absent"}
        return
    work = config.out_dir / "dolos_benchmark"
    shutil.rmtree(work, ignore_errors=True)
    round_dir = work / "round"
    for source in sorted(DOLOS_BENCHMARK_DIR.glob("*.py")):  # read in place, written to out/
        target = round_dir / source.stem / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    wanted = [(a, b) for a, b, _ in DOLOS_PAIRS]
    scores, runs = score_round(round_dir, work / "tools", wanted, tools, 300, config)
    results.dolos_benchmark = {
        "pairs": [{"left": a, "right": b, "expected": why,
                   **{name: round(s[peers.pair_key(a, b)], 4) for name, s in scores.items()}}
                  for a, b, why in DOLOS_PAIRS],
        "runs": [asdict(r) for r in runs],
    }


# ------------------------------------------------------------------------------------------------
# speed


SPEED_TOOLS = ("noshortcut", "copydetect", "dolos")


def speed_pool(config: BenchConfig, roots, units, results: Results) -> list[tuple[str, str]]:
    """The pool every speed round and the scan rounds are cut from (the first N files), from
    bench/data/speed-pools/ when an earlier run made it."""
    size = max(max(config.sizes), config.scans_n if "scans" in config.stages else 0)
    started = time.perf_counter()
    pool, cached = dataset.cached_speed_pool(config.data_dir, roots, units, size, config.seed,
                                             jobs=os.cpu_count() or 1)
    results.speed_corpus = {"files": len(pool), "from_cache": cached,
                            "seconds": round(time.perf_counter() - started, 1),
                            "bytes": sum(len(text.encode("utf-8")) for _, text in pool),
                            "cache": str((config.data_dir / "speed-pools").relative_to(REPO_DIR))}
    return pool


def run_speed(config: BenchConfig, tools, pool: list[tuple[str, str]], results: Results) -> None:
    work = config.out_dir / "speed"
    shutil.rmtree(work, ignore_errors=True)
    gave_up: dict[str, str] = {}
    # Every size's round is written first so that the repeats take turns across sizes as well as
    # tools: the machine's speed drifts over minutes, and a growth factor between two sizes measured
    # ten minutes apart would carry that drift.
    sizes: list[int] = []
    commands: dict[int, dict[str, list[str]]] = {}
    started = time.perf_counter()
    for n in config.sizes:
        if n > len(pool):
            results.speed_runs.append(asdict(ToolRun("all", [], "skipped", reason=(
                f"only {len(pool)} files available for N={n}"))))
            continue
        round_dir = work / f"n{n}" / "round"
        paths = dataset.write_round(pool[:n], round_dir)
        files_json = work / f"n{n}" / "files.json"
        files_json.write_text(json.dumps([str(p) for p in paths]))
        sizes.append(n)
        commands[n] = {
            "noshortcut": peers.noshortcut_command(round_dir, work / f"n{n}" / "noshortcut",
                                                   all_pairs=False),
            "copydetect": peers.copydetect_command(round_dir, work / f"n{n}" / "cd.json", None),
            "dolos": peers.dolos_command(config.data_dir / "dolos", files_json,
                                         work / f"n{n}" / "dolos.json", "count"),
        }
    results.speed_corpus["write_rounds_s"] = round(time.perf_counter() - started, 1)
    runs: dict[tuple[str, int], list[ToolRun]] = {(t, n): [] for t in SPEED_TOOLS for n in sizes}
    for repeat in range(SPEED_REPEATS):
        for n in sizes:
            for name in SPEED_TOOLS:
                done = runs[(name, n)]
                if repeat and (not done or done[-1].status != "ok"):
                    continue  # failed, timed out or skipped once: not again at this size
                if done and done[0].wall_s >= SPEED_REPEAT_MAX_S:
                    continue  # a long run: once is enough
                command = commands[n][name]
                limit_s = waits.time_limit(n, config.speed_timeout_s)
                if not tools[name].available:
                    run = ToolRun(name, shown(command), "unavailable", reason=tools[name].reason)
                elif not done and (reason := waits.skip_reason(
                        results.speed.get(name, {}), n, limit_s, *_memory_limit(name, config))):
                    run = ToolRun(name, shown(command), "skipped", reason=reason)
                elif name in gave_up and not done:
                    run = ToolRun(name, shown(command), "skipped", reason=gave_up[name])
                else:
                    # every noshortcut run starts with an empty fingerprint cache: a cold scan
                    if name == "noshortcut":
                        run, _ = run_tool(name, command, limit_s, cwd=waits.scan_cwd(work),
                                          env=waits.scan_env(waits.fresh_folder(work / "cache")))
                    else:
                        run, _ = run_tool(name, command, limit_s)
                    if run.status != "ok":
                        gave_up[name] = f"not run: {run.status} at N={n}"
                done.append(run)
                results.speed_runs.append(asdict(run) | {"n": n})
                _record_speed(results, name, n, done, limit_s)  # provisional: read by projections
    for (name, n), done in runs.items():
        _record_speed(results, name, n, done, waits.time_limit(n, config.speed_timeout_s))
    for n in sizes:
        shutil.rmtree(work / f"n{n}" / "round", ignore_errors=True)  # up to 30,000 folders
        if n > waits.LARGE_N:  # report.json of 10,000 files: 150 MB, read by nobody here
            shutil.rmtree(work / f"n{n}" / "noshortcut", ignore_errors=True)
    shutil.rmtree(work / "cache", ignore_errors=True)
    for name, by_n in results.speed.items():
        results.growth[name] = _growth(by_n, "wall_s")
        results.cpu_growth[name] = _growth(by_n, "cpu_s")
        results.speed_peak_rss_mb[name] = {n: v["peak_mb"] for n, v in by_n.items()
                                           if v.get("wall_s") and v.get("peak_mb")}
    base = results.speed.get("noshortcut", {})
    for name, by_n in results.speed.items():
        if name == "noshortcut":
            continue
        results.ratios[name] = {
            n: round(v["wall_s"] / base[n]["wall_s"], 2)
            for n, v in by_n.items()
            if v.get("wall_s") and base.get(n, {}).get("wall_s")
        }


def _memory_limit(tool: str, config: BenchConfig) -> tuple[float, str]:
    """The peak a tool's speed round may be projected to reach, and what that limit is."""
    if tool == "dolos" and peers.DOLOS_HEAP_MB < config.memory_limit_mb:
        return peers.DOLOS_HEAP_MB, f"the Node heap limit it runs with ({peers.DOLOS_HEAP_MB} MB)"
    return config.memory_limit_mb, "half of this machine's memory"


def _growth(by_n: dict[str, dict], key: str) -> dict[str, float]:
    """Cost per doubling of N between consecutive sizes, (t2/t1)^(1/log2(n2/n1))."""
    measured = sorted((int(n), v[key]) for n, v in by_n.items() if v.get("wall_s") and v.get(key))
    return {f"{n1}->{n2}": round(metrics.doubling_cost(n1, t1, n2, t2), 2)
            for (n1, t1), (n2, t2) in zip(measured, measured[1:])}


def _record_speed(results: Results, name: str, n: int, runs: list[ToolRun],
                  limit_s: float) -> None:
    """results.speed[name][n] from the runs so far: the median run, every run's wall time."""
    run = _median_run(runs)
    if run.status == "ok":
        results.speed.setdefault(name, {})[str(n)] = {
            "wall_s": round(run.wall_s, 2), "peak_mb": round(run.peak_mb, 1),
            "cpu_s": round(run.cpu_s, 2) if run.cpu_s is not None else None,
            "largest_process_mb": run.largest_process_mb, "group_rss_mb": run.group_rss_mb,
            "runs_wall_s": [round(r.wall_s, 2) for r in runs]}
    elif run.status == "timeout":
        results.speed.setdefault(name, {})[str(n)] = {
            "wall_s": None, "peak_mb": round(run.peak_mb, 1), "timeout_s": limit_s}
    elif run.status in ("skipped", "failed"):
        results.speed.setdefault(name, {})[str(n)] = {
            "wall_s": None, "peak_mb": None, run.status: run.reason[:300],
            "elapsed_s": round(run.wall_s, 1) if run.wall_s is not None else None,
            "peak_mb_before_end": round(run.peak_mb, 1) if run.peak_mb else None}


def _median_run(runs: list[ToolRun]) -> ToolRun:
    """The run to report: the median-time one when every repeat went well, else the last."""
    if not runs or any(r.status != "ok" for r in runs):
        return runs[-1]
    return sorted(runs, key=lambda r: r.wall_s)[(len(runs) - 1) // 2]


# ------------------------------------------------------------------------------------------------
# the waits a mentor meets (issue #18, bench/waits.py): re-scan, task rules, corpus check


def run_scans(config: BenchConfig, pool: list[tuple[str, str]], results: Results) -> None:
    """The re-scan (cold, then warm with the same cache) and the task scan, on pool[:scans_n]."""
    work = config.out_dir / "scans"
    shutil.rmtree(work, ignore_errors=True)
    n = min(config.scans_n, len(pool))
    round_dir = work / "round"
    dataset.write_round(pool[:n], round_dir)
    late = pool[n] if len(pool) > n else None  # a file outside the round: one late learner
    results.rescan, results.task_scan, runs = waits.run_scan_modes(
        round_dir, work, n, config.scan_repeats, config.speed_timeout_s, late)
    results.rescan["runs"] = [r for r in runs if r["tool"] != "noshortcut task"]
    results.task_scan["runs"] = [r for r in runs if r["tool"] in ("noshortcut cold", "noshortcut task")]
    shutil.rmtree(round_dir, ignore_errors=True)


def run_corpus_check(config: BenchConfig, results: Results) -> None:
    results.corpus_check = waits.run_corpus_check(
        config.data_dir, config.out_dir / "corpus_check", config.scan_repeats,
        build_timeout_s=1800, scan_timeout_s=300)


def run_gpu(config: BenchConfig, results: Results) -> None:
    """bench/gpu_check.py in its own process: CUDA against CPU where a device is visible, the CPU
    side alone (and saying so) elsewhere. A failure is reported, never fatal: nothing on the CPU
    path depends on it."""
    json_path = config.results_dir / "gpu_results.json"
    md_path = config.results_dir / "gpu_results.md"
    command = [sys.executable, str(GPU_SCRIPT), "--json", str(json_path), "--markdown", str(md_path)]
    if config.quick:
        command += ["--sentences", "256", "--vectors", "20000", "--queries", "256"]
    run, _ = run_tool("gpu_check", command, config.gpu_timeout_s)
    results.gpu = asdict(run)
    if run.status == "ok" and md_path.exists():
        results.gpu["markdown"] = md_path.read_text(encoding="utf-8")
        try:
            results.gpu["devices"] = json.loads(json_path.read_text(encoding="utf-8"))["devices"]
        except (OSError, ValueError, KeyError):
            results.gpu["devices"] = None


# ------------------------------------------------------------------------------------------------
# notes (a colleague's script) and the claims


def run_notes(config: BenchConfig, results: Results) -> None:
    if not NOTES_SCRIPT.exists():
        results.notes = {"status": "absent", "reason": f"{NOTES_SCRIPT.name} does not exist yet"}
        return
    json_path = config.results_dir / "notes_results.json"
    md_path = config.results_dir / "notes_results.md"
    command = [sys.executable, str(NOTES_SCRIPT), "--json", str(json_path),
               "--markdown", str(md_path)]
    if config.quick:
        command += ["--only", "clough"]  # the full notes benchmark alone takes minutes
    run, _ = run_tool("notes", command, config.notes_timeout_s)
    results.notes = asdict(run)
    if run.status == "ok" and md_path.exists():
        results.notes["markdown"] = md_path.read_text(encoding="utf-8")
        try:
            results.notes["results"] = json.loads(json_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            results.notes["results"] = None


def _run_script(name: str, script: Path, stem: str, extra: list[str], timeout_s: float,
                config: BenchConfig) -> tuple[dict, Path]:
    """A measuring script of bench/ in its own process, writing `stem`.json and `stem`.md into the
    results folder: (its run, with the Markdown under "markdown" when it wrote one; the JSON path)."""
    json_path = config.results_dir / f"{stem}.json"
    md_path = config.results_dir / f"{stem}.md"
    if not script.exists():
        return {"status": "absent", "reason": f"{script.name} does not exist"}, json_path
    command = [sys.executable, str(script), "--json", str(json_path), "--markdown", str(md_path), *extra]
    run, _ = run_tool(name, command, timeout_s)
    out = asdict(run)
    if run.status != "ok":
        return out, json_path
    if not md_path.exists():  # the shared datasets are absent: the script says so and writes nothing
        out["status"] = "skipped"
        out["reason"] = "the shared datasets (../shared/datasets) are absent"
        return out, json_path
    out["markdown"] = md_path.read_text(encoding="utf-8")
    return out, json_path


def run_rounds(config: BenchConfig, results: Results) -> None:
    """The labelled real rounds, learner by learner (bench/bench_round.py, its own process)."""
    extra = [arg for name in QUICK_ROUNDS for arg in ("--round", name)] if config.quick else []
    results.rounds, json_path = _run_script("rounds", ROUND_SCRIPT, "round_results", extra,
                                            config.rounds_timeout_s, config)
    if "markdown" not in results.rounds:
        return
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
        results.rounds["totals"] = data.get("totals")
    except (OSError, ValueError):
        results.rounds["totals"] = None


def run_history(config: BenchConfig, results: Results) -> None:
    """Remembered rounds on the real rounds (bench/bench_history.py, its own process)."""
    extra = [arg for name in QUICK_HISTORY_CASES for arg in ("--case", name)] if config.quick else []
    results.history, _ = _run_script("history", HISTORY_SCRIPT, "history_results", extra,
                                     config.rounds_timeout_s, config)


def evaluate_claims(results: Results, config: BenchConfig) -> None:
    """The issue's "must show" list, checked against the measured numbers."""
    claims = []
    ours, theirs = results.accuracy.get("noshortcut", {}), results.accuracy.get("copydetect", {})
    for level in [f"L{k}" for k in dataset.LEVELS]:
        if level in ours and level in theirs:
            claims.append({
                "claim": f"AUC {level}: noshortcut >= copydetect",
                "measured": f"{ours[level]:.4f} vs {theirs[level]:.4f}",
                "holds": ours[level] >= theirs[level],
            })
    for level in ("L1", "L2", "L3", "L4"):
        if level in ours:
            claims.append({"claim": f"AUC {level}: noshortcut >= 0.95",
                           "measured": f"{ours[level]:.4f}", "holds": ours[level] >= 0.95})
    ratio = results.ratios.get("copydetect", {}).get("1000")
    cd_1000 = results.speed.get("copydetect", {}).get("1000", {})
    if ratio is not None:
        claims.append({"claim": "N=1000: noshortcut >= 3x faster than copydetect",
                       "measured": f"{ratio:.2f}x", "holds": ratio >= 3.0})
    elif cd_1000.get("timeout_s") and results.speed.get("noshortcut", {}).get("1000"):
        limit = cd_1000["timeout_s"] / results.speed["noshortcut"]["1000"]["wall_s"]
        claims.append({"claim": "N=1000: noshortcut >= 3x faster than copydetect",
                       "measured": f"copydetect timed out: > {limit:.1f}x",
                       "holds": limit >= 3.0})
    for step, cost in results.growth.get("noshortcut", {}).items():
        if step != "10000->30000":  # issue #18's own target, in waits.claims below
            claims.append({"claim": f"noshortcut doubling N costs <= 2.3x time ({step})",
                           "measured": f"{cost:.2f}x", "holds": cost <= 2.3})
    results.targets = waits.target_rows(asdict(results))
    results.claims = claims + waits.claims(asdict(results))


# ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark noshortcut against copydetect, pycode_similar and Dolos.",
        epilog="Example: python bench/run.py --quick",
    )
    parser.add_argument("--quick", action="store_true",
                        help="small run (~3 min) written to bench/out/quick/")
    parser.add_argument("--sizes", help="comma-separated corpus sizes for the speed runs, "
                        f"10k allowed (default {','.join(map(str, FULL_SIZES))}; quick "
                        f"{','.join(map(str, QUICK_SIZES))})")
    parser.add_argument("--seed", type=int, default=20240901,
                        help="seed of the originals, the variants and the speed corpora")
    parser.add_argument("--skip-speed", action="store_true",
                        help="no speed rounds, no re-scan and task scans")
    parser.add_argument("--only", help="comma-separated stages to run, of "
                        f"{','.join(STAGES)}; written to bench/out/only/ (never to the "
                        "committed RESULTS.md)")
    parser.add_argument("--render-only", action="store_true",
                        help="recompute nothing: re-check the claims and rewrite RESULTS.md "
                        "from the results.json of the last run")
    args = parser.parse_args(argv)
    try:
        if args.only:
            args.only = parse_stages(args.only)
        config = BenchConfig.from_args(args)
    except ValueError as error:
        parser.error(str(error))
    if args.render_only:
        return render_only(config)
    typed = " ".join(["python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])])
    results = Results(config={k: str(v) if isinstance(v, Path) else v
                              for k, v in asdict(config).items()},
                      environment=environment(), command=typed,
                      started=time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    started = time.perf_counter()
    config.out_dir.mkdir(parents=True, exist_ok=True)
    config.results_dir.mkdir(parents=True, exist_ok=True)
    # The scans of the accuracy, Dolos and real rounds keep any fingerprint cache in the run's
    # own folder (emptied now), never in the user's; the timed scans each get an empty one.
    os.environ[waits.CACHE_ENV] = str(waits.fresh_folder(config.out_dir / "cache"))
    stages = config.stages

    _progress("fetching pinned wheels and Dolos")
    roots = dataset.fetch_sources(config.data_dir)
    tools = available_tools(config)
    results.tools = {name: asdict(tool) for name, tool in tools.items()}
    units = dataset.all_units(roots)

    if "accuracy" in stages:
        _progress(f"accuracy: {config.n_originals} originals x 6 levels")
        run_accuracy(config, tools, units, results)
    if "dolos" in stages:
        _progress("Dolos Python benchmark")
        run_dolos_benchmark(config, tools, results)
    if "speed" in stages or "scans" in stages:
        _progress("speed pool (bench/data/speed-pools/)")
        pool = speed_pool(config, roots, units, results)
        if "speed" in stages:
            _progress(f"speed: N = {', '.join(map(str, config.sizes))}")
            run_speed(config, tools, pool, results)
        if "scans" in stages:
            _progress(f"re-scan and --task: N = {min(config.scans_n, len(pool))}")
            run_scans(config, pool, results)
        del pool
    for stage, message, run_stage in (
            ("corpus", "corpus check (bench/data/corpus-index/)", run_corpus_check),
            ("notes", "notes benchmark", run_notes), ("rounds", "labelled real rounds", run_rounds),
            ("history", "remembered rounds", run_history),
            ("gpu", "GPU check", run_gpu)):
        if stage in stages:
            _progress(message)
            run_stage(config, results)
    evaluate_claims(results, config)
    results.duration_s = round(time.perf_counter() - started, 1)

    json_path = config.results_dir / "results.json"
    md_path = config.results_dir / "RESULTS.md"
    json_path.write_text(json.dumps(asdict(results), indent=1, default=str) + "\n")
    md_path.write_text(report.render(asdict(results)), encoding="utf-8")
    _progress(f"wrote {md_path.relative_to(REPO_DIR)} and {json_path.relative_to(REPO_DIR)} "
              f"in {results.duration_s:.0f} s")
    return 0


def render_only(config: BenchConfig) -> int:
    """RESULTS.md again from results.json (after a change to the report's layout)."""
    json_path = config.results_dir / "results.json"
    results = Results(**json.loads(json_path.read_text()))
    evaluate_claims(results, config)
    json_path.write_text(json.dumps(asdict(results), indent=1, default=str) + "\n")
    (config.results_dir / "RESULTS.md").write_text(report.render(asdict(results)),
                                                  encoding="utf-8")
    _progress(f"rewrote {config.results_dir.relative_to(REPO_DIR)}/RESULTS.md from {json_path.name}")
    return 0


def _progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
