"""Parameter counts: layer formulas against real torch modules, the static estimate of learner
models, exact counts from checkpoints, and the budget rules NS501-NS504."""

from __future__ import annotations

import json
import struct
import textwrap
from pathlib import Path

import pytest
from rules_helpers import code, codes, run

from checker.model import SourceFile
from checker.rules.names import SubmissionIndex, analyse_file
from checker.rules.param_estimate import estimate_models
from checker.rules.param_layers import torch_layer_params
from checker.sandbox.checkpoint_count import (
    CheckpointCount,
    CheckpointUnreadable,
    count_checkpoint,
)

torch = pytest.importorskip("torch")
nn = torch.nn

LAYERS = [
    ("Linear", (512, 10), {}),
    ("Linear", (512, 10), {"bias": False}),
    ("Conv2d", (3, 64, 3), {"padding": 1}),
    ("Conv2d", (64, 128, (3, 5)), {"groups": 4, "bias": False}),
    ("Conv1d", (16, 32, 5), {}),
    ("ConvTranspose2d", (64, 32, 4), {"stride": 2}),
    ("BatchNorm2d", (64,), {}),
    ("BatchNorm1d", (64,), {"affine": False}),
    ("LayerNorm", ((8, 16),), {}),
    ("GroupNorm", (4, 32), {}),
    ("Embedding", (1000, 64), {"padding_idx": 0}),
    ("LSTM", (300, 128), {"num_layers": 2, "bidirectional": True}),
    ("LSTM", (32, 64), {"proj_size": 16}),
    ("GRU", (28, 128), {"batch_first": True}),
    ("RNN", (10, 20, 3), {}),
    ("LSTMCell", (10, 20), {}),
    ("MultiheadAttention", (64, 8), {}),
    ("MultiheadAttention", (64, 4), {"kdim": 32, "vdim": 16, "add_bias_kv": True}),
    ("TransformerEncoderLayer", (64, 4), {"dim_feedforward": 256}),
    ("TransformerDecoderLayer", (32, 4), {}),
    ("PReLU", (), {}),
]


@pytest.mark.parametrize("name,args,kwargs", LAYERS)
def test_layer_formula_matches_torch(name, args, kwargs):
    module = getattr(nn, name)(*args, **kwargs)
    expected = sum(p.numel() for p in module.parameters())
    assert torch_layer_params(name, args, kwargs) == expected


def test_layers_without_parameters_count_zero_and_unknown_ones_none():
    assert torch_layer_params("ReLU") == 0
    assert torch_layer_params("MaxPool2d", (2,)) == 0
    assert torch_layer_params("Linear", ("in_features", 10)) is None
    assert torch_layer_params("FancyLayer", (1,)) is None


MODEL = '''
import torch
import torch.nn as nn
from collections import OrderedDict

HIDDEN = 128

def conv_bn(cin, cout, k=3):
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

class Block(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(conv_bn(channels, channels), conv_bn(channels, channels))

class Net(nn.Module):
    def __init__(self, num_classes=10, widths=(32, 64, 128)):
        super().__init__()
        layers = []
        c = 3
        for w in widths:
            layers.append(conv_bn(c, w))
            layers += [Block(w) for _ in range(2)]
            c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(OrderedDict([("fc", nn.Linear(c, HIDDEN)), ("out", nn.Linear(HIDDEN, num_classes))]))
        self.rnn = nn.GRU(c, HIDDEN, num_layers=2, bidirectional=True)
        self.scale = nn.Parameter(torch.ones(1, HIDDEN))
        self.blocks = nn.ModuleList()
        for i in range(3):
            self.blocks.append(nn.Linear(HIDDEN, HIDDEN))
        unused = nn.Linear(1000, 1000)  # local, never registered: not a parameter of Net
        encoder_layer = nn.TransformerEncoderLayer(HIDDEN, 4, dim_feedforward=256, batch_first=True)
        self.encoder = nn.TransformerEncoder(encoder_layer, num_layers=2)
        self._make_tail(num_classes)

    def _make_tail(self, n):
        self.tail = nn.Linear(n, n)

model = Net(num_classes=100)
'''


def _estimate(*sources):
    files = [analyse_file(s) for s in sources]
    return estimate_models(files, SubmissionIndex(files))


def test_static_estimate_matches_torch_for_a_learner_style_model():
    [estimate] = _estimate(code("net.py", MODEL))
    namespace: dict = {}
    exec(compile(textwrap.dedent(MODEL), "net.py", "exec"), namespace)  # the test's own model, not learner code
    expected = sum(p.numel() for p in namespace["model"].parameters())
    assert estimate.name == "Net" and estimate.complete
    assert estimate.params == expected


def test_model_split_over_files_is_estimated_through_imports():
    layers = code("src/layers.py", "import torch.nn as nn\nclass Head(nn.Module):\n    def __init__(self, d):\n        super().__init__()\n        self.fc = nn.Linear(d, 10)\n")
    model = code("model.py", "import torch.nn as nn\nfrom src.layers import Head\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.head = Head(64)\n")
    assert [(e.name, e.params) for e in _estimate(layers, model)] == [("Net", 650)]


def test_unknown_shapes_make_a_lower_bound():
    [estimate] = _estimate(code("m.py", """
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self, vocab):
                super().__init__()
                self.emb = nn.Embedding(len(vocab), 64)
                self.fc = nn.Linear(64, 2)
    """))
    assert estimate.params == 130 and not estimate.complete
    assert "Embedding" in estimate.unsized[0].label


def test_module_level_sequential_is_a_model():
    [estimate] = _estimate(code("nb.py", "import torch.nn as nn\nnet = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))\n"))
    assert (estimate.name, estimate.params) == ("net", 7850)


def test_over_budget_static_estimate_is_an_error_and_under_budget_is_information():
    big = code("big.py", "import torch.nn as nn\nclass Big(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(8192, 4096)\n")
    findings = run("max_params = 20_000_000\n", big)
    assert codes(findings) == ["NS501"]
    assert "Big: 33,558,528" in findings[0].message and findings[0].line == 2
    assert codes(run('max_params = "40M"\n', big)) == ["NS503"]


def test_checkpoint_count_excludes_buffers_and_optimizer_state(tmp_path: Path):
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 2))
    params = sum(p.numel() for p in net.parameters())
    torch.save(net.state_dict(), tmp_path / "plain.pth")
    opt = torch.optim.Adam(net.parameters())
    torch.save({"epoch": 3, "model_state_dict": net.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ckpt.pt")
    for name in ("plain.pth", "ckpt.pt"):
        result = count_checkpoint(tmp_path / name)
        assert isinstance(result, CheckpointCount) and result.params == params


def test_a_pickled_whole_model_is_refused_not_unpickled(tmp_path: Path):
    torch.save(nn.Linear(2, 2), tmp_path / "model.pth")
    result = count_checkpoint(tmp_path / "model.pth")
    assert isinstance(result, CheckpointUnreadable) and "cannot be loaded safely" in result.reason


def test_corrupt_and_oversized_checkpoints_are_unreadable(tmp_path: Path):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    assert isinstance(count_checkpoint(tmp_path / "bad.pt"), CheckpointUnreadable)
    torch.save({"w": torch.zeros(10)}, tmp_path / "w.pt")
    result = count_checkpoint(tmp_path / "w.pt", max_bytes=10)
    assert isinstance(result, CheckpointUnreadable) and "limit" in result.reason


def test_safetensors_header_is_counted_without_torch(tmp_path: Path):
    header = json.dumps({"__metadata__": {}, "fc.weight": {"dtype": "F32", "shape": [10, 512], "data_offsets": [0, 20480]},
                         "bn.running_mean": {"dtype": "F32", "shape": [10], "data_offsets": [20480, 20520]}}).encode()
    (tmp_path / "m.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(20520))
    result = count_checkpoint(tmp_path / "m.safetensors")
    assert isinstance(result, CheckpointCount) and (result.params, result.tensors) == (5120, 1)


def test_checkpoint_rules_on_a_learner_folder(tmp_path: Path):
    torch.save(nn.Linear(1000, 1000).state_dict(), tmp_path / "best.pth")
    torch.save(nn.Linear(2, 2), tmp_path / "whole.pt")
    findings = run("max_params = 500_000\n", root=tmp_path)
    assert [(f.code, f.path) for f in findings] == [("NS502", "best.pth"), ("NS504", "whole.pt")]
    assert "1,001,000" in findings[0].message
    assert [f.code for f in run("max_params = 2_000_000\n", root=tmp_path)] == ["NS503", "NS504"]


def test_estimates_ignore_unrelated_learner_classes():
    files = [SourceFile("l", "a.py", "class Pokemon:\n    def __init__(self, hp=100):\n        self.hp = hp\n")]
    assert _estimate(*files) == []


def test_a_helper_function_handed_self_does_not_stop_the_estimate():
    # timm-style: __init__ passes `self` to a module-level helper that sets and reads attributes
    [estimate] = _estimate(code("net.py", """
        import torch.nn as nn
        def build(module, d):
            module.fc = nn.Linear(d, 10)
            return module.fc.out_features
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.head = nn.Linear(4, 2)
                build(self, 64)
    """))
    assert estimate.name == "Net" and estimate.params >= 10  # the head at least; no crash


def test_a_failing_rule_family_is_reported_and_the_others_still_run(monkeypatch):
    from checker.rules import loops as rules_loops

    def broken(ctx):
        raise AssertionError("a defect in the checker")

    monkeypatch.setattr(rules_loops, "check", broken)
    findings = run('max_params = 100\n', code("net.py", """
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(512, 512)
    """))
    assert "NS501" in codes(findings)  # the budget rule still ran
    [internal] = [f for f in findings if f.code == "NS000"]
    assert "rules.loops checks failed" in internal.message and "AssertionError" in internal.message
