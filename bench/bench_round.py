"""Learner-level benchmark on the labelled real west2 rounds: does a mentor's `checker scan` flag
the learners who copied, name whom they copied from, and leave everyone else alone?

    python bench/bench_round.py                      # bench/round_results.json + round_results.md
    python bench/bench_round.py --index fingerprints/ # also match against a corpus index
    python bench/bench_round.py --round work1 --round work2

Reads ../shared/datasets in place (or --datasets, or $NOSHORTCUT_DATASETS); exits 0 with a
message when it is absent. For every labelled round of west2-2024-2026-labels.json:

1. the round's learners are written as a folder tree in a temporary directory (one folder per
   learner; file bytes exactly as submitted: `text` as UTF-8, `text_b64` decoded raw, so GBK files
   stay GBK), and its handout as a `--base` folder: every file of west2-learn-ai-tasks.jsonl.gz
   under the round's `handout_prefixes`, plus the round's `ExampleName` folder (the labels'
   `handouts` note says both are handout);
2. `checker scan ROUND --base HANDOUT -o OUT --no-html -q` runs in a subprocess, as a mentor runs
   it (cwd the temporary directory and $NOSHORTCUT_INDEX unset, so that no index is used unless
   --index is given);
3. OUT/report.json's `verdicts` are scored per learner: flagged = risk medium or high. A learner
   labelled `uncertain` counts on neither side and is listed apart. For a flagged learner who
   should be flagged, "names the partner" means a learner id or public source on the other side
   of one of its `copy`/`public` pairs appears in the verdict's reasons (or evidence).

Exits 0 whatever the figures: it measures, it does not gate.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
DATASETS_ENV = "NOSHORTCUT_DATASETS"
DEFAULT_DATASETS = ROOT.parent / "shared" / "datasets"
SUBMISSIONS = "west2-submissions-2024-2026.jsonl.gz"
TASKS = "west2-learn-ai-tasks.jsonl.gz"
LABELS = "west2-2024-2026-labels.json"
FLAGGED_RISKS = ("medium", "high")
PARTNER_LABELS = ("copy", "public")
EXAMPLE_FOLDER = "ExampleName"  # per round: the programme's example submission (handout)
SCAN_TIMEOUT_S = 900
MAX_REASONS_KEPT = 12  # distinct reasons per learner kept in round_results.json


# --- scoring (pure: a labels round and a report in, figures out) ------------------------------


def partners_of(learner: str, pairs: list[dict]) -> list[str]:
    """The other side of every `copy`/`public` pair the learner is on (learner ids, `round:learner`
    for another round, `public:...` sources), in the labels' order, without repeats."""
    out: list[str] = []
    for pair in pairs:
        if pair.get("label") not in PARTNER_LABELS:
            continue
        if pair.get("left") == learner:
            other = pair.get("right", "")
        elif pair.get("right") == learner:
            other = pair.get("left", "")
        else:
            continue
        if other and other != "handout" and other not in out:
            out.append(other)
    return out


_DOMAIN = re.compile(r"[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+", re.IGNORECASE)


def partner_patterns(partner: str) -> list[re.Pattern]:
    """What in a reason counts as naming `partner`.

    A learner id matches as a whole id (learner-2 is not learner-20); `round:learner-NN` matches
    itself or its learner id (ids are kept per person across rounds); a `public:` source matches
    any web domain it names (liaoxuefeng.com, open-meteo.com), else its whole description.
    """
    def whole(text: str) -> re.Pattern:
        return re.compile(r"(?<![\w-])" + re.escape(text) + r"(?![\w-])", re.IGNORECASE)

    if partner.startswith("public:"):
        described = partner[len("public:"):].strip()
        domains = _DOMAIN.findall(described)
        return [whole(d) for d in domains] or [re.compile(re.escape(described), re.IGNORECASE)]
    if ":" in partner:
        return [whole(partner), whole(partner.rsplit(":", 1)[1])]
    return [whole(partner)]


def verdict_texts(verdict: dict) -> list[str]:
    """Every reason line of a verdict, then any other text it carries (e.g. an `evidence` field),
    flattened; the learner's own id and the risk level are left out."""
    out = [str(r) for r in verdict.get("reasons") or []]

    def walk(value) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    for key, value in verdict.items():
        if key not in ("learner", "risk", "score", "reasons"):
            walk(value)
    return out


def distinct(lines: list[str]) -> list[str]:
    seen: set[str] = set()
    return [x for x in lines if not (x in seen or seen.add(x))]


_KINDS = (  # reason kinds, from the wording of checker/report/verdicts.py (old and current
    # wording both, so before/after runs classify alike); anything else is "other"
    ("notes shared with a learner", re.compile(r"^notes: .* (shares a paragraph with |also in \S+'s notes)")),
    ("notes copied", re.compile(r"^notes: (\d+% in their own words; .* copied|.* copied without citation)")),
    ("notes other", re.compile(r"^notes: ")),
    ("code shared with a learner", re.compile(
        r"^shares \d+% of their code with |more learner\(s\) above|is the same code as |"
        r"lines of own code.* also in |more file\(s\) shared with other learners")),
    ("public code", re.compile(r"match(es)? public code|comes from .*attributed")),
    ("rule", re.compile(r"rule violation")),
    ("retrain", re.compile(r"^retrain ")),
    ("information", re.compile(r"too short to tell|too little code of its own|tells learners to use")),
)


def reason_kinds(reasons: list[str]) -> dict[str, int]:
    """How many reason lines of each kind (a quick "why" beside the first line)."""
    counts: dict[str, int] = {}
    for reason in reasons:
        kind = next((k for k, pattern in _KINDS if pattern.search(reason)), "other")
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def score_round(labels: dict, report: dict | None) -> dict:
    """One round's learner-level figures from its labels ({learners, pairs}) and report.json.

    `report` None (the scan failed) scores every learner as not flagged, with the reason.
    A labelled learner missing from the verdicts counts as risk "none".
    """
    verdicts = {v.get("learner"): v for v in (report or {}).get("verdicts", [])}
    pairs = labels.get("pairs", [])
    rows = []
    for learner, label in sorted(labels.get("learners", {}).items()):
        verdict = verdicts.get(learner)
        risk = verdict.get("risk", "none") if verdict else "none"
        texts = distinct(verdict_texts(verdict)) if verdict else []
        reasons = distinct([str(r) for r in (verdict or {}).get("reasons") or []])
        partners = partners_of(learner, pairs)
        named, first_at = [], None
        for partner in partners:
            patterns = partner_patterns(partner)
            hits = [i for i, t in enumerate(texts) if any(p.search(t) for p in patterns)]
            if hits:
                named.append(partner)
                first_at = hits[0] if first_at is None else min(first_at, hits[0])
        naming = texts[first_at] if first_at is not None else ""
        rows.append({
            "learner": learner,
            "should_flag": bool(label.get("should_flag")),
            "uncertain": bool(label.get("uncertain")),
            "why": label.get("why", ""),
            "risk": risk,
            "flagged": risk in FLAGGED_RISKS,
            "in_report": verdict is not None,
            "score": (verdict or {}).get("score"),
            "partners": partners,
            "partners_named": named,
            # 1-based position, among the distinct reason lines, of the first one naming a partner,
            # that line and its kind (a code reason, or a notes reason that happens to name them)
            "partner_first_reason": first_at + 1 if first_at is not None else None,
            "partner_reason": naming,
            "partner_reason_kind": next(iter(reason_kinds([naming]))) if naming else "",
            "reasons_total": len((verdict or {}).get("reasons") or []),
            "reasons_distinct": len(reasons),
            "reason_kinds": reason_kinds(reasons),
            "top_reason": reasons[0] if reasons else ("(scan failed)" if report is None else "(no verdict)"),
            "reasons": reasons[:MAX_REASONS_KEPT],
        })
    certain = [r for r in rows if not r["uncertain"]]
    positives = [r for r in certain if r["should_flag"]]
    negatives = [r for r in certain if not r["should_flag"]]
    caught = [r for r in positives if r["flagged"]]
    false_flags = [r for r in negatives if r["flagged"]]
    return {
        "learners": len(rows),
        "should_flag": len(positives),
        "clean": len(negatives),
        "flagged_should_flag": len(caught),
        "recall": round(len(caught) / len(positives), 4) if positives else None,
        "partner_named": sum(1 for r in caught if r["partners_named"]),
        "false_flags": len(false_flags),
        "false_flag_rate": round(len(false_flags) / len(negatives), 4) if negatives else None,
        "missed": [r["learner"] for r in positives if not r["flagged"]],
        "false_flagged": [r["learner"] for r in false_flags],
        "uncertain": [r["learner"] for r in rows if r["uncertain"]],
        "uncertain_flagged": sum(1 for r in rows if r["uncertain"] and r["flagged"]),
        "risks": {level: sum(1 for r in rows if r["risk"] == level)
                  for level in ("high", "medium", "low", "none")},
        "rows": rows,
    }


def totals(rounds: dict[str, dict]) -> dict:
    """Sums over rounds (recall and false-flag rate recomputed from the sums)."""
    keys = ("learners", "should_flag", "clean", "flagged_should_flag", "partner_named", "false_flags",
            "uncertain_flagged")
    out = {k: sum(r[k] for r in rounds.values()) for k in keys}
    out["uncertain"] = sum(len(r["uncertain"]) for r in rounds.values())
    out["recall"] = round(out["flagged_should_flag"] / out["should_flag"], 4) if out["should_flag"] else None
    out["false_flag_rate"] = round(out["false_flags"] / out["clean"], 4) if out["clean"] else None
    return out


# --- materialising a round --------------------------------------------------------------------


def _main_checkout() -> Path | None:
    """The main checkout when ROOT is a `git worktree` (its .git is a file naming
    <main>/.git/worktrees/<name>), else None."""
    marker = ROOT / ".git"
    if not marker.is_file():
        return None
    text = marker.read_text(encoding="utf-8", errors="replace").strip()
    if not text.startswith("gitdir:"):
        return None
    gitdir = Path(text[len("gitdir:"):].strip())
    gitdir = gitdir if gitdir.is_absolute() else (ROOT / gitdir).resolve()
    return gitdir.parent.parent.parent if gitdir.parent.name == "worktrees" else None


def datasets_dir(given: Path | None = None) -> Path:
    """--datasets, else $NOSHORTCUT_DATASETS, else ../shared/datasets beside the repository (beside
    the main checkout when this is a git worktree and the first is absent)."""
    if given is not None:
        return given
    env = os.environ.get(DATASETS_ENV)
    if env:
        return Path(env)
    main = _main_checkout()
    if not DEFAULT_DATASETS.is_dir() and main is not None:
        beside_main = main.parent / "shared" / "datasets"
        if beside_main.is_dir():
            return beside_main
    return DEFAULT_DATASETS


def _safe_target(root: Path, rel: str) -> Path:
    parts = PurePosixPath(rel).parts
    if not parts or any(p in ("", ".", "..") for p in parts) or PurePosixPath(rel).is_absolute():
        raise ValueError(f"unsafe path in dataset: {rel!r}")
    return root.joinpath(*parts)


def record_bytes(rec: dict) -> bytes:
    """A submission's bytes as handed in: `text` as UTF-8, else `text_b64` decoded raw."""
    if rec.get("text") is not None:
        return rec["text"].encode("utf-8", "surrogateescape")
    return base64.b64decode(rec.get("text_b64") or "")


def _split_learner(path: str) -> tuple[str, str, str] | None:
    """'pre_task/2024/task1/learner-05/a/b.py' -> ('pre_task/2024/task1', 'learner-05', 'a/b.py')."""
    parts = path.split("/")
    cut = next((i for i, p in enumerate(parts) if p.startswith("learner-")), None)
    if cut is None or cut + 1 >= len(parts):
        return None
    return "/".join(parts[:cut]), parts[cut], "/".join(parts[cut + 1:])


def materialise(datasets: Path, labels: dict, rounds: list[str], work: Path) -> dict[str, dict]:
    """Each round as work/<n>/round/<learner>/... and its handout as work/<n>/handout/...;
    returns {round: {round_dir, base_dir, files, handout_files}}."""
    out: dict[str, dict] = {}
    for i, name in enumerate(rounds):
        folder = work / f"r{i}"
        out[name] = {"round_dir": folder / "round", "base_dir": folder / "handout",
                     "files": 0, "handout_files": 0, "learners": set()}
        out[name]["round_dir"].mkdir(parents=True)
        out[name]["base_dir"].mkdir(parents=True)
    with gzip.open(datasets / SUBMISSIONS, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            split = _split_learner(rec["path"])
            if split and split[0] in out:
                entry = out[split[0]]
                target = _safe_target(entry["round_dir"], f"{split[1]}/{split[2]}")
                entry["files"] += 1
                entry["learners"].add(split[1])
            else:
                prefix = next((r for r in out if rec["path"].startswith(f"{r}/{EXAMPLE_FOLDER}/")), None)
                if prefix is None:
                    continue  # another round, or a round-level file (pre_task/2024/task1/solutions.md)
                entry = out[prefix]
                target = _safe_target(entry["base_dir"], rec["path"][len(prefix) + 1:])
                entry["handout_files"] += 1
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(record_bytes(rec))
    prefixes = {name: labels["rounds"][name].get("handout_prefixes", []) for name in out}
    with gzip.open(datasets / TASKS, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            for name, wanted in prefixes.items():
                if any(rec["path"].startswith(p) for p in wanted):
                    target = _safe_target(out[name]["base_dir"], rec["path"])
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(record_bytes(rec))
                    out[name]["handout_files"] += 1
    for entry in out.values():
        entry["learners"] = len(entry["learners"])
    return out


# --- running the checker ----------------------------------------------------------------------


def checker_commit() -> str:
    """The repository's commit (+ "-dirty" when checker/ has changes): which code was measured."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "checker"], cwd=ROOT,
                               capture_output=True, text=True, check=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def default_checker_cmd() -> list[str]:
    return [sys.executable, "-m", "checker"]


def run_scan(checker_cmd: list[str], round_dir: Path, base_dir: Path, out_dir: Path, cwd: Path,
             index: Path | None, timeout_s: float, extra: tuple[str, ...] = ()) -> dict:
    """One mentor's run (`extra`: more options); returns {command, returncode, wall_s,
    report|None, error}."""
    command = [*checker_cmd, "scan", str(round_dir), "--base", str(base_dir), "-o", str(out_dir),
               "--no-html", "-q", *extra]
    if index is not None:
        command += ["--index", str(index)]
    env = dict(os.environ)
    env.pop("NOSHORTCUT_INDEX", None)  # no index unless --index: the default would be picked up
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    started = time.perf_counter()
    try:
        done = subprocess.run(command, check=False, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"command": command, "returncode": None, "wall_s": round(time.perf_counter() - started, 1),
                "report": None, "error": f"timed out after {timeout_s:.0f} s"}
    wall = round(time.perf_counter() - started, 1)
    result = {"command": command, "returncode": done.returncode, "wall_s": wall, "report": None, "error": ""}
    report_path = out_dir / "report.json"
    if done.returncode not in (0, 1) or not report_path.exists():  # 1: --fail-on, still a report
        result["error"] = f"exit {done.returncode}: {(done.stderr or done.stdout)[-600:].strip()}"
        return result
    try:
        result["report"] = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        result["error"] = f"unreadable report.json: {error}"
    return result


# --- output -----------------------------------------------------------------------------------


def _frac(a: int, b: int) -> str:
    return f"{a} / {b}" if b else "–"


def _cell(text: str, limit: int = 220) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kinds(kinds: dict[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])) or "–"


def table(results: dict) -> str:
    lines = [("| round | learners | should flag | flagged of should flag (recall) | names partner/source "
              "| false flags of clean | uncertain (flagged) | scan s |"),
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in results["rounds"].items():
        if r.get("skipped"):
            lines.append(f"| {name} | {r.get('learners', 0)} | – | – | – | – | – | skipped: {_cell(r['skipped'], 80)} |")
            continue
        recall = f" ({r['recall']:.0%})" if r["recall"] is not None else ""
        ff = f" ({r['false_flag_rate']:.0%})" if r["false_flag_rate"] is not None else ""
        wall = f"{r['scan']['wall_s']:.1f}" + ("" if not r["scan"]["error"] else " (failed)")
        lines.append(f"| {name} | {r['learners']} | {r['should_flag']} | "
                     f"{_frac(r['flagged_should_flag'], r['should_flag'])}{recall} | "
                     f"{_frac(r['partner_named'], r['flagged_should_flag'])} | "
                     f"{_frac(r['false_flags'], r['clean'])}{ff} | "
                     f"{len(r['uncertain'])} ({r['uncertain_flagged']}) | {wall} |")
    t = results["totals"]
    recall = f" ({t['recall']:.0%})" if t["recall"] is not None else ""
    ff = f" ({t['false_flag_rate']:.0%})" if t["false_flag_rate"] is not None else ""
    lines.append(f"| **all** | {t['learners']} | {t['should_flag']} | "
                 f"**{_frac(t['flagged_should_flag'], t['should_flag'])}**{recall} | "
                 f"{_frac(t['partner_named'], t['flagged_should_flag'])} | "
                 f"**{_frac(t['false_flags'], t['clean'])}**{ff} | {t['uncertain']} ({t['uncertain_flagged']}) | "
                 f"{results['scan_seconds']:.1f} |")
    return "\n".join(lines)


def markdown(results: dict) -> str:
    out = [
        "## Real rounds: learner verdicts against human labels (`bench/bench_round.py`)",
        "",
        f"Measured {results['date']} at commit `{results['checker_commit']}` on {results['machine']} "
        f"(load average {results['load_before'][0]} before, {results['load_after'][0]} after: the machine is "
        f"shared, times are upper bounds); {results['wall_s']:.0f} s in all. "
        f"Reproduce: `{results['command']}`. Each labelled round of `{LABELS}` is scanned as a "
        f"mentor would: `checker scan ROUND --base HANDOUT -o OUT --no-html -q`"
        + (f" `--index {results['index']}`" if results["index"] else " (no corpus index)")
        + ", the handout being the files under the round's `handout_prefixes` in "
        f"`{TASKS}` plus its `{EXAMPLE_FOLDER}` folder. Flagged = risk medium or high. "
        "Learners labelled `uncertain` count on neither side (listed below). \"Names partner/source\": "
        "of the flagged learners who should be, how many have a reason line naming a learner or public "
        "source on the other side of one of their `copy`/`public` pairs.",
        "",
        table(results),
        "",
    ]
    rows = [(name, row) for name, r in results["rounds"].items() if not r.get("skipped") for row in r["rows"]]
    caught = [(n, row) for n, row in rows if not row["uncertain"] and row["should_flag"] and row["flagged"]]
    if caught:
        out += ["### Flagged learners who should be: is the partner named?", "",
                ("Position: of the learner's distinct reason lines, the first that names a partner; its kind "
                 "tells a code reason from a notes reason that happens to name the partner."), "",
                "| round | learner | risk | partners (labels) | named | position | first line naming one (kind) |",
                "| --- | --- | --- | --- | --- | ---: | --- |"]
        for n, row in caught:
            where = (f"{_cell(row['partner_reason'], 160)} ({row['partner_reason_kind']})"
                     if row["partner_reason"] else "–")
            position = (f"{row['partner_first_reason']} of {row['reasons_distinct']}"
                        if row["partner_first_reason"] else "–")
            out.append(f"| {n} | {row['learner']} | {row['risk']} | {_cell(', '.join(row['partners']), 120)} | "
                       f"{_cell(', '.join(row['partners_named']) or 'no', 120)} | {position} | {where} |")
        out.append("")
    missed = [(n, row) for n, row in rows if not row["uncertain"] and row["should_flag"] and not row["flagged"]]
    false = [(n, row) for n, row in rows if not row["uncertain"] and not row["should_flag"] and row["flagged"]]
    out += ["### Missed learners (should be flagged, are not)", ""]
    if missed:
        out += ["| round | learner | risk | top reason | why it should be flagged (labels) |",
                "| --- | --- | --- | --- | --- |"]
        out += [f"| {n} | {row['learner']} | {row['risk']} | {_cell(row['top_reason'])} | {_cell(row['why'])} |"
                for n, row in missed]
    else:
        out.append("None.")
    out += ["", "### False flags (flagged medium/high, labelled clean)", ""]
    if false:
        out += ["| round | learner | risk | top reason | reason lines by kind (distinct) | labels say |",
                "| --- | --- | --- | --- | --- | --- |"]
        out += [f"| {n} | {row['learner']} | {row['risk']} | {_cell(row['top_reason'])} | "
                f"{_kinds(row['reason_kinds'])} | {_cell(row['why'], 160)} |" for n, row in false]
    else:
        out.append("None.")
    uncertain = [(n, row) for n, row in rows if row["uncertain"]]
    out += ["", "### Uncertain labels (not counted)", ""]
    if uncertain:
        out += ["| round | learner | should flag | risk | partner named | top reason |",
                "| --- | --- | --- | --- | --- | --- |"]
        out += [f"| {n} | {row['learner']} | {'yes' if row['should_flag'] else 'no'} | {row['risk']} | "
                f"{_cell(', '.join(row['partners_named']) or 'no', 100)} | {_cell(row['top_reason'])} |"
                for n, row in uncertain]
    else:
        out.append("None.")
    failed = [(n, r["scan"]["error"]) for n, r in results["rounds"].items()
              if not r.get("skipped") and r["scan"]["error"]]
    if failed:
        out += ["", "Scans that failed (their learners score as not flagged): "
                + "; ".join(f"{n}: {_cell(e, 300)}" for n, e in failed) + "."]
    return "\n".join(out) + "\n"


# --- main -------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    datasets = datasets_dir(args.datasets)
    missing = [p for p in (datasets / SUBMISSIONS, datasets / TASKS, datasets / LABELS) if not p.exists()]
    if missing:
        print(f"bench_round: skipped: {', '.join(str(p) for p in missing)} not found (the shared datasets "
              f"live in ../shared/datasets beside the repository; set --datasets or ${DATASETS_ENV})",
              file=sys.stderr)
        return 0
    labels = json.loads((datasets / LABELS).read_text(encoding="utf-8"))
    names = [n for n in labels["rounds"] if not args.round or n in args.round]
    unknown = sorted(set(args.round or []) - set(labels["rounds"]))
    if unknown:
        print(f"bench_round: unknown round(s) {', '.join(unknown)}; labelled: {', '.join(labels['rounds'])}",
              file=sys.stderr)
        return 2
    checker_cmd = shlex.split(args.checker_cmd) if args.checker_cmd else default_checker_cmd()
    shown = " ".join(["python", "bench/bench_round.py",
                      *(shlex.quote(a.replace(str(ROOT) + os.sep, "")) for a in args.argv or [])])
    results = {"date": time.strftime("%Y-%m-%d"),
               "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
               "load_before": [round(x, 1) for x in os.getloadavg()],
               "command": shown, "checker_commit": checker_commit(),
               "checker_cmd": ["python" if c == sys.executable else c for c in checker_cmd],
               "index": str(args.index) if args.index else None,
               "flagged_risks": list(FLAGGED_RISKS), "rounds": {}}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-round-") as tmp:
        work = Path(tmp)
        trees = materialise(datasets, labels, names, work)
        for name in names:
            tree, round_labels = trees[name], labels["rounds"][name]
            if not round_labels.get("learners") or not tree["learners"]:
                results["rounds"][name] = {"skipped": "no labelled learners" if not round_labels.get("learners")
                                           else "no submissions", "learners": len(round_labels.get("learners", {}))}
                print(f"[bench_round] {name}: skipped ({results['rounds'][name]['skipped']})", file=sys.stderr)
                continue
            out_dir = tree["round_dir"].parent / "out"
            scan = run_scan(checker_cmd, tree["round_dir"], tree["base_dir"], out_dir, work,
                            args.index.resolve() if args.index else None, args.timeout)
            report = scan.pop("report")
            scored = score_round(round_labels, report)
            scan["command"] = " ".join("python" if c == sys.executable else shlex.quote(c)
                                       for c in scan["command"]).replace(str(work) + os.sep, "")
            scored["scan"] = scan
            scored["files"], scored["handout_files"] = tree["files"], tree["handout_files"]
            if report is not None:
                scored["report_elapsed_s"] = report.get("elapsed_s")
            results["rounds"][name] = scored
            print(f"[bench_round] {name}: {scored['learners']} learners, {scored['flagged_should_flag']}/"
                  f"{scored['should_flag']} caught, {scored['false_flags']}/{scored['clean']} false flags, "
                  f"{scan['wall_s']} s" + (f" FAILED {scan['error'][:200]}" if scan["error"] else ""),
                  file=sys.stderr, flush=True)
    scored_rounds = {n: r for n, r in results["rounds"].items() if not r.get("skipped")}
    results["totals"] = totals(scored_rounds)
    results["scan_seconds"] = round(sum(r["scan"]["wall_s"] for r in scored_rounds.values()), 1)
    return finish(results, started, args, markdown)


def finish(results: dict, started: float, args: argparse.Namespace, render) -> int:
    """The run's wall time and the load after it into `results`, then `args.json` and
    `args.markdown` (`render(results)`) written and the Markdown printed."""
    results["wall_s"] = round(time.perf_counter() - started, 1)
    results["load_after"] = [round(x, 1) for x in os.getloadavg()]
    text = render(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(text, encoding="utf-8")
    print(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, help=f"shared datasets folder (default: ${DATASETS_ENV}, "
                        "else ../shared/datasets beside the repository)")
    parser.add_argument("--index", type=Path, help="corpus index passed to every scan (default: none)")
    parser.add_argument("--checker-cmd", help="the checker command, split like a shell line "
                        "(default: this Python with -m checker, this repository first on PYTHONPATH)")
    parser.add_argument("--round", action="append", help="only this labelled round (repeatable)")
    parser.add_argument("--timeout", type=float, default=SCAN_TIMEOUT_S, help="seconds per scan")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "round_results.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "bench" / "round_results.md")
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
