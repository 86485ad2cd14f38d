"""The one benchmark command: accuracy and speed of noshortcut against the peers that run here.

    python bench/run.py                 # full run (~30 min on 2 cores): bench/RESULTS.md + results.json
    python bench/run.py --quick         # ~3 min smoke run, written to bench/out/quick/
    python bench/run.py --sizes 100,300,1000,3000 --seed 7

It regenerates everything it needs: pinned wheels into bench/data/, the labelled round and the
speed corpora into bench/out/. Every number in RESULTS.md comes from this run; nothing is typed
in. Not part of the test suite (tests/test_bench_generator.py covers the generator only).
"""

from __future__ import annotations

import argparse
import json
import math
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

from bench import dataset, metrics, peers, report  # noqa: E402
from bench.measure import Measured, RunFailed, RunOk, RunTimeout, measure  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DATASETS_DIR = REPO_DIR.parent / "shared" / "datasets"
DOLOS_BENCHMARK_DIR = DATASETS_DIR / "dolos-python-benchmark"
NOTES_SCRIPT = BENCH_DIR / "bench_notes.py"
ROUND_SCRIPT = BENCH_DIR / "bench_round.py"
HISTORY_SCRIPT = BENCH_DIR / "bench_history.py"
# The quick run scans only the labelled rounds that hold copiers (about half the time).
QUICK_ROUNDS = ("work1", "pre_task/2024/task2")
# ... and of the remembered-rounds cases, the smallest real one and one labelled copy across rounds
QUICK_HISTORY_CASES = ("next-task", "split-task2")

FULL_SIZES = (100, 300, 1000, 3000)
QUICK_SIZES = (100, 300)
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

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchConfig:
        quick = args.quick
        sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else (
            QUICK_SIZES if quick else FULL_SIZES)
        out_dir = BENCH_DIR / "out" / ("quick" if quick else "full")
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
            memory_limit_mb=_total_memory_mb() * 0.5,
            data_dir=BENCH_DIR / "data",
            out_dir=out_dir,
            results_dir=out_dir if quick else BENCH_DIR,
        )


def _total_memory_mb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20


@dataclass
class ToolRun:
    """One tool's run on one round: what ran, how it went, what it cost."""

    tool: str
    command: list[str]
    status: str  # ok | failed | timeout | unavailable | skipped
    wall_s: float | None = None
    peak_mb: float | None = None
    reason: str = ""
    cpu_s: float | None = None  # user + system seconds of the tool and its workers
    load_1m: float | None = None  # machine load average when it ended (shared machines)


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
    growth: dict[str, dict[str, float]] = field(default_factory=dict)
    ratios: dict[str, dict[str, float]] = field(default_factory=dict)
    claims: list[dict] = field(default_factory=list)
    notes: dict = field(default_factory=dict)
    rounds: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)
    command: str = ""
    started: str = ""
    duration_s: float = 0.0


def _shown(command: list[str]) -> list[str]:
    """The command as a person would type it in the repository root (where it runs)."""
    prefix = str(REPO_DIR) + os.sep
    return ["python" if part == sys.executable else part.replace(prefix, "")
            for part in command]


def _run_tool(tool: str, command: list[str], timeout_s: float,
              ok_returncodes: tuple[int, ...] = (0,)) -> tuple[ToolRun, Measured]:
    outcome = measure(command, timeout_s, cwd=REPO_DIR, ok_returncodes=ok_returncodes)
    shown = _shown(command)
    if isinstance(outcome, RunOk):
        run = ToolRun(tool, shown, "ok", outcome.wall_s, outcome.peak_mb, cpu_s=outcome.cpu_s)
    elif isinstance(outcome, RunTimeout):
        run = ToolRun(tool, shown, "timeout", outcome.wall_s, outcome.peak_mb,
                      f"killed after {outcome.timeout_s:.0f} s")
    else:
        assert isinstance(outcome, RunFailed)
        why = f"exit {outcome.returncode}"
        if outcome.returncode == 128 + 9:  # SIGKILL, and not ours (that is a timeout)
            why += " (killed by SIGKILL"
            if outcome.peak_mb > 0.8 * _total_memory_mb():
                why += f": the out-of-memory killer, at {outcome.peak_mb / 1024:.1f} GB"
            why += ")"
        run = ToolRun(tool, shown, "failed", outcome.wall_s, outcome.peak_mb,
                      f"{why}: {outcome.reason[-600:]}".rstrip(": "), cpu_s=outcome.cpu_s)
    run.load_1m = round(os.getloadavg()[0], 2)
    return run, outcome


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
            runs.append(ToolRun(name, _shown(command), "unavailable", reason=tool.reason))
            continue
        run, _ = _run_tool(name, command, timeout_s)
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


def run_speed(config: BenchConfig, tools, roots, units, results: Results) -> None:
    work = config.out_dir / "speed"
    shutil.rmtree(work, ignore_errors=True)
    pool = dataset.speed_pool(roots, units, max(config.sizes), config.seed)
    gave_up: dict[str, str] = {}
    # Every size's round is written first so that the repeats take turns across sizes as well as
    # tools: the machine's speed drifts over minutes, and a growth factor between two sizes measured
    # ten minutes apart would carry that drift.
    sizes: list[int] = []
    commands: dict[int, dict[str, list[str]]] = {}
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
                if not tools[name].available:
                    run = ToolRun(name, _shown(command), "unavailable", reason=tools[name].reason)
                elif name in gave_up and not done:
                    run = ToolRun(name, _shown(command), "skipped", reason=gave_up[name])
                elif not done and (reason := _predicted_over_limits(
                        results.speed.get(name, {}), n, config)):
                    run = ToolRun(name, _shown(command), "skipped", reason=reason)
                    gave_up[name] = f"skipped at N={n}"
                else:
                    run, _ = _run_tool(name, command, config.speed_timeout_s)
                    if run.status != "ok":
                        gave_up[name] = f"{run.status} at N={n}"
                done.append(run)
                results.speed_runs.append(asdict(run) | {"n": n})
                _record_speed(results, name, n, done, config)  # provisional: read by predictions
    for (name, n), done in runs.items():
        _record_speed(results, name, n, done, config)
    for n in sizes:
        shutil.rmtree(work / f"n{n}" / "round", ignore_errors=True)  # up to 3,000 folders per size
    for name, by_n in results.speed.items():
        measured = [(int(n), v["wall_s"]) for n, v in by_n.items() if v.get("wall_s")]
        measured.sort()
        results.growth[name] = {
            f"{n1}->{n2}": round(metrics.doubling_cost(n1, t1, n2, t2), 2)
            for (n1, t1), (n2, t2) in zip(measured, measured[1:])
        }
    base = results.speed.get("noshortcut", {})
    for name, by_n in results.speed.items():
        if name == "noshortcut":
            continue
        results.ratios[name] = {
            n: round(v["wall_s"] / base[n]["wall_s"], 2)
            for n, v in by_n.items()
            if v.get("wall_s") and base.get(n, {}).get("wall_s")
        }


def _record_speed(results: Results, name: str, n: int, runs: list[ToolRun],
                  config: BenchConfig) -> None:
    """results.speed[name][n] from the runs so far: the median run, every run's wall time."""
    run = _median_run(runs)
    if run.status == "ok":
        results.speed.setdefault(name, {})[str(n)] = {
            "wall_s": round(run.wall_s, 2), "peak_mb": round(run.peak_mb, 1),
            "cpu_s": round(run.cpu_s, 2) if run.cpu_s is not None else None,
            "runs_wall_s": [round(r.wall_s, 2) for r in runs]}
    elif run.status == "timeout":
        results.speed.setdefault(name, {})[str(n)] = {
            "wall_s": None, "peak_mb": round(run.peak_mb, 1), "timeout_s": config.speed_timeout_s}
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


def _extrapolated(by_n: dict[str, dict], n: int, key: str) -> float | None:
    """`key` (wall_s, peak_mb) at N from the two largest sizes measured (power law), or None."""
    measured = sorted((int(k), v[key]) for k, v in by_n.items() if v.get(key) and v.get("wall_s"))
    if len(measured) < 2:
        return None
    (n1, y1), (n2, y2) = measured[-2:]
    exponent = math.log(y2 / y1) / math.log(n2 / n1)
    return y2 * (n / n2) ** exponent


def _predicted_over_limits(by_n: dict[str, dict], n: int, config: BenchConfig) -> str:
    """Why a size should not be run, from the tool's growth over the smaller sizes, or "".

    Spending the whole time limit only to learn that a run times out would push the full run
    far past its budget, and a run heading for most of the machine's memory ends in the
    kernel's out-of-memory killer (and slows everything else on a shared machine). The skip
    is recorded with the prediction, never silently.
    """
    wall = _extrapolated(by_n, n, "wall_s")
    if wall is not None and wall > config.speed_timeout_s:
        return (f"predicted {wall:.0f} s from its growth over the smaller sizes, over the "
                f"{config.speed_timeout_s:.0f} s limit")
    peak = _extrapolated(by_n, n, "peak_mb")
    if peak is not None and peak > config.memory_limit_mb:
        return (f"predicted peak {peak / 1024:.1f} GB from its growth over the smaller sizes, "
                f"over half of this machine's memory ({config.memory_limit_mb / 1024:.1f} GB)")
    return ""


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
    run, _ = _run_tool("notes", command, config.notes_timeout_s)
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
    run, _ = _run_tool(name, command, timeout_s)
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
        claims.append({"claim": f"noshortcut doubling N costs <= 2.3x time ({step})",
                       "measured": f"{cost:.2f}x", "holds": cost <= 2.3})
    results.claims = claims


# ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark noshortcut against copydetect, pycode_similar and Dolos.",
        epilog="Example: python bench/run.py --quick",
    )
    parser.add_argument("--quick", action="store_true",
                        help="small run (~3 min) written to bench/out/quick/")
    parser.add_argument("--sizes", help="comma-separated corpus sizes for the speed runs "
                        f"(default {','.join(map(str, FULL_SIZES))}; quick "
                        f"{','.join(map(str, QUICK_SIZES))})")
    parser.add_argument("--seed", type=int, default=20240901,
                        help="seed of the originals, the variants and the speed corpora")
    parser.add_argument("--skip-speed", action="store_true", help="accuracy only")
    parser.add_argument("--render-only", action="store_true",
                        help="recompute nothing: re-check the claims and rewrite RESULTS.md "
                        "from the results.json of the last run")
    args = parser.parse_args(argv)
    config = BenchConfig.from_args(args)
    if args.render_only:
        return render_only(config)
    shown = " ".join(["python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])])
    results = Results(config={k: str(v) if isinstance(v, Path) else v
                              for k, v in asdict(config).items()},
                      environment=environment(), command=shown,
                      started=time.strftime("%Y-%m-%d %H:%M:%S %Z"))
    started = time.perf_counter()
    config.out_dir.mkdir(parents=True, exist_ok=True)
    config.results_dir.mkdir(parents=True, exist_ok=True)

    _progress("fetching pinned wheels and Dolos")
    roots = dataset.fetch_sources(config.data_dir)
    tools = available_tools(config)
    results.tools = {name: asdict(tool) for name, tool in tools.items()}
    units = dataset.all_units(roots)

    _progress(f"accuracy: {config.n_originals} originals x 6 levels")
    run_accuracy(config, tools, units, results)
    _progress("Dolos Python benchmark")
    run_dolos_benchmark(config, tools, results)
    if not args.skip_speed:
        _progress(f"speed: N = {', '.join(map(str, config.sizes))}")
        run_speed(config, tools, roots, units, results)
    _progress("notes benchmark")
    run_notes(config, results)
    _progress("labelled real rounds")
    run_rounds(config, results)
    _progress("remembered rounds")
    run_history(config, results)
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
