"""Scoring a learner paragraph: against one candidate document, and against a corpus.

Candidates come from the fingerprints (shared k-grams) and from FAISS (nearest sentences); only
candidate documents get the exact scoring:

    for each sentence i of the paragraph (t_i tokens):
      lexical_i  = share of its tokens covered by k-grams it shares with the candidate document
      semantic_i = max over the document's sentences of calibrate(cosine), where calibrate maps
                   [LOW, HIGH] linearly to [0, 1] (own thresholds for cross-language pairs)
    score = sum_i t_i * max(lexical_i, semantic_i) / sum_i t_i

A match's kind is "verbatim" or "edited" by literal coverage, else "translated" when the languages
differ, else "reworded"; whether a match makes the paragraph copied is for `checker.notes.check`.
"The languages differ" is judged per paragraph as well as per sentence: a sentence pair gets the
cross-language calibration only when the two paragraphs are in different languages, so a mostly
English sentence in a Chinese paragraph ("softmax(o)_j = ...") compared with a Chinese paragraph
on the same topic is a same-language comparison (and never "translated").
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from checker.core.textnorm import Token, language_of, word_count
from checker.ingest.documents import Paragraph
from checker.model import Span
from checker.notes.config import NotesConfig
from checker.notes.corpus import NotesCorpus, _DocData
from checker.notes.findings import Match, SentenceMatch, SourceRef
from checker.notes.fingerprints import _content_overlap, _paragraph_kgrams, _sentence_content, _signed
from checker.notes.prose import paragraph_language


@dataclass
class _Probe:
    """A learner paragraph prepared for scoring."""

    paragraph: Paragraph
    owner: str
    path: str
    language: str
    tokens: list[Token]
    kgrams: list[int]  # signed
    sentence_tokens: np.ndarray  # token count per sentence
    token_sentence: np.ndarray  # sentence number of each token (-1: none)
    vectors: np.ndarray  # (sentences, dim)
    sentence_languages: list[str]
    semantic_ok: np.ndarray  # bool per sentence: long enough for a semantic match
    sentence_content: list[list[str]] = field(default_factory=list)
    paragraph_language: str = ""  # checker.notes.prose.paragraph_language: "" when mixed


def _make_probe(paragraph: Paragraph, owner: str, path: str, vectors: np.ndarray,
                config: NotesConfig) -> _Probe:
    tokens, kgrams = _paragraph_kgrams(paragraph.text, config)
    starts = np.array([s for s, _ in paragraph.sentences], dtype=np.int64)
    ends = np.array([e for _, e in paragraph.sentences], dtype=np.int64)
    token_starts = np.array([t.start for t in tokens], dtype=np.int64)
    token_sentence = np.searchsorted(starts, token_starts, side="right") - 1
    inside = (token_sentence >= 0) & (token_starts < ends[np.maximum(token_sentence, 0)]) \
        if len(starts) else np.zeros(len(tokens), dtype=bool)
    token_sentence = np.where(inside, token_sentence, -1).astype(np.int64)
    counts = np.bincount(token_sentence[token_sentence >= 0], minlength=len(paragraph.sentences))
    sentences = paragraph.sentence_texts()
    language = language_of(paragraph.text)
    return _Probe(
        paragraph, owner, path, language, tokens, _signed(kgrams), counts, token_sentence, vectors,
        [language_of(s) or language for s in sentences],
        np.array([word_count(s) >= config.min_sentence_words for s in sentences], dtype=bool),
        _sentence_content(paragraph.text, paragraph.sentences, config),
        paragraph_language(paragraph.text),
    )


def _calibrate(cosines: np.ndarray, cross: np.ndarray, config: NotesConfig) -> np.ndarray:
    low = np.where(cross, config.translation_low, config.semantic_low)
    high = np.where(cross, config.translation_high, config.semantic_high)
    return np.clip((cosines - low) / (high - low), 0.0, 1.0)


def _score(probe: _Probe, doc: _DocData, common: set[int], config: NotesConfig) -> Match | None:
    n_sentences = len(probe.paragraph.sentences)
    if n_sentences == 0 or not probe.tokens:
        return None
    # lexical: tokens covered by k-grams present in the document
    covered = np.zeros(len(probe.tokens), dtype=bool)
    par_weight = np.zeros(len(doc.par_ids))
    for j, h in enumerate(probe.kgrams):
        if h in common:
            continue
        pars = doc.kgram_pars.get(h)
        if pars:
            covered[j : j + config.k] = True
            for p in pars:
                par_weight[p] += 1.0 / len(pars)
    in_sentence = probe.token_sentence >= 0
    lexical_s = np.bincount(probe.token_sentence[in_sentence & covered], minlength=n_sentences) \
        / np.maximum(probe.sentence_tokens, 1)
    # semantic: best calibrated cosine per learner sentence
    semantic_s = np.zeros(n_sentences)
    cosine_s = np.zeros(n_sentences)
    best_unit = np.full(n_sentences, -1, dtype=np.int64)
    cross_s = np.zeros(n_sentences, dtype=bool)
    if len(doc.vectors) and len(probe.vectors):
        cosines = probe.vectors @ doc.vectors.T  # (sentences, units)
        evidence = cosines + config.content_weight * _content_overlap(
            probe.sentence_content, doc.unit_content)
        unit_lang = np.array(doc.unit_languages)
        learner_lang = np.array(probe.sentence_languages)
        if len(doc.par_languages) != len(doc.par_texts):
            doc.par_languages = [paragraph_language(t) for t in doc.par_texts]
        unit_par_lang = np.array(doc.par_languages + [""])[doc.unit_par]
        cross = (learner_lang[:, None] != unit_lang[None, :]) & (learner_lang[:, None] != "") \
            & (unit_lang[None, :] != "")
        # and the paragraphs are in different languages (neither of them mixed)
        mine = probe.paragraph_language
        cross &= ((unit_par_lang != mine) & (unit_par_lang != "") & (mine != ""))[None, :]
        calibrated = _calibrate(evidence, cross, config)
        best_unit = calibrated.argmax(axis=1)
        rows = np.arange(n_sentences)
        semantic_s = np.where(probe.semantic_ok, calibrated[rows, best_unit], 0.0)
        cosine_s = cosines[rows, best_unit]
        cross_s = cross[rows, best_unit]
        for i in range(n_sentences):
            if semantic_s[i] > 0:
                par_weight[doc.unit_par[best_unit[i]]] += semantic_s[i] * probe.sentence_tokens[i]
    weights = probe.sentence_tokens.astype(float)
    total = weights.sum()
    if total == 0:
        return None
    # Semantic evidence already includes literal overlap (content words); k-gram coverage stands
    # in where a sentence is too short for a semantic match, and a sentence that is nearly all
    # shared k-grams is a copy whatever the embedding says (a weak model must not hide it).
    literal = np.where(lexical_s >= config.verbatim_coverage, lexical_s, 0.0)
    strength = np.where(probe.semantic_ok, np.maximum(semantic_s, literal), lexical_s)
    score = float((weights * strength).sum() / total)
    lexical = float(covered[in_sentence].sum() / max(in_sentence.sum(), 1))
    semantic = float((weights * semantic_s).sum() / total)
    if score <= 0:
        return None
    if lexical >= config.verbatim_coverage:
        kind = "verbatim"
    elif lexical >= config.edited_coverage:
        kind = "edited"
    else:
        semantic_weight = weights * semantic_s
        cross_share = semantic_weight[cross_s].sum() / max(semantic_weight.sum(), 1e-9)
        kind = "translated" if cross_share > 0.5 else "reworded"
    best_par = int(par_weight.argmax()) if len(par_weight) else 0
    sentences = []
    for i in np.argsort(-strength)[:3]:
        if strength[i] <= 0:
            continue
        s, e = probe.paragraph.sentences[i]
        source_sentence = ""
        if best_unit[i] >= 0 and len(doc.unit_offsets):
            us, ue = doc.unit_offsets[best_unit[i]]
            source_sentence = doc.par_texts[doc.unit_par[best_unit[i]]][us:ue]
        sentences.append(SentenceMatch(probe.paragraph.text[s:e], source_sentence,
                                       round(float(lexical_s[i]), 4), round(float(cosine_s[i]), 4)))
    source = SourceRef(doc.source, doc.path, doc.title,
                       doc.par_spans[best_par] if doc.par_spans else Span(1, 0, 1, 0),
                       doc.url, doc.par_texts[best_par][:200] if doc.par_texts else "")
    return Match(kind, round(score, 4), round(lexical, 4), round(semantic, 4), source, tuple(sentences))


def _best_match(probe: _Probe, corpus: NotesCorpus, fingerprint_hits: Counter, nearest: list[Counter],
                common: set[int], config: NotesConfig) -> Match | None:
    semantic_votes: Counter = Counter()
    for i, found in enumerate(nearest):
        if probe.semantic_ok[i]:
            for doc_id, cosine in found.items():
                semantic_votes[doc_id] += cosine * probe.sentence_tokens[i]
    candidates = [d for d, _ in fingerprint_hits.most_common(config.candidate_docs)]
    candidates += [d for d, _ in semantic_votes.most_common(config.candidate_docs) if d not in candidates]
    best = None
    for doc_id in candidates:
        doc = corpus._doc_data(doc_id)
        match = _score(probe, doc, common, config)
        if match and doc.kind == "docstrings" and match.kind == "translated":
            # notes in one language meaning what an English docstring of a package says are on its
            # topic (the API does what it does); only literal reuse of a docstring is evidence
            continue
        if match and (best is None or match.score > best.score):
            best = match
    return best


def _candidates(corpus: NotesCorpus, probes: list[_Probe], exclude: set[str]):
    """Per probe: (fingerprint hits per document, nearest documents per sentence, common hashes)."""
    out = []
    vectors = [p.vectors for p in probes]
    stacked = np.concatenate(vectors) if vectors and sum(len(v) for v in vectors) else None
    nearest_all = corpus._nearest_docs(stacked, exclude) if stacked is not None else []
    row = 0
    for probe in probes:
        n = len(probe.vectors)
        nearest = nearest_all[row : row + n]
        row += n
        hits, common = corpus._fingerprint_docs(probe.kgrams, exclude) if probe.kgrams else (Counter(), set())
        out.append((hits, nearest, common))
    return out
