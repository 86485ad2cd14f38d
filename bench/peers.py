"""The tools compared: noshortcut (through its CLI) and the peers that run on this machine.

Each tool runs as a child process (`bench.measure`), so time and memory are comparable. A tool's
scores come back as {(learner a, learner b): similarity} with a < b; pairs a tool does not report
score 0. For the peers that have no CLI producing per-pair scores, this module is also the child
process: `python -m bench.peers copydetect|pycode_similar ...` (and `dolos_runner.mjs` for Dolos).

Thresholds for precision/recall are each tool's own documented default:
* noshortcut: `checker.defaults.SUSPICIOUS_SIMILARITY`;
* copydetect: `display_t` = `copydetect.defaults.DISPLAY_THRESHOLD` (0.33), the share of a file
  that must match for the pair to appear in its report; a pair scores the larger of its two
  per-file shares, as the report lists a pair when either side passes;
* pycode_similar: 0.5, its CLI's `-p` default (share of the reference's AST structure found in the
  candidate); a pair scores the larger of the two directions;
* Dolos: 0.75, the initial cut-off in the Dolos web app's settings store; the app then replaces it
  with a guess from the similarity histogram of each report, which no API returns.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

Pair = tuple[str, str]
BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DOLOS_PACKAGE = "@dodona/dolos-lib"
DOLOS_SCRIPT = BENCH_DIR / "dolos_runner.mjs"
# Node's heap limit for Dolos (`--max-old-space-size`): a speed round whose projected peak passes
# it is not run (bench/run.py: it would end in "heap out of memory").
DOLOS_HEAP_MB = 8192


@dataclass(frozen=True)
class Tool:
    name: str
    version: str
    threshold: float
    threshold_source: str
    available: bool = True
    reason: str = ""  # why it cannot run here, when not available


def pair_key(a: str, b: str) -> Pair:
    return (a, b) if a <= b else (b, a)


def learner_of(path: str | Path) -> str:
    """The learner folder of a file in a round (one folder per learner, one level deep)."""
    return Path(path).parent.name


# ------------------------------------------------------------------------------------------------
# noshortcut


def noshortcut_tool() -> Tool:
    from checker import __version__, defaults

    commit = _git_head()
    version = f"{__version__}" + (f" (git {commit})" if commit else "")
    return Tool("noshortcut", version, defaults.SUSPICIOUS_SIMILARITY,
                "checker.defaults.SUSPICIOUS_SIMILARITY")


def noshortcut_command(round_dir: Path, out_dir: Path, all_pairs: bool = True) -> list[str]:
    """The documented CLI contract: one row per pair in OUT/pairs.csv.

    all_pairs: every aligned pair is written (`--min-similarity 0`), which the accuracy runs need
    for their ROC curves; the speed runs keep the CLI's default (pairs from 0.1 up), as a user
    runs it and as copydetect's run keeps only its report's pairs over its display threshold.
    """
    threshold = ["--min-similarity", "0"] if all_pairs else []
    return [sys.executable, "-m", "checker", "scan", str(round_dir), "-o", str(out_dir),
            *threshold, "--quiet", "--no-html"]


def noshortcut_scores(out_dir: Path) -> dict[Pair, float]:
    scores: dict[Pair, float] = {}
    with open(out_dir / "pairs.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = pair_key(row["left"], row["right"])
            scores[key] = max(scores.get(key, 0.0), float(row["similarity"]))
    return scores


def _git_head() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_DIR,
                              capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "checker"], cwd=REPO_DIR,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    head = done.stdout.strip()
    return head + ("+uncommitted checker/" if dirty.stdout.strip() else "") if head else ""


# ------------------------------------------------------------------------------------------------
# copydetect


def copydetect_tool() -> Tool:
    try:
        from copydetect import defaults
    except ImportError as error:
        return Tool("copydetect", "", 0.0, "", False, f"not installed ({error})")
    return Tool("copydetect", importlib.metadata.version("copydetect"),
                defaults.DISPLAY_THRESHOLD, "copydetect.defaults.DISPLAY_THRESHOLD (display_t)")


def copydetect_command(round_dir: Path, out_json: Path, pairs_json: Path | None) -> list[str]:
    command = [sys.executable, "-m", "bench.peers", "copydetect", str(round_dir), str(out_json)]
    if pairs_json is not None:
        command += ["--pairs", str(pairs_json)]
    return command


def _run_copydetect(round_dir: Path, out_json: Path, pairs_json: Path | None) -> None:
    """copydetect's documented API with test dirs = reference dirs = the round.

    Does what its CLI does before rendering HTML: fingerprint every file, compare all pairs,
    and collect the report's list of pairs over the display threshold with highlighted code.
    """
    from copydetect import CopyDetector

    detector = CopyDetector(test_dirs=[str(round_dir)], ref_dirs=[str(round_dir)],
                            extensions=["py"], autoopen=False, silent=True)
    detector.run()
    flagged = detector.get_copied_code_list()
    result: dict = {"files": len(detector.test_files), "flagged": len(flagged)}
    if pairs_json is not None:
        wanted = {pair_key(*p) for p in json.loads(pairs_json.read_text())}
        index = {learner_of(f): i for i, f in enumerate(detector.test_files)}
        scores = []
        for a, b in sorted(wanted):
            if a in index and b in index:
                sims = detector.similarity_matrix[index[a], index[b]]
                scores.append([a, b, float(max(sims[0], sims[1], 0.0))])
        result["scores"] = scores
    out_json.write_text(json.dumps(result))


# ------------------------------------------------------------------------------------------------
# pycode_similar


def pycode_similar_tool() -> Tool:
    try:
        import pycode_similar  # noqa: F401
    except ImportError as error:
        return Tool("pycode_similar", "", 0.0, "", False, f"not installed ({error})")
    return Tool("pycode_similar", importlib.metadata.version("pycode_similar"), 0.5,
                "its CLI's -p default")


def pycode_similar_command(round_dir: Path, out_json: Path, pairs_json: Path) -> list[str]:
    return [sys.executable, "-m", "bench.peers", "pycode_similar", str(round_dir), str(out_json),
            "--pairs", str(pairs_json)]


def _run_pycode_similar(round_dir: Path, out_json: Path, pairs_json: Path) -> None:
    """Pairwise only (the tool compares one reference with candidates), so labelled pairs only."""
    import pycode_similar

    def text(learner: str) -> str:
        files = sorted((round_dir / learner).glob("*.py"))
        return files[0].read_text(encoding="utf-8") if files else ""

    def share(reference: str, candidate: str) -> tuple[float, str]:
        try:
            results = pycode_similar.detect([reference, candidate])
        except pycode_similar.NoFuncException:
            return 0.0, "no function in the file"  # the tool reports nothing
        except SyntaxError as error:
            return 0.0, f"SyntaxError: {error.msg} (line {error.lineno})"  # it uses ast.parse
        return (float(pycode_similar.summarize(results[0][1])[0]) if results else 0.0), ""

    scores, errors = [], []
    for a, b in sorted({pair_key(*p) for p in json.loads(pairs_json.read_text())}):
        (forward, why_forward), (backward, why_backward) = share(text(a), text(b)), share(
            text(b), text(a))
        scores.append([a, b, max(forward, backward)])
        if why_forward or why_backward:
            errors.append([a, b, why_forward or why_backward])
    out_json.write_text(json.dumps({"scores": scores, "errors": errors}))


# ------------------------------------------------------------------------------------------------
# Dolos


def dolos_tool(prefix: Path) -> Tool:
    """Dolos through @dodona/dolos-lib (the CLI package is not on the reachable registry)."""
    if shutil.which("node") is None:
        return Tool("dolos", "", 0.75, "", False, "node is not installed")
    manifest = prefix / "node_modules" / "@dodona" / "dolos-lib" / "package.json"
    if not manifest.exists():
        return Tool("dolos", "", 0.75, "", False,
                    f"{DOLOS_PACKAGE} is not installed under {prefix} (run.py installs it)")
    version = json.loads(manifest.read_text())["version"]
    return Tool("dolos", f"dolos-lib {version}", 0.75,
                "Dolos web app's initial cut-off (the app then guesses one per report)")


def install_dolos(prefix: Path, timeout_s: float = 600) -> str:
    """`npm install --prefix PREFIX @dodona/dolos-lib`; returns "" or the reason it failed."""
    manifest = prefix / "node_modules" / "@dodona" / "dolos-lib" / "package.json"
    if manifest.exists():
        return ""
    if shutil.which("npm") is None:
        return "npm is not installed"
    prefix.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["npm", "install", "--prefix", str(prefix), DOLOS_PACKAGE],
                              capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return f"npm install {DOLOS_PACKAGE} took over {timeout_s:.0f} s"
    if done.returncode != 0 or not manifest.exists():
        return f"npm install {DOLOS_PACKAGE} failed: {done.stderr[-500:]}"
    return ""


def dolos_command(prefix: Path, files_json: Path, out_json: Path, mode: str,
                  pairs_json: Path | None = None) -> list[str]:
    """mode "scores": reported pairs with their similarity (only those in `pairs_json` when
    given); "count": only how many pairs."""
    command = ["node", f"--max-old-space-size={DOLOS_HEAP_MB}", str(DOLOS_SCRIPT), str(prefix),
               str(files_json), str(out_json), mode]
    return command + ([str(pairs_json)] if pairs_json is not None else [])


def dolos_scores(out_json: Path) -> dict[Pair, float]:
    scores: dict[Pair, float] = {}
    for left, right, similarity in json.loads(out_json.read_text())["pairs"]:
        scores[pair_key(learner_of(left), learner_of(right))] = float(similarity)
    return scores


def json_scores(out_json: Path) -> dict[Pair, float]:
    """Scores written by this module's copydetect / pycode_similar child processes."""
    return {pair_key(a, b): s for a, b, s in json.loads(out_json.read_text())["scores"]}


def json_errors(out_json: Path) -> dict[Pair, str]:
    """Pairs a child process could not score (scored 0), with the reason."""
    if not out_json.exists():
        return {}
    rows = json.loads(out_json.read_text()).get("errors", [])
    return {pair_key(a, b): why for a, b, why in rows}


# ------------------------------------------------------------------------------------------------
# child-process entry point


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run one peer tool on a round (bench child).")
    parser.add_argument("tool", choices=["copydetect", "pycode_similar"])
    parser.add_argument("round_dir", type=Path)
    parser.add_argument("out_json", type=Path)
    parser.add_argument("--pairs", type=Path, help="JSON list of [learner, learner] to score")
    args = parser.parse_args(argv)
    if args.tool == "copydetect":
        _run_copydetect(args.round_dir, args.out_json, args.pairs)
    else:
        if args.pairs is None:
            parser.error("pycode_similar needs --pairs")
        _run_pycode_similar(args.round_dir, args.out_json, args.pairs)


if __name__ == "__main__":
    main()
