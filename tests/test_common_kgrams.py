"""Code everyone writes, known without a corpus: the shipped common k-gram list
(`checker corpus export-common`, `checker.code.common`, the scan's ignore set)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from checker import defaults
from checker.cli.main import cli
from checker.code.common import (
    FORMAT,
    PROBE,
    load_common_kgrams,
    probe_digest,
    read_common_file,
)
from checker.code.fingerprints import FingerprintParams, fingerprint_text
from checker.corpus.index import CorpusIndex
from checker.pipeline.scan import ScanConfig, scan

# Two independent MNIST scripts, written apart: other model, names, structure (a script against
# functions), optimiser, batch size and plots; the same idioms (device, MNIST loading, the
# zero_grad / forward / loss / backward / step loop, torch.max accuracy, a loss plot).
ALICE = '''import torch
import torch.nn as nn
import torch.optim as optim
import torchvision
import torchvision.transforms as transforms
import matplotlib.pyplot as plt

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
train_set = torchvision.datasets.MNIST(root="./data", train=True, download=True, transform=transform)
test_set = torchvision.datasets.MNIST(root="./data", train=False, download=True, transform=transform)
train_loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True)
test_loader = torch.utils.data.DataLoader(test_set, batch_size=1000, shuffle=False)


class MLP(nn.Module):
    def __init__(self):
        super(MLP, self).__init__()
        self.fc1 = nn.Linear(28 * 28, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = x.view(-1, 28 * 28)
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


model = MLP().to(device)
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=0.001)

losses = []
for epoch in range(10):
    model.train()
    running_loss = 0.0
    for images, labels in train_loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        outputs = model(images)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    losses.append(running_loss / len(train_loader))
    print(f"Epoch {epoch + 1}, loss {losses[-1]:.4f}")

model.eval()
correct = 0
total = 0
with torch.no_grad():
    for images, labels in test_loader:
        images, labels = images.to(device), labels.to(device)
        outputs = model(images)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
print(f"Accuracy: {100 * correct / total:.2f}%")

plt.plot(losses)
plt.xlabel("epoch")
plt.ylabel("loss")
plt.title("Training loss")
plt.savefig("loss.png")
plt.show()
'''

BOB = '''"""Handwritten digits with a small fully connected network."""
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms
import matplotlib.pyplot as plt

BATCH = 128
EPOCHS = 5


def get_loaders():
    tf = transforms.Compose([transforms.ToTensor()])
    train_data = datasets.MNIST(root="data", train=True, download=True, transform=tf)
    val_data = datasets.MNIST(root="data", train=False, download=True, transform=tf)
    return DataLoader(train_data, batch_size=BATCH, shuffle=True), DataLoader(val_data, batch_size=BATCH)


class DigitNet(nn.Module):
    def __init__(self, hidden=512, dropout=0.2):
        super().__init__()
        self.flatten = nn.Flatten()
        self.layers = nn.Sequential(
            nn.Linear(784, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden // 2),
            nn.ReLU(),
            nn.Linear(hidden // 2, 10),
        )

    def forward(self, x):
        return self.layers(self.flatten(x))


def train_one_epoch(net, loader, optimizer, loss_fn, dev):
    net.train()
    total = 0.0
    for x, y in loader:
        x, y = x.to(dev), y.to(dev)
        optimizer.zero_grad()
        outputs = net(x)
        loss = loss_fn(outputs, y)
        loss.backward()
        optimizer.step()
        total += loss.item() * x.size(0)
    return total / len(loader.dataset)


def evaluate(net, loader, dev):
    net.eval()
    hits, seen = 0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(dev), y.to(dev)
            outputs = net(x)
            _, predicted = torch.max(outputs.data, 1)
            seen += y.size(0)
            hits += (predicted == y).sum().item()
    return hits / seen


def main():
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    train_loader, val_loader = get_loaders()
    net = DigitNet().to(dev)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    history = {"loss": [], "acc": []}
    for epoch in range(EPOCHS):
        history["loss"].append(train_one_epoch(net, train_loader, optimizer, loss_fn, dev))
        history["acc"].append(evaluate(net, val_loader, dev))
        print("epoch", epoch, history["loss"][-1], history["acc"][-1])
    plt.figure(figsize=(8, 4))
    plt.plot(history["loss"], label="loss")
    plt.plot(history["acc"], label="accuracy")
    plt.xlabel("epoch")
    plt.legend()
    plt.savefig("curves.png")
    plt.show()


if __name__ == "__main__":
    main()
'''

# A model class two learners share verbatim: model-specific code, which stays evidence.
CNN = '''import torch
from torch import nn


class TinyResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU())
        self.block1 = nn.Sequential(nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                                    nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32))
        self.down = nn.Sequential(nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU())
        self.block2 = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                                    nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(x + self.block1(x))
        x = self.down(x)
        x = torch.relu(x + self.block2(x))
        return self.head(torch.flatten(self.pool(x), 1))
'''


def _pair(report: dict, a: str, b: str) -> dict | None:
    for p in report["learner_pairs"]:
        if {p["left"], p["right"]} == {a, b}:
            return p
    return None


def _fragments(report: dict) -> int:
    return sum(len(p["fragments"]) for p in report["pairs"])


def _scan(root: Path, **kw) -> dict:
    return scan(ScanConfig(round_dir=root, notes=False, jobs=1, **kw))


def test_the_shipped_list_loads_for_the_default_parameters_and_is_small():
    path = defaults.COMMON_KGRAMS_FILE
    assert path.is_file(), "checker/data/common_kgrams.npz is missing: `checker corpus export-common`"
    assert path.stat().st_size < 2_000_000
    common = load_common_kgrams(FingerprintParams())
    assert common.usable, common.reason  # also: the normaliser still tokenises the probe alike
    hashes = common.hashes
    assert hashes.dtype == np.uint64 and hashes.size > 1000
    assert np.all(hashes[1:] > hashes[:-1])  # sorted, unique
    header = common.header
    assert header["format"] == FORMAT and header["min_projects"] == defaults.COMMON_KGRAMS_MIN_PROJECTS
    assert header["hashes"] == hashes.size and header["projects"] >= header["min_projects"]
    assert {"k", "window", "seed", "long_string_chars"} <= set(header["params"])
    assert any(s["source"].startswith("pypi:d2l") for s in header["sources"])
    assert header["manifest"]["sha256"] and "export-common" in header["command"]


def test_the_package_ships_the_list():
    """pyproject's package-data for `checker` includes data/*: the wheel carries the list."""
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    data = pyproject["tool"]["setuptools"]["package-data"]["checker"]
    assert "data/*" in data and defaults.COMMON_KGRAMS_FILE.parent.name == "data"


def test_a_list_built_with_another_k_loads_empty_with_a_reason_naming_the_command():
    common = load_common_kgrams(FingerprintParams(k=12))
    assert common.hashes.size == 0 and not common.usable
    assert "built for k=10" in common.reason and "this scan uses k=12" in common.reason
    assert "checker corpus export-common" in common.reason
    # the window and the MinHash size do not change k-gram hashes: the list still fits
    assert load_common_kgrams(FingerprintParams(window=5, num_perm=64)).usable


def test_a_missing_or_foreign_file_loads_empty_with_a_reason(tmp_path):
    missing = load_common_kgrams(FingerprintParams(), tmp_path / "none.npz")
    assert missing.hashes.size == 0 and "no common-code list" in missing.reason
    foreign = tmp_path / "foreign.npz"
    np.savez_compressed(foreign, values=np.arange(3))
    assert "cannot be read" in load_common_kgrams(FingerprintParams(), foreign).reason


def test_a_list_from_another_normaliser_is_refused(tmp_path):
    hashes, header = read_common_file(defaults.COMMON_KGRAMS_FILE)
    header["probe"]["digest"] = "0" * 64  # as if the tokeniser had changed since the export
    stale = tmp_path / "stale.npz"
    np.savez_compressed(stale, hashes=hashes,
                        header=np.frombuffer(json.dumps(header).encode(), dtype=np.uint8))
    common = load_common_kgrams(FingerprintParams(), stale)
    assert common.hashes.size == 0 and "normaliser" in common.reason


def _index_with_a_shared_snippet(tmp_path: Path) -> Path:
    """Three folder sources (three projects) share one helper; each has code of its own."""
    shared = '''def accuracy(logits, labels):
    predicted = logits.argmax(dim=1)
    return (predicted == labels).float().mean().item()
'''
    index = tmp_path / "index"
    specs = []
    for i, own in enumerate(["def a(x):\n    return [v * 2 for v in x if v > 3]\n",
                             "class B:\n    def go(self, n):\n        return sum(range(n)) ** 2\n",
                             "import os\nprint(os.listdir('.'), sorted({1, 2, 3}))\n"]):
        folder = tmp_path / f"project{i}"
        folder.mkdir()
        (folder / "m.py").write_text(own + "\n\n" + shared)
        specs.append(f"dir:{folder}")
    result = CliRunner().invoke(cli, ["corpus", "add", *specs, "--index", str(index), "-q", "--no-notes"])
    assert result.exit_code == 0, result.output
    return index


def test_export_round_trips_through_the_cli_and_the_loader(tmp_path):
    index = _index_with_a_shared_snippet(tmp_path)
    out = tmp_path / "common.npz"
    result = CliRunner().invoke(cli, ["corpus", "export-common", "--index", str(index),
                                      "--min-projects", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "k-grams of >= 3 projects" in result.output
    with CorpusIndex.open(index) as ix:
        expected = ix.common_kgrams(min_projects=3)
    common = load_common_kgrams(FingerprintParams(), out)
    assert common.usable, common.reason
    assert np.array_equal(common.hashes, expected) and expected.size > 0
    assert common.header["min_projects"] == 3 and common.header["projects"] == 3
    assert common.header["counts_at_least"]["3"] == expected.size
    assert common.header["probe"]["digest"] == probe_digest(PROBE, FingerprintParams())
    # the helper all three share is common, what one project has alone is not
    helper = fingerprint_text("def accuracy(logits, labels):\n    predicted = logits.argmax(dim=1)\n"
                              "    return (predicted == labels).float().mean().item()\n",
                              FingerprintParams()).kgrams
    assert np.isin(helper, common.hashes).mean() > 0.5
    own = fingerprint_text("def a(x):\n    return [v * 2 for v in x if v > 3]\n", FingerprintParams()).kgrams
    assert not np.isin(own, common.hashes).any()


def test_two_independent_mnist_scripts_share_only_idioms_that_weigh_nothing(round_dir):
    root = round_dir({"alice/train.py": ALICE, "bob/mnist_mlp.py": BOB})
    without = _scan(root, common=False)
    with_list = _scan(root)
    before, after = _pair(without, "alice", "bob"), _pair(with_list, "alice", "bob")
    assert before is not None
    assert with_list["stats"]["common_kgrams_shipped"] > 100  # the round's k-grams it removed
    assert with_list["stats"]["common_kgrams_list"] == load_common_kgrams(FingerprintParams()).hashes.size
    assert without["stats"]["common_kgrams_shipped"] == 0 and without["config"]["common"] is False
    # the pair keeps its score (pair-level figures are what they were), but the short runs of
    # shapes everyone writes (imports, the dataset and loader lines) weigh nothing as evidence;
    # what still weighs is the two 8-11 line loops they both wrote the same way
    assert after is not None and after["similarity"] == before["similarity"]
    def weightless(report: dict) -> int:
        return sum(f["own_tokens"] == 0 for p in report["pairs"] for f in p["fragments"])

    assert weightless(with_list) >= weightless(without) + 3
    assert not [w for w in with_list["warnings"] if w["kind"] == "common-code"]


def test_a_shared_model_class_stays_evidence(round_dir):
    """Model code is made of shapes public projects share (`self.x = nn.Conv2d(...)`), but its
    copy keeps fragments of specific code: it is still found whole."""
    root = round_dir({"alice/model.py": CNN, "bob/net.py": CNN.replace("TinyResNet", "Net")
                      .replace("self.stem", "self.first").replace("self.head", "self.fc")})
    pair = _pair(_scan(root), "alice", "bob")
    assert pair is not None and pair["similarity"] > 0.9 and pair["longest_lines"] >= 15


def test_a_scan_with_other_parameters_warns_once_and_ignores_nothing_extra(round_dir):
    root = round_dir({"alice/train.py": ALICE, "bob/mnist_mlp.py": BOB, "carol/m.py": CNN})
    report = _scan(root, params=FingerprintParams(k=12), min_fragment_tokens=12)
    warned = [w for w in report["warnings"] if w["kind"] == "common-code"]
    assert len(warned) == 1
    assert "built for k=10" in warned[0]["reason"] and "this scan uses k=12" in warned[0]["reason"]
    assert "checker corpus export-common" in warned[0]["reason"]
    assert report["stats"]["common_kgrams_list"] == 0 and report["stats"]["common_kgrams_shipped"] == 0


def test_no_common_switch_on_the_cli(round_dir, tmp_path):
    root = round_dir({"alice/train.py": ALICE, "bob/mnist_mlp.py": BOB})
    runner = CliRunner()
    for flag, on in (("--no-common", False), ("--common", True)):
        out = tmp_path / flag
        result = runner.invoke(cli, ["scan", str(root), "-o", str(out), "-q", "--no-html",
                                     "--no-notes", flag])
        assert result.exit_code == 0, result.output
        report = json.loads((out / "report.json").read_text())
        assert report["config"]["common"] is on
        assert (report["stats"]["common_kgrams_shipped"] > 0) is on


def test_the_probe_is_parsed_code_with_k_grams():
    """The probe must exercise the normaliser (libCST, not the lexical fallback)."""
    fp = fingerprint_text(PROBE, FingerprintParams())
    assert fp.stream.parser == "libcst" and fp.kgrams.size > 50
