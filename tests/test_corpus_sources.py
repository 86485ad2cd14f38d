"""Corpus sources: specs, manifests, fetching (pypi from a cache, git from a local repository, dir)."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from checker.corpus.sources import (FetchFailed, SourceError, extract_archive, fetch_source,
                                    list_source_files, load_manifest, normalise_url, parse_source,
                                    read_source_file)


def _fake_wheel(folder: Path, name: str = "fakepkg", version: str = "1.0") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(f"{name}/__init__.py", "from .core import train\n")
        zf.writestr(f"{name}/core.py", "def train(model, data):\n    for x, y in data:\n        model(x)\n")
        zf.writestr(f"{name}-{version}.dist-info/METADATA",
                    f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nLicense: MIT\n"
                    f"Project-URL: Source, https://github.com/example/{name}\n")
    return wheel


def test_specs_parse_into_kind_target_and_ref():
    d2l = parse_source("pypi:d2l==1.0.3")
    assert (d2l.kind, d2l.target, d2l.ref, d2l.pinned) == ("pypi", "d2l", "1.0.3", True)
    assert parse_source(" pypi:vit-pytorch ").id == "pypi:vit-pytorch"
    git = parse_source("git:https://github.com/ultralytics/yolov5@v7.0")
    assert (git.target, git.ref, git.id) == ("https://github.com/ultralytics/yolov5", "v7.0",
                                             "git:https://github.com/ultralytics/yolov5@v7.0")
    assert parse_source("git:git@github.com:karpathy/nanoGPT.git").ref == ""
    assert parse_source("git:https://user@example.org/repo").target == "https://user@example.org/repo"


def test_versions_of_a_package_are_one_project_and_urls_compare_normalised():
    assert parse_source("pypi:Vit_Pytorch==1.0").project == parse_source("pypi:vit-pytorch==2.0").project
    assert normalise_url("git@github.com:Karpathy/nanoGPT.git") == "github.com/karpathy/nanogpt"
    assert normalise_url("https://www.github.com/karpathy/nanoGPT/") == "github.com/karpathy/nanogpt"


@pytest.mark.parametrize("text", ["d2l", "pypi:", "pypi:d2l>=1.0", "svn:http://x", "dir:"])
def test_bad_spec_names_the_accepted_forms(text):
    with pytest.raises(SourceError, match="pypi:"):
        parse_source(text)


def test_manifest_reads_licence_url_aliases_and_project(tmp_path: Path):
    manifest = tmp_path / "sources.toml"
    manifest.write_text('[[source]]\nspec = "pypi:d2l==1.0.3"\nlicence = "MIT-0"\n'
                        'url = "https://github.com/d2l-ai/d2l-en"\naliases = ["动手学深度学习"]\n\n'
                        '[[source]]\nspec = "dir:refs"\nproject = "mine"\n', encoding="utf-8")
    first, second = load_manifest(manifest)
    assert (first.licence, first.url, first.aliases) == ("MIT-0", "https://github.com/d2l-ai/d2l-en",
                                                         ("动手学深度学习",))
    assert second.spec.target == str((tmp_path / "refs").resolve()) and second.project == "mine"


def test_manifest_listing_a_source_twice_is_refused(tmp_path: Path):
    manifest = tmp_path / "sources.toml"
    manifest.write_text('[[source]]\nspec = "pypi:d2l==1.0.3"\n[[source]]\nspec = "pypi:d2l==1.0.3"\n')
    with pytest.raises(SourceError, match="listed twice"):
        load_manifest(manifest)


def test_default_manifest_pins_every_pypi_source_with_licence_and_url():
    entries = load_manifest(Path(__file__).resolve().parents[1] / "corpus" / "sources.toml")
    pypi = [e for e in entries if e.spec.kind == "pypi"]
    assert {e.spec.target for e in pypi} >= {"d2l", "vit-pytorch", "labml-nn", "timm", "yolov5",
                                              "ultralytics", "micrograd"}
    assert all(e.spec.ref and e.licence and e.url.startswith("https://") for e in entries if e.spec.kind == "pypi")
    assert any(e.spec.kind == "git" for e in entries) and all(e.licence and e.url for e in entries)


def test_cached_pinned_wheel_is_used_without_the_network(tmp_path: Path):
    cache = tmp_path / "downloads"
    _fake_wheel(cache)
    fetched = fetch_source(parse_source("pypi:fakepkg==1.0"), tmp_path / "work", cache)
    assert (fetched.version, fetched.licence, fetched.url) == ("1.0", "MIT", "https://github.com/example/fakepkg")
    assert [e.path for e in list_source_files(fetched.root)] == ["fakepkg/__init__.py", "fakepkg/core.py"]


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_source_is_cloned_shallow_at_the_ref_from_a_local_repository(tmp_path: Path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main"]
    subprocess.run(git + ["init", "-q"], cwd=repo, check=True)
    (repo / "train.py").write_text("print('v1')\n")
    (repo / "LICENSE").write_text("MIT License\n\nPermission is hereby granted, free of charge, ...\n")
    subprocess.run(git + ["add", "."], cwd=repo, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "v1"], cwd=repo, check=True)
    subprocess.run(git + ["tag", "v1"], cwd=repo, check=True)
    (repo / "train.py").write_text("print('v2')\n")
    subprocess.run(git + ["commit", "-q", "-am", "v2"], cwd=repo, check=True)
    v1 = subprocess.run(["git", "rev-parse", "v1"], cwd=repo, capture_output=True, text=True).stdout.strip()

    fetched = fetch_source(parse_source(f"git:file://{repo}@v1"), tmp_path / "work")
    assert fetched.version == v1 and fetched.licence == "MIT"
    assert (fetched.root / "train.py").read_text() == "print('v1')\n"
    for n, ref in enumerate((v1, v1[:12])):  # a full and an abbreviated commit id
        by_commit = fetch_source(parse_source(f"git:file://{repo}@{ref}"), tmp_path / f"work{n}")
        assert (by_commit.root / "train.py").read_text() == "print('v1')\n" and by_commit.version == v1


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_unreachable_git_source_fails_with_a_message_naming_it(tmp_path: Path):
    spec = parse_source(f"git:file://{tmp_path}/no-such-repo")
    with pytest.raises(FetchFailed, match=r"^git:file://.*no-such-repo: "):
        fetch_source(spec, tmp_path / "work")


def test_missing_folder_source_fails_with_a_message_naming_it(tmp_path: Path):
    with pytest.raises(FetchFailed, match="not a folder"):
        fetch_source(parse_source(f"dir:{tmp_path / 'nothing'}"), tmp_path / "work")


def test_archive_members_escaping_the_folder_are_not_extracted(tmp_path: Path):
    archive = tmp_path / "evil-1.0-py3-none-any.whl"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../outside.py", "x = 1\n")
        zf.writestr("/abs.py", "x = 1\n")
        zf.writestr("pkg/ok.py", "x = 1\n")
    extract_archive(archive, tmp_path / "out")
    assert not (tmp_path / "outside.py").exists()
    assert [p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.py")] == ["pkg/ok.py"]


def test_listing_skips_vcs_and_metadata_folders_and_oversized_files(tmp_path: Path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "hook.py").write_text("x = 1\n")
    (tmp_path / "pkg-1.0.dist-info").mkdir()
    (tmp_path / "pkg-1.0.dist-info" / "RECORD.txt").write_text("x")
    (tmp_path / "big.py").write_text("x = 1\n" * 50)
    (tmp_path / "README.md").write_text("# readme\n")
    (tmp_path / "data.csv").write_text("a,b\n")
    entries = list_source_files(tmp_path, max_bytes=100)
    assert [(e.path, e.kind, bool(e.skip_reason)) for e in entries] == [
        ("README.md", "notes", False), ("big.py", "code", True)]


def test_notebook_code_cells_are_code_and_markdown_cells_are_notes(tmp_path: Path):
    notebook = {"cells": [{"cell_type": "markdown", "source": ["# LeNet\n", "from the book"]},
                          {"cell_type": "code", "source": ["%matplotlib inline\n", "net = 1"]}],
                "nbformat": 4}
    (tmp_path / "lenet.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    [entry] = list_source_files(tmp_path)
    read = read_source_file(entry, "dir:x")
    assert read.code.text == "# %matplotlib inline\nnet = 1\n" and read.code.cell_lines == [1]
    assert read.notes_text == "# LeNet\nfrom the book"
