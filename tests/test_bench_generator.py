"""The benchmark's plagiarism generator (bench/obfuscate.py): every level yields valid Python,
changes the code the way the level says and nothing more, keeps what the program computes, and
is reproducible from its seed. Fast: one small hand-made module, no datasets, no network."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

# `bench/` is a folder of the repository, not an installed package: make it importable however
# pytest was started (`pytest`, `python -m pytest`, from another directory).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.obfuscate import LEVELS, obfuscate, obfuscate_all  # noqa: E402

SEED = 11

FIXTURE = '''\
"""Statistics over small integer lists (a hand-made fixture)."""
import math
from collections import Counter


# running totals
class Accumulator:
    """Keeps a running total."""

    def __init__(self, start=0):
        self.total = start
        self.count = 0

    def add(self, value):
        self.total += value  # in place
        self.count += 1
        return self.total

    def mean(self):
        if self.count == 0:
            return 0
        else:
            return self.total / self.count


def squares(values):
    result = []
    for i in range(len(values)):
        result.append(values[i] ** 2)
    return result


def scale(values, factor=2):
    scaled = [v * factor for v in values if v > 1]
    halves = {v: v / 2 for v in values}
    return scaled, halves


def summary(values):
    acc = Accumulator(start=10)
    for v in values:
        acc.add(v)
    biggest = max(values)
    smallest = min(values)
    spread = biggest - smallest
    counts = Counter(values)
    big = [v for v in values if v >= 3]
    total = 0
    for item in squares(values):
        if item < 10:
            total += item
        else:
            total -= 1
    scaled, halves = scale(values, factor=3)
    return [acc.mean(), spread, counts.most_common(1), big, total, scaled,
            sorted(halves.items()), math.floor(spread / 2)]


if __name__ == "__main__":
    print(summary([1, 2, 3, 3, 4, 7]))
'''


def _without_docstrings(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list) and body and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return tree


class _EraseNames(ast.NodeTransformer):
    """Every identifier becomes `_`: what is left is the program's structure."""

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return ast.Name(id="_", ctx=node.ctx)

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = "_"
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.Attribute:
        self.generic_visit(node)
        node.attr = "_"
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.keyword:
        self.generic_visit(node)
        node.arg = "_" if node.arg else None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        self.generic_visit(node)
        node.name = "_"
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.ClassDef:
        self.generic_visit(node)
        node.name = "_"
        return node


def _plain(source: str) -> str:
    return ast.dump(_without_docstrings(ast.parse(source)))


def _structure(source: str) -> str:
    return ast.dump(_EraseNames().visit(_without_docstrings(ast.parse(source))))


def _simple_statements(source: str) -> list[str]:
    """Name-erased dumps of every non-compound statement, in source order."""
    tree = _EraseNames().visit(_without_docstrings(ast.parse(source)))
    compound = (ast.FunctionDef, ast.ClassDef, ast.For, ast.While, ast.If, ast.With, ast.Try)
    return [ast.dump(n) for n in ast.walk(tree)
            if isinstance(n, ast.stmt) and not isinstance(n, compound)]


def _count(source: str, kind: type) -> int:
    return sum(isinstance(n, kind) for n in ast.walk(ast.parse(source)))


def _identifiers(source: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}


@pytest.fixture(scope="module")
def variants() -> dict[int, str]:
    return obfuscate_all(FIXTURE, SEED)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("level", LEVELS)
def test_every_level_yields_code_that_parses(level, seed):
    compile(obfuscate(FIXTURE, level, seed), f"L{level}", "exec")


def test_same_seed_reproduces_every_level():
    once = obfuscate_all(FIXTURE, SEED)
    again = obfuscate_all(FIXTURE, SEED)
    assert once == again
    assert all(obfuscate(FIXTURE, level, SEED) == once[level] for level in LEVELS)


def test_different_seeds_give_different_variants():
    first, second = obfuscate_all(FIXTURE, 1), obfuscate_all(FIXTURE, 2)
    assert all(first[level] != second[level] for level in LEVELS)


def test_unknown_level_is_rejected_with_the_valid_levels():
    with pytest.raises(ValueError, match="level must be one of"):
        obfuscate(FIXTURE, 7, SEED)


def test_level1_changes_only_comments_docstrings_and_layout(variants):
    assert variants[1] != FIXTURE
    assert _plain(variants[1]) == _plain(FIXTURE)


def test_level2_renames_own_identifiers_and_keeps_structure(variants):
    assert _plain(variants[2]) != _plain(variants[1])
    assert _structure(variants[2]) == _structure(variants[1])
    renamed = _identifiers(FIXTURE) - _identifiers(variants[2])
    assert {"acc", "spread", "result"} & renamed
    # imported names, builtins and method names are someone else's: they stay
    assert {"math", "Counter", "max", "sorted"} <= _identifiers(variants[2])
    methods = {n.name for n in ast.walk(ast.parse(variants[2])) if isinstance(n, ast.FunctionDef)}
    assert {"__init__", "add", "mean"} <= methods


def test_level3_reorders_statements_without_changing_them(variants):
    before, after = _simple_statements(variants[2]), _simple_statements(variants[3])
    assert Counter(after) == Counter(before)
    assert after != before


def test_level4_moves_statements_into_a_new_function(variants):
    functions = _count(variants[4], ast.FunctionDef)
    assert functions > _count(variants[3], ast.FunctionDef)
    assert _count(variants[4], ast.Call) > _count(variants[3], ast.Call)


def test_level5_rewrites_loops_and_adds_statements(variants):
    loops_before = _count(variants[4], ast.For), _count(variants[4], ast.While)
    loops_after = _count(variants[5], ast.For), _count(variants[5], ast.While)
    comprehensions = _count(variants[4], ast.ListComp) + _count(variants[4], ast.DictComp)
    comprehensions_after = _count(variants[5], ast.ListComp) + _count(variants[5], ast.DictComp)
    assert loops_after != loops_before or comprehensions_after < comprehensions
    assert len(_simple_statements(variants[5])) > len(_simple_statements(variants[4]))


def test_level6_rewrites_expressions_but_not_the_function_layout(variants):
    assert _structure(variants[6]) != _structure(variants[5])
    shape = [type(n).__name__ for n in ast.walk(ast.parse(variants[5]))
             if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While))]
    shape_after = [type(n).__name__ for n in ast.walk(ast.parse(variants[6]))
                   if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.For, ast.While))]
    assert shape_after == shape


def test_variants_compute_what_the_original_computes(tmp_path, variants):
    # The fixture is this test's own code, run in a child process like any benchmark program.
    outputs = {}
    for name, text in {"original": FIXTURE, **{f"L{k}": v for k, v in variants.items()}}.items():
        path = tmp_path / f"{name}.py"
        path.write_text(text)
        done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                              timeout=30)
        assert done.returncode == 0, f"{name} failed:\n{done.stderr}\n{text}"
        outputs[name] = done.stdout
    assert len(set(outputs.values())) == 1, outputs
