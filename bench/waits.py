"""The waits a mentor meets (issue #18), measured for bench/run.py.

- corpus check: one submission scanned in a new process against the default corpus (the
  index of corpus/sources.toml, built once into bench/data/corpus-index and kept);
- re-scan: a round of SCANS_N files scanned twice with one cache folder ($NOSHORTCUT_CACHE,
  empty before the first scan: fingerprints and the reports kept for re-use), then once more
  with one late learner added (a file of the pool outside the round: the report cannot be
  re-used, the fingerprints of the other files can);
- task rules: the same round with and without `--task` (TASK_FILE);
- scale: what sizes the speed rounds take, when a tool's size is not run (projected from its
  growth over the smaller sizes), and the issue's targets side by side with the figures.

Every scan is the CLI in a child process (bench.runs.run_tool), started with an environment of
its own: $NOSHORTCUT_INDEX removed (a mentor's shared index would change what is measured) and
$NOSHORTCUT_CACHE set to a folder of the benchmark's. A checkout without a fingerprint cache
ignores that variable: its warm scan is then a second cold one, and the figures say so.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

from bench.runs import REPO_DIR, run_tool

CACHE_ENV = "NOSHORTCUT_CACHE"
INDEX_ENV = "NOSHORTCUT_INDEX"
# Sizes above LARGE_N run under the one-hour limit per tool and size (smaller ones
# under the speed limit of bench/run.py): "peers where they finish within an hour".
LARGE_N = 3000
HOUR_S = 3600.0
SCANS_N = 1000  # the re-scan and task rounds (the N=1,000)
TASK_FILE = REPO_DIR / "examples" / "tasks" / "2025-task5-cnn.toml"
CORPUS_INDEX_DIR = "corpus-index"  # under bench/data: ignored by git, kept between runs
# the targets: key -> (figure, comparison, bound, unit)
TARGETS = {
    "corpus_check": ("corpus check, one submission, cold", "<", 2.0, " s"),
    "rescan": ("re-scan of an unchanged round, cold / warm time", ">=", 10.0, "x"),
    "task_scan": ("`--task` scan / plain scan time", "<=", 1.5, "x"),
    "growth": ("time per doubling of N, 10,000 -> 30,000 files", "<=", 2.3, "x"),
}
_HOLDS = {"<": float.__lt__, "<=": float.__le__, ">=": float.__ge__}


# ------------------------------------------------------------------------------------------------
# sizes and projections (pure)


def parse_sizes(text: str) -> tuple[int, ...]:
    """`--sizes`: comma-separated file counts, `10k` and `30_000` allowed; sorted, unique."""
    sizes: set[int] = set()
    for raw in text.split(","):
        part = raw.strip().lower().replace("_", "")
        if not part:
            continue
        scale = 1000 if part.endswith("k") else 1
        try:
            value = float(part[:-1] if scale > 1 else part) * scale
        except ValueError:
            raise ValueError(f"--sizes: {raw.strip()!r} is not a number of files "
                             "(example: 1000,3000,10k,30k)") from None
        if value < 2 or value != int(value):
            raise ValueError(f"--sizes: {raw.strip()!r} must be a whole number of files, at "
                             "least 2 (a round needs two learners)")
        sizes.add(int(value))
    if not sizes:
        raise ValueError("--sizes: no size given (example: 1000,3000,10k,30k)")
    return tuple(sorted(sizes))


def format_duration(seconds: float) -> str:
    if seconds >= HOUR_S:
        return f"{seconds / HOUR_S:.1f} h"
    if seconds >= 90:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def extrapolate(by_n: dict[str, dict], n: int, key: str) -> tuple[float, int, int] | None:
    """(`key` at N, n1, n2) from the two largest sizes measured (a power law through both), or
    None with fewer than two measured sizes."""
    measured = sorted((int(k), v[key]) for k, v in by_n.items() if v.get(key) and v.get("wall_s"))
    measured = [(size, value) for size, value in measured if size < n]
    if len(measured) < 2:
        return None
    (n1, y1), (n2, y2) = measured[-2:]
    exponent = math.log(y2 / y1) / math.log(n2 / n1)
    return y2 * (n / n2) ** exponent, n1, n2


def skip_reason(by_n: dict[str, dict], n: int, time_limit_s: float, memory_limit_mb: float,
                memory_what: str = "half of this machine's memory") -> str:
    """Why a tool should not run at N, from its growth over the smaller sizes, or "".

    Spending the whole time limit only to learn that a run times out would push the run far past
    its budget, and a run heading for most of the machine's memory ends in the kernel's
    out-of-memory killer (and slows everything else on a shared machine).
    """
    wall, peak = extrapolate(by_n, n, "wall_s"), extrapolate(by_n, n, "peak_mb")
    over = []
    if wall is not None and wall[0] > time_limit_s:
        over.append(f"over the {format_duration(time_limit_s)} limit")
    if peak is not None and peak[0] > memory_limit_mb:
        over.append(f"over {memory_limit_mb / 1024:.1f} GB, {memory_what}")
    if not over:
        return ""
    basis = wall or peak
    assert basis is not None
    projected = [format_duration(wall[0])] if wall is not None else []
    if peak is not None:
        projected.append(f"{peak[0] / 1024:.1f} GB peak")
    return (f"not run: projected {' and '.join(projected)} from {basis[1]}->{basis[2]} growth "
            f"({'; '.join(over)})")


def time_limit(n: int, small_limit_s: float) -> float:
    return small_limit_s if n <= LARGE_N else max(small_limit_s, HOUR_S)


def median(values: list[float]) -> float:
    """The median run (an actual run, the lower middle one for an even count)."""
    return sorted(values)[(len(values) - 1) // 2]


# ------------------------------------------------------------------------------------------------
# running scans


def scan_env(cache_dir: Path | None) -> dict[str, str]:
    """The environment of a scan: no $NOSHORTCUT_INDEX, the cache folder given, and this
    checkout importable from any working folder (scans run in SCAN_CWD, see there)."""
    env = {k: v for k, v in os.environ.items() if k != INDEX_ENV}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_DIR), os.environ.get("PYTHONPATH")]))
    if cache_dir is not None:
        env[CACHE_ENV] = str(cache_dir)
    return env


def scan_cwd(work: Path) -> Path:
    """A working folder for scans without `--index`: the CLI falls back to ./fingerprints when an
    index was built there, and the repository's own fingerprints/ may hold one."""
    work.mkdir(parents=True, exist_ok=True)
    return work


def fresh_folder(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def files_under(path: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(path))


def scan_command(round_dir: Path, out_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "checker", "scan", str(round_dir), "-o", str(out_dir),
            "--quiet", "--no-html", *extra]


def cache_supported() -> bool:
    """Whether this checkout's scan has a fingerprint cache (its `--no-cache` flag)."""
    try:
        done = subprocess.run([sys.executable, "-m", "checker", "scan", "--help"], cwd=REPO_DIR,
                              capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--no-cache" in done.stdout


LATE_LEARNER = "late-learner"


def run_scan_modes(round_dir: Path, work: Path, n: int, repeats: int, timeout_s: float,
                   late_file: tuple[str, str] | None = None) -> tuple[dict, dict, list[dict]]:
    """(rescan, task_scan, runs): the round scanned cold, again warm, cold with `--task`, and
    (with `late_file`, a (name, text) not in the round) warm with that file as one more learner's,
    `repeats` times in turn (the machine's speed drifts over minutes); medians reported."""
    runs: list[dict] = []
    times: dict[str, list[float]] = {"cold": [], "warm": [], "task": [], "late": []}
    cpu: dict[str, list[float]] = {"cold": [], "warm": [], "task": [], "late": []}
    entries: list[int] = []
    failed = ""
    late_dir = round_dir / LATE_LEARNER
    for repeat in range(repeats):
        shutil.rmtree(late_dir, ignore_errors=True)
        cache = fresh_folder(work / "cache" / "rescan")
        task_cache = fresh_folder(work / "cache" / "task")
        plan = [("cold", scan_command(round_dir, work / "cold"), cache),
                ("warm", scan_command(round_dir, work / "warm"), cache),
                ("task", scan_command(round_dir, work / "task", "--task", str(TASK_FILE)),
                 task_cache)]
        if late_file is not None:
            plan.append(("late", scan_command(round_dir, work / "late"), cache))
        for kind, command, folder in plan:
            if kind == "late" and late_file is not None:
                (late_dir / late_file[0]).parent.mkdir(parents=True, exist_ok=True)
                (late_dir / late_file[0]).write_text(late_file[1], encoding="utf-8")
            run, _ = run_tool(f"noshortcut {kind}", command, timeout_s, env=scan_env(folder),
                              cwd=scan_cwd(work))
            runs.append(asdict(run) | {"n": n, "repeat": repeat})
            if run.status != "ok":
                failed = f"{kind} scan {run.status}: {run.reason[:300]}"
                break
            times[kind].append(round(run.wall_s, 2))
            if run.cpu_s is not None:
                cpu[kind].append(round(run.cpu_s, 2))
            if kind == "cold":
                entries.append(files_under(cache))
        if failed:
            break
    shutil.rmtree(work / "cache", ignore_errors=True)
    shutil.rmtree(late_dir, ignore_errors=True)
    supported = cache_supported()
    rescan: dict = {"n": n, "repeats": repeats, "cache_supported": supported,
                    "cache_env": CACHE_ENV, "cache_files_after_cold": entries,
                    "cold_runs_s": times["cold"], "warm_runs_s": times["warm"],
                    "cold_cpu_s": cpu["cold"], "warm_cpu_s": cpu["warm"]}
    task: dict = {"n": n, "repeats": repeats, "task_file": str(TASK_FILE.relative_to(REPO_DIR)),
                  "plain_runs_s": times["cold"], "task_runs_s": times["task"],
                  "plain_cpu_s": cpu["cold"], "task_cpu_s": cpu["task"]}
    if failed:
        rescan["failed"] = task["failed"] = failed
    if times["cold"] and times["warm"]:
        rescan |= {"cold_s": median(times["cold"]), "warm_s": median(times["warm"])}
        rescan["speedup"] = round(rescan["cold_s"] / rescan["warm_s"], 2)
    if times["cold"] and times["late"]:
        rescan |= {"late_runs_s": times["late"], "late_cpu_s": cpu["late"],
                   "late_s": median(times["late"])}
        rescan["late_speedup"] = round(rescan["cold_s"] / rescan["late_s"], 2)
    if times["cold"] and times["task"]:
        task |= {"plain_s": median(times["cold"]), "task_s": median(times["task"])}
        task["ratio"] = round(task["task_s"] / task["plain_s"], 2)
    if not supported:
        rescan["note"] = ("this checkout's scan has no fingerprint cache (no --no-cache flag): "
                          "the warm scan is a second cold one")
    elif not any(entries):
        rescan["note"] = f"the cold scan wrote nothing into ${CACHE_ENV}"
    return rescan, task, runs


def run_corpus_check(data_dir: Path, work: Path, repeats: int, build_timeout_s: float,
                     scan_timeout_s: float) -> dict:
    """One submission (bench_corpus.synthetic_submission: d2l's attention code renamed + an own
    training script) scanned in a new process against the default corpus index.

    The index is DATA_DIR/corpus-index, built from corpus/sources.toml with `checker corpus
    build --no-notes` (code only, as the issue measured it): minutes and the downloads the
    first time, an incremental no-op after (a schema change is met with `--rebuild`).
    """
    from bench.bench_corpus import synthetic_submission

    index = data_dir / CORPUS_INDEX_DIR
    build = [sys.executable, "-m", "checker", "corpus", "build", "--index", str(index),
             "--no-notes", "--quiet"]
    run, _ = run_tool("corpus build", build, build_timeout_s, env=scan_env(None))
    if run.status == "failed" and "--rebuild" in run.reason:
        run, _ = run_tool("corpus build", [*build, "--rebuild"], build_timeout_s,
                          env=scan_env(None))
    out: dict = {"index": str(index.relative_to(REPO_DIR)) if index.is_relative_to(REPO_DIR)
                 else str(index), "build": asdict(run)}
    out |= corpus_facts(index)
    if run.status != "ok":
        out["failed"] = f"corpus build {run.status}: {run.reason[:300]}"
        return out
    round_dir = work / "round"
    shutil.rmtree(round_dir, ignore_errors=True)
    try:
        synthetic_submission(round_dir / "learner", data_dir / "wheels")
    except (OSError, KeyError) as error:
        out["failed"] = f"no submission to check: {error}"
        return out
    runs, times, stages = [], [], []
    for repeat in range(repeats):
        cache = fresh_folder(work / "cache")
        command = scan_command(round_dir, work / "out", "--index", str(index))
        scan, _ = run_tool("noshortcut corpus check", command, scan_timeout_s,
                           env=scan_env(cache), cwd=scan_cwd(work))
        runs.append(asdict(scan) | {"repeat": repeat})
        if scan.status != "ok":
            out["failed"] = f"scan {scan.status}: {scan.reason[:300]}"
            break
        times.append(round(scan.wall_s, 2))
        report = _read_json(work / "out" / "report.json")
        stages.append((report.get("stats") or {}).get("seconds", {}))
        if repeat == 0:
            out["corpus_pairs"] = [
                {"file": p["left_file"], "source": p["right"], "path": p["right_file"],
                 "coverage": p["left_coverage"]}
                for p in report.get("pairs", []) if p.get("source") == "corpus"][:3]
    shutil.rmtree(work / "cache", ignore_errors=True)
    out |= {"runs": runs, "runs_s": times, "repeats": repeats}
    if times:
        out["cold_single_submission_s"] = median(times)
        out["stages_s"] = stages[times.index(out["cold_single_submission_s"])]
        out["peak_mb"] = round(max(r["peak_mb"] for r in runs if r["status"] == "ok"), 1)
    return out


def corpus_facts(index: Path) -> dict:
    """engine (checker.defaults.CORPUS_LSH_ENGINE as this checkout has it now), the default
    manifest's sources and the files indexed from it."""
    facts: dict = {}
    try:
        from checker import defaults

        facts["engine"] = getattr(defaults, "CORPUS_LSH_ENGINE", None)
        manifest = Path(defaults.CORPUS_MANIFEST)
        facts["manifest"] = str(manifest.relative_to(REPO_DIR)) if manifest.is_relative_to(
            REPO_DIR) else str(manifest)
        facts["manifest_sources"] = len(re.findall(r"^\[\[source\]\]", manifest.read_text(
            encoding="utf-8"), flags=re.MULTILINE))
    except (ImportError, OSError) as error:
        facts["engine_error"] = str(error)
    try:
        from checker.corpus.index import CorpusIndex

        with CorpusIndex.open(index) as opened:
            stats = opened.stats()
        facts |= {"manifest_files": stats["documents"], "sources_indexed": stats["sources"],
                  "signatures": stats["signatures"]}
    except Exception as error:  # noqa: BLE001 - an index this checkout cannot read is reported
        facts["index_error"] = f"{type(error).__name__}: {error}"[:300]
    return facts


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# ------------------------------------------------------------------------------------------------
# the targets, checked and rendered


def target_rows(results: dict) -> list[dict]:
    """One row per target of the issue that this run measured: what, measured, target, ratio
    (measured / target) and whether it holds."""
    rows = []

    def add(key: str, measured_value: float, measured_text: str) -> None:
        what, comparison, bound, unit = TARGETS[key]
        rows.append({"key": key, "figure": what, "measured": measured_text,
                     "target": f"{comparison} {bound:g}{unit}",
                     "ratio": round(measured_value / bound, 2),
                     "holds": _HOLDS[comparison](float(measured_value), bound)})

    corpus = results.get("corpus_check") or {}
    if corpus.get("cold_single_submission_s") is not None:
        add("corpus_check", corpus["cold_single_submission_s"],
            f"{corpus['cold_single_submission_s']:.2f} s (engine `{corpus.get('engine')}`, "
            f"{corpus.get('manifest_files', '?')} corpus files)")
    rescan = results.get("rescan") or {}
    if rescan.get("speedup") is not None:
        add("rescan", rescan["speedup"],
            f"{rescan['speedup']:.1f}x (cold {rescan['cold_s']:.1f} s, warm {rescan['warm_s']:.2f} s, "
            f"N={rescan['n']}"
            + (f"; one late learner added: {rescan['late_s']:.1f} s, {rescan['late_speedup']:.1f}x"
               if rescan.get("late_s") is not None else "") + ")")
    task = results.get("task_scan") or {}
    if task.get("ratio") is not None:
        add("task_scan", task["ratio"],
            f"{task['ratio']:.2f}x (plain {task['plain_s']:.1f} s, with rules {task['task_s']:.1f} s, "
            f"N={task['n']})")
    growth = (results.get("growth") or {}).get("noshortcut", {}).get("10000->30000")
    if growth is not None:
        speed = results["speed"]["noshortcut"]
        peak = (results.get("speed_peak_rss_mb") or {}).get("noshortcut", {}).get("30000")
        add("growth", growth,
            f"{growth:.2f}x ({speed['10000']['wall_s']:.0f} s -> {speed['30000']['wall_s']:.0f} s"
            + (f"; peak {peak:.0f} MB at 30,000" if peak is not None else "") + ")")
    return rows


def claims(results: dict) -> list[dict]:
    return [{"claim": f"{row['figure']} {row['target']}", "measured": row["measured"],
             "holds": row["holds"]} for row in target_rows(results)]


__all__ = ["CACHE_ENV", "HOUR_S", "LARGE_N", "SCANS_N", "TARGETS", "TASK_FILE", "claims",
           "extrapolate", "format_duration", "parse_sizes", "run_corpus_check", "run_scan_modes",
           "skip_reason", "target_rows", "time_limit"]
