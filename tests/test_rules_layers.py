"""Required layers (NS401): "one of the two models must contain an LSTM or GRU"."""

from __future__ import annotations

from rules_helpers import code, codes, run

RULE = 'require_layers = ["LSTM|GRU"]\n'
CNN = """
import torch.nn as nn
class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3)  # an LSTM would be nice
        self.name = "GRU"
"""


def test_a_submission_without_the_layer_gets_one_finding():
    findings = run(RULE, code("cnn.py", CNN))
    assert codes(findings) == ["NS401"]
    assert findings[0].path == "." and "LSTM or GRU" in findings[0].message


def test_the_layer_through_an_aliased_module_satisfies_it():
    rnn = code("rnn.py", "import torch.nn as nn\nrnn = nn.GRU(32, 64, batch_first=True)\n")
    assert run(RULE, code("cnn.py", CNN), rnn) == []


def test_the_layer_imported_under_another_name_satisfies_it():
    rnn = code("rnn.py", "from torch.nn import LSTM as Recurrent\nr = Recurrent(32, 64)\n")
    assert run(RULE, rnn) == []


def test_a_hand_written_lstm_class_satisfies_it():
    own = code("cell.py", "import torch.nn as nn\nclass LSTM(nn.Module):\n    pass\n")
    assert run(RULE, own) == []


def test_each_requirement_is_checked_on_its_own():
    findings = run('require_layers = ["LSTM|GRU", { any_of = "MultiheadAttention", reason = "ViT" }]\n',
                   code("rnn.py", "import torch\nr = torch.nn.LSTM(8, 8)\n"))
    assert codes(findings) == ["NS401"]
    assert "MultiheadAttention" in findings[0].message and "ViT" in findings[0].message
