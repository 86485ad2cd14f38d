"""Arrays stored in the corpus index as bytes, packed deterministically (np.savez stamps the time
into its zip, so the same content would not give the same bytes, nor the same `digest()`)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence

import numpy as np


def pack_arrays(arrays: dict[str, np.ndarray], compress: Sequence[str] = ()) -> bytes:
    """Arrays -> bytes: a JSON header, then each array's raw bytes (zlib for `compress`).

    Hashes of k-grams are random and do not compress; line numbers compress ~5x."""
    header, payload = [], []
    for name, arr in arrays.items():
        arr = np.ascontiguousarray(arr)
        raw = arr.tobytes()
        zipped = name in compress
        data = zlib.compress(raw, 1) if zipped else raw
        header.append({"name": name, "dtype": arr.dtype.str, "shape": list(arr.shape),
                       "z": zipped, "n": len(data)})
        payload.append(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    return len(head).to_bytes(4, "little") + head + b"".join(payload)


def unpack_arrays(blob: bytes) -> dict[str, np.ndarray]:
    size = int.from_bytes(blob[:4], "little")
    header = json.loads(blob[4:4 + size])
    out, pos = {}, 4 + size
    for item in header:
        data = blob[pos:pos + item["n"]]
        pos += item["n"]
        if item["z"]:
            data = zlib.decompress(data)
        out[item["name"]] = np.frombuffer(data, dtype=np.dtype(item["dtype"])).reshape(item["shape"])
    return out


def as_int64(kgrams: np.ndarray) -> np.ndarray:
    """SQLite integers are signed: store uint64 k-grams by their bit pattern."""
    return np.ascontiguousarray(kgrams, dtype=np.uint64).view(np.int64)


__all__ = ["as_int64", "pack_arrays", "unpack_arrays"]
