"""`checker corpus add | list | remove | build` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker.cli.corpus import corpus


def _folder(tmp_path: Path, name: str = "refs") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "model.py").write_text(
        "import torch\n\n\nclass Net(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = torch.nn.Linear(784, 10)\n\n    def forward(self, x):\n"
        "        return self.fc(x.flatten(1))\n", encoding="utf-8")
    return folder


def test_add_list_and_remove_a_folder_source(tmp_path: Path):
    runner = CliRunner()
    index = tmp_path / "idx"
    folder = _folder(tmp_path)
    added = runner.invoke(corpus, ["add", f"dir:{folder}", "--index", str(index), "--licence", "MIT",
                                   "--alias", "my refs", "--no-notes", "--jobs", "1"])
    assert added.exit_code == 0, added.output
    assert added.output.startswith(f"added      dir:{folder}") and "1 code files" in added.output
    listed = runner.invoke(corpus, ["list", "--index", str(index), "--json"])
    [source] = json.loads(listed.output)["sources"]
    assert (source["spec"], source["licence"], source["aliases"], source["origin"]) == (
        f"dir:{folder}", "MIT", ["my refs"], "add")
    table = runner.invoke(corpus, ["list", "--index", str(index)])
    assert table.exit_code == 0 and f"dir:{folder}" in table.output
    removed = runner.invoke(corpus, ["remove", f"dir:{folder}", "--index", str(index), "--no-notes"])
    assert removed.exit_code == 0 and removed.output.startswith(f"removed    dir:{folder}")
    assert json.loads(runner.invoke(corpus, ["list", "--index", str(index), "--json"]).output)["sources"] == []


def test_add_and_remove_hand_the_sources_prose_to_the_notes_corpus_of_the_index(tmp_path: Path):
    runner = CliRunner()
    index = tmp_path / "idx"
    folder = _folder(tmp_path)
    (folder / "README.md").write_text("How this small network is trained, step by step, with the "
                                      "reasons for each choice of layer.\n", encoding="utf-8")
    added = runner.invoke(corpus, ["add", f"dir:{folder}", "--index", str(index), "--jobs", "1"])
    assert added.exit_code == 0 and "note:" not in added.output, added.output
    assert _notes_sources(index) == [(f"dir:{folder}", 1)]
    removed = runner.invoke(corpus, ["remove", f"dir:{folder}", "--index", str(index)])
    assert removed.exit_code == 0, removed.output
    assert _notes_sources(index) == []


def _notes_sources(index: Path) -> list:
    from checker.notes.corpus import NotesCorpus

    notes = NotesCorpus.open(index / "notes", create=False)
    try:
        return notes.sources()
    finally:
        notes.close()


def test_index_defaults_to_the_environment_variable(tmp_path: Path):
    folder = _folder(tmp_path)
    env = {"NOSHORTCUT_INDEX": str(tmp_path / "shared-index")}
    result = CliRunner(env=env).invoke(corpus, ["add", f"dir:{folder}", "--no-notes", "-q"])
    assert result.exit_code == 0 and result.output == ""
    assert (tmp_path / "shared-index" / "CURRENT").is_file()


def test_a_spec_that_cannot_be_parsed_exits_2_with_the_accepted_forms(tmp_path: Path):
    result = CliRunner().invoke(corpus, ["add", "d2l", "--index", str(tmp_path / "idx")])
    assert result.exit_code == 2
    assert "'d2l': not a source; use pypi:NAME[==VERSION], git:URL[@REF] or dir:PATH" in result.output


def test_a_source_that_cannot_be_fetched_exits_1_naming_it(tmp_path: Path):
    result = CliRunner().invoke(corpus, ["add", f"dir:{tmp_path / 'gone'}", "--index", str(tmp_path / "idx")])
    assert result.exit_code == 1
    assert f"dir:{tmp_path / 'gone'}: {tmp_path / 'gone'} is not a folder" in result.output


def test_build_reports_a_failing_source_and_builds_the_others(tmp_path: Path):
    folder = _folder(tmp_path)
    manifest = tmp_path / "sources.toml"
    manifest.write_text(f'[[source]]\nspec = "git:file://{tmp_path}/missing-repo"\n'
                        f'[[source]]\nspec = "dir:{folder}"\nlicence = "MIT"\n')
    args = ["build", "--manifest", str(manifest), "--index", str(tmp_path / "idx"), "--no-notes"]
    result = CliRunner().invoke(corpus, args)
    assert result.exit_code == 0
    assert f"FAILED     git:file://{tmp_path}/missing-repo: " in result.output
    assert "1 of 2 sources ready" in result.output and "1 failed" in result.output
    strict = CliRunner().invoke(corpus, args + ["--strict"])
    assert strict.exit_code == 1 and "unchanged  dir:" in strict.output


def test_list_without_an_index_says_how_to_build_one(tmp_path: Path):
    result = CliRunner().invoke(corpus, ["list", "--index", str(tmp_path)])
    assert result.exit_code == 2 and "checker corpus build --index" in result.output


def test_an_index_of_other_parameters_is_a_usage_error_saying_rebuild(tmp_path: Path, monkeypatch):
    folder = _folder(tmp_path)
    from checker.corpus.build import add_sources
    from checker.code.fingerprints import FingerprintParams

    add_sources(tmp_path / "idx", [f"dir:{folder}"], params=FingerprintParams(window=5), notes=False)
    result = CliRunner().invoke(corpus, ["add", f"dir:{folder}", "--index", str(tmp_path / "idx")])
    assert result.exit_code == 2 and "--rebuild" in result.output


@pytest.mark.parametrize("command", [[], ["add"], ["list"], ["remove"], ["build"]])
def test_every_command_help_has_an_example(command):
    result = CliRunner().invoke(corpus, command + ["--help"])
    assert result.exit_code == 0 and "checker corpus " in result.output.split("Example", 1)[1]
