"""The one checkpoint counter: imported by the rules (nothing of a learner is ever unpickled) and
started by path in the retrain sandbox (where a whole pickled model may load)."""

from __future__ import annotations

import ast
import json
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from checker.sandbox import checkpoint_count
from checker.sandbox.checkpoint_count import (
    MODEL_KEYS,
    CheckpointCount,
    CheckpointUnreadable,
    count_checkpoint,
)

COUNTER = Path(checkpoint_count.__file__).resolve()


def test_the_counter_and_the_launcher_import_nothing_of_the_checker():
    # Both are started by path in a child Python that cannot see the `checker` package.
    for path in (COUNTER, COUNTER.parent / "launcher.py"):
        tree = ast.parse(path.read_text())
        imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                    for alias in node.names}
        imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                     if isinstance(node, ast.ImportFrom) and node.module}
        assert imported <= set(sys.stdlib_module_names) | {"__future__", "torch", "numpy"}, (path, imported)


def _by_path(tmp_path: Path, pattern: str) -> dict:
    out = tmp_path / "params.json"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NOSHORTCUT_METRICS": str(out)}
    subprocess.run([sys.executable, "-I", str(COUNTER), pattern], cwd=tmp_path, env=env, check=True,
                   timeout=120)
    return json.loads(out.read_text())


def test_safetensors_with_a_shape_of_anything_but_numbers_is_unreadable_not_a_crash(tmp_path: Path):
    header = json.dumps({"w": {"dtype": "F32", "shape": ["a", 2], "data_offsets": [0, 8]}}).encode()
    (tmp_path / "m.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    result = count_checkpoint(tmp_path / "m.safetensors")
    assert isinstance(result, CheckpointUnreadable) and "safetensors" in result.reason


def test_a_pickle_with_other_globals_is_not_read_by_the_plain_reader(tmp_path: Path):
    # A torch-like zip whose data.pkl calls os.system: refused before anything runs.
    payload = pickle.dumps(_Evil(), protocol=2)
    with zipfile.ZipFile(tmp_path / "evil.pt", "w") as archive:
        archive.writestr("evil/data.pkl", payload)
    assert checkpoint_count._plain_pickle(str(tmp_path / "evil.pt")) is None
    assert not (tmp_path / "pwned").exists()


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_a_deflated_pickle_is_left_to_torch(tmp_path: Path):
    with zipfile.ZipFile(tmp_path / "z.pt", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("z/data.pkl", pickle.dumps({"w": 1}, protocol=2))
    assert checkpoint_count._plain_pickle(str(tmp_path / "z.pt")) is None


def test_numpy_arrays_are_counted_by_path(tmp_path: Path):
    np = pytest.importorskip("numpy")
    np.savez(tmp_path / "model.npz", w=np.zeros((10, 4)), b=np.zeros(4), **{"bn.running_mean": np.zeros(4)})
    answer = _by_path(tmp_path, str(tmp_path / "*.npz"))
    assert answer["params"] == 44 and answer["how"] == "numpy arrays"
    assert _by_path(tmp_path, str(tmp_path / "none-*.pt")) == {"missing": str(tmp_path / "none-*.pt")}


torch = pytest.importorskip("torch")
nn = torch.nn


@pytest.mark.parametrize("key", MODEL_KEYS)
def test_every_model_key_is_understood(tmp_path: Path, key: str):
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    torch.save({"epoch": 1, key: net.state_dict(), "optimizer": torch.optim.SGD(net.parameters(), lr=0.1).state_dict()},
               tmp_path / "ckpt.pt")
    result = count_checkpoint(tmp_path / "ckpt.pt")
    assert isinstance(result, CheckpointCount)
    assert (result.params, result.tensors, result.container) == (4 * 3 + 3 + 3 + 3, 4, f"checkpoint[{key!r}]")


def test_a_state_dict_is_read_without_torch_and_counted_as_torch_does(tmp_path: Path):
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 2))
    torch.save({"model": {"state_dict": net.state_dict()}}, tmp_path / "nested.pt")
    plain = checkpoint_count._plain_pickle(str(tmp_path / "nested.pt"))
    shapes, container = checkpoint_count.find_shapes(plain)
    assert container == "checkpoint['model']['state_dict']"
    assert checkpoint_count.count_shapes(shapes)[0] == sum(p.numel() for p in net.parameters())


@pytest.mark.slow
def test_a_whole_pickled_model_is_refused_in_process_and_counted_in_the_sandbox(tmp_path: Path):
    (tmp_path / "learner_net.py").write_text(
        "import torch.nn as nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(5, 2)\n"
        "        self.bn = nn.BatchNorm1d(2)\n")
    program = ("import torch, learner_net\n"
               "torch.save({'model': learner_net.Net(), 'epoch': 2}, 'whole.pt')\n")
    subprocess.run([sys.executable, "-c", program], cwd=tmp_path, check=True, timeout=120)

    in_process = count_checkpoint(tmp_path / "whole.pt")
    assert isinstance(in_process, CheckpointUnreadable) and "cannot be loaded safely" in in_process.reason

    answer = _by_path(tmp_path, str(tmp_path / "whole.pt"))
    assert answer["params"] == 5 * 2 + 2 + 2 + 2, answer
    assert answer["how"] == "checkpoint['model']: module.parameters()"


def test_a_checkpoint_without_a_model_says_what_it_holds_in_the_sandbox(tmp_path: Path):
    torch.save({"epoch": 3, "loss": 0.5}, tmp_path / "nothing.pt")
    assert count_checkpoint(tmp_path / "nothing.pt").reason == "no state_dict of tensors found inside"
    answer = _by_path(tmp_path, str(tmp_path / "nothing.pt"))
    assert answer["error"].startswith("no state_dict of tensors found inside (keys: epoch, loss)")
    assert "params_hook" in answer["error"]


def test_a_hostile_pickle_is_unreadable_in_process_and_runs_nothing(tmp_path: Path):
    with zipfile.ZipFile(tmp_path / "evil.pt", "w") as archive:
        archive.writestr("evil/data.pkl", pickle.dumps(_Evil(), protocol=2))
    result = count_checkpoint(tmp_path / "evil.pt")
    assert isinstance(result, CheckpointUnreadable)
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
