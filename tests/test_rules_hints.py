"""Type hints required (NS601)."""

from __future__ import annotations

from rules_helpers import code, codes, run


def test_fully_annotated_code_passes():
    findings = run("require_type_hints = true\n", code("game.py", """
        class Character:
            def __init__(self, name: str, affinity: int = 0):
                self.name = name
            def talk(self, line: str) -> str:
                return line
        def main() -> None:
            pass
        f = lambda x: x
    """))
    assert findings == []


def test_a_function_missing_hints_is_named_with_what_is_missing():
    findings = run("require_type_hints = true\n", code("game.py", """
        def give_gift(self_like, gift: str):
            return 1
        def ok(x: int) -> int:
            return x
    """))
    assert codes(findings) == ["NS601"]
    assert findings[0].message == "give_gift() lacks type hints for: self_like, return"
    assert (findings[0].line, findings[0].col) == (1, 1)


def test_a_file_without_any_hint_gets_one_finding():
    findings = run("require_type_hints = true\n", code("game.py", "def a(x):\n    pass\ndef b(y):\n    pass\ndef c(z):\n    pass\n"))
    assert codes(findings) == ["NS601"]
    assert "none of the 3 functions" in findings[0].message


def test_returns_can_be_left_out_and_files_scoped():
    rules = 'require_type_hints = { files = ["game/**"], returns = false }\n'
    inside = code("game/story.py", "def scene(n: int):\n    pass\n")
    outside = code("scratch.py", "def helper(x):\n    pass\n")
    assert run(rules, inside, outside) == []
