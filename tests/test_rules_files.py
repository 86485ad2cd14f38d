"""Required files (NS701) and forbidden files (NS702)."""

from __future__ import annotations

from pathlib import Path

from rules_helpers import code, codes, notes, run

RULES = """
require_files = ["notes/|学习笔记/", { glob = "**/*.png|**/*.jpg", description = "loss curves" }]
forbid_files = [{ glob = ".idea/|venv/", description = "environment files" }]
"""


def test_missing_notes_and_plots_are_reported_for_the_submission():
    findings = run(RULES, code("train.py", "x = 1\n"))
    assert codes(findings) == ["NS701", "NS701"]
    assert {f.path for f in findings} == {"."}
    assert "loss curves" in findings[1].message


def test_files_on_disk_satisfy_requirements(tmp_path: Path):
    (tmp_path / "学习笔记").mkdir()
    (tmp_path / "学习笔记" / "cnn.md").write_text("# notes", encoding="utf-8")
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "loss.PNG").write_bytes(b"\x89PNG")
    assert run(RULES, code("train.py", "x = 1\n"), root=tmp_path) == []


def test_decoded_files_satisfy_requirements_without_a_folder():
    findings = run('require_files = ["notes/"]\n', notes("notes/week1.md", "text"))
    assert findings == []


def test_forbidden_environment_folders_are_reported(tmp_path: Path):
    (tmp_path / ".idea").mkdir()
    (tmp_path / ".idea" / "workspace.xml").write_text("<x/>", encoding="utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text("a", encoding="utf-8")
    (tmp_path / "a.jpg").write_bytes(b"\xff\xd8")
    findings = run(RULES, root=tmp_path)
    assert [(f.code, f.path) for f in findings] == [("NS702", ".idea/workspace.xml")]



def test_the_file_rules_never_follow_a_link_out_of_the_learner_folder(tmp_path: Path):
    host = tmp_path / "host"
    (host / "plots").mkdir(parents=True)
    (host / "plots" / "loss.png").write_bytes(b"\x89PNG")
    (host / "weights.pt").write_bytes(b"not the learner's checkpoint")
    learner = tmp_path / "learner-01"
    learner.mkdir()
    (learner / "model.pt").symlink_to(host / "weights.pt")
    (learner / "plots").symlink_to(host / "plots", target_is_directory=True)
    findings = run('max_params = 1000\nrequire_files = ["**/*.png"]\n', code("train.py", "x = 1\n"),
                   root=learner)
    # the linked checkpoint is not counted, the linked plots do not satisfy the requirement
    assert [(f.code, f.path) for f in findings] == [("NS701", ".")]
