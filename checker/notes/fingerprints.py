"""What a paragraph is compared by, apart from its embeddings: the hashed k-grams of its tokens
(literal overlap) and the content units of its sentences (content-word overlap).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from checker.core.hashing import kgram_hashes, token_hashes
from checker.core.textnorm import Token, tokenize
from checker.notes.config import NotesConfig


def _paragraph_kgrams(text: str, config: NotesConfig) -> tuple[list[Token], np.ndarray]:
    tokens = tokenize(text, config.chinese_tokens)
    hashes = token_hashes([t.text for t in tokens], config.seed)
    return tokens, kgram_hashes(hashes, config.k)


# English function words: not evidence that two sentences share content.
_STOPWORDS = frozenset(
    "the and for are was were been being with that this these those from which can also has have "
    "had not but their they them than then there into may more most some any all each one two use "
    "used using called known its our you your will would should could such other only very what "
    "when where who how why about over between both after before while because".split())
_CJK_TOKEN = re.compile("[\u3400-\u9fff\uf900-\ufaff]")


def _content_units(tokens: Sequence[Token]) -> list[str]:
    """Content-bearing units of a sentence: Latin words of 3+ letters that are not stopwords, and
    bigrams of adjacent Chinese characters (roughly its words, without a segmenter)."""
    units = []
    for i, token in enumerate(tokens):
        if _CJK_TOKEN.match(token.text):
            if i + 1 < len(tokens) and tokens[i + 1].start == token.end \
                    and _CJK_TOKEN.match(tokens[i + 1].text):
                units.append(token.text + tokens[i + 1].text)
        elif len(token.text) > 2 and token.text not in _STOPWORDS:
            units.append(token.text)
    return units


def _sentence_content(text: str, spans, config: NotesConfig) -> list[list[str]]:
    return [_content_units(tokenize(text[s:e], config.chinese_tokens)) for s, e in spans]


def _content_overlap(learner: list[list[str]], source: list[frozenset]) -> np.ndarray:
    """(learner sentences, source sentences): share of each learner sentence's content units
    found in each source sentence."""
    out = np.zeros((len(learner), len(source)))
    for i, units in enumerate(learner):
        if not units:
            continue
        for j, other in enumerate(source):
            if other:
                out[i, j] = sum(1 for u in units if u in other) / len(units)
    return out


def _signed(hashes: np.ndarray) -> list[int]:
    """uint64 -> SQLite's signed 64-bit INTEGER."""
    return hashes.astype(np.uint64).view(np.int64).tolist()

