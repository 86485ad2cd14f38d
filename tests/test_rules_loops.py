"""Explicit loops (NS301) and hidden loops (NS302), within the scope the task names."""

from __future__ import annotations

from rules_helpers import code, codes, run

DISTANCES = """
import numpy as np
def distance_matrix(a, b):
    d = np.empty((len(a), len(b)))
    for i in range(len(a)):
        d[i] = np.sqrt(((a[i] - b) ** 2).sum(1))
    return d
def load(path):
    rows = []
    while True:
        break
    return rows
"""


def test_for_loop_in_a_scoped_file_is_an_error():
    findings = run('forbid_loops = { files = ["**/broadcast*/**"] }\n', code("Broadcast/solution.py", DISTANCES))
    assert [(f.code, f.severity, f.line) for f in findings] == [("NS301", "error", 4), ("NS301", "error", 9)]
    assert "distance_matrix()" in findings[0].message


def test_files_outside_the_scope_may_loop():
    findings = run('forbid_loops = { files = ["**/broadcast*/**"] }\n', code("fzu_analysis/solution.py", DISTANCES))
    assert findings == []


def test_function_scope_limits_the_rule_to_named_functions():
    findings = run('forbid_loops = { functions = ["distance*"] }\n', code("a.py", DISTANCES))
    assert [(f.code, f.line) for f in findings] == [("NS301", 4)]


def test_comprehensions_and_vectorize_are_hidden_loops():
    findings = run("forbid_loops = true\n", code("a.py", """
        from numpy import vectorize as vec
        import numpy as np
        d = np.array([np.linalg.norm(a - p) for p in b])
        f = vec(lambda x: x + 1)
        g = np.apply_along_axis(np.sum, 1, m)
        s = {k: v for k, v in pairs}
    """))
    assert codes(findings) == ["NS302"] * 4
    assert all(f.severity == "warning" for f in findings)


def test_comprehensions_can_be_allowed():
    findings = run("forbid_loops = { comprehensions = false }\n", code("a.py", "d = [x * 2 for x in xs]\nimport numpy as np\nf = np.vectorize(g)\n"))
    assert findings == []


def test_vectorised_code_has_no_findings():
    findings = run("forbid_loops = true\n", code("a.py", """
        import numpy as np
        d = np.sqrt(((a[:, None, :] - b[None]) ** 2).sum(-1))
        m = np.where(d < 20)
        # for i in range(10): a comment is not a loop
        text = "while True"
    """))
    assert findings == []
