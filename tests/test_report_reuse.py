"""A scan whose inputs have not changed writes the report of the last such scan again
(checker.pipeline.replay), and any change that could change the report runs the scan."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from checker import defaults
from checker.cli.main import cli
from checker.pipeline import replay
from checker.pipeline.config import ScanConfig

EXAMPLE = defaults.EXAMPLE_ROUND
HANDOUT = defaults.EXAMPLE_HANDOUT


@pytest.fixture
def round_dir(tmp_path: Path) -> Path:
    """A copy of the bundled example round (it may be changed by a test)."""
    target = tmp_path / "round"
    shutil.copytree(EXAMPLE, target)
    return target


@pytest.fixture
def scans_run(monkeypatch) -> list[int]:
    """Counts the scans that really ran (checker.pipeline.scan.scan_report calls)."""
    import checker.pipeline.scan as scan_module

    calls: list[int] = []
    real = scan_module.scan_report

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(scan_module, "scan_report", counted)
    return calls


def _scan(*args: str):
    done = CliRunner().invoke(cli, ["scan", *args, "-q"])
    assert done.exit_code == 0, done.output
    return done


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_an_unchanged_round_is_not_scanned_again_and_its_files_are_written_again(
        round_dir, tmp_path, scans_run):
    _scan(str(round_dir), "--base", str(HANDOUT), "-o", str(tmp_path / "first"))
    done = _scan(str(round_dir), "--base", str(HANDOUT), "-o", str(tmp_path / "again"))
    assert len(scans_run) == 1
    assert "nothing it depends on changed since the scan of" in done.stderr
    first, again = _files(tmp_path / "first"), _files(tmp_path / "again")
    assert again == first
    assert {"report.json", "pairs.csv", "index.html"} <= set(again)
    assert any(name.startswith("learners/") for name in again)


def test_a_changed_file_an_added_learner_or_another_option_scans_again(round_dir, tmp_path,
                                                                        scans_run):
    _scan(str(round_dir), "-o", str(tmp_path / "a"), "--no-html")
    # the same bytes written again (content, not the file's time, decides)
    train = next(round_dir.rglob("*.py"))
    text = train.read_bytes()
    train.write_bytes(text)
    _scan(str(round_dir), "-o", str(tmp_path / "b"), "--no-html")
    assert len(scans_run) == 1
    train.write_bytes(text + b"\nprint('late change')\n")
    _scan(str(round_dir), "-o", str(tmp_path / "c"), "--no-html")
    assert len(scans_run) == 2
    late = round_dir / "zoe"
    late.mkdir()
    (late / "train.py").write_bytes(text)
    _scan(str(round_dir), "-o", str(tmp_path / "d"), "--no-html")
    assert len(scans_run) == 3
    learners = json.loads((tmp_path / "d" / "report.json").read_text())["learners"]
    assert "zoe" in [learner["id"] for learner in learners]
    for option in (["--min-similarity", "0.5"], ["--lang", "zh"], ["--html"]):
        _scan(str(round_dir), "-o", str(tmp_path / "e"), "--no-html", *option)
    assert len(scans_run) == 6


def test_never_reused_with_no_cache_and_never_for_a_scan_that_writes_the_index(
        round_dir, tmp_path, scans_run):
    for _ in range(2):
        _scan(str(round_dir), "-o", str(tmp_path / "a"), "--no-html", "--no-cache")
    assert len(scans_run) == 2
    for name in ("one", "two"):
        _scan(str(round_dir), "-o", str(tmp_path / name), "--no-html",
              "--index", str(tmp_path / "index"), "--round-name", "2025-task1")
    assert len(scans_run) == 4


def test_an_index_that_changed_scans_again_and_its_own_cache_does_not_count(
        round_dir, tmp_path, scans_run, monkeypatch):
    index = tmp_path / "index"
    # remembering a round makes an index (a real scan); then the cache inside it is used
    _scan(str(round_dir), "-o", str(tmp_path / "a"), "--index", str(index), "--round-name", "r1")
    monkeypatch.delenv(defaults.FINGERPRINT_CACHE_ENV)
    _scan(str(round_dir), "-o", str(tmp_path / "b"), "--no-html", "--index", str(index))
    _scan(str(round_dir), "-o", str(tmp_path / "c"), "--no-html", "--index", str(index))
    assert (index / defaults.INDEX_CACHE_SUBDIR / replay.STORE_SUBDIR).is_dir()
    assert len(scans_run) == 2
    _scan(str(round_dir), "-o", str(tmp_path / "d"), "--index", str(index), "--round-name", "r2")
    _scan(str(round_dir), "-o", str(tmp_path / "e"), "--no-html", "--index", str(index))
    assert len(scans_run) == 4
    assert "r2" in (tmp_path / "e" / "report.json").read_text()


def test_a_damaged_stored_report_is_said_removed_and_scanned_again(round_dir, tmp_path,
                                                                  scans_run, monkeypatch):
    _scan(str(round_dir), "-o", str(tmp_path / "a"), "--no-html")
    store = Path(os.environ[defaults.FINGERPRINT_CACHE_ENV]) / replay.STORE_SUBDIR
    stored = next(store.rglob("report.json"))
    stored.write_bytes(stored.read_bytes().replace(b'"risk"', b'"RISK"', 1))
    done = _scan(str(round_dir), "-o", str(tmp_path / "b"), "--no-html")
    assert "is damaged (report.json does not match its checksum); scanning again" in done.stderr
    assert len(scans_run) == 2
    assert b'"RISK"' not in (tmp_path / "b" / "report.json").read_bytes()


def test_pages_of_an_earlier_render_are_removed_when_a_report_is_written_again(
        round_dir, tmp_path, scans_run):
    _scan(str(round_dir), "-o", str(tmp_path / "a"))
    out = tmp_path / "b"
    stale = out / "learners" / "L99.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("a learner of another round")
    _scan(str(round_dir), "-o", str(out))
    assert len(scans_run) == 1
    assert not stale.exists()
    assert _files(out) == _files(tmp_path / "a")


def test_fail_on_is_decided_from_the_report_written_again(tmp_path, scans_run):
    args = ["scan", "--example", "-o", str(tmp_path / "a"), "--no-html", "-q", "--fail-on", "medium"]
    runner = CliRunner()
    first, again = runner.invoke(cli, args), runner.invoke(cli, args)
    assert len(scans_run) == 1
    assert first.exit_code == again.exit_code == 1  # the example round has a copier


def test_the_tree_key_reads_content_of_code_and_stat_of_other_files_and_never_follows_links(tmp_path):
    root = tmp_path / "round"
    (root / "ann").mkdir(parents=True)
    code, data = root / "ann" / "train.py", root / "ann" / "weights.pt"
    code.write_text("x = 1\n")
    data.write_bytes(b"\0" * 64)
    (root / "ann" / "link.py").symlink_to(tmp_path / "outside.py")
    (tmp_path / "outside.py").write_text("secret = 1\n")
    key = replay._tree_digest(root)
    (tmp_path / "outside.py").write_text("secret = 2\n")  # a link's target is never read
    assert replay._tree_digest(root) == key
    stat = code.stat()
    code.write_text("x = 2\n")  # same size, and the old times put back
    os.utime(code, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert replay._tree_digest(root) != key
    key = replay._tree_digest(root)
    stat = data.stat()
    data.write_bytes(b"\1" * 64)  # the change time moves whatever the modification time says
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert replay._tree_digest(root) != key


def test_the_store_keeps_the_newest_entries_within_its_size(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_bytes(b"x" * 1000)
    store = replay.ReportStore(tmp_path / "cache", max_bytes=2500)
    for number, key in enumerate(("k1", "k2", "k3")):
        store.keep(key, out, [out / "report.json"], html=False)
        entry = store.folder / key / replay.ENTRY_FILE
        os.utime(entry, (1000 + number, 1000 + number))
    store.trim()
    assert sorted(p.name for p in store.folder.iterdir()) == ["k2", "k3"]
    assert store.restore("k1", tmp_path / "elsewhere") is None
    assert store.restore("k3", tmp_path / "elsewhere") is not None
    assert (tmp_path / "elsewhere" / "report.json").read_bytes() == b"x" * 1000


def test_why_not_reused_names_the_scans_that_always_run(tmp_path):
    config = ScanConfig(round_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert replay.why_not_reused(config, tmp_path / "out") is None
    assert replay.why_not_reused(config, None) == "no output folder"
    assert "--retrain" in replay.why_not_reused(
        ScanConfig(round_dir=tmp_path, cache_dir=tmp_path, retrain=True), tmp_path)
    assert replay.why_not_reused(ScanConfig(round_dir=tmp_path), tmp_path) == "--no-cache"


def test_the_key_reads_the_html_templates_wherever_the_pages_take_them_from():
    from checker.report.html.pages import templates_dir

    templates = templates_dir().resolve()
    assert any(templates.is_relative_to(folder) for folder in replay.code_folders())
