"""The notes corpus: `NotesCorpus`, the public articles and books learners copy from (d2l-zh,
d2l-en, blogs, the docstrings of indexed code packages), persisted in one folder:

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

`_DocData` is what the exact scoring (`checker.notes.scoring`) needs about one document.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from checker.core.hashing import winnow
from checker.core.textnorm import language_of, normalise_for_embedding, tokenize
from checker.ingest.documents import NotesDocument, parse_notes_text
from checker.model import Span
from checker.notes.config import CorpusMismatchError, NotesConfig
from checker.notes.findings import SourceRef
from checker.notes.fingerprints import _content_units, _paragraph_kgrams, _signed


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
    kgram_pars: dict[int, list[int]]  # k-gram hash (signed) -> paragraph positions
    vectors: np.ndarray  # (units, dim)
    unit_par: np.ndarray  # paragraph position of each unit
    unit_offsets: list[tuple[int, int]]  # sentence offsets in the paragraph text
    unit_languages: list[str]
    unit_content: list[frozenset] = field(default_factory=list)  # content units per sentence
    # each paragraph's checker.notes.prose.paragraph_language, filled on first use by the scoring
    par_languages: list[str] = field(default_factory=list)
    kind: str = ""  # the document's meta kind: "docstrings" for code docstrings (checker.corpus)


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
        return [(source, n) for source, n, _ in self.source_details()]

    def source_details(self) -> list[tuple[str, int, dict]]:
        """(source, documents, meta: url, licence, title, aliases) of every source, by name."""
        rows = self._conn.execute(
            "SELECT s.source, COUNT(d.doc_id), s.meta FROM sources s LEFT JOIN documents d "
            "ON d.source = s.source GROUP BY s.source ORDER BY s.source").fetchall()
        return [(source, n, json.loads(meta or "{}")) for source, n, meta in rows]

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
            "SELECT par_id, text, start_line, end_line, end_col FROM paragraphs "
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
            kgram_pars=dict(kgram_pars),
            vectors=arrays["vectors"][lo:hi],
            unit_par=np.array([position[r[0]] for r in unit_rows], dtype=np.int64),
            unit_offsets=[(r[1], r[2]) for r in unit_rows],
            unit_languages=[r[3] for r in unit_rows],
            unit_content=[frozenset(_content_units(tokenize(pars[position[r[0]]][1][r[1]:r[2]],
                                                            self.config.chinese_tokens)))
                          for r in unit_rows],
            kind=str(meta.get("kind", "")),
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


# --- a match's document and paragraph, found again by its SourceRef --------------------------
def _doc_id_of(corpus: NotesCorpus, source: SourceRef) -> int:
    return corpus._conn.execute("SELECT doc_id FROM documents WHERE source = ? AND path = ?",
                                (source.source, source.path)).fetchone()[0]


def _paragraph_index_at(corpus: NotesCorpus, source: SourceRef) -> int:
    row = corpus._conn.execute(
        "SELECT p.idx FROM paragraphs p JOIN documents d ON d.doc_id = p.doc_id "
        "WHERE d.source = ? AND d.path = ? AND p.start_line = ? AND p.end_line = ? ORDER BY p.idx",
        (source.source, source.path, source.span.start_line, source.span.end_line)).fetchone()
    return row[0] if row else -1
