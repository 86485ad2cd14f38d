"""The knobs of the notes analysis (`NotesConfig`) and the error for a corpus built with others."""

from __future__ import annotations

from dataclasses import dataclass

from checker import defaults

SCHEMA_VERSION = 1


class CorpusMismatchError(ValueError):
    """The corpus was built with other parameters or another model than the ones asked for."""


@dataclass(frozen=True)
class NotesConfig:
    """Every knob of the notes analysis, defaults from `checker.defaults` (which says why)."""

    k: int = defaults.NOTES_K
    window: int = defaults.NOTES_WINDOW
    seed: int = defaults.HASH_SEED
    chinese_tokens: str = "chars"
    model: str = defaults.NOTES_EMBEDDING_MODEL
    common_docs: int = defaults.NOTES_COMMON_DOCS
    min_paragraph_words: int = defaults.NOTES_MIN_PARAGRAPH_WORDS
    min_sentence_words: int = defaults.NOTES_MIN_SENTENCE_WORDS
    min_notes_words: int = defaults.NOTES_MIN_WORDS
    content_weight: float = defaults.NOTES_CONTENT_WEIGHT
    semantic_low: float = defaults.NOTES_SEMANTIC_LOW
    semantic_high: float = defaults.NOTES_SEMANTIC_HIGH
    translation_low: float = defaults.NOTES_TRANSLATION_LOW
    translation_high: float = defaults.NOTES_TRANSLATION_HIGH
    copy_threshold: float = defaults.NOTES_COPY_THRESHOLD
    verbatim_coverage: float = defaults.NOTES_VERBATIM_COVERAGE
    edited_coverage: float = defaults.NOTES_EDITED_COVERAGE
    neighbours: int = defaults.NOTES_NEIGHBOURS
    candidate_docs: int = defaults.NOTES_CANDIDATE_DOCS
    min_own_share: float = defaults.NOTES_MIN_OWN_SHARE
    handout_file_share: float = defaults.NOTES_HANDOUT_FILE_SHARE
    semantic_only_min_length: int = defaults.NOTES_SEMANTIC_ONLY_MIN_LENGTH
    semantic_only_threshold: float = defaults.NOTES_SEMANTIC_ONLY_THRESHOLD
    frequent_share: float = defaults.FREQUENT_SHARE
    frequent_min_learners: int = defaults.FREQUENT_MIN_LEARNERS

    def __post_init__(self):
        if self.k < 1 or self.window < 1:
            raise ValueError(f"k and window must be >= 1, got k={self.k}, window={self.window}")
        if not self.semantic_low < self.semantic_high or not self.translation_low < self.translation_high:
            raise ValueError("each *_low threshold must be below its *_high threshold")

    def sketch_params(self) -> dict:
        """The parameters a stored fingerprint depends on; they travel with the corpus."""
        return {"k": self.k, "window": self.window, "seed": self.seed,
                "chinese_tokens": self.chinese_tokens, "schema": SCHEMA_VERSION}

