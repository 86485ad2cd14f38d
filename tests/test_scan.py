"""Behaviour of `checker scan`'s code matching on tiny hand-made rounds."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from checker.pipeline.scan import ScanConfig, scan

TRAIN = '''
import torch
import torch.nn as nn
from torch.utils.data import DataLoader


class SmallNet(nn.Module):
    """A small convolutional network for CIFAR-10."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(64 * 8 * 8, 256)
        self.fc2 = nn.Linear(256, num_classes)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = x.view(x.size(0), -1)
        x = torch.relu(self.fc1(x))
        return self.fc2(x)


def evaluate(model, loader, device):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            outputs = model(images)
            predicted = outputs.argmax(dim=1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    return correct / total


def train_epochs(model, loader, epochs, lr, device):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    history = []
    for epoch in range(epochs):
        model.train()
        running = 0.0
        for step, (images, labels) in enumerate(loader):
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            running += loss.item()
        history.append(running / (step + 1))
        print(f"epoch {epoch}: loss {history[-1]:.3f}")
    return history
'''

RENAMED = (TRAIN.replace("SmallNet", "MyModel").replace("images", "inputs")
           .replace("labels", "targets").replace("correct", "n_right").replace("history", "losses")
           .replace("running", "acc_loss").replace("conv1", "c1").replace("fc1", "dense1"))

# An independent solution of the same task: another architecture and training loop.
INDEPENDENT = '''
import numpy as np
import torch
from torch import nn


def make_model(width):
    layers = [nn.Flatten(), nn.Linear(3 * 32 * 32, width), nn.ReLU()]
    layers += [nn.Dropout(0.2), nn.Linear(width, 10)]
    return nn.Sequential(*layers)


def run(model, batches, n_epochs=5):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    scores = []
    while len(scores) < n_epochs:
        total = 0.0
        for xb, yb in batches:
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total = total + float(loss)
        scores.append(total)
    return np.array(scores)
'''


def _pairs(report, left, right):
    return [p for p in report["pairs"] if {p["left"], p["right"]} == {left, right}]


def _sim(report, left, right) -> float:
    pairs = _pairs(report, left, right)
    return max((p["similarity"] for p in pairs), default=0.0)


def _scan(root: Path, **kw):
    return scan(ScanConfig(round_dir=root, min_similarity=0.0, jobs=1, **kw))


def test_renamed_identifiers_still_match(round_dir):
    report = _scan(round_dir({"alice/train.py": TRAIN, "bob/train.py": RENAMED}))
    assert _sim(report, "alice", "bob") > 0.95


def test_reordered_functions_still_match(round_dir):
    head, rest = TRAIN.split("def evaluate", 1)
    evaluate, train = rest.split("def train_epochs", 1)
    reordered = head + "def train_epochs" + train + "\n\ndef evaluate" + evaluate
    report = _scan(round_dir({"alice/a.py": TRAIN, "bob/b.py": reordered}))
    assert _sim(report, "alice", "bob") > 0.9


def test_inserted_dead_code_and_comments_still_match(round_dir):
    lines = TRAIN.splitlines()
    noisy = []
    for i, line in enumerate(lines):
        noisy.append(line)
        if line.strip().startswith("x = self.pool") or line.strip().startswith("optimizer.step"):
            indent = line[: len(line) - len(line.lstrip())]
            noisy.append(f"{indent}# keep going, this is my own idea {i}")
            noisy.append(f"{indent}unused_{i} = {i} * 2")
    report = _scan(round_dir({"alice/a.py": TRAIN, "bob/b.py": "\n".join(noisy)}))
    assert _sim(report, "alice", "bob") > 0.8


def test_changed_formatting_still_matches(round_dir):
    reformatted = (TRAIN.replace("nn.Conv2d(3, 32, kernel_size=3, padding=1)",
                                 "nn.Conv2d(\n            3,\n            32,\n            kernel_size=3,\n            padding=1,\n        )")
                   .replace("    ", "  ").replace('"""A small convolutional network for CIFAR-10."""', ""))
    report = _scan(round_dir({"alice/a.py": TRAIN, "bob/b.py": reformatted}))
    assert _sim(report, "alice", "bob") > 0.95


def test_independent_solution_of_the_same_task_scores_low(round_dir):
    report = _scan(round_dir({"alice/a.py": TRAIN, "bob/b.py": INDEPENDENT}))
    assert _sim(report, "alice", "bob") < 0.2


def test_fragments_locate_the_copied_function_on_both_sides(round_dir):
    start = TRAIN.index("def evaluate")
    end = TRAIN.index("def train_epochs")
    copied = INDEPENDENT + "\n\n" + TRAIN[start:end]
    report = _scan(round_dir({"alice/a.py": TRAIN, "bob/b.py": copied}))
    (pair,) = _pairs(report, "alice", "bob")
    alice_lines = TRAIN[:start].count("\n") + 1
    bob_lines = copied[: copied.index("def evaluate")].count("\n") + 1
    frag = max(pair["fragments"], key=lambda f: f["tokens"])
    n = TRAIN[start:end].strip().count("\n")
    # the fragment spans the copied function on both sides (it may start a token or two earlier,
    # where the previous statement ends alike)
    assert frag["left_start_line"] <= alice_lines and frag["left_end_line"] >= alice_lines + n - 1
    assert frag["right_start_line"] <= bob_lines and frag["right_end_line"] >= bob_lines + n - 1
    assert alice_lines - frag["left_start_line"] <= 3
    assert pair["longest_lines"] >= 10


def test_handout_code_is_not_reported_as_copying(tmp_path, round_dir):
    handout = tmp_path / "handout"
    handout.mkdir()
    (handout / "starter.py").write_text(TRAIN)
    root = round_dir({"alice/starter.py": TRAIN + "\nMY_SEED = 1\n",
                      "bob/starter.py": TRAIN + INDEPENDENT})
    without = _scan(root)
    assert _sim(without, "alice", "bob") > 0.5
    report = _scan(root, base_dir=handout)
    assert _sim(report, "alice", "bob") < 0.05


def test_a_learners_own_files_never_match_each_other(round_dir):
    report = _scan(round_dir({"alice/a.py": TRAIN, "alice/copy_of_a.py": TRAIN,
                              "bob/b.py": INDEPENDENT}))
    assert not [p for p in report["pairs"] if p["left"] == p["right"]]


def test_unparsable_file_is_still_compared_and_the_fallback_recorded(round_dir):
    broken = TRAIN.replace("def evaluate(model, loader, device):", "def evaluate(model, loader, device)")
    broken += "\nprint 'python 2 style'\n"
    report = _scan(round_dir({"alice/a.py": TRAIN, "bob/b.py": broken}))
    assert _sim(report, "alice", "bob") > 0.9
    fallback = [w for w in report["warnings"] if w["kind"] == "fallback"]
    assert fallback and fallback[0]["learner"] == "bob" and "libCST" in fallback[0]["reason"]
    assert [f for f in report["files"] if f["owner"] == "bob"][0]["parser"] == "lexical"


def test_gbk_encoded_file_is_decoded_and_matched(round_dir):
    chinese = "# 训练一个小型卷积网络\n" + TRAIN.replace('"""A small convolutional network for CIFAR-10."""',
                                                   '"""一个用于 CIFAR-10 的小型卷积网络"""')
    report = _scan(round_dir({"alice/a.py": chinese, "bob/b.py": chinese.encode("gbk")}))
    assert _sim(report, "alice", "bob") > 0.95
    bob = [f for f in report["files"] if f["owner"] == "bob"][0]
    assert bob["encoding"] == "gb18030"


def test_notebook_code_cells_are_compared_with_magics_tolerated(round_dir):
    cells = [{"cell_type": "markdown", "source": ["# My notes\n", "I trained a CNN."]},
             {"cell_type": "code", "source": ["%matplotlib inline\n", "!pip install torch\n"]},
             {"cell_type": "code", "source": TRAIN.splitlines(keepends=True)}]
    nb = json.dumps({"cells": cells, "nbformat": 4, "nbformat_minor": 5, "metadata": {}})
    report = _scan(round_dir({"alice/a.py": TRAIN, "bob/work.ipynb": nb}))
    assert _sim(report, "alice", "bob") > 0.95
    bob = [f for f in report["files"] if f["owner"] == "bob"][0]
    assert bob["parser"] == "libcst" and len(bob["cell_lines"]) == 2


def test_binary_empty_and_broken_files_are_skipped_with_warnings(round_dir):
    report = _scan(round_dir({
        "alice/a.py": TRAIN, "bob/b.py": RENAMED, "bob/empty.py": "",
        "bob/blob.py": b"\x00\x01\x02binary", "bob/broken.ipynb": "{not json",
    }))
    reasons = {w["path"]: w["reason"] for w in report["warnings"]}
    assert "empty" in reasons["empty.py"]
    assert "binary" in reasons["blob.py"]
    assert "notebook" in reasons["broken.ipynb"]
    assert _sim(report, "alice", "bob") > 0.9


def test_zip_per_learner_is_read_like_a_folder(tmp_path, round_dir):
    root = round_dir({"alice/train.py": TRAIN})
    with zipfile.ZipFile(root / "bob.zip", "w") as zf:
        zf.writestr("bob/train.py", RENAMED)
        zf.writestr("../evil.py", "print('escape')")
    report = _scan(root)
    assert _sim(report, "alice", "bob") > 0.95
    assert any("unsafe" in w["reason"] for w in report["warnings"])
    assert not (tmp_path / "evil.py").exists()


def test_manifest_maps_files_to_learners(round_dir):
    root = round_dir({"files/one.py": TRAIN, "files/two.py": RENAMED, "files/three.py": INDEPENDENT})
    (root / "manifest.csv").write_text("learner,path\nann,files/one.py\nben,files/two.py\n"
                                       "cat,files/three.py\n")
    report = _scan(root)
    assert {lr["id"] for lr in report["learners"]} == {"ann", "ben", "cat"}
    assert _sim(report, "ann", "ben") > 0.95


def test_code_shared_by_most_of_a_large_round_is_discounted(round_dir):
    files = {f"l{i:02d}/main.py": INDEPENDENT.replace("width", f"w{i}") + f"\nSEED = {i}\n"
             for i in range(12)}
    files["l00/extra.py"] = TRAIN
    files["l01/extra.py"] = RENAMED
    report = _scan(round_dir(files))
    assert _sim(report, "l02", "l03") < 0.05  # the shared loop is common knowledge here
    assert _sim(report, "l00", "l01") > 0.5  # the rare shared code still stands out


def test_parallel_alignment_reports_the_same_pairs_as_serial(round_dir, monkeypatch):
    import checker.pipeline.scan as scan_module

    files = {f"l{i}/a.py": TRAIN.replace("SmallNet", f"Net{i}") + f"\nX = {i}\n" for i in range(5)}
    files["m/b.py"] = INDEPENDENT
    root = round_dir(files)
    serial = scan(ScanConfig(round_dir=root, min_similarity=0.0, jobs=1))
    monkeypatch.setattr(scan_module, "_PARALLEL_ALIGN_MIN_PAIRS", 0)
    parallel = scan(ScanConfig(round_dir=root, min_similarity=0.0, jobs=2))
    assert len(serial["pairs"]) == 10
    assert serial["pairs"] == parallel["pairs"]


def test_a_copied_long_string_counts_but_short_strings_do_not_tell_copies_apart(round_dir):
    from checker.code.tokens import normalise

    tokens = normalise('PROMPT = "You are a helpful assistant that answers in Chinese."\n'
                       'act = "relu"\n').tokens
    assert tokens[2].startswith("STR:You are a helpful") and tokens[6] == "STR"
    renamed = normalise('msg = f"epoch {epoch_idx}: loss {loss_value:.3f} and accuracy"\n').tokens
    original = normalise('text = f"epoch {e}: loss {l:.3f} and accuracy"\n').tokens
    assert renamed == original


def test_code_shared_by_more_than_the_learner_cap_is_common_even_below_half(round_dir):
    # 64 of 130 learners (49%, under FREQUENT_SHARE) share the same training loop
    files = {f"l{i:03d}/main.py": (INDEPENDENT.replace("width", f"w{i}") if i < 64 else
                                   f"def f{i}(a):\n    return a * {i}\n")
             for i in range(130)}
    files["l000/extra.py"] = TRAIN
    files["l001/extra.py"] = RENAMED
    root = round_dir(files)
    capped = _scan(root)  # 64 learners > FREQUENT_MAX_LEARNERS (60): common code
    assert _sim(capped, "l002", "l003") < 0.05
    assert _sim(capped, "l000", "l001") > 0.5  # what two of them share beyond it still stands out
    uncapped = _scan(root, frequent_max_learners=100)  # 64 of 130 is under half: evidence again
    assert _sim(uncapped, "l002", "l003") > 0.5


def test_a_rules_crash_on_one_learner_is_reported_and_the_round_goes_on(round_dir, monkeypatch,
                                                                        tmp_path):
    import checker.rules.check as rules

    original = rules.check_submission

    def crash_on_l1(task, files, root=None, learner=None, **kw):
        if learner == "l1":
            raise RecursionError("maximum recursion depth exceeded")
        return original(task, files, root=root, learner=learner, **kw)

    monkeypatch.setattr(rules, "check_submission", crash_on_l1)
    task = tmp_path / "task.toml"
    task.write_text('[task]\nname = "t"\n[rules]\nforbid_imports = ["torchvision.models"]\n')
    root = round_dir({"l1/a.py": TRAIN, "l2/b.py": TRAIN + "\nimport torchvision.models\n"})
    report = _scan(root, task_path=task)
    by_learner = {f["learner"]: f for f in report["findings"] if f["code"] in ("NS000", "NS101")}
    assert "RecursionError" in by_learner["l1"]["message"]
    assert by_learner["l2"]["code"] == "NS101"  # the other learner was still checked
    assert _sim(report, "l1", "l2") > 0.9


def test_report_json_reads_back_as_the_report_and_keeps_non_ascii_text(round_dir, tmp_path):
    from checker.report.writers import load_report, write_report

    report = _scan(round_dir({"学员甲/训练.py": TRAIN, "l2/b.py": RENAMED}))
    write_report(report, tmp_path)
    raw = (tmp_path / "report.json").read_text(encoding="utf-8")
    assert "学员甲" in raw  # UTF-8, not \\u escapes
    assert load_report(tmp_path).to_dict() == json.loads(json.dumps(report))


def test_rules_checked_in_worker_processes_give_the_serial_findings(round_dir, monkeypatch,
                                                                    tmp_path):
    import checker.pipeline.scan as scan_module

    model = ("import torch.nn as nn\nclass Net(nn.Module):\n    def __init__(self, n):\n"
             "        super().__init__()\n        self.blocks = nn.ModuleList()\n"
             "        for i in range(3):\n            self.blocks.append(nn.Linear(n, n))\n"
             "        self.head = nn.Linear(n, 10)\nmodel = Net({n})\n")
    files = {f"l{i}/net.py": model.format(n=16 + i) for i in range(6)}
    files["l9/zoo.py"] = "import torchvision.models\nm = torchvision.models.resnet18()\n"
    task = tmp_path / "task.toml"
    task.write_text('[task]\nname = "t"\n[rules]\nmax_params = 1000\nforbid_model_zoo = true\n')
    root = round_dir(files)
    serial = _scan(root, task_path=task)["findings"]
    monkeypatch.setattr(scan_module, "_PARALLEL_RULES_MIN_LEARNERS", 0)
    parallel = scan(ScanConfig(round_dir=root, min_similarity=0.0, jobs=2,
                               task_path=task))["findings"]
    assert parallel == serial
    over = {f["learner"] for f in serial if f["code"] == "NS501"}
    assert over == {"l1", "l2", "l3", "l4", "l5"}  # l0: 3 x 272 + 170 = 986 <= 1000


def test_a_learners_notes_are_read_from_disk_once_for_every_stage(round_dir, tmp_path, monkeypatch):
    from checker.ingest import notes as ingest_notes

    notebook = json.dumps({"cells": [{"cell_type": "markdown", "source": "# 实验\n\n训练了十轮，准确率还可以。"},
                                     {"cell_type": "code", "source": "x = 1"}]})
    root = round_dir({"ann/train.py": TRAIN, "ann/README.md": "# Lab\n\n代码是让 ChatGPT 帮我写的。\n",
                      "ann/lab.ipynb": notebook, "bob/train.py": TRAIN})
    task = tmp_path / "task.toml"
    task.write_text("[rules]\nrequire_attribution = true\n", encoding="utf-8")
    reads = []
    real = ingest_notes.read_notes_with_text
    monkeypatch.setattr(ingest_notes, "read_notes_with_text",
                        lambda path, *a, **k: reads.append(Path(path).name) or real(path, *a, **k))
    report = scan(ScanConfig(root, task_path=task, jobs=1))
    assert reads == ["README.md"]  # the notebook's markdown was read with its code
    assert {(f["code"], f["path"]) for f in report["findings"]} == {("NS802", "README.md")}
    assert {lr["learner"] for lr in report["notes"]["learners"]} >= {"ann"}


HANDOUT_README = """# 小猫快跑

某天傍晚，实验室的小猫溜进了机房，把键盘当成了暖炉，趴在上面睡着了。

你的任务是写一个程序，帮管理员把小猫从键盘上请下来，并且不能吵醒它。

每一回合你可以选择轻拍、喂食或者等待三种行动之一，小猫的耐心值会随之变化。

当耐心值降到零以下时，小猫会跳下键盘，任务完成。
"""


def test_handout_notes_in_base_are_not_shared_evidence_and_task_notes_norms_apply(round_dir, tmp_path):
    root = round_dir({
        "alice/README.md": HANDOUT_README, "alice/train.py": TRAIN,
        "alice/notes.md": "# 笔记\n\n我把学习率从零点一降到零点零一，损失曲线平滑了很多，但是收敛慢了一倍。\n",
        "bob/README.md": HANDOUT_README.replace("某天傍晚", "某天晚上"), "bob/net.py": RENAMED,
    })
    base = tmp_path / "base"
    (base / "cat").mkdir(parents=True)
    (base / "cat" / "README.md").write_text(HANDOUT_README, encoding="utf-8")
    task = tmp_path / "task.toml"
    task.write_text("[rules]\n\n[notes]\nmin_words = 100\n", encoding="utf-8")
    report = _scan(root, base_dir=base, task_path=task)
    notes = report["notes"]
    assert notes["shared"] == [] and notes["handout_documents"] == ["cat/README.md"]
    by_learner = {entry["learner"]: entry for entry in notes["learners"]}
    for learner in ("alice", "bob"):
        assert by_learner[learner]["handout_files"] == ["README.md"]
        assert {p["status"] for p in by_learner[learner]["paragraphs"]
                if p["path"] == "README.md"} == {"handout"}
    [finding] = by_learner["alice"]["findings"]
    assert finding["kind"] == "too_short" and finding["norm_from_task"] and finding["limit"] == 100
    assert by_learner["bob"]["findings"][0]["kind"] == "empty"
    assert notes["norms"]["min_words_from_task"] is True
