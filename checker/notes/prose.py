"""Is a notes paragraph prose at all? Code, API signatures, formulas and tables are not.

Two learners who both quote `torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride=1,
...)`, the softmax formula or a table of tensor functions have quoted the same reference, not
copied each other's words; and such a paragraph is no one's "own words" either. `not_prose(p)`
names why a paragraph is not prose ("table", "code", "formula") or returns "" for prose.

How: a Markdown table is a table. Otherwise the paragraph's words are counted before and after
removing what reads as code or mathematics:
- whole lines that parse as Python and hold a call, an assignment, an attribute, a subscript, an
  import or a definition (`x = torch.zeros(3, 4)`, `import numpy as np`, `y = wx + b`);
- within the other lines: dotted names (`torch.nn.Conv2d`, `np.array`), snake_case names
  (`in_channels`), keyword arguments (`stride=1`), names with digits (`Conv2d`, `float32`),
  LaTeX commands (`\\frac`, `\\sum`) and their `_{...}`/`^{...}` parts;
- lines where at least two `|` separate cells (a plain-text table).
A paragraph whose remaining prose is under half of its words, or under
`defaults.NOTES_MIN_PARAGRAPH_WORDS`, is not prose. A long explanation that mentions
`nn.Linear(784, 10)` once keeps most of its words and stays prose.
"""

from __future__ import annotations

import ast
import re
import warnings

from checker import defaults
from checker.core.textnorm import cjk_share, language_of, word_count
from checker.ingest.documents import Paragraph

_CODE_NODES = (ast.Call, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Attribute, ast.Subscript,
               ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef, ast.Lambda, ast.Return,
               ast.For, ast.While, ast.If, ast.With)
_STRING = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_CJK = re.compile("[\u3400-\u9fff\uf900-\ufaff]")
_LATEX = re.compile(r"\\[A-Za-z]+\*?(?:\{[^{}\n]*\})*|[_^]\{[^{}\n]*\}|[_^][A-Za-z0-9]")
_CODE_TOKENS = re.compile(
    r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\([^()\n]*\))?"  # dotted names, with their call
    r"|\b\w+\s*=\s*(?:'[^'\n]*'|\"[^\"\n]*\"|[^\s,()]+)"  # keyword arguments / assignments
    r"|\b[A-Za-z]*_\w*"  # snake_case names
    r"|\b[A-Za-z]+\d+\w*"  # names with digits: Conv2d, float32
    r"|\b\w+\([^()\n]*\)"  # calls: softmax(x), len(a)
    r"|\b\w+\[[^\[\]\n]*\]"  # subscripts and generics: x[0], List[int]
)
_TABLE_LINE = re.compile(r"[^|\n]*\|[^|\n]*\|")
_LATEX_HINT = re.compile(r"\\[A-Za-z]+|[_^]\{")


def _code_line(line: str) -> bool:
    """A line that parses as Python and does something code does (not a lone word or number)."""
    stripped = line.strip()
    if not stripped or not re.search(r"[()\[\]=.]|^(import|from|def|class|return)\b", stripped):
        return False
    # Chinese outside strings and comments is prose ("功能: 打印状态" parses as an annotation)
    if _CJK.search(_STRING.sub("", stripped.split("#", 1)[0])):
        return False
    for candidate in (stripped, stripped + " pass") if stripped.endswith(":") else (stripped,):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escape sequences in quoted strings
                tree = ast.parse(candidate)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        return any(isinstance(node, _CODE_NODES) for node in ast.walk(tree))
    return False


def prose_words(text: str) -> int:
    """Words of `text` left once code, formulas and table rows are taken out."""
    kept = []
    for line in text.split("\n"):
        if _code_line(line) or len(_TABLE_LINE.findall(line)) >= 1 and line.count("|") >= 2:
            continue
        line = _LATEX.sub(" ", line)
        line = _CODE_TOKENS.sub(" ", line)
        kept.append(line)
    return word_count("\n".join(kept))


def not_prose(paragraph: Paragraph, min_words: int = defaults.NOTES_MIN_PARAGRAPH_WORDS) -> str:
    """Why `paragraph` is not prose ("table", "code" or "formula"), or "" when it is prose."""
    if paragraph.kind == "heading":
        return ""
    if paragraph.kind == "table":
        return "table"
    words = paragraph.words
    if words == 0:
        return ""
    lines = [line for line in paragraph.text.split("\n") if line.strip()]
    if len(lines) >= 2 and sum(line.count("|") >= 2 for line in lines) >= 0.6 * len(lines):
        return "table"
    left = prose_words(paragraph.text)
    if left >= 0.5 * words and left >= min(min_words, words):
        return ""
    return "formula" if len(_LATEX_HINT.findall(paragraph.text)) >= 2 else "code"


# Above this share of Chinese characters (among Chinese characters and Latin letters) a paragraph
# that `language_of` calls English is mixed: "类Class、Magic Methods 一、类（Class）是什么？".
_MIXED_CJK_SHARE = 0.05


def paragraph_language(text: str) -> str:
    """The language of a paragraph for telling a translation from a rewording: "zh", "en", or ""
    when there is none or the paragraph mixes both (a Chinese note full of English terms is
    "zh"; an "English" one with Chinese in it is mixed). A translation joins a "zh" and an "en"
    paragraph; a mixed paragraph is never one side of a translation."""
    language = language_of(text)
    if language == "en" and cjk_share(text) > _MIXED_CJK_SHARE:
        return ""
    return language
