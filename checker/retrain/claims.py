"""What a learner claims: the metric they reached and the size of their model.

Read, in this order, from a results file in the submission (`claims.json`, same shape as the
metrics a run writes: `{"accuracy": 0.663, "params": 18200000}`; strings such as "66.3%" and
"18.2M" are accepted) and from sentences in the README and notes ("test accuracy 66.3% with
18.2M parameters", "测试集准确率为 66.3%，参数量 18.2M", torchsummary's "Total params: 1,251").

Only text is read, never executed, and files are opened without following symlinks: a
submission's README that links to a host file must not put that file into a report. The notes
are those the scan reads (`checker.ingest.notes`): handed in, or read through the same ingest.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from checker import defaults
from checker.sandbox.scratch import read_sandbox_file

UNITS = ("raw", "fraction", "percent")
CLAIMS_NOTES_SUFFIXES = (".md", ".markdown", ".txt")  # notes whose sentences may claim a figure

# Words learners use for common metrics, in English and Chinese. The metric's own name (and
# its spelling with spaces for underscores) is always included.
METRIC_WORDS: dict[str, tuple[str, ...]] = {
    "accuracy": ("accuracy", "acc", "top-1 accuracy", "top1", "准确率", "正确率", "精度", "精确度"),
    "f1": ("f1", "f1-score", "f1 score", "f1分数"),
    "loss": ("loss", "损失"),
    "auc": ("auc", "roc auc", "roc-auc"),
}
PARAM_WORDS = ("params", "parameters", "parameter count", "trainable params", "total params",
               "参数量", "参数数量", "参数个数", "参数总量", "参数")
PARAM_KEYS = ("params", "parameters", "num_params", "n_params", "param_count")
# Words that make a sentence about the test set (preferred) or about another split (last).
_TEST_WORDS = re.compile(r"test|测试", re.I)
_OTHER_SPLIT_WORDS = re.compile(r"train|valid|验证|训练", re.I)
_NOT_A_COUNT = re.compile(r"non-?trainable|不可训练", re.I)

_NUMBER = r"(\d+(?:[.,]\d+)*)"
_PERCENT = r"\s*(%|％|percent)?"
# A number followed by one of these counts something else ("after 10 epochs").
_NOT_A_SCORE = r"(?![.,]?\d)(?!\s*(?:epochs?|轮|次|个|层|layers?|steps?|iterations?|batch|samples?|images?|张|秒|s\b|min|分钟|M\b|k\b|K\b))"
_SCALE = {"k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "million": 1e6, "b": 1e9, "B": 1e9,
          "billion": 1e9, "万": 1e4, "亿": 1e8}


@dataclass(frozen=True)
class ClaimedFigure:
    """One claimed number and where it was read, for the report (`README.md:12`)."""

    value: float
    source: str
    quote: str


@dataclass(frozen=True)
class Claims:
    metric: ClaimedFigure | None = None
    params: ClaimedFigure | None = None
    warnings: tuple[str, ...] = ()


def normalise(value: float, written_as_percent: bool, unit: str) -> float:
    """Bring a figure to the task's unit.

    fraction: "66.3%" and a bare 66.3 (> 1, so it cannot be a fraction) become 0.663.
    percent: a bare 0.663 (<= 1, no % sign) becomes 66.3. raw: unchanged.
    """
    if unit == "fraction" and (written_as_percent or 1.0 < value <= 100.0):
        return round(value / 100.0, 12)  # 66.3 / 100 is 0.6629999999999999 otherwise
    if unit == "percent" and not written_as_percent and 0.0 <= value <= 1.0:
        return round(value * 100.0, 12)
    return value


def parse_figure(text: str, unit: str = "raw") -> float | None:
    """A metric written as text ("66.3%", "0.663", " 66,3 % ") in the task's unit; None if it
    is not one number."""
    match = re.fullmatch(r"\s*" + _NUMBER + _PERCENT + r"\s*", str(text))
    if not match:
        return None
    value = _to_float(match.group(1))
    return None if value is None else normalise(value, bool(match.group(2)), unit)


def parse_param_count(text: str | float | int) -> int | None:
    """A parameter count: 1251, "1,251", "18.2M", "1.2 million", "120万", "0.5B"."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return int(round(text)) if math.isfinite(text) and text >= 0 else None
    match = re.fullmatch(r"\s*(\d[\d,]*(?:\.\d+)?)\s*(k|K|m|M|million|b|B|billion|万|亿)?\s*", text)
    if not match:
        return None
    number = float(match.group(1).replace(",", ""))
    return int(round(number * _SCALE.get(match.group(2) or "", 1.0)))


def read_claims(
    submission: Path,
    metric: str,
    *,
    unit: str = "raw",
    claims_file: str = defaults.RETRAIN_CLAIMS_FILE,
    patterns: Sequence[str] = (),
    notes: Mapping[str, str] | None = None,
) -> Claims:
    """The learner's claimed metric and parameter count, each with its source.

    `patterns` are extra regular expressions (from the task) whose first group is the claimed
    metric; they are tried before the built-in ones on every notes file. `notes`: the learner's
    notes as ingest read them (path -> text, `checker.ingest.notes.notes_lines`); when not
    given they are read from `submission` through the same ingest.
    """
    submission = Path(submission)
    warnings: list[str] = []
    metric_claim = params_claim = None

    raw = read_sandbox_file(submission / claims_file)
    if raw is not None:
        metric_claim, params_claim = _from_results_file(raw, claims_file, metric, unit, warnings)

    if metric_claim is None or params_claim is None:
        task_regexes = [re.compile(p, re.I) for p in patterns]
        metric_found: list[tuple[int, int, ClaimedFigure]] = []
        params_found: list[tuple[int, int, ClaimedFigure]] = []
        texts = notes if notes is not None else notes_of_folder(submission)
        for order, rel in enumerate(_claims_notes(texts, claims_file)):
            text = texts[rel]
            if metric_claim is None:
                # The task's own patterns outrank the built-in ones wherever they match.
                metric_found += [(rank - 10, order, fig) for rank, fig in _find_metric(text, rel, task_regexes, unit)]
                metric_found += [(rank, order, fig) for rank, fig in _find_metric(text, rel, _metric_regexes(metric), unit)]
            if params_claim is None:
                params_found += [(rank, order, fig) for rank, fig in _find_params(text, rel)]
        if metric_claim is None and metric_found:
            metric_claim = min(metric_found, key=lambda item: (item[0], item[1]))[2]
        if params_claim is None and params_found:
            params_claim = min(params_found, key=lambda item: (item[0], item[1]))[2]
    return Claims(metric=metric_claim, params=params_claim, warnings=tuple(warnings))


def last_printed(lines: Sequence[str], metric: str, *, unit: str = "raw",
                 patterns: Sequence[str] = ()) -> tuple[int, ClaimedFigure] | None:
    """The metric as a training log prints it last: of the `lines` that name it with a figure,
    the last one about the test set, else the last about no named split, else the last about
    training or validation; (its index in `lines`, the figure in the task's unit). Within a line
    the last figure is taken ("train acc 0.95, test acc 0.93"). `patterns`: the task's own
    regular expressions, whose first group is the metric, tried first."""
    task_regexes = [re.compile(p, re.I) for p in patterns]
    builtin = _metric_regexes(metric)
    best: tuple[int, int, ClaimedFigure] | None = None  # (rank, index, figure)
    for index, line in enumerate(lines):
        found = ([fig for _, fig in _find_metric(line, "", task_regexes, unit)]
                 or [fig for _, fig in _find_metric(line, "", builtin, unit)])
        if not found:
            continue
        rank = _rank(line)
        if best is None or rank <= best[0]:
            best = (rank, index, found[-1])
    return None if best is None else (best[1], best[2])


def _from_results_file(raw: bytes, name: str, metric: str, unit: str, warnings: list[str]):
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        warnings.append(f"{name} is not valid JSON ({exc}); claims were looked for in the notes")
        return None, None
    if not isinstance(data, dict):
        warnings.append(f"{name} is not a JSON object like {{\"{metric}\": 0.9}}; ignored")
        return None, None
    metric_claim = params_claim = None
    if metric in data:
        value = data[metric]
        figure = _number_or_figure(value, unit)
        if figure is None:
            warnings.append(f"{name}: {metric} = {value!r} is not a number; ignored")
        else:
            metric_claim = ClaimedFigure(figure, name, f"{json.dumps(metric)}: {json.dumps(value)}")
    for key in PARAM_KEYS:
        if key in data:
            count = parse_param_count(data[key]) if isinstance(data[key], (str, int, float)) else None
            if count is None:
                warnings.append(f"{name}: {key} = {data[key]!r} is not a parameter count; ignored")
            else:
                params_claim = ClaimedFigure(float(count), name, f"{json.dumps(key)}: {json.dumps(data[key])}")
            break
    return metric_claim, params_claim


def _number_or_figure(value: object, unit: str) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return normalise(float(value), False, unit) if math.isfinite(value) else None
    if isinstance(value, str):
        return parse_figure(value, unit)
    return None


def _to_float(text: str) -> float | None:
    # "66,3" is a decimal comma; "1,251" is a thousands separator: tell them apart by the
    # digits after the last comma.
    if "," in text and "." not in text:
        head, _, tail = text.rpartition(",")
        text = text.replace(",", "") if len(tail) == 3 else head.replace(",", "") + "." + tail
    else:
        text = text.replace(",", "")
    try:
        return float(text)
    except ValueError:
        return None


def _word_pattern(word: str) -> str:
    escaped = re.escape(word).replace(r"\ ", r"[\s_-]*")
    if re.search(r"[A-Za-z]", word):  # not inside another word ("acc" in "accelerate")
        return r"(?<![A-Za-z])" + escaped + r"(?![A-Za-z])"
    return escaped


def _metric_regexes(metric: str) -> list[re.Pattern]:
    words = {metric, metric.replace("_", " ")} | set(METRIC_WORDS.get(metric.lower(), ()))
    alternatives = "|".join(_word_pattern(w) for w in sorted(words, key=len, reverse=True))
    return [
        # "test accuracy: 66.3%", "准确率为 66.3%", "| Test Acc | 0.663 |"
        re.compile(r"(?:" + alternatives + r")[^\n\d]{0,30}?" + _NUMBER + _NOT_A_SCORE + _PERCENT, re.I),
        # "66.3% accuracy", "达到了 66.3% 的准确率" (a % sign required in this order)
        re.compile(_NUMBER + r"\s*(%|％|percent)\s*(?:的|of)?\s*(?:test\s+|测试集?)?(?:" + alternatives + r")", re.I),
    ]


def _find_metric(text: str, rel: str, regexes: list[re.Pattern], unit: str):
    for line_no, line in enumerate(text.splitlines(), 1):
        for regex in regexes:
            for match in regex.finditer(line):
                value = _to_float(match.group(1))
                percent = bool(match.lastindex and match.lastindex >= 2 and match.group(2))
                if value is None:
                    continue
                figure = normalise(value, percent, unit)
                if unit == "fraction" and not 0.0 <= figure <= 1.0:
                    continue  # "accuracy 250" is not an accuracy
                yield _rank(line), ClaimedFigure(figure, f"{rel}:{line_no}", line.strip()[:200])


def _find_params(text: str, rel: str):
    words = "|".join(_word_pattern(w) for w in sorted(PARAM_WORDS, key=len, reverse=True))
    count = r"(\d[\d,]*(?:\.\d+)?)\s*(k|K|m|M|million|b|B|billion|万|亿)?(?![A-Za-z])"
    regexes = (
        re.compile(r"(?:" + words + r")[^\n\d]{0,20}?" + count, re.I),  # "参数量：18.2M"
        re.compile(count + r"\s*(?:trainable\s+)?(?:" + words + r")", re.I),  # "18.2M parameters"
    )
    for line_no, line in enumerate(text.splitlines(), 1):
        if _NOT_A_COUNT.search(line):
            continue
        for regex in regexes:
            for match in regex.finditer(line):
                value = parse_param_count(match.group(1) + (match.group(2) or ""))
                if value:
                    yield _rank(line), ClaimedFigure(float(value), f"{rel}:{line_no}", line.strip()[:200])


def _rank(line: str) -> int:
    if _TEST_WORDS.search(line):
        return 0
    if _OTHER_SPLIT_WORDS.search(line):
        return 2
    return 1


def notes_of_folder(submission: Path) -> dict[str, str]:
    """The notes of a learner folder as text (path -> text), read by the shared ingest
    (`checker.ingest.notes`: links never followed, tool folders skipped, the same decoding and
    limits as the scan)."""
    from checker.ingest.notes import notes_lines
    from checker.ingest.round import load_folder

    return notes_lines(load_folder(Path(submission), Path(submission).name))


def _claims_notes(texts: Mapping[str, str], claims_file: str) -> list[str]:
    """The notes claims are read from: Markdown and text, README first, then the others by depth
    and name."""
    found = [rel for rel in texts
             if rel.lower().endswith(CLAIMS_NOTES_SUFFIXES) and PurePosixPath(rel).name != claims_file]

    def order(rel: str) -> tuple:
        parts = PurePosixPath(rel).parts
        return (not parts[-1].lower().startswith("readme"), len(parts), rel)

    return sorted(found, key=order)
