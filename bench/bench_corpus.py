"""Benchmark of the corpus of public implementations (checker.corpus: build, index, match).

Measures, on this machine:
1. a fresh build of the default manifest's PyPI packages (corpus/sources.toml): wall time, peak
   RSS of the building process and of its fingerprinting workers, and RSS after each source (it
   must stay bounded as the corpus grows: the build streams, it does not hold the corpus);
2. a second `build` of the same manifest (incremental: nothing is re-processed);
3. opening the index: the LSH as sorted numpy bands vs a datasketch MinHashLSH filled from the
   signature matrix vs unpickling a stored MinHashLSH;
4. checking a single submission against the index, cold (a new process: imports, open, fingerprint,
   match) and warm, for a synthetic submission (a renamed copy of d2l's attention code) and for
   every learner of the shared west2 submissions dataset (skipped when the dataset is absent).

Writes bench/corpus_results.json and the Markdown section bench/corpus_results.md.

    python bench/bench_corpus.py                      # fresh index in a temporary folder
    python bench/bench_corpus.py --index /tmp/corpus  # keep the index there
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import pickle
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checker import defaults  # noqa: E402

DATASET = ROOT.parent / "shared" / "datasets" / "west2-submissions-2024-2026.jsonl.gz"


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _mb(kb: float) -> float:
    return round(kb / 1024, 1)


def build(index: Path, jobs: int, notes: bool) -> dict:
    from checker.corpus.build import build_corpus
    from checker.corpus.index import CorpusIndex
    from checker.corpus.sources import load_manifest
    from checker.notes.corpus import NotesCorpus

    entries = [e for e in load_manifest(defaults.CORPUS_MANIFEST) if e.spec.kind == "pypi"]
    per_source: list[dict] = []
    marks = {"t0": time.perf_counter()}

    def progress(stage: str, done: int, total: int) -> None:
        if stage.startswith("fingerprint") and done == total:
            per_source.append({"source": stage.split(" ", 1)[1],
                               "seconds_since_start": round(time.perf_counter() - marks["t0"], 1),
                               "rss_mb": _mb(_status_kb("VmRSS")), "peak_rss_mb": _mb(_status_kb("VmHWM")),
                               "workers_peak_rss_mb": _mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)})

    started = time.perf_counter()
    result = build_corpus(index, entries, jobs=jobs, notes=notes, notes_sink=NotesCorpus.open,
                          progress=progress)
    seconds = time.perf_counter() - started
    tokens_so_far = 0
    by_spec = {o.spec: o for o in result.outcomes}
    for row in per_source:
        o = by_spec.get(row["source"])
        tokens_so_far += getattr(o, "tokens", 0)
        row.update(files=getattr(o, "code_files", 0), tokens=getattr(o, "tokens", 0),
                   seconds=getattr(o, "seconds", 0), corpus_tokens_so_far=tokens_so_far)
    again = time.perf_counter()
    second = build_corpus(index, entries, jobs=jobs, notes=notes, notes_sink=NotesCorpus.open)
    second_seconds = time.perf_counter() - again
    with CorpusIndex.open(index) as ix:
        stats = ix.stats()
    return {
        "sources": [e.spec.id for e in entries],
        "seconds": round(seconds, 1),
        "failed": [{"spec": f.spec, "reason": f.reason} for f in result.failed],
        "notes": result.notes,
        "peak_rss_mb": _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        "workers_peak_rss_mb": _mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss),
        "per_source": per_source,
        "incremental_rebuild_seconds": round(second_seconds, 2),
        "incremental_rebuild_statuses": sorted({o.status for o in second.outcomes}),
        "index": stats,
    }


def open_costs(index: Path) -> dict:
    """LSH structures from the stored signatures: time and RSS added (one process, in order)."""
    from checker.corpus.index import CorpusIndex
    from checker.corpus.lsh import BandedLSH, DatasketchLSH

    out = {}
    with CorpusIndex.open(index) as ix:
        t = time.perf_counter()
        keys, matrix = ix.signatures()
        out["read_signatures_s"] = round(time.perf_counter() - t, 3)
        out["keys"] = int(len(keys))
        for name, make in (("banded", lambda: BandedLSH(matrix, defaults.CORPUS_LSH_THRESHOLD, ix.params.num_perm)),
                           ("datasketch_rebuild", lambda: DatasketchLSH(matrix, defaults.CORPUS_LSH_THRESHOLD,
                                                                        ix.params))):
            before = _status_kb("VmRSS")
            t = time.perf_counter()
            lsh = make()
            out[f"{name}_s"] = round(time.perf_counter() - t, 3)
            out[f"{name}_rss_mb"] = _mb(_status_kb("VmRSS") - before)
            if name == "datasketch_rebuild":
                t = time.perf_counter()
                blob = pickle.dumps(lsh.lsh, protocol=pickle.HIGHEST_PROTOCOL)
                out["datasketch_pickle_dump_s"] = round(time.perf_counter() - t, 3)
                out["datasketch_pickle_mb"] = round(len(blob) / 1e6, 1)
                t = time.perf_counter()
                pickle.loads(blob)
                out["datasketch_unpickle_s"] = round(time.perf_counter() - t, 3)
            del lsh
    return out


_SYNTHETIC_OWN = '''import torch
from torch import nn


def train(model, loader, epochs=3, lr=1e-3):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model
'''


def synthetic_submission(folder: Path, wheels_dir: Path) -> Path:
    """A learner folder: d2l 1.0.3's attention classes with renamed variables, plus own code.

    wheels_dir: a folder holding d2l 1.0.3's wheel (the index's downloads/, or bench/data/wheels).
    """
    import ast
    import re
    import zipfile

    wheels = sorted(wheels_dir.glob("d2l-1.0.3-*.whl"))
    if not wheels:
        raise FileNotFoundError(f"no d2l 1.0.3 wheel in {wheels_dir}")
    with zipfile.ZipFile(wheels[0]) as zf:
        torch_py = zf.read("d2l/torch.py").decode()
    spans = {n.name: (n.lineno, n.end_lineno) for n in ast.parse(torch_py).body if isinstance(n, ast.ClassDef)}
    first, last = spans["MultiHeadAttention"][0], spans["PositionalEncoding"][1]
    copied = "\n".join(torch_py.splitlines()[first - 1:last])
    for old, new in {"num_hiddens": "hidden", "num_heads": "heads", "queries": "q", "keys": "k_",
                     "values": "v", "valid_lens": "lens", "X": "inp"}.items():
        copied = re.sub(rf"\b{old}\b", new, copied)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.py").write_text("import math\nimport torch\nfrom torch import nn\n\n" + copied + "\n")
    (folder / "train.py").write_text(_SYNTHETIC_OWN)
    (folder / "README.md").write_text("# my transformer\n")
    return folder


_CHECK_ONE = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    from pathlib import Path
    import numpy as np
    from checker.corpus.attribution import evidence_from_submission
    from checker.corpus.index import CorpusIndex
    from checker.corpus.match import CorpusMatchConfig, match_corpus
    from checker.code.fingerprints import FingerprintParams, fingerprint_many
    from checker.ingest.round import load_folder
    from checker.code.documents import CodeDoc
    t_import = time.perf_counter()
    sub = load_folder(Path(sys.argv[2]), "learner")
    params = FingerprintParams()
    docs = [CodeDoc(f, fp) for f, fp in zip(sub.code, fingerprint_many([f.text for f in sub.code], params, 1))]
    t_fp = time.perf_counter()
    with CorpusIndex.open(Path(sys.argv[1]), params) as index:
        kgrams = np.unique(np.concatenate([d.fp.kgrams for d in docs]))
        ignore = index.common_kgrams(among=kgrams)
        engine = sys.argv[3]
        if engine.startswith(("redis://", "rediss://")):  # shared tables, handed in as the CLI does
            from checker.scale.redis import RedisLSHEngine, parse_redis_url

            engine = RedisLSHEngine(parse_redis_url(engine))
        config = CorpusMatchConfig(params, lsh_engine=engine)
        index.lsh(config.lsh_threshold, config.lsh_engine)
        t_open = time.perf_counter()
        pairs = match_corpus(docs, ignore, index, config, {"learner": evidence_from_submission(sub)})
    t_match = time.perf_counter()
    print(json.dumps({"import_s": t_import - t0, "fingerprint_s": t_fp - t_import,
                      "open_s": t_open - t_fp, "match_s": t_match - t_open, "total_s": t_match - t0,
                      "pairs": [[p.left_file, p.right, p.right_file, round(p.left_coverage, 3),
                                 [(f.right_start_line, f.right_end_line) for f in p.fragments][:1] +
                                 [(p.fragments[-1].right_start_line, p.fragments[-1].right_end_line)]]
                                for p in pairs[:3]]}))
""")


def check_one_cold(index: Path, folder: Path, engine: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHECK_ONE, str(index), str(folder), engine], capture_output=True,
                          text=True, check=True,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                              filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))))
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = time.perf_counter() - started
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}


def west2(index: Path, workdir: Path) -> dict:
    """Every learner submission of the west2 dataset against the corpus (warm index)."""
    if not DATASET.exists():
        return {"skipped": f"{DATASET} is absent"}
    import numpy as np

    from checker.corpus.attribution import evidence_from_submission
    from checker.corpus.index import CorpusIndex
    from checker.corpus.match import CorpusMatchConfig, match_corpus
    from checker.ingest.encoding import UndecodableError, decode_bytes
    from checker.code.fingerprints import FingerprintParams, fingerprint_many
    from checker.ingest.round import load_folder
    from checker.code.documents import CodeDoc

    roots: dict[str, Path] = {}
    with gzip.open(DATASET, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            parts = rec["path"].split("/")
            cut = next((i for i, p in enumerate(parts) if p.startswith("learner-")), None)
            if cut is None:
                continue
            key = "/".join(parts[:cut + 1])
            target = workdir / "west2" / rec["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            if rec.get("text") is not None:
                target.write_text(rec["text"], encoding="utf-8")
            else:
                data = base64.b64decode(rec["text_b64"])
                try:
                    decode_bytes(data)
                except UndecodableError:
                    pass
                target.write_bytes(data)
            roots[key] = workdir / "west2" / key
    params = FingerprintParams()
    times, findings, files = [], [], 0
    with CorpusIndex.open(index, params) as ix:
        ix.lsh()
        threshold = ix.common_threshold()
        for key in sorted(roots):
            sub = load_folder(roots[key], key)
            if not sub.code:
                continue
            t = time.perf_counter()
            fps = fingerprint_many([f.text for f in sub.code], params, 1)
            docs = [CodeDoc(f, fp) for f, fp in zip(sub.code, fps)]
            kg = [d.fp.kgrams for d in docs if d.fp.kgrams.size]
            ignore = ix.common_kgrams(among=np.unique(np.concatenate(kg))) if kg else np.empty(0, np.uint64)
            pairs = match_corpus(docs, ignore, ix, CorpusMatchConfig(params), {key: evidence_from_submission(sub)})
            times.append(time.perf_counter() - t)
            files += len(docs)
            for p in pairs:
                findings.append({"learner": key, "file": p.left_file, "source": p.right,
                                     "path": p.right_file, "left_coverage": round(p.left_coverage, 3),
                                     "longest_lines": p.longest_lines, "attributed": p.attributed,
                                     "functions": p.right_meta.get("functions", [])[:3]})
    times.sort()
    return {"submissions": len(times), "code_files": files,
            "median_s": round(times[len(times) // 2], 3), "max_s": round(times[-1], 3),
            "total_s": round(sum(times), 2),
            "pairs": len(findings),
            "common_threshold_projects": threshold,
            "files_over_half_coverage": len({(f["learner"], f["file"]) for f in findings
                                             if f["left_coverage"] >= defaults.SUSPICIOUS_SIMILARITY}),
            "top": sorted(findings, key=lambda f: -f["left_coverage"])[:12]}


def markdown(r: dict) -> str:
    b, o = r["build"], r["open"]
    s, sd = r["single_submission"]["banded"], r["single_submission"]["datasketch"]
    lines = [
        "## Corpus of public implementations (`bench/bench_corpus.py`)",
        "",
        f"Machine: {r['machine']['cpus']} CPUs, Python {r['machine']['python']}; load average "
        f"{r['machine']['load_before']} before, {r['machine']['load_after']} after (other jobs shared "
        "the machine: times are upper bounds).",
        "",
        f"**Build** of the default manifest's {len(b['sources'])} PyPI packages "
        f"({b['index']['documents']:,} files, {b['index']['tokens']:,} tokens, "
        f"{b['index']['signatures']:,} file/unit signatures, {b['index']['distinct_kgrams']:,} distinct k-grams): "
        f"**{b['seconds']} s** with {r['jobs'] or 'all'} worker(s), downloads included; index "
        f"{b['index']['bytes_on_disk'] / 1e6:.0f} MB on disk. Peak RSS {b['peak_rss_mb']} MB (building "
        f"process), {b['workers_peak_rss_mb']} MB (largest fingerprinting worker). A second `build`: "
        f"{b['incremental_rebuild_seconds']} s ({', '.join(b['incremental_rebuild_statuses'])}).",
        "",
        "| after source | files | tokens | corpus tokens so far | s | RSS MB | peak RSS MB | worker peak MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for p in b["per_source"]:
        lines.append(f"| {p['source']} | {p['files']} | {p['tokens']:,} | {p['corpus_tokens_so_far']:,} | "
                     f"{p['seconds']} | {p['rss_mb']} | {p['peak_rss_mb']} | {p['workers_peak_rss_mb']} |")
    lines += [
        "",
        "Peak memory follows the largest single source, not the corpus so far: files stream in "
        "batches of 64, k-gram frequencies live in SQLite, and only the current source's unique "
        "k-grams are in memory.",
        "",
        f"**Opening the LSH** over {o['keys']:,} signatures (read from SQLite in {o['read_signatures_s']} s):",
        "",
        "| structure | open s | RSS added MB |",
        "| --- | ---: | ---: |",
        f"| sorted numpy bands (`CORPUS_LSH_ENGINE=\"banded\"`) | {o['banded_s']} | {o['banded_rss_mb']} |",
        f"| datasketch MinHashLSH rebuilt from the matrix | {o['datasketch_rebuild_s']} | {o['datasketch_rebuild_rss_mb']} |",
        f"| datasketch MinHashLSH unpickled ({o['datasketch_pickle_mb']} MB pickle) | {o['datasketch_unpickle_s']} | - |",
        "",
        "Unpickling a stored MinHashLSH is no faster than rebuilding it (both recreate millions of Python "
        "bucket entries), so nothing is pickled; the banded structure gives the same candidates "
        f"(tests/test_corpus_index.py). Default engine here: `{defaults.CORPUS_LSH_ENGINE}`.",
        "",
        f"**One submission** (d2l 1.0.3's attention classes with renamed variables + an own training "
        f"script), checked in a new process: **{s['process_wall_s']} s** wall with the banded LSH (imports "
        f"{s['import_s']} s, fingerprint {s['fingerprint_s']} s, open index + LSH {s['open_s']} s, match "
        f"{s['match_s']} s); {sd['process_wall_s']} s with datasketch's MinHashLSH (open index + LSH "
        f"{sd['open_s']} s). "
        f"Reported: " + "; ".join(f"`{p[0]}` {round(100 * p[3])}% {p[1]} `{p[2]}` lines {p[4][0][0]}-{p[4][-1][1]}"
                                  for p in s["pairs"][:2]) + ".",
    ]
    n = r.get("build_with_notes")
    if n and "error" in n:
        lines += ["", f"**With the notes hand-off**: the separate build failed ({n['error']})."]
    elif n:
        lines += ["", f"**With the notes hand-off** (Markdown, text and docstrings of every source handed to "
                      f"`checker.notes.corpus` and embedded there), a separate fresh build: {n['seconds']} s, peak RSS "
                      f"{n['peak_rss_mb']} MB." + (f" Notes: {'; '.join(n['notes'])}." if n["notes"] else "")]
    w = r.get("west2", {})
    if "skipped" in w:
        lines += ["", f"west2 submissions: skipped ({w['skipped']})."]
    elif w:
        lines += [
            "",
            f"**The west2 dataset** ({w['submissions']} learner submissions, {w['code_files']} code files) against "
            f"the corpus, index open, code found in {w['common_threshold_projects']}+ projects discounted: "
            f"median {w['median_s']} s, max {w['max_s']} s per submission, {w['total_s']} s in all; "
            f"{w['pairs']} corpus pairs, {w['files_over_half_coverage']} learner files at least "
            f"{round(100 * defaults.SUSPICIOUS_SIMILARITY)}% public code.",
        ]
        if w["top"]:
            lines += [
                "",
                "| learner | file | source | path | learner coverage | longest lines | attributed | functions |",
                "| --- | --- | --- | --- | ---: | ---: | --- | --- |",
            ]
        for f in w["top"]:
            lines.append(f"| {f['learner']} | {f['file']} | {f['source']} | {f['path']} | {f['left_coverage']:.2f} | "
                         f"{f['longest_lines']} | {'yes' if f['attributed'] else 'no'} | {', '.join(f['functions'])} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, help="index folder (default: a temporary one)")
    parser.add_argument("--jobs", type=int, default=0, help="fingerprinting workers (0: one per core)")
    parser.add_argument("--with-notes", action="store_true", help="also hand prose to the notes corpus")
    parser.add_argument("--notes-build", action="store_true",
                        help="also time a separate build that hands prose to the notes corpus")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "corpus_results.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "bench" / "corpus_results.md")
    args = parser.parse_args()
    if args.build_only:  # a fresh process, so that its peak RSS is the build's alone
        args.json.write_text(json.dumps(build(args.index, args.jobs, args.with_notes)), encoding="utf-8")
        return
    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as tmp:
        index = args.index or Path(tmp) / "index"
        results = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                               "load_before": [round(x, 1) for x in os.getloadavg()]},
                   "jobs": args.jobs}

        def save() -> None:  # after every phase: a late failure keeps the figures measured
            args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

        results["build"] = build(index, args.jobs, args.with_notes)
        save()
        results["open"] = open_costs(index)
        save()
        folder = synthetic_submission(Path(tmp) / "learner", index / "downloads")
        results["single_submission"] = {engine: check_one_cold(index, folder, engine)
                                         for engine in ("banded", "datasketch")}
        save()
        results["west2"] = west2(index, Path(tmp))
        save()
        if args.notes_build:
            out = Path(tmp) / "notes-build.json"
            done = subprocess.run([sys.executable, __file__, "--build-only", "--with-notes", "--jobs",
                                   str(args.jobs), "--index", str(Path(tmp) / "with-notes"), "--json", str(out)],
                                  env=dict(os.environ, PYTHONPATH=os.pathsep.join(
                                      filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))))
            results["build_with_notes"] = (json.loads(out.read_text(encoding="utf-8")) if done.returncode == 0
                                           else {"error": f"exit status {done.returncode}"})
        results["machine"]["load_after"] = [round(x, 1) for x in os.getloadavg()]
    save()
    args.markdown.write_text(markdown(results), encoding="utf-8")
    print(markdown(results))


if __name__ == "__main__":
    main()
