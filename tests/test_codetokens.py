"""The tokenizer behind the normalised stream (the stdlib `tokenize`): spans on awkward shapes, and
layout inside brackets that must not change what a name means."""

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


def test_the_normalised_stream_keeps_the_source_spans_on_every_shape():
    for name, text in SOURCES.items():
        stream = codetokens.normalise(text, min_unit_tokens=1)
        assert stream.parser == "libcst", name
        lines = text.split("\n")  # a CRLF line keeps its \r: the newline token spans both
        for tok, line, col, end_line, end_col in zip(stream.tokens, stream.start_lines,
                                                      stream.start_cols, stream.end_lines,
                                                      stream.end_cols):
            assert 1 <= line <= end_line <= len(lines), (name, tok)
            if line == end_line:  # a statement's end spans its newline: one past the line
                assert 0 <= col <= end_col <= len(lines[line - 1]) + 1, (name, tok, line)


def test_a_walrus_target_on_its_own_line_is_bound_like_one_on_the_same_line():
    split = "if (\n    total\n    := compute()\n):\n    print(total)\n"
    joined = "if (total := compute()):\n    print(total)\n"
    assert codetokens.normalise(split).tokens == codetokens.normalise(joined).tokens


def test_nodes_built_outside_the_parser_are_still_validated():
    import libcst as cst

    codetokens.normalise("x = 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("1abc")  # hand-built nodes are still validated
