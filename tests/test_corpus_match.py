"""Learners' code against the corpus: the right package, version, file and lines; nothing for an
independent implementation; attribution; corpus-common code discounted."""

from __future__ import annotations

import ast
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from checker.corpus.attribution import gather_evidence
from checker.corpus.index import CorpusIndex, SourceAdded, SourceRequest, add_sources
from checker.corpus.match import CorpusMatchConfig, find_corpus_matches, match_corpus
from checker.corpus.sources import parse_source
from checker.code.fingerprints import FingerprintParams, ParamsMismatch, fingerprint_text
from checker.model import SourceFile
from checker.code.documents import CodeDoc

NOTHING = np.empty(0, dtype=np.uint64)

# An independent multi-head attention: separate projections, explicit reshapes, no d2l helpers.
INDEPENDENT_ATTENTION = '''import math
import torch
from torch import nn


class SelfAttention(nn.Module):
    """Scaled dot-product attention over several heads, written from the paper."""

    def __init__(self, width, heads, drop=0.1):
        super().__init__()
        self.heads = heads
        self.head_width = width // heads
        self.to_q = nn.Linear(width, width)
        self.to_k = nn.Linear(width, width)
        self.to_v = nn.Linear(width, width)
        self.merge = nn.Linear(width, width)
        self.drop = nn.Dropout(drop)

    def split(self, t):
        batch, length, _ = t.shape
        return t.view(batch, length, self.heads, self.head_width).transpose(1, 2)

    def forward(self, x, pad_mask=None):
        q, k, v = self.split(self.to_q(x)), self.split(self.to_k(x)), self.split(self.to_v(x))
        logits = q @ k.transpose(-2, -1) / math.sqrt(self.head_width)
        if pad_mask is not None:
            logits = logits.masked_fill(pad_mask[:, None, None, :] == 0, -1e9)
        weights = self.drop(torch.softmax(logits, dim=-1))
        mixed = (weights @ v).transpose(1, 2).flatten(2)
        return self.merge(mixed)
'''


def _docs(files: dict[tuple[str, str], str]) -> list[CodeDoc]:
    params = FingerprintParams()
    out = []
    for (learner, path), text in files.items():
        doc = CodeDoc(SourceFile(learner, path, text), fingerprint_text(text, params))
        doc.own_tokens = doc.fp.n_tokens
        out.append(doc)
    return out


def _rename(text: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        text = re.sub(rf"\b{old}\b", new, text)
    return text


@pytest.fixture(scope="module")
def d2l_index(tmp_path_factory) -> Path:
    """An index of the real d2l 1.0.3 wheel from PyPI (skips without a route to PyPI)."""
    index_path = tmp_path_factory.mktemp("d2l") / "index"
    result = add_sources(index_path, ["pypi:d2l==1.0.3"], notes=False)
    if not isinstance(result.outcomes[0], SourceAdded):
        pytest.skip(f"pypi:d2l==1.0.3 could not be fetched here: {result.outcomes[0].reason}")
    return index_path


def _d2l_torch_source(index_path: Path) -> str:
    [wheel] = (index_path / "downloads").glob("d2l-1.0.3-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        return zf.read("d2l/torch.py").decode("utf-8")


@pytest.mark.timeout(180)
def test_copied_d2l_helper_with_renamed_variables_is_reported_with_package_version_file_and_lines(d2l_index):
    torch_py = _d2l_torch_source(d2l_index)
    spans = {n.name: (n.lineno, n.end_lineno) for n in ast.parse(torch_py).body
             if isinstance(n, ast.ClassDef)}
    first, last = spans["MultiHeadAttention"][0], spans["PositionalEncoding"][1]
    copied = "\n".join(torch_py.splitlines()[first - 1:last])
    copied = _rename(copied, {"num_hiddens": "hidden_dim", "num_heads": "n_heads", "queries": "q",
                              "keys": "k_", "values": "v", "valid_lens": "lens", "dropout": "p_drop",
                              "attention": "attn", "X": "inputs", "P": "table"})
    learner = "import math\nimport torch\nfrom torch import nn\nfrom d2l import torch as d2l\n\n" + copied
    docs = _docs({("alice", "transformer.py"): learner, ("bob", "attention.py"): INDEPENDENT_ATTENTION})

    with CorpusIndex.open(d2l_index, FingerprintParams()) as index:
        pairs = match_corpus(docs, NOTHING, index, CorpusMatchConfig())

    assert {p.left for p in pairs} == {"alice"}  # the independent implementation is not reported
    # d2l/mxnet.py, tensorflow.py and jax.py hold the same attention code: they show nothing more
    assert [p.right_file for p in pairs] == ["d2l/torch.py"]
    best = pairs[0]
    assert (best.source, best.right, best.right_file) == ("corpus", "pypi:d2l==1.0.3", "d2l/torch.py")
    assert best.right_meta["version"] == "1.0.3" and best.right_meta["licence"] == "MIT-0"
    assert best.right_meta["functions"][:2] == ["class MultiHeadAttention", "class PositionalEncoding"]
    assert best.left_coverage > 0.8 and not best.attributed
    right_lines = [(f.right_start_line, f.right_end_line) for f in best.fragments if f.tokens >= 40]
    assert right_lines and all(first <= a <= b <= last for a, b in right_lines)
    assert max(b for _, b in right_lines) - min(a for a, _ in right_lines) > 0.8 * (last - first)


def _library(tmp_path: Path) -> Path:
    lib = tmp_path / "bookcode" / "book"
    lib.mkdir(parents=True)
    (lib / "helpers.py").write_text('''import torch


class Accumulator:
    """Sums of n variables."""

    def __init__(self, n):
        self.data = [0.0] * n

    def add(self, *args):
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def evaluate_accuracy(net, data_iter):
    if isinstance(net, torch.nn.Module):
        net.eval()
    metric = Accumulator(2)
    with torch.no_grad():
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return metric[0] / metric[1]
''', encoding="utf-8")
    return lib.parent


LEARNER_COPY = '''import torch

LEARNING_RATE = 0.1


class Counter:
    def __init__(self, size):
        self.values = [0.0] * size

    def add(self, *items):
        self.values = [u + float(w) for u, w in zip(self.values, items)]

    def reset(self):
        self.values = [0.0] * len(self.values)

    def __getitem__(self, i):
        return self.values[i]


def acc(pred, target):
    if len(pred.shape) > 1 and pred.shape[1] > 1:
        pred = pred.argmax(axis=1)
    same = pred.type(target.dtype) == target
    return float(same.type(target.dtype).sum())


def test_accuracy(model, loader):
    if isinstance(model, torch.nn.Module):
        model.eval()
    counts = Counter(2)
    with torch.no_grad():
        for images, labels in loader:
            counts.add(acc(model(images), labels), labels.numel())
    return counts[0] / counts[1]
'''

LEARNER_OWN = '''import torch


def correct_share(model, batches):
    model.eval()
    right = total = 0
    with torch.no_grad():
        for inputs, targets in batches:
            guesses = model(inputs).argmax(dim=1)
            right += (guesses == targets).sum().item()
            total += targets.shape[0]
    return right / max(total, 1)
'''


def test_copy_of_a_folder_source_is_found_with_lines_and_an_own_version_is_not(tmp_path: Path):
    lib = _library(tmp_path)
    add_sources(tmp_path / "idx", [SourceRequest(parse_source(f"dir:{lib}"), licence="CC0-1.0",
                                                 url="https://example.org/book")], jobs=1, notes=False)
    docs = _docs({("learner-01", "utils.py"): LEARNER_COPY, ("learner-02", "eval.py"): LEARNER_OWN})
    with CorpusIndex.open(tmp_path / "idx") as index:
        matches = find_corpus_matches(docs, NOTHING, index, CorpusMatchConfig())
    assert [(m.pair.left, m.pair.right, m.pair.right_file) for m in matches] == [
        ("learner-01", f"dir:{lib}", "book/helpers.py")]
    pair = matches[0].pair
    assert pair.right_meta == {"version": "", "licence": "CC0-1.0", "url": "https://example.org/book",
                               "path": "book/helpers.py",
                               "functions": ["class Accumulator", "def evaluate_accuracy", "def accuracy"]}
    assert pair.left_coverage > 0.9 and pair.right_coverage > 0.9
    first, last = pair.fragments[0], pair.fragments[-1]  # class Accumulator .. `return metric[0] / ...`
    assert (first.left_start_line, first.right_start_line, last.left_end_line, last.right_end_line) == (
        6, 4, 34, 34)
    assert matches[0].doc == 0 and sum(f.tokens for f in matches[0].fragments) > 150


def test_code_copied_from_a_notebook_in_the_corpus_is_found_with_its_cells(tmp_path: Path):
    import json

    helpers = (_library(tmp_path) / "book" / "helpers.py").read_text(encoding="utf-8")
    first, second = helpers.split("\n\n\ndef accuracy", 1)
    notebook = {"nbformat": 4, "cells": [
        {"cell_type": "markdown", "source": ["## Evaluation helpers"]},
        {"cell_type": "code", "source": [first]},
        {"cell_type": "code", "source": ["def accuracy" + second]}]}
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "chapter3.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    add_sources(tmp_path / "idx", [f"dir:{folder}"], jobs=1, notes=False)
    docs = _docs({("learner-01", "utils.py"): LEARNER_COPY})
    with CorpusIndex.open(tmp_path / "idx") as index:
        [pair] = match_corpus(docs, NOTHING, index, CorpusMatchConfig())
    assert pair.right_file == "chapter3.ipynb" and pair.left_coverage > 0.9
    assert pair.right_meta["cell_lines"] == [1, first.count("\n") + 3]


def test_a_copy_the_learner_attributes_is_reported_as_attributed(tmp_path: Path):
    lib = _library(tmp_path)
    add_sources(tmp_path / "idx", [SourceRequest(parse_source(f"dir:{lib}"), url="https://example.org/book",
                                                 aliases=("the Book",))], jobs=1, notes=False)
    docs = _docs({("learner-01", "utils.py"): LEARNER_COPY, ("learner-03", "utils.py"): LEARNER_COPY})
    evidence = {"learner-01": gather_evidence("learner-01", [docs[0].source],
                                              [("README.md", "Helpers adapted from the Book, chapter 3.")])}
    with CorpusIndex.open(tmp_path / "idx") as index:
        pairs = match_corpus(docs, NOTHING, index, CorpusMatchConfig(), evidence)
    by_learner = {p.left: p for p in pairs}
    assert by_learner["learner-01"].attributed
    assert "README.md:1" in by_learner["learner-01"].attribution
    assert not by_learner["learner-03"].attributed and by_learner["learner-03"].attribution == ""


TRAINING_LOOP = '''
def fit(model, loader, optimizer, loss_fn, epochs, device):
    for epoch in range(epochs):
        model.train()
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
    return model
'''


def test_code_found_in_many_public_projects_is_discounted(tmp_path: Path):
    sources = []
    for i, own in enumerate(["torch.relu", "torch.tanh", "torch.sigmoid"]):
        folder = tmp_path / f"project{i}"
        folder.mkdir()
        (folder / "train.py").write_text(f"import torch\n\ndef act(x):\n    return {own}(x) * {i + 2}\n"
                                         + TRAINING_LOOP, encoding="utf-8")
        sources.append(f"dir:{folder}")
    add_sources(tmp_path / "idx", sources, jobs=1, notes=False)
    learner = "import torch\n\n\ndef my_head(z):\n    return torch.cos(z) + 1\n" + TRAINING_LOOP
    docs = _docs({("learner-01", "train.py"): learner})
    with CorpusIndex.open(tmp_path / "idx") as index:
        assert index.common_threshold() == 3 and index.common_kgrams(among=docs[0].fp.kgrams).size
        undiscounted = CorpusMatchConfig(discount_common=False)
        assert len(match_corpus(docs, NOTHING, index, undiscounted)) == 3  # one per project
        assert match_corpus(docs, NOTHING, index, CorpusMatchConfig()) == []  # the loop is common


def test_code_that_several_projects_match_at_length_is_common_and_a_rare_copy_is_not(tmp_path: Path):
    special = ("def special(x, table):\n    acc = torch.zeros_like(x)\n    for row in table:\n"
               "        acc = acc + torch.roll(x, shifts=int(row[0]), dims=-1) * row[1]\n"
               "        acc = torch.clamp(acc, min=-row[2], max=row[2]) / (1 + row[3])\n"
               "    return torch.nn.functional.layer_norm(acc, acc.shape[-1:]) + x.mean()\n")
    sources = []
    for i, body in enumerate([TRAINING_LOOP, TRAINING_LOOP, TRAINING_LOOP, special]):
        folder = tmp_path / f"project{i}"
        folder.mkdir()
        (folder / "code.py").write_text(f"import torch\n\ndef act(x):\n    return torch.cos(x) * {i + 7}\n"
                                        + body, encoding="utf-8")
        sources.append(f"dir:{folder}")
    add_sources(tmp_path / "idx", sources, jobs=1, notes=False)
    docs = _docs({("learner-01", "train.py"): "import torch\n\n" + special + TRAINING_LOOP})
    with CorpusIndex.open(tmp_path / "idx") as index:
        assert index.common_threshold() == 4  # the loop's k-grams (3 projects) are not common
        pairs = match_corpus(docs, NOTHING, index, CorpusMatchConfig())
        everything = match_corpus(docs, NOTHING, index, CorpusMatchConfig(discount_common=False))
    assert len(everything) == 4
    assert [p.right for p in pairs] == [sources[3]]  # the loop matched three projects: common
    assert pairs[0].fragments[0].left_start_line == 3 and pairs[0].left_coverage > 0.9


def test_matching_with_other_fingerprint_parameters_raises_params_mismatch(tmp_path: Path):
    lib = _library(tmp_path)
    add_sources(tmp_path / "idx", [f"dir:{lib}"], jobs=1, notes=False)
    docs = _docs({("learner-01", "utils.py"): LEARNER_COPY})
    with CorpusIndex.open(tmp_path / "idx") as index:
        with pytest.raises(ParamsMismatch, match="--rebuild"):
            match_corpus(docs, NOTHING, index, CorpusMatchConfig(params=FingerprintParams(window=4)))


def test_scan_config_is_accepted_as_the_match_config(tmp_path: Path):
    from checker.pipeline.scan import ScanConfig

    config = CorpusMatchConfig.of(ScanConfig(round_dir=tmp_path, min_fragment_tokens=20))
    assert config.min_fragment_tokens == 20 and config.params == FingerprintParams()
