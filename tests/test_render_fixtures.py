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
    from checker.report.writers import refresh_verdicts
    from checker.pipeline.scan import ScanConfig, scan

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
                       "right_end_line": 125, "tokens": 40}],
        "source": "corpus", "attributed": True, "attribution": "# adapted from d2l.ai",
        "right_meta": {"version": "1.0.3", "licence": "MIT-0",
                       "url": "https://github.com/d2l-ai/d2l-en", "path": "d2l/torch.py"},
    })
    report["findings"] = [
        {"code": "NS201", "severity": "error", "message": "pretrained weights: pretrained=True",
         "path": "model.py", "line": 8, "col": 20, "learner": "ann", "cell": 0,
         "title": "pretrained weights"},
        {"code": "NS301", "severity": "warning", "message": "explicit loop over a tensor",
         "path": "net.py", "line": 3, "col": 4, "learner": "cat", "cell": 0, "title": "explicit loop"},
    ]
    report["notes"] = {
        "learners": {
            "ann": {"own_words_share": 0.35, "risk": "medium",
                    "reasons": ["65% of notes.md comes from d2l-zh without citation"],
                    "passages": [{"file": "notes.md", "start_line": 3, "end_line": 5,
                                  "text": "卷积神经网络是一类强大的神经网络。", "kind": "verbatim",
                                  "source": "d2l-zh", "source_path": "chapter_cnn/why-conv.md",
                                  "source_span": [10, 12], "similarity": 0.97, "cited": False}]},
            "dan": {"own_words_share": 0.92, "risk": "none", "reasons": [], "passages": []},
        },
        "pairs": [{"left": "ann", "right": "cat", "similarity": 0.6,
                   "passages": [{"left_file": "notes.md", "left_start_line": 3, "left_end_line": 5,
                                 "left_text": "Pooling halves the resolution.",
                                 "right_file": "README.md", "right_start_line": 1,
                                 "right_end_line": 1, "right_text": "Pooling halves resolution.",
                                 "kind": "edited", "similarity": 0.9}]}],
    }
    report["retrain"] = {
        "ann": {"status": "not_reproduced", "reason": "reached 0.52, claimed 0.71",
                "claimed": {"test_accuracy": 0.71}, "reached": {"test_accuracy": 0.52},
                "gap": -0.19, "params": 545098, "max_params": 20000000,
                "log_tail": "epoch 10 loss 1.21 acc 0.52\n"},
        "dan": {"status": "over_budget", "reason": "25,000,000 parameters > 20,000,000",
                "claimed": {}, "reached": {}, "gap": None, "params": 25000000,
                "max_params": 20000000, "log_tail": ""},
    }
    report["warnings"].append({"path": "data/big.bin", "reason": "binary file skipped",
                               "learner": "cat", "kind": "skipped"})
    refresh_verdicts(report)
    return report
