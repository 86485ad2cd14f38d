"""The parameters of a code fingerprint, light to import (no libCST, no numpy): the command line
builds a scan's configuration from them before it knows whether the scan must run at all
(`checker.pipeline.replay`). `checker.code.fingerprints` computes with them."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from checker import defaults


class ParamsMismatch(ValueError):
    """Fingerprints made with different parameters cannot be compared."""


@dataclass(frozen=True)
class FingerprintParams:
    k: int = defaults.CODE_K
    window: int = defaults.CODE_WINDOW
    num_perm: int = defaults.NUM_PERM
    seed: int = defaults.HASH_SEED
    min_unit_tokens: int = defaults.MIN_UNIT_TOKENS
    long_string_chars: int = defaults.CODE_LONG_STRING_CHARS

    def to_dict(self) -> dict:
        return asdict(self)

    def check_compatible(self, other: FingerprintParams, where: str) -> None:
        if self != other:
            diff = {k: (v, getattr(other, k)) for k, v in asdict(self).items() if getattr(other, k) != v}
            raise ParamsMismatch(
                f"{where} was built with other fingerprint parameters {diff} (this run, stored); "
                "rebuild it with the current parameters (`checker corpus build --rebuild`) or run "
                "with the parameters it was built with"
            )


__all__ = ["FingerprintParams", "ParamsMismatch"]
