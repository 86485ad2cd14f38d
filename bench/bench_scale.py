"""Benchmark of checker.scale (ray, redis): fingerprinting on Ray with 1 vs 2 workers, and the LSH on Redis.

Measures, on this machine:
1. fingerprinting throughput (files/s, MB/s) of the same files in-process (1 process), with the
   default process pool (2 processes), and as Ray tasks on a local cluster of 1 and of 2 CPUs:
   cluster start-up, a first pass (workers still importing libCST) and a second pass (warm);
   every result is checked equal, byte for byte, to the in-process one;
2. the MinHash signature stage that follows (file + function/class units), in-process;
3. the shared LSH on a real redis-server (started here on a free port unless --redis is given):
   keys/s pushed, queries/s one at a time and batched (`query_many`), Redis memory per key, and
   the same candidates as the in-memory BandedLSH of checker.corpus.lsh.

Files: public PyTorch code (the installed `torch` package's own .py files, a corpus-like
workload) and, when the shared dataset is present, the west2 learner .py files (read in place).
The machine may be shared: the load average before and after each measurement is recorded.

    python bench/bench_scale.py                  # writes bench/out/scale_results.json
    python bench/bench_scale.py --files 300 --redis redis://127.0.0.1:6379/0?prefix=bench
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from checker.code.fingerprints import FingerprintParams, fingerprint_many, minhash_of  # noqa: E402

DATASET = ROOT.parent / "shared" / "datasets" / "west2-submissions-2024-2026.jsonl.gz"


def torch_files(limit: int) -> list[str]:
    """Texts of the installed torch package's .py files (sorted, < 100 KB each, up to `limit`)."""
    import torch

    base = Path(torch.__file__).parent
    paths = sorted(p for p in base.rglob("*.py") if p.stat().st_size < 100_000)
    step = max(1, len(paths) // limit)
    return [p.read_text(encoding="utf-8", errors="replace") for p in paths[::step][:limit]]


def west2_files() -> list[str]:
    if not DATASET.exists():
        return []
    out = []
    with gzip.open(DATASET, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["path"].endswith(".py") and rec.get("text"):
                out.append(rec["text"])
    return out


def canonical(fps) -> list[tuple[bytes, str]]:
    return [(fp.kgrams.tobytes(), json.dumps(dataclasses.asdict(fp.stream), sort_keys=True)) for fp in fps]


def load() -> float:
    return round(os.getloadavg()[0], 2)


def timed(fn):
    before = load()
    t = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t, before, load()


def rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def bench_fingerprints(name: str, texts: list[str], params: FingerprintParams) -> dict:
    from checker.scale.ray import ray_cluster, ray_fingerprint_many

    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    row: dict = {"workload": name, "files": len(texts), "mb": round(mb, 2), "runs": []}
    reference, seconds, l0, l1 = timed(lambda: fingerprint_many(texts, params, jobs=1))
    expected = canonical(reference)
    row["runs"].append({"how": "in-process, 1 process", "seconds": round(seconds, 2),
                        "files_per_s": rate(len(texts), seconds), "mb_per_s": round(mb / seconds, 2),
                        "load_before": l0, "load_after": l1})
    got, seconds, l0, l1 = timed(lambda: fingerprint_many(texts, params, jobs=2))
    row["runs"].append({"how": "process pool, 2 processes", "seconds": round(seconds, 2),
                        "files_per_s": rate(len(texts), seconds), "mb_per_s": round(mb / seconds, 2),
                        "equal": canonical(got) == expected, "load_before": l0, "load_after": l1})
    for cpus in (1, 2):
        t = time.perf_counter()
        with ray_cluster("local", num_cpus=cpus):
            start = time.perf_counter() - t
            passes = []
            for _ in range(2):  # the first pass includes the workers' imports (libCST, numpy)
                got, seconds, l0, l1 = timed(lambda: ray_fingerprint_many(texts, params, "local"))
                passes.append({"seconds": round(seconds, 2), "files_per_s": rate(len(texts), seconds),
                               "mb_per_s": round(mb / seconds, 2), "equal": canonical(got) == expected,
                               "load_before": l0, "load_after": l1})
        row["runs"].append({"how": f"Ray local cluster, {cpus} worker(s)", "cluster_start_s": round(start, 2),
                            "first_pass": passes[0], "warm_pass": passes[1]})
    return row


def signatures_of(texts: list[str], params: FingerprintParams):
    """(key, MinHash) of every file and function/class unit, as the corpus index stores them."""
    fps = fingerprint_many(texts, params, jobs=2)
    t = time.perf_counter()
    items = []
    for i, fp in enumerate(fps):
        if not fp.kgrams.size:
            continue
        for u, (_, lo, hi) in enumerate(fp.unit_ranges(params.k)):
            items.append(((i, u), minhash_of(fp.winnowed(params.window, lo, hi), params)))
    return items, time.perf_counter() - t


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_redis(items, params: FingerprintParams, url: str | None, threshold: float) -> dict:
    import numpy as np

    from checker.corpus.lsh import BandedLSH
    from checker.scale.redis import build_shared_lsh, drop_shared_lsh, open_shared_lsh, parse_redis_url

    server = None
    work = None
    if url is None:
        if shutil.which("redis-server") is None:
            return {"skipped": "redis-server is not installed (apt-get install redis-server)"}
        work = tempfile.mkdtemp(prefix="bench-redis-")
        port = _free_port()
        server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                   "--save", "", "--appendonly", "yes", "--dir", work],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0?prefix=bench"
    location = parse_redis_url(url)
    client = location.client()
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        drop_shared_lsh(location)
        used_before = client.info("memory")["used_memory"]
        _, push_s, l0, l1 = timed(lambda: build_shared_lsh(location, items, params, threshold))
        used_after = client.info("memory")["used_memory"]
        shared = open_shared_lsh(location, params, threshold)
        sample = [mh for _, mh in items[:: max(1, len(items) // 500)]]
        single, single_s, _, _ = timed(lambda: [shared.query(mh) for mh in sample])
        batched, batch_s, _, _ = timed(lambda: shared.query_many(sample))
        matrix = np.array([mh.hashvalues for _, mh in items], dtype=np.uint64)
        banded, banded_build_s, _, _ = timed(lambda: BandedLSH(matrix, threshold, params.num_perm))
        keys = [k for k, _ in items]
        in_memory, banded_s, _, _ = timed(lambda: [[keys[r] for r in banded.query(mh.hashvalues)]
                                                   for mh in sample])
        same = [sorted(map(tuple, q)) for q in single] == [sorted(q) for q in in_memory] \
            and single == batched
        return {
            "url": str(location), "keys": len(items), "threshold": threshold,
            "bands_rows": [shared.manifest.bands, shared.manifest.rows],
            "push_s": round(push_s, 2), "push_keys_per_s": rate(len(items), push_s),
            "push_load": [l0, l1],
            "redis_bytes_per_key": round((used_after - used_before) / max(1, len(items))),
            "queries": len(sample),
            "query_per_s_one_at_a_time": rate(len(sample), single_s),
            "query_per_s_batched": rate(len(sample), batch_s),
            "banded_in_memory_build_s": round(banded_build_s, 3),
            "banded_in_memory_query_per_s": rate(len(sample), banded_s),
            "same_candidates_as_in_memory": same,
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=20)
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=500, help="torch files to fingerprint")
    ap.add_argument("--redis", default=None, help="use this Redis instead of starting one")
    ap.add_argument("--threshold", type=float, default=None, help="LSH threshold (default: corpus)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "scale_results.json")
    args = ap.parse_args()
    from checker import defaults

    params = FingerprintParams()
    threshold = args.threshold if args.threshold is not None else defaults.CORPUS_LSH_THRESHOLD
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "platform": platform.platform()}, "fingerprint": []}
    workloads = [("torch package .py files (public code)", torch_files(args.files))]
    west2 = west2_files()
    if west2:
        workloads.append(("west2 learner .py files", west2))
    else:
        results["west2"] = f"skipped: {DATASET} is absent"
    for name, texts in workloads:
        row = bench_fingerprints(name, texts, params)
        results["fingerprint"].append(row)
        print(json.dumps(row), flush=True)
    items, sig_s = signatures_of(workloads[0][1], params)
    results["signatures"] = {"files": len(workloads[0][1]), "signatures": len(items),
                             "seconds": round(sig_s, 2), "files_per_s": rate(len(workloads[0][1]), sig_s)}
    print(json.dumps(results["signatures"]), flush=True)
    results["redis"] = bench_redis(items, params, args.redis, threshold)
    print(json.dumps(results["redis"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
