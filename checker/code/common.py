"""Code everyone writes, known without a corpus: the shipped list of common k-gram hashes.

`checker/data/common_kgrams.npz` holds the k-gram hashes found in many independent public
projects of the default corpus (`corpus/sources.toml`): the training loop, dataset loading,
plotting. A scan ignores them between learners like handout code, with or without a corpus
index, so two independent MNIST scripts do not match on `optimizer.zero_grad()` and
`torchvision.datasets.MNIST(...)`. `checker corpus export-common` writes the file
(`checker.corpus.common.export_common_kgrams`); corpus/README.md ("Code everyone writes") says how it was built.

The file is a compressed `.npz` without pickles: `hashes` (sorted unique uint64) and `header`
(UTF-8 JSON as uint8: format, fingerprint parameters, sources, `min_projects`, creation date and
a probe). Hashes are only valid for the parameters and the normaliser that made them, so loading
is never silently wrong: a list built with another k, seed or string threshold, or by a normaliser
that now tokenises the probe text differently, loads as an empty array with a `reason` that says
which command rebuilds it (the scan puts it in the report's warnings, once).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from checker import defaults
from checker.code.fingerprints import FingerprintParams, fingerprint_text

FORMAT = "noshortcut-common-kgrams/1"
# The fingerprint parameters the k-gram hashes depend on (the window, num_perm and unit size only
# change what is sampled from them, so a list stays valid across those).
HASH_PARAMS = ("k", "seed", "long_string_chars")
REBUILD = "`checker corpus export-common`"

# A probe of the normaliser: its k-gram hashes are stored with the list, and recomputed at load. A
# change of the tokeniser or of the normalisation rules changes them, so a stale list is refused
# rather than matching nothing (or the wrong code).
PROBE = """import torch
from torch import nn


def train(model, loader, optimizer, criterion, device="cpu"):
    model.train()
    total = 0.0
    for inputs, labels in loader:
        inputs, labels = inputs.to(device), labels.to(device)
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)
"""


def probe_digest(text: str, params: FingerprintParams) -> str:
    """sha256 of the probe text's k-gram hashes under `params`."""
    return hashlib.sha256(fingerprint_text(text, params).kgrams.astype("<u8").tobytes()).hexdigest()


@dataclass(frozen=True)
class CommonKgrams:
    """A loaded list: `hashes` (sorted uint64, empty when unusable) and why it is empty."""

    hashes: np.ndarray
    path: str
    reason: str = ""  # "" when the list is usable; otherwise what is wrong and how to fix it
    header: dict = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return not self.reason


def _describe(params: dict, keys) -> str:
    return ", ".join(
        f"{k}={params.get(k)!r}" if isinstance(params.get(k), str) else f"{k}={params.get(k)}" for k in keys
    )


def read_common_file(path: Path) -> tuple[np.ndarray, dict]:
    """(hashes, header) of a list file; ValueError when it is not one."""
    with np.load(path, allow_pickle=False) as data:
        if "hashes" not in data.files or "header" not in data.files:
            raise ValueError("not a common k-gram list (needs 'hashes' and 'header')")
        header = json.loads(data["header"].tobytes().decode("utf-8"))
        hashes = np.asarray(data["hashes"])
    if header.get("format") != FORMAT:
        raise ValueError(f"format {header.get('format')!r}, expected {FORMAT!r}")
    if hashes.dtype != np.uint64 or hashes.ndim != 1:
        raise ValueError(f"hashes must be a 1-D uint64 array, got {hashes.dtype} {hashes.shape}")
    return hashes, header


def load_common_kgrams(params: FingerprintParams, path: Path | str | None = None) -> CommonKgrams:
    """The shipped common k-grams (or those of `path`) for a scan with `params`.

    Never raises for a bad or missing file and never returns hashes made another way: the result
    is empty with a `reason` then (a missing file, other parameters, a changed normaliser)."""
    path = Path(path) if path is not None else defaults.COMMON_KGRAMS_FILE
    try:
        stat = path.stat()
    except OSError as exc:
        return CommonKgrams(
            np.empty(0, dtype=np.uint64),
            str(path),
            f"no common-code list at {path} ({exc.strerror or exc}): code everyone "
            f"writes is not ignored between learners; build one with {REBUILD}",
        )
    return _load(params, str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _load(params: FingerprintParams, path: str, _mtime: int, _size: int) -> CommonKgrams:
    empty = np.empty(0, dtype=np.uint64)
    try:
        hashes, header = read_common_file(Path(path))
    except (OSError, ValueError, KeyError) as exc:
        return CommonKgrams(
            empty, path, f"the common-code list {path} cannot be read ({exc}); rebuild it with {REBUILD}"
        )
    built = header.get("params", {})
    ours = params.to_dict()
    differ = [k for k in HASH_PARAMS if built.get(k) != ours[k]]
    if differ:
        return CommonKgrams(
            empty,
            path,
            f"common-code list built for {_describe(built, differ)}, "
            f"this scan uses {_describe(ours, differ)}: rebuild with "
            f"{REBUILD} (code everyone writes is not ignored in this scan)",
            header,
        )
    probe = header.get("probe", {})
    if probe_digest(probe.get("text", PROBE), params) != probe.get("digest"):
        return CommonKgrams(
            empty,
            path,
            "common-code list built by another version of the code "
            "normaliser (its probe hashes differ): rebuild with "
            f"{REBUILD} (code everyone writes is not ignored in this scan)",
            header,
        )
    hashes.setflags(write=False)
    return CommonKgrams(hashes, path, "", header)


__all__ = [
    "FORMAT",
    "HASH_PARAMS",
    "PROBE",
    "CommonKgrams",
    "load_common_kgrams",
    "probe_digest",
    "read_common_file",
]
