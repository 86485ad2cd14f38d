"""Review questions: what to ask each learner, generated from the evidence of their verdict.

A mentor with ten minutes per learner needs the few questions that tell understanding from
copying, tied to lines on screen. Every question here is built from one evidence item of the
learner's verdict (`checker.report.verdicts`) and points back at it (`Question.evidence`, the file
and lines); nothing is invented, no model is asked and nothing is fetched. The same report gives
the same questions, in the same order, every time.

Kinds, by evidence:
- a matched region (a fragment of a code pair with another learner or a public document that
  counts as evidence): the learner's matched lines are parsed with libCST (through
  `checker.code.parse_guard`; notebook magics blanked, the region alone when the whole file does
  not parse, a few regular expressions when nothing does) and give
  `function` (the learner's *own* function or class that the region covers: what does it do?),
  `constant` (a call with literal arguments, `Conv2d(1, 10, 5)`, or a literal assignment: why
  these values?), `shape` (a line assigning from a reshape, a torch factory or a layer in
  `forward`: what shape is the tensor?), `removal` (a line such as `optimizer.zero_grad()`:
  what would change without it?) and `own_part` (which part did you write yourself?);
- a rule finding (`rule`): the rule and the line, worded per rule family;
- a retrain result (`retrain`): the claimed figure, the reproduced one and the gap;
- copied or shared notes (`notes`): the paragraph's key terms, to explain in one's own words.

The choice is a fixed rule, so that it can be read out and checked:
1. per matched region, at most `QuestionPolicy.per_region` questions, taken in this order:
   function, constant, shape, removal; `own_part` is added while the region has fewer than two
   (so every region asks at least one question, and two where the code gives anything to ask);
   the function is the learner's def in the region with the most constants, shapes and
   training steps in it, the innermost of those covering nearly as much of the region; among
   constants (non-trivial literals score most, named ones more), shapes (reshapes first) and lines
   to remove (`zero_grad` first) the highest score wins, then the earliest line. A def or line
   asked about once is not asked about again;
2. an evidence item asks its regions' questions in the order of the regions' own tokens
   (the longest run first); rule findings ask one question per rule code (errors that point at a
   line first), at most `QuestionPolicy.rule_questions`;
3. the learner's list takes the first question of every evidence item in the verdict's order
   (strongest evidence first), then the second of each, and so on, up to
   `defaults.QUESTIONS_PER_LEARNER`; the chosen questions are then listed by evidence item.
   A learner with three kinds of evidence is asked about all three before any one of them is
   asked about twice.

Every question is written in English and in Chinese (`Question.texts`), so that a report can be
re-rendered in the other language without recomputing; `Question.text` is the one in the
report's `lang`, which is `--lang` or, by default, the language of the round's notes.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import CodeRange

from checker import defaults
from checker.code.cst_walk import node_positions, walk
from checker.code.parse_guard import parse_module
from checker.core.textnorm import language_of
from checker.report.model import (
    Evidence,
    FilePairEntry,
    Finding,
    NotesParagraph,
    PairFragment,
    Question,
    Report,
    RetrainRun,
    Verdict,
    replace,
)
from checker.report.verdicts import DEFAULT_POLICY, VerdictPolicy, evidence_runs, learner_verdicts
from checker.report.wording import LANGS, check_lang, in_language, listing, location

KINDS = ("function", "constant", "shape", "removal", "own_part", "rule", "retrain", "notes")


class CodeText(Protocol):
    """A learner's code file as the scan read it (`checker.model.SourceFile` is one)."""

    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class QuestionPolicy:
    """How many questions, and how long their quotes."""

    per_learner: int = defaults.QUESTIONS_PER_LEARNER
    # a region asks about its function, a constant and a shape: more would crowd out the
    # learner's other evidence on a one-page sheet
    per_region: int = 3
    # rule findings of distinct codes asked about: the same rule twice teaches nothing new
    rule_questions: int = 2
    # a quote is the line(s) asked about, not the region: the sheet shows where to look
    quote_lines: int = 2
    quote_chars: int = 100
    # a call quoted inside the question's sentence; a longer one shows only its constants
    call_chars: int = 60
    # key terms named for a notes paragraph
    notes_terms: int = 3


DEFAULT_QUESTION_POLICY = QuestionPolicy()


# --- facts about the learner's code ---------------------------------------------------------------


@dataclass(frozen=True)
class _Def:
    kind: str  # function | method | class
    name: str  # qualified: Trainer.fit
    start: int
    end: int


@dataclass(frozen=True)
class _Spot:
    """A line worth asking about: a constant, a tensor shape or a line to remove."""

    line: int
    end: int
    code: str  # the call or statement, on one line
    score: float
    detail: tuple[str, ...] = ()  # constant: the constants; shape: the target's name
    short: str = ""  # a constant call with its other arguments elided: `Animator(…, ylim=[0.3, 0.9], …)`


@dataclass
class _Facts:
    defs: list[_Def] = field(default_factory=list)
    constants: list[_Spot] = field(default_factory=list)
    shapes: list[_Spot] = field(default_factory=list)
    removals: list[_Spot] = field(default_factory=list)


# calls whose literal arguments say nothing about the learner's choices
_PLAIN_CALLS = frozenset(
    "print format str int float bool len isinstance round enumerate zip min max sum abs "
    "sorted list tuple dict set getattr hasattr setattr super item append extend join "
    "split strip replace get size numel to cpu cuda join exit info debug warning".split()
)
_TRIVIAL = frozenset({"0", "1", "-1", "0.0", "1.0", "0.", "1."})
# methods that change a tensor's shape: the strongest shape questions
_SHAPE_METHODS = frozenset(
    "view reshape flatten permute transpose unsqueeze squeeze expand expand_as repeat cat stack "
    "matmul bmm mm einsum split chunk unflatten flip t unfold".split()
)
_TENSOR_FACTORIES = frozenset(
    "randn rand randint zeros ones empty full arange linspace tensor eye zeros_like ones_like "
    "randn_like normal".split()
)
# lines whose removal changes what training does, by the called name's last part
_REMOVAL_SCORES = {
    "zero_grad": 5,
    "backward": 4,
    "step": 4,
    "eval": 4,
    "train": 4,
    "no_grad": 4,
    "inference_mode": 4,
    "detach": 3,
    "detach_": 3,
    "apply": 3,
    "clip_grad_norm_": 3,
    "clip_grad_value_": 3,
    "xavier_uniform_": 3,
    "xavier_normal_": 3,
    "kaiming_uniform_": 3,
    "kaiming_normal_": 3,
    "normal_": 3,
    "zeros_": 3,
    "constant_": 3,
    "uniform_": 3,
    "manual_seed": 2,
    "seed": 2,
    "reset": 2,
    "load_state_dict": 2,
    "save": 2,
}
_NOT_REMOVABLE = frozenset(
    {
        "print",
        "display",
        "clear_output",
        "show",
        "plot",
        "legend",
        "title",
        "xlabel",
        "ylabel",
        "savefig",
        "figure",
        "subplot",
        "add",
    }
)


# a literal argument longer than this is data (a table of numbers), not a choice to ask about
_CONSTANT_CHARS = 40
# lines the patterns read: a longer one (a minified blob, a data line) holds no question
_LEXICAL_LINE_CHARS = 2000


def _blank_magics(text: str) -> str:
    """Notebook magics (`%matplotlib`, `!pip`) as blank lines: line numbers stay where they were."""
    return "\n".join("" if line.lstrip()[:1] in ("%", "!") else line for line in text.split("\n"))


def code_facts(text: str) -> _Facts | None:
    """The facts of a whole file, or None when libCST cannot parse it."""
    try:
        module = parse_module(_blank_magics(text))
    except Exception:  # noqa: BLE001 - any code libCST refuses (syntax, nesting, its own errors)
        return None  # is read from the region alone, or by pattern: a question, never a failed scan
    # libCST's MetadataWrapper visit was 6 of the 10.6 s of a 1,000-learner scan; the shared
    # read-only walk and one code generation for the positions give the same facts
    visitor = _FactsVisitor(module, node_positions(module))
    walk(module, visitor)
    return visitor.facts


def _region_facts(text: str, first: int, last: int) -> _Facts:
    """The facts of lines `first`..`last` alone, for a file libCST cannot parse whole: parsed
    dedented when they parse, else read with regular expressions (line numbers are the file's)."""
    lines = text.split("\n")[first - 1 : last]
    facts = code_facts(textwrap.dedent("\n".join(lines)))
    if facts is None:
        return _lexical_facts(lines, first)
    shift = first - 1
    return _Facts(
        [_Def(d.kind, d.name, d.start + shift, d.end + shift) for d in facts.defs],
        *[
            [_Spot(s.line + shift, s.end + shift, s.code, s.score, s.detail) for s in spots]
            for spots in (facts.constants, facts.shapes, facts.removals)
        ],
    )


_DEF_LINE = re.compile(r"^(\s*)(async\s+def|def|class)\s+(\w+)")
_CALL = re.compile(r"([A-Za-z_][\w.]*)\(([^()]*)\)")
_NUMBER = re.compile(r"^-?\d[\d_]*(\.\d*)?([eE][-+]?\d+)?$")
_SHAPE_LINE = re.compile(r"^\s*(\w+)\s*=\s*.*\.(" + "|".join(sorted(_SHAPE_METHODS)) + r")\(")
_REMOVAL_LINE = re.compile(r"^\s*[\w.]+\.(zero_grad|backward|step|eval|train)\(\)\s*$")


def _lexical_facts(lines: list[str], first: int) -> _Facts:
    """The same facts from code no parser accepts (a fragment, a half-saved file): defs by their
    header and indentation, calls with literal arguments, reshapes and training steps by pattern."""
    facts = _Facts()
    for i, line in enumerate(lines):
        number = first + i
        if len(line) > _LEXICAL_LINE_CHARS:
            continue
        m = _DEF_LINE.match(line)
        if m:
            indent = len(m.group(1))
            end = i
            for j in range(i + 1, len(lines)):
                if lines[j].strip() and len(lines[j]) - len(lines[j].lstrip()) <= indent:
                    break
                end = j
            kind = "class" if m.group(2) == "class" else ("method" if indent else "function")
            facts.defs.append(_Def(kind, m.group(3), number, first + end))
        for call in _CALL.finditer(line):
            name = call.group(1).rsplit(".", 1)[-1]
            if name in _PLAIN_CALLS:
                continue
            consts, score = [], 0.0
            for arg in (a.strip() for a in call.group(2).split(",")):
                keyword, _, value = arg.rpartition("=") if "=" in arg else ("", "", arg)
                value = value.strip()
                if _NUMBER.match(value):
                    score += (0.5 if value in _TRIVIAL else 2) + (1 if keyword else 0)
                    consts.append(arg)
            if score >= 2:
                facts.constants.append(
                    _Spot(number, number, call.group(0), score, tuple(consts), call.group(0))
                )
        m = _SHAPE_LINE.match(line)
        if m:
            facts.shapes.append(_Spot(number, number, line.strip(), 3, (m.group(1),)))
        m = _REMOVAL_LINE.match(line)
        if m:
            facts.removals.append(_Spot(number, number, line.strip(), _REMOVAL_SCORES[m.group(1)]))
    return facts


def _one_line(code: str) -> str:
    return " ".join(code.split())


def _clip(text: str, limit: int) -> str:
    """`text`, or its first `limit - 1` characters and an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _literal(node) -> tuple[str, str] | None:
    """(kind, code) of a constant expression: numbers (`3`, `-1`, `16 * 5 * 5`, `[0.3, 0.9]`)
    are "num", `True`/`False` "bool"; anything else None."""
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary)):
        return "num", node.value
    if isinstance(node, cst.Name) and node.value in ("True", "False"):
        return "bool", node.value
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        inner = _literal(node.expression)
        if inner and inner[0] == "num":
            return "num", cst.Module([]).code_for_node(node)
        return None
    if isinstance(node, cst.BinaryOperation):
        left, right = _literal(node.left), _literal(node.right)
        if left and right and left[0] == right[0] == "num":
            return "num", _one_line(cst.Module([]).code_for_node(node))
        return None
    if isinstance(node, (cst.List, cst.Tuple)) and node.elements:
        parts = [_literal(e.value) for e in node.elements]
        if all(p and p[0] == "num" for p in parts):
            return "num", _one_line(cst.Module([]).code_for_node(node))
    return None


def _called_names(node) -> list[str]:
    """Last name parts of every call inside `node` (`x.view(...)` -> `view`)."""
    out: list[str] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, cst.Call):
            func = n.func
            if isinstance(func, cst.Attribute):
                out.append(func.attr.value)
            elif isinstance(func, cst.Name):
                out.append(func.value)
        stack.extend(n.children)
    return out


def _full_name(node) -> str:
    return get_full_name_for_node(node) or ""


class _FactsVisitor(cst.CSTVisitor):
    """Read-only: defs, constant calls and assignments, shape lines and removable lines."""

    def __init__(self, module: cst.Module, positions: Mapping[cst.CSTNode, CodeRange]):
        super().__init__()
        self.module = module
        self.positions = positions
        self.facts = _Facts()
        self.scope: list[tuple[str, str]] = []  # (kind, name)

    def _lines(self, node) -> tuple[int, int]:
        pos = self.positions[node]
        return pos.start.line, pos.end.line

    def _code(self, node) -> str:
        return _one_line(self.module.code_for_node(node))

    def _enter(self, kind: str, node) -> None:
        start, end = self._lines(node)
        name = ".".join([n for _, n in self.scope] + [node.name.value])
        if kind == "function" and self.scope and self.scope[-1][0] == "class":
            kind = "method"
        self.facts.defs.append(_Def(kind, name, start, end))
        self.scope.append(("class" if kind == "class" else "function", node.name.value))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._enter("function", node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scope.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._enter("class", node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scope.pop()

    def visit_Call(self, node: cst.Call) -> None:
        name = _full_name(node.func)
        if not name or name.rsplit(".", 1)[-1] in _PLAIN_CALLS:
            return
        consts: list[str] = []
        shown: list[str] = []
        score = 0.0
        for arg in node.args:
            keyword = arg.keyword.value if arg.keyword else ""
            lit = None if arg.star else _literal(arg.value)
            if lit is None or len(lit[1]) > _CONSTANT_CHARS:  # a long literal is data, not a choice
                shown.append("…")
                continue
            kind, code = lit
            text = f"{keyword}={code}" if keyword else code
            if kind == "bool":
                if not keyword:
                    shown.append("…")
                    continue
                score += 1
            else:
                score += (0.5 if code in _TRIVIAL else 2) + (1 if keyword else 0)
            consts.append(text)
            shown.append(text)
        if score < 2:
            return
        start, end = self._lines(node)
        compact = [s for i, s in enumerate(shown) if s != "…" or i == 0 or shown[i - 1] != "…"]
        short = f"{name}({', '.join(compact)})"
        self.facts.constants.append(_Spot(start, end, self._code(node), score, tuple(consts), short))

    def visit_Assign(self, node: cst.Assign) -> None:
        self._constant_assignment(node)
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        names = _called_names(node.value)
        if not names:
            return
        score = 0
        if any(n in _SHAPE_METHODS for n in names):
            score = 3
        elif any(kind == "function" and name == "forward" for kind, name in self.scope):
            score = 2
        elif (
            isinstance(node.value, cst.Call)
            and _full_name(node.value.func).startswith("torch.")
            and _full_name(node.value.func).rsplit(".", 1)[-1] in _TENSOR_FACTORIES
        ):
            score = 2
        if score:
            start, end = self._lines(node)
            target = node.targets[0].target.value
            self.facts.shapes.append(_Spot(start, end, self._code(node), score, (target,)))

    def _constant_assignment(self, node: cst.Assign) -> None:
        """`lr = 0.1`, `batch_size, epochs = 256, 10`: a choice the learner made."""
        if len(node.targets) != 1:
            return
        target, value = node.targets[0].target, node.value
        pairs: list[tuple[cst.BaseExpression, cst.BaseExpression]] = []
        if isinstance(target, cst.Name):
            pairs = [(target, value)]
        elif (
            isinstance(target, cst.Tuple)
            and isinstance(value, cst.Tuple)
            and len(target.elements) == len(value.elements)
        ):
            pairs = [(t.value, v.value) for t, v in zip(target.elements, value.elements)]
        consts, score = [], 0.0
        for t, v in pairs:
            lit = _literal(v) if isinstance(t, cst.Name) else None
            if (
                isinstance(t, cst.Name)
                and lit
                and lit[0] == "num"
                and lit[1] not in _TRIVIAL
                and len(lit[1]) <= _CONSTANT_CHARS
            ):
                consts.append(f"{t.value} = {lit[1]}")
                score += 2
        if score:
            start, end = self._lines(node)
            self.facts.constants.append(_Spot(start, end, self._code(node), score, tuple(consts)))

    def visit_Expr(self, node: cst.Expr) -> None:
        if not isinstance(node.value, cst.Call):
            return
        name = _full_name(node.value.func)
        last = name.rsplit(".", 1)[-1]
        if not name or last in _NOT_REMOVABLE or last in _PLAIN_CALLS or name.startswith("plt."):
            return
        score = _REMOVAL_SCORES.get(last, 0)
        if last == "train" and node.value.args:
            score = 0  # a call of the learner's `train(...)`, not `net.train()`
        if not score:
            return
        start, end = self._lines(node)
        self.facts.removals.append(_Spot(start, end, self._code(node), score))

    def visit_With(self, node: cst.With) -> None:
        for item in node.items:
            if isinstance(item.item, cst.Call):
                last = _full_name(item.item.func).rsplit(".", 1)[-1]
                if last in ("no_grad", "inference_mode", "enable_grad", "autocast"):
                    start, _ = self._lines(node)
                    code = f"with {self._code(item.item)}:"
                    self.facts.removals.append(_Spot(start, start, code, 4))


# --- wording --------------------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:.4g}"


def _count(value: int) -> str:
    return f"{value:,}"


def _function_texts(d: _Def, file: str) -> dict[str, str]:
    en_loc, zh_loc = location("en", file, d.start, d.end), location("zh", file, d.start, d.end)
    if d.kind == "class":
        return {
            "en": f"What is your class `{d.name}` ({en_loc}) for, and where in your code is it used?",
            "zh": f"{zh_loc}的类 `{d.name}` 是用来做什么的？你的代码在哪里用到了它？",
        }
    if d.kind == "method":
        return {
            "en": f"What does the method `{d.name}` ({en_loc}) do, and when is it called?",
            "zh": f"{zh_loc}的方法 `{d.name}` 做了什么？它在什么时候被调用？",
        }
    return {
        "en": f"Walk me through your function `{d.name}` ({en_loc}): what does it do, step by step, "
        f"and what does it return?",
        "zh": f"请一步一步讲讲 {zh_loc}的函数 `{d.name}`：它做了什么，最后返回什么？",
    }


def _constant_texts(spot: _Spot, file: str, call_chars: int) -> dict[str, str]:
    en_loc, zh_loc = location("en", file, spot.line, spot.line), location("zh", file, spot.line, spot.line)
    many = len(spot.detail) > 1
    code = spot.code if len(spot.code) <= call_chars else (spot.short or "; ".join(spot.detail))
    if not spot.short:  # an assignment: `lr = 0.1`
        return {
            "en": f"{en_loc}: `{code}`. How did you choose "
            f"{'these values' if many else 'this value'}, and what would change with "
            f"{'others' if many else 'another one'}?",
            "zh": f"{zh_loc}的 `{code}`：{'这些值' if many else '这个值'}是怎么定下来的？"
            f"换成别的值会有什么变化？",
        }
    shown = spot.detail[:3]
    return {
        "en": f"{en_loc}: `{code}`. Why {listing('en', shown)}? What does "
        f"{'each value' if many else 'it'} mean, and what would change with "
        f"{'other values' if many else 'another value'}?",
        "zh": f"{zh_loc}的 `{code}`：为什么是 {listing('zh', shown)}？"
        f"{'这几个值分别' if many else '这个值'}代表什么？换成别的值会怎样？",
    }


def _shape_texts(spot: _Spot, file: str, call_chars: int) -> dict[str, str]:
    en_loc, zh_loc = location("en", file, spot.line, spot.line), location("zh", file, spot.line, spot.line)
    target = spot.detail[0]
    if len(spot.code) <= call_chars:
        return {
            "en": f"What shape does `{target}` have after {en_loc} (`{spot.code}`), and why that shape?",
            "zh": f"执行完 {zh_loc}（`{spot.code}`）之后，`{target}` 的形状是什么？为什么是这个形状？",
        }
    return {
        "en": f"What shape does `{target}` have after {en_loc}, and why that shape?",
        "zh": f"执行完 {zh_loc}之后，`{target}` 的形状是什么？为什么是这个形状？",
    }


def _removal_texts(spot: _Spot, file: str, call_chars: int) -> dict[str, str]:
    en_loc, zh_loc = location("en", file, spot.line, spot.line), location("zh", file, spot.line, spot.line)
    code = _clip(spot.code, call_chars)
    return {
        "en": f"What would change if {en_loc} (`{code}`) were removed, and why is it there?",
        "zh": f"如果删掉 {zh_loc}（`{code}`），结果会有什么不同？它为什么要放在这里？",
    }


def _own_part_texts(
    file: str, lines: tuple[int, int], item: Evidence, pair: FilePairEntry, other_lines: tuple[int, int]
) -> dict[str, str]:
    en_loc, zh_loc = location("en", file, *lines), location("zh", file, *lines)
    if item.kind == "code":
        en_src, zh_src = (
            location("en", item.partner_file, *other_lines),
            location("zh", item.partner_file, *other_lines),
        )
        return {
            "en": f"{en_loc}: the same code as {item.partner}'s {en_src}. Which part did you write "
            f"yourself, and how do you explain the match?",
            "zh": f"{zh_loc}与 {item.partner} 的 {zh_src}是同一段代码。哪些部分是你自己写的？"
            f"两份代码为什么会一样？",
        }
    if item.partner_file:
        en_src = f"{item.partner} {location('en', item.partner_file, *other_lines)}"
        zh_src = f"{item.partner} 的 {location('zh', item.partner_file, *other_lines)}"
    else:
        en_src = zh_src = item.partner
    if pair.attributed:
        return {
            "en": f"{en_loc}: the same code as {en_src}, which you name as your source. What did you "
            f"change or add yourself, and why?",
            "zh": f"{zh_loc}与你注明的来源 {zh_src}一致。你自己改动或补充了哪些部分？为什么？",
        }
    return {
        "en": f"{en_loc}: the same code as public code in {en_src}. Which part did you write "
        f"yourself, and where does the rest come from?",
        "zh": f"{zh_loc}与公开代码 {zh_src}一致。哪些部分是你自己写的？其余部分是从哪里来的？",
    }


# rule wording by code: (en, zh), formatted with `what` (the line and its quote, or the file)
_RULE_TEXTS = {
    "NS101": (
        "{what}: what does this library do for you here, and what does the task say about using it?",
        "{what}：这个库在这里替你做了什么？任务对使用它是怎么规定的？",
    ),
    "NS102": (
        "{what}: what does this module do for you here, and what does the task say about using it?",
        "{what}：这个模块在这里替你做了什么？任务对使用它是怎么规定的？",
    ),
    "NS103": (
        "{what}: what does this call do, and why does the task rule it out?",
        "{what}：这个调用做了什么？任务为什么不允许用它？",
    ),
    "NS201": (
        "{what}: where do these weights come from, and what does the task say about them?",
        "{what}：这些权重是从哪里来的？任务对此有什么规定？",
    ),
    "NS202": (
        "{what}: whose architecture is this, and what does the task say about ready-made models?",
        "{what}：这个网络结构是谁设计的？任务对现成的模型是怎么规定的？",
    ),
    "NS203": (
        "{what}: which training run wrote this checkpoint, and can you show it?",
        "{what}：这个权重文件是哪一次训练保存的？能给我们看看吗？",
    ),
    "NS301": (
        "{what}: how would you write this without the loop, and why does the task ask for that?",
        "{what}：不用循环该怎么写？任务为什么要求这样做？",
    ),
    "NS401": (
        "{what}: the task asks for a layer this code does not use ({message}). Which layer "
        "did you use instead, and why?",
        "{what}：任务要求用到的层在代码里没有找到。你用了什么层来代替？为什么？",
    ),
    "NS501": (
        "{what}: how many parameters does this model have, how did you count them, and what "
        "does the task allow?",
        "{what}：这个模型有多少参数？你是怎么算出来的？任务允许多少？",
    ),
    "NS502": (
        "{what}: this checkpoint holds more parameters than the task allows. Which model is "
        "it, and did you train it yourself?",
        "{what}：这个权重文件里的参数超出了任务允许的数量。它是哪个模型的？是你自己训练的吗？",
    ),
    "NS701": (
        "The task asks for a file this submission lacks ({message}). Where is it?",
        "任务要求提交的文件在你的提交里没有找到。它在哪里？",
    ),
}
_RULE_DEFAULT = (
    "{what} ({code} {title}): why is it written this way, and what does the task say about it?",
    "{what}（规则 {code}）：为什么这样写？任务对此是怎么规定的？",
)


def _rule_texts(f: Finding, quote: str) -> dict[str, str]:
    if f.line:
        en_where, zh_where = location("en", f.path, f.line, f.line), location("zh", f.path, f.line, f.line)
        if quote:
            en_what, zh_what = f"`{quote}` at {en_where}", f"{zh_where}的 `{quote}`"
        else:
            en_what, zh_what = en_where, zh_where
    else:
        whole = f.path in (".", "")
        en_what = "The submission" if whole else f.path
        zh_what = "你的提交" if whole else f.path
    en, zh = _RULE_TEXTS.get(f.code, _RULE_DEFAULT)
    fields = {"code": f.code, "title": f.title, "message": f.message}
    return {"en": en.format(what=en_what, **fields), "zh": zh.format(what=zh_what, **fields)}


def _retrain_texts(rt: RetrainRun) -> dict[str, str] | None:
    source = f" ({rt.claim_source})" if rt.claim_source else ""
    zh_source = f"（见 {rt.claim_source}）" if rt.claim_source else ""
    if rt.status == "over_budget" and rt.params is not None and rt.max_params is not None:
        return {
            "en": f"The trained model has {_count(rt.params)} parameters; the task allows "
            f"{_count(rt.max_params)}. How did you size the model, and which layers hold most of "
            f"the parameters?",
            "zh": f"训练出的模型有 {_count(rt.params)} 个参数，任务只允许 {_count(rt.max_params)} 个。"
            f"你是怎么确定模型大小的？哪些层的参数最多？",
        }
    if rt.status == "not_reproduced" and rt.reached is not None:
        gap = f"{rt.gap:+.4g}" if rt.gap is not None else "?"
        if rt.claimed is not None:
            c, r = _num(rt.claimed), _num(rt.reached)
            return {
                "en": f"You report {rt.metric} {c}{source}; the re-run reached {r}, a gap of {gap}. "
                f"How did you get {c}: which settings, which run, and can you show its log?",
                "zh": f"你报告的 {rt.metric} 是 {c}{zh_source}，复现得到的是 {r}，相差 {gap}。"
                f"这个 {c} 是怎么得到的？用了哪些设置、哪一次运行？能给我们看看当时的日志吗？",
            }
        if rt.claimed_params and rt.params is not None:
            return {
                "en": f"You state {_count(rt.claimed_params)} parameters{source}; the trained model "
                f"has {_count(rt.params)}. How did you count them?",
                "zh": f"你写的参数量是 {_count(rt.claimed_params)}{zh_source}，训练出的模型有 "
                f"{_count(rt.params)} 个。你是怎么数的？",
            }
        if rt.target is not None:
            t, r = _num(rt.target), _num(rt.reached)
            return {
                "en": f"The task asks for {rt.metric} {t}; the re-run of your code reached {r} "
                f"(a gap of {gap}). What did your own runs reach, and with which settings?",
                "zh": f"任务要求 {rt.metric} 达到 {t}，复现你的代码得到的是 {r}（相差 {gap}）。"
                f"你自己跑的时候结果是多少？用的是什么设置？",
            }
    if rt.status in ("failed", "timed_out"):
        en_how = "failed" if rt.status == "failed" else "ran out of time"
        zh_how = "失败了" if rt.status == "failed" else "超时了"
        command = f" (`{rt.command}`)" if rt.command else ""
        zh_command = f"（`{rt.command}`）" if rt.command else ""
        return {
            "en": f"The re-run of your training{command} {en_how}. How do you run it, what does it "
            f"need, and how long does it take on your machine?",
            "zh": f"复现你的训练{zh_command}{zh_how}。你平时是怎么运行的？需要准备什么？"
            f"在你的机器上要跑多久？",
        }
    return None


_EN_STOP = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers him his how i if in into is it its itself just
    me more most my no nor not now of off on once only or other our ours out over own same she
    should so some such than that the their theirs them then there these they this those through
    to too under until up very was we were what when where which while who whom why will with
    would you your yours use used using uses one two three first second third new also like get gets
    nothing something anything everything still even really quite rather
    make makes made way ways thing things many much may might must let lets well see shown show
    each every another however therefore thus hence e g i e etc we us via per given""".split()
)
_EN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")
_JIEBA_POS = ("n", "nz", "vn", "eng", "nt", "nrt", "nr", "ns")


def key_terms(text: str, count: int) -> list[str]:
    """The key terms of a paragraph, to name its idea.

    Chinese text: jieba's TF-IDF keywords among nouns and English words (its IDF table ships
    with jieba). English: words outside a stop list, past-tense verbs and adverbs, ranked by
    how often they occur (plurals counted with the singular), then by length (technical words are
    long), then by first occurrence; a term met more than once is shown with the word before it
    when that word is a term too ("convolution layers"). Adjacent capitalised terms are joined ("Batch
    Normalization")."""
    if language_of(text) == "zh":
        import jieba
        import jieba.analyse

        jieba.setLogLevel(60)
        terms = list(jieba.analyse.extract_tags(text, topK=count + 2, allowPOS=_JIEBA_POS))
    else:
        terms = _english_terms(text, count)
    joined: list[str] = []
    for term in terms:
        if any(term in t.split() for t in joined):
            continue
        cap = next(
            (
                j
                for j, t in enumerate(joined)
                if t[:1].isupper() and term[:1].isupper() and (f"{t} {term}" in text or f"{term} {t}" in text)
            ),
            None,
        )
        if cap is not None:
            t = joined[cap]
            joined[cap] = f"{t} {term}" if f"{t} {term}" in text else f"{term} {t}"
        elif term not in joined:
            joined.append(term)
    return joined[:count]


def _english_terms(text: str, count: int) -> list[str]:
    words = list(_EN_WORD.finditer(text))

    def key(word: str) -> str | None:
        low = word.lower()
        if low in _EN_STOP or (len(word) < 4 and not word.isupper()):
            return None
        if low.endswith(("ed", "ly")) and len(low) > 4:
            return None
        return low[:-1] if low.endswith("s") and not low.endswith("ss") and len(low) > 4 else low

    keys = [key(m.group()) for m in words]
    seen: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k is not None:
            seen.setdefault(k, []).append(i)
    ranked = sorted(seen.items(), key=lambda kv: (-len(kv[1]), -len(words[kv[1][0]].group()), kv[1][0]))
    out: list[str] = []
    for _, places in ranked[: count + 2]:
        i = places[0]
        term = words[i].group()
        before = words[i - 1] if i else None
        if (
            len(places) > 1
            and before is not None
            and keys[i - 1] is not None
            and text[before.end() : words[i].start()] == " "
        ):
            term = f"{before.group()} {term}"
        out.append(term)
    return out


def _notes_texts(kind: str, loc: tuple[str, str], where: str, terms: list[str]) -> dict[str, str]:
    en_about = f"; the paragraph is about {listing('en', terms, '“')}" if terms else ""
    zh_about = f"，讲的是{listing('zh', terms, '“')}" if terms else ""
    if kind == "copied":
        return {
            "en": f"Your notes at {loc[0]} come from {where} without a citation{en_about}. Explain "
            f"that idea in your own words, without looking at the notes.",
            "zh": f"你笔记 {loc[1]}的这一段取自 {where}，没有注明出处{zh_about}。请不看笔记，"
            f"用你自己的话把这个概念讲一遍。",
        }
    return {
        "en": f"Your notes at {loc[0]} are also in {where}'s notes{en_about}. Explain that idea in "
        f"your own words, and say how the two texts came to match.",
        "zh": f"你笔记 {loc[1]}的这一段也出现在 {where} 的笔记里{zh_about}。请用你自己的话把这个"
        f"概念讲一遍，并说说两份笔记为什么会一样。",
    }


# --- from evidence to questions -------------------------------------------------------------------


@dataclass
class _Draft:
    """A question before the cap: its texts and where it points."""

    kind: str
    texts: dict[str, str]
    file: str = ""
    lines: tuple[int, int] | None = None
    quote: str = ""
    source: str = ""
    source_file: str = ""
    source_lines: tuple[int, int] | None = None

    def question(self, lang: str, evidence: int) -> Question:
        return Question(
            self.kind,
            self.texts[lang],
            dict(self.texts),
            self.file,
            list(self.lines) if self.lines else [],
            self.quote,
            evidence,
            self.source,
            self.source_file,
            list(self.source_lines) if self.source_lines else [],
        )


def _file_texts(report: Report) -> dict[tuple[str, str], str]:
    """(learner, path) -> the text report.json keeps of that file (every file of a pair)."""
    return {(f.owner, f.path): f.text for f in report.files if f.text is not None}


def _asks_about_code(item: Evidence) -> bool:
    """Evidence whose matched region the questions read (`_code_questions`)."""
    return item.kind in ("code", "corpus", "history") and item.level != "none"


class _Context:
    """What the questions of one report read: its pairs, file texts, findings, notes, retrain."""

    def __init__(
        self,
        report: Report,
        sources: Mapping[tuple[str, str], CodeText] | None,
        policy: QuestionPolicy,
        verdict_policy: VerdictPolicy,
        facts: Mapping[str, _Facts | None] | None = None,
    ):
        self.report = report
        self.known_facts = facts or {}  # text -> code_facts(text), computed beforehand (in parallel)
        self.policy = policy
        self.verdict_policy = verdict_policy
        self.texts: dict[tuple[str, str], str] = _file_texts(report)
        for key, src in (sources or {}).items():
            self.texts.setdefault(key, src.text)
        self.pairs: dict[tuple, FilePairEntry] = {}
        for p in report.pairs:
            self.pairs.setdefault((p.source, p.left, p.left_file, p.right, p.right_file), p)
        self.findings: dict[str, list[Finding]] = {}
        for f in report.findings:
            self.findings.setdefault(f.learner, []).append(f)
        self._facts: dict[tuple[str, str], _Facts | None] = {}

    def lines(self, learner: str, path: str) -> list[str] | None:
        text = self.texts.get((learner, path))
        return None if text is None else text.split("\n")

    def quote(self, learner: str, path: str, first: int, last: int) -> str:
        lines = self.lines(learner, path)
        if not lines or first < 1:
            return ""
        chosen = lines[first - 1 : min(last, first + self.policy.quote_lines - 1)]
        out = [_clip(ln.rstrip(), self.policy.quote_chars) for ln in chosen]
        return textwrap.dedent("\n".join(out)).strip("\n")

    def facts(self, learner: str, path: str, first: int, last: int) -> _Facts:
        key = (learner, path)
        text = self.texts.get(key)
        if text is None:
            return _Facts()
        if key not in self._facts:
            self._facts[key] = self.known_facts[text] if text in self.known_facts else code_facts(text)
        whole = self._facts[key]
        return whole if whole is not None else _region_facts(text, first, last)


def _best(
    spots: list[_Spot], first: int, last: int, asked: set[tuple[str, str, int]], file: str
) -> _Spot | None:
    inside = [s for s in spots if first <= s.line <= last and ("line", file, s.line) not in asked]
    return min(inside, key=lambda s: (-s.score, s.line)) if inside else None


def _own_def(facts: _Facts, first: int, last: int, skip: set[int]) -> _Def | None:
    """The learner's def in the region with the most to ask about (constants, shapes, training
    steps inside the region); among those covering nearly as much of the region as the best
    (80%), the innermost (a method before its class when the region is the method). A dunder
    method stands for its class. A def the region touches for fewer than three lines is not
    "in" it; a def whose first line is in `skip` was asked about already."""
    spots = [s.line for s in facts.constants + facts.shapes + facts.removals if first <= s.line <= last]
    candidates = []
    for d in facts.defs:
        overlap = min(d.end, last) - max(d.start, first) + 1
        if overlap >= min(3, last - first + 1) and d.start not in skip:
            candidates.append((d, overlap, sum(d.start <= line <= d.end for line in spots)))
    if not candidates:
        return None
    most = max(n for _, _, n in candidates)
    best = max(o for _, o, n in candidates if n == most)
    chosen = min(
        (d for d, o, n in candidates if n == most and o >= 0.8 * best),
        key=lambda d: (d.end - d.start, d.start),
    )
    if chosen.kind == "method" and chosen.name.rsplit(".", 1)[-1].startswith("__"):
        cls = chosen.name.rsplit(".", 1)[0]
        return next(
            (d for d in facts.defs if d.kind == "class" and d.name == cls and d.start not in skip), None
        )
    return chosen


def _region_questions(
    ctx: _Context,
    learner: str,
    item: Evidence,
    pair: FilePairEntry,
    frag: PairFragment,
    asked: set[tuple[str, str, int]],
) -> list[_Draft]:
    """The questions of one matched region; `asked`: ("def" | "line", file, line) already asked
    about, in this learner's earlier regions too."""
    mine = "left" if pair.left == learner else "right"
    first, last = (
        (frag.left_start_line, frag.left_end_line)
        if mine == "left"
        else (frag.right_start_line, frag.right_end_line)
    )
    other = (
        (frag.right_start_line, frag.right_end_line)
        if mine == "left"
        else (frag.left_start_line, frag.left_end_line)
    )
    file = item.file
    facts = ctx.facts(learner, file, first, last)

    def draft(kind: str, texts: dict[str, str], lines: tuple[int, int], quoted: tuple[int, int]) -> _Draft:
        quote = ctx.quote(learner, file, *quoted)
        return _Draft(kind, texts, file, lines, quote, item.partner, item.partner_file, other)

    out: list[_Draft] = []
    d = _own_def(facts, first, last, {line for kind, f, line in asked if kind == "def" and f == file})
    if d is not None:
        asked.add(("def", file, d.start))
        # it points at the def's matched lines (the sentence names the whole def); the quote is
        # their first line: the def's header when the region holds it
        matched = (max(d.start, first), min(d.end, last))
        out.append(draft("function", _function_texts(d, file), matched, (matched[0], matched[0])))
    call_chars = ctx.policy.call_chars
    for kind, spots in (("constant", facts.constants), ("shape", facts.shapes), ("removal", facts.removals)):
        if len(out) >= ctx.policy.per_region:
            break
        spot = _best(spots, first, last, asked, file)
        if spot is None:
            continue
        asked.add(("line", file, spot.line))
        texts = (
            _constant_texts(spot, file, call_chars)
            if kind == "constant"
            else _shape_texts(spot, file, call_chars)
            if kind == "shape"
            else _removal_texts(spot, file, call_chars)
        )
        out.append(draft(kind, texts, (spot.line, spot.end), (spot.line, spot.end)))
    if len(out) < min(2, ctx.policy.per_region):
        out.append(
            draft(
                "own_part",
                _own_part_texts(file, (first, last), item, pair, other),
                (first, last),
                (first, last),
            )
        )
    return out


def _pair_of(ctx: _Context, learner: str, item: Evidence) -> FilePairEntry | None:
    if item.kind in ("corpus", "history"):  # the learner is always the left side of these
        return ctx.pairs.get((item.kind, learner, item.file, item.partner, item.partner_file))
    return ctx.pairs.get(("learner", learner, item.file, item.partner, item.partner_file)) or ctx.pairs.get(
        ("learner", item.partner, item.partner_file, learner, item.file)
    )


def _code_questions(ctx: _Context, learner: str, item: Evidence, asked: set) -> list[_Draft]:
    pair = _pair_of(ctx, learner, item)
    if pair is None:
        return []
    runs = evidence_runs(pair, ctx.verdict_policy)
    out: list[_Draft] = []
    for frag in runs:
        out += _region_questions(ctx, learner, item, pair, frag, asked)
    return out


def expression_at(line: str, col: int) -> str:
    """The expression a rule finding points at, for its sentence: the call around column `col`
    (1-based) of `line` (`resnet18(pretrained=True)` for a finding on `pretrained=`), or from
    `col` to where the expression ends; the stripped line when `col` is outside it."""
    i = col - 1
    if not 0 <= i < len(line):
        return line.strip()
    while i < len(line) - 1 and not (line[i].isalnum() or line[i] in "_([{'\""):  # `= f(x)`: at f
        i += 1
    while i > 0 and (line[i - 1].isalnum() or line[i - 1] in "_."):  # the whole name
        i -= 1
    start, depth = i, 0
    for j in range(i - 1, -1, -1):  # the innermost call the column is inside of
        if line[j] == ")":
            depth += 1
        elif line[j] == "(":
            if depth == 0:
                k = j
                while k > 0 and (line[k - 1].isalnum() or line[k - 1] in "_."):
                    k -= 1
                start = k if k < j else start
                break
            depth -= 1
    depth, end = 0, len(line)
    for j in range(start, len(line)):
        c = line[j]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:
                end = j
                break
            if depth == 0 and line[start] not in "([{" and j > start:
                # the call closed: stop unless an attribute or another call follows
                if j + 1 >= len(line) or line[j + 1] not in ".([":
                    end = j + 1
                    break
        elif depth == 0 and c in ",;#=" and j > start:
            end = j
            break
    found = line[start:end].strip()
    return line.strip() if found.isidentifier() else found


def _rule_questions(ctx: _Context, learner: str) -> list[_Draft]:
    """One question per rule code (errors that point at a line first), never two on one line."""
    errors = [f for f in ctx.findings.get(learner, []) if f.severity == "error"]
    errors.sort(key=lambda f: (f.line == 0, f.code, f.path, f.line))
    out: list[_Draft] = []
    seen: set[str | tuple[str, int]] = set()
    for f in errors:
        if len(out) >= ctx.policy.rule_questions:
            break
        if f.code in seen or (f.line and (f.path, f.line) in seen):
            continue
        seen |= {f.code, (f.path, f.line)}
        lines = ctx.lines(learner, f.path)
        line = lines[f.line - 1] if lines and 0 < f.line <= len(lines) else ""
        inline = expression_at(line, f.col) if f.col else line.strip()
        if len(inline) > ctx.policy.call_chars:
            inline = ""
        quote = ctx.quote(learner, f.path, f.line, f.line).strip() if f.line else ""
        out.append(
            _Draft(
                "rule",
                _rule_texts(f, inline),
                file="" if f.path == "." else f.path,
                lines=(f.line, f.line) if f.line else None,
                quote=quote,
            )
        )
    return out


def _notes_questions(ctx: _Context, learner: str, item: Evidence) -> list[_Draft]:
    notes = ctx.report.notes
    if notes is None or not item.file or not item.partner:
        return []
    entry = next((e for e in notes.learners if e.learner == learner), None)
    paragraphs = entry.paragraphs if entry else []
    copied = []
    for p in paragraphs:
        match = p.corpus_match or p.learner_match
        where = f"{match.source.source} {match.source.path}".strip() if match else ""
        if p.status == "copied" and p.path == item.file and (where or "another text") == item.partner:
            copied.append(p)
    kind = "copied"
    if not copied:
        kind = "shared"
        indices = set()
        for s in notes.shared:
            if s.learner_a == learner and s.learner_b == item.partner and s.path_a == item.file:
                indices.add(s.index_a)
            elif s.learner_b == learner and s.learner_a == item.partner and s.path_b == item.file:
                indices.add(s.index_b)
        copied = [p for p in paragraphs if p.path == item.file and p.index in indices]
    if not copied:
        return []
    par: NotesParagraph = min(copied, key=lambda p: (-p.words, p.index))
    first, last = par.span.start_line, par.span.end_line
    loc = (location("en", par.path, first, last), location("zh", par.path, first, last))
    terms = key_terms(par.text, ctx.policy.notes_terms)
    quote = _clip(_one_line(par.text), ctx.policy.quote_chars)
    match = par.corpus_match or par.learner_match
    return [
        _Draft(
            "notes",
            _notes_texts(kind, loc, item.partner, terms),
            file=par.path,
            lines=(first, last),
            quote=quote,
            source=item.partner,
            source_file=match.source.path if match else "",
            source_lines=(match.source.span.start_line, match.source.span.end_line) if match else None,
        )
    ]


def _learner_questions(ctx: _Context, verdict: Verdict, lang: str) -> list[Question]:
    per_item: list[tuple[int, list[_Draft]]] = []
    asked: set[tuple[str, str, int]] = set()
    rules_done = False
    for index, item in enumerate(verdict.evidence):
        drafts: list[_Draft] = []
        if _asks_about_code(item):
            drafts = _code_questions(ctx, verdict.learner, item, asked)
        elif item.kind == "rules" and not rules_done:
            rules_done = True
            drafts = _rule_questions(ctx, verdict.learner)
        elif item.kind == "retrain":
            rt = ctx.report.retrain.get(verdict.learner)
            texts = _retrain_texts(rt) if isinstance(rt, RetrainRun) else None
            drafts = [_Draft("retrain", texts)] if texts else []
        elif item.kind == "notes" and item.level != "none":
            drafts = _notes_questions(ctx, verdict.learner, item)
        if drafts:
            per_item.append((index, drafts))
    chosen: list[tuple[int, int, _Draft]] = []
    depth = 0
    while len(chosen) < ctx.policy.per_learner and any(depth < len(d) for _, d in per_item):
        for index, drafts in per_item:
            if depth < len(drafts) and len(chosen) < ctx.policy.per_learner:
                chosen.append((index, depth, drafts[depth]))
        depth += 1
    chosen.sort(key=lambda c: (c[0], c[1]))
    return [draft.question(lang, index) for index, _, draft in chosen]


# --- the report's questions -----------------------------------------------------------------------


def round_language(report: Report) -> str:
    """The language of the round's notes: "zh" when the learners' own prose is mostly Chinese
    (`checker.core.textnorm.language_of`, which weighs a Chinese character as three Latin
    letters), "en" otherwise and when there are no notes. Handout paragraphs, code, formulas and
    tables are not the learners' prose and are left out."""
    if report.notes is None:
        return "en"
    prose = "\n".join(
        p.text
        for entry in report.notes.learners
        for p in entry.paragraphs
        if p.status not in ("handout", "not_prose")
    )
    return "zh" if language_of(prose) == "zh" else "en"


def add_questions(
    report: Report,
    sources: Mapping[tuple[str, str], CodeText] | None = None,
    lang: str | None = None,
    policy: QuestionPolicy = DEFAULT_QUESTION_POLICY,
    verdict_policy: VerdictPolicy = DEFAULT_POLICY,
    facts: Mapping[str, _Facts | None] | None = None,
) -> None:
    """Fill `questions` on every verdict of `report` and set `report.lang` (`lang`, else
    `round_language`). `sources`: (learner, path) -> the code file as the scan read it, for files
    whose text report.json does not keep (a rule finding's line); without it the questions are
    built from report.json alone (`files[].text` holds every file of a pair). `facts`: text ->
    `code_facts(text)` already computed (the scan computes those of `texts_to_read` in its
    worker processes); any other text is parsed here."""
    report.lang = check_lang(lang) if lang else round_language(report)
    ctx = _Context(report, sources, policy, verdict_policy, facts)
    for verdict in report.verdicts:
        verdict.questions = _learner_questions(ctx, verdict, report.lang)


def texts_to_read(report: Report) -> list[str]:
    """The learner file texts whose `code_facts` the questions of `report` will read: the files of
    matched regions (code, corpus and history evidence that counts), each text once, in order.
    Parsing them is most of the questions' time; the scan hands them to its worker processes."""
    texts = _file_texts(report)
    out: dict[str, None] = {}
    for verdict in report.verdicts:
        for item in verdict.evidence:
            if _asks_about_code(item):
                text = texts.get((verdict.learner, item.file))
                if text is not None:
                    out[text] = None
    return list(out)


def has_questions(report: Report) -> bool:
    return any(v.questions for v in report.verdicts)


def with_questions(report: Report, lang: str | None = None) -> Report:
    """`report` with its questions in `lang` (None: the report's own): switched without
    recomputing when it has questions (`wording.in_language`), else a shallow copy with new
    verdicts holding questions made from report.json alone (a report written before questions
    existed, or a hand-made one). The report handed in is not changed."""
    if has_questions(report):
        return in_language(report, lang)
    verdicts = [replace(v) for v in report.verdicts] or learner_verdicts(
        report.learner_ids(),
        report.learner_pairs,
        report.pairs,
        report.findings,
        report.notes,
        report.retrain,
    )  # a hand-made report without verdicts: computed as the HTML computes them
    report = replace(report, verdicts=verdicts)
    add_questions(report, lang=lang)
    return report


__all__ = [
    "DEFAULT_QUESTION_POLICY",
    "KINDS",
    "LANGS",
    "QuestionPolicy",
    "add_questions",
    "code_facts",
    "has_questions",
    "key_terms",
    "round_language",
    "with_questions",
]
