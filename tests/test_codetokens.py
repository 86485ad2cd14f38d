"""The tokenizer behind the normalised stream: the interpreter's C tokenizer (3.11) must give the
stream the stdlib `tokenize` gives, spans included."""

from __future__ import annotations

import pytest

import checker.code.tokens as codetokens

SOURCES = {
    "unicode columns": 'x = "β2 é"  # ü comment\ny = (x,\n     "ü")  ; z = 1\n',
    "multi-line string then code": 's = """ä\nβ line two"""; z = 3\nprint(s, z)\n',
    "no final newline": "def f(a):\n    return a * 2",
    "windows line ends": "def f(a):\r\n    b = a + 1\r\n    return b\r\n",
    "continuation and decorators": ("import torch.nn as nn\n@staticmethod\ndef g(x, \\\n      y):\n"
                                    "    '''doc'''\n    return nn.Linear(x, y)\n"),
    "nested blocks": ("class A:\n    def m(self):\n        for i in range(3):\n"
                      "            if i:\n                yield i\n\n    x = [j for j in 'abc']\n"),
}


def _stream(text: str, use_c: bool, monkeypatch):
    monkeypatch.setattr(codetokens, "_USE_C_TOKENIZER", use_c)
    s = codetokens.normalise(text, min_unit_tokens=1)
    return s.tokens, s.start_lines, s.start_cols, s.end_lines, s.end_cols, s.units, s.parser


@pytest.mark.skipif(not codetokens._USE_C_TOKENIZER, reason="C tokenizer path is for CPython 3.11")
@pytest.mark.parametrize("name", sorted(SOURCES))
def test_c_tokenizer_gives_the_stdlib_stream(name, monkeypatch):
    text = SOURCES[name]
    assert _stream(text, True, monkeypatch) == _stream(text, False, monkeypatch)


def test_parser_skips_node_validation_only_while_parsing():
    import libcst as cst

    codetokens.normalise("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("1abc")  # hand-built nodes are still validated
