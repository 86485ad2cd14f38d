"""The fingerprint cache (checker.code.fpcache) and the one parse per file under `--task`: a
re-scan parses only what changed, other parameters rebuild the cache loudly, a damaged cache is
recomputed, and the report is the same with or without it."""

from __future__ import annotations

import inspect
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import libcst
import pytest
from click.testing import CliRunner

from checker import defaults
from checker.cli.main import cli
from checker.code.fingerprints import FingerprintParams, fingerprint_text
from checker.code.fpcache import CACHE_FILE, FingerprintCache, text_key
from checker.pipeline.config import default_cache_dir
from checker.pipeline.scan import ScanConfig, scan
from checker.report.factcache import CACHE_FILE as FACTS_FILE
from checker.report.factcache import FactsCache
from checker.report.model import Report
from checker.report.questions import texts_to_read
from checker.task.taskfile import load_task

QUESTIONS = "checker/report/questions.py"

EXAMPLES = Path(defaults.EXAMPLE_ROUND)


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """The texts libCST parses from here on (every parse of the checker goes through
    `libcst.parse_module`: checker.code.parse_guard)."""
    seen: list[str] = []
    real = libcst.parse_module

    def counting(text, *args, **kwargs):
        # the review questions parse the files they ask about (libCST facts of the matched lines,
        # checker.report.questions, cached apart: tests/test_facts_cache.py): counted here are the
        # fingerprints' and rules' parses
        if not any(frame.filename.endswith(QUESTIONS) for frame in inspect.stack(0)):
            seen.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(libcst, "parse_module", counting)
    return seen


def _round(tmp_path: Path) -> Path:
    """The bundled example round, copied so that a test may change it."""
    return Path(shutil.copytree(EXAMPLES, tmp_path / "round"))


def _scan(round_dir: Path, cache: Path | None, notices: list[str] | None = None, **kw) -> dict:
    config = ScanConfig(round_dir=round_dir, base_dir=defaults.EXAMPLE_HANDOUT, jobs=1, cache_dir=cache,
                        notice=notices.append if notices is not None else None, **kw)
    return scan(config)


def _same_report(a: dict, b: dict) -> bool:
    """Equal but for when it was made and how long it took."""
    def strip(report: dict) -> dict:
        out = {k: v for k, v in report.items() if k not in ("created", "elapsed_s")}
        out["stats"] = {k: v for k, v in report["stats"].items() if k != "seconds"}
        return out
    return strip(a) == strip(b)


def damage_entry(db: Path, key: bytes, at: int) -> None:
    """Flip the byte at `at` of a cache entry, as a bad disk sector or a torn write would."""
    with sqlite3.connect(db) as conn:
        (data,) = conn.execute("SELECT data FROM entries WHERE key = ?", (key,)).fetchone()
        conn.execute("UPDATE entries SET data = ? WHERE key = ?", (data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :], key))
    conn.close()


def _code_texts(round_dir: Path) -> set[str]:
    return {p.read_text(encoding="utf-8").replace("\r\n", "\n") for p in round_dir.rglob("*.py")}


def test_a_rescan_of_an_unchanged_round_parses_nothing_and_reports_the_same(tmp_path, parses):
    round_dir, cache = _round(tmp_path), tmp_path / "cache"
    without = _scan(round_dir, None)
    assert parses, "the first scan parses"
    parses.clear()
    first = _scan(round_dir, cache)
    assert set(parses) >= _code_texts(round_dir)
    parses.clear()
    again = _scan(round_dir, cache)
    assert parses == []
    assert _same_report(first, again) and _same_report(first, without)
    assert (cache / CACHE_FILE).is_file()


def test_only_a_changed_file_is_parsed_again(tmp_path, parses):
    round_dir, cache = _round(tmp_path), tmp_path / "cache"
    _scan(round_dir, cache)
    changed = round_dir / "bob" / "cnn.py"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\ndef extra(x):\n    return x * 2\n",
                       encoding="utf-8")
    (round_dir / "erin").mkdir()
    (round_dir / "erin" / "late.py").write_text("import torch\n\nprint(torch.zeros(3))\n", encoding="utf-8")
    parses.clear()
    report = _scan(round_dir, cache)
    assert sorted(parses) == sorted([changed.read_text(encoding="utf-8"),
                                     (round_dir / "erin" / "late.py").read_text(encoding="utf-8")])
    assert _same_report(report, _scan(round_dir, None))


def test_other_parameters_rebuild_the_cache_and_say_so(tmp_path, parses):
    round_dir, cache = _round(tmp_path), tmp_path / "cache"
    notices: list[str] = []
    _scan(round_dir, cache, notices)
    assert notices == []
    parses.clear()
    _scan(round_dir, cache, notices, params=FingerprintParams(k=12))
    assert len(notices) == 1
    assert "other fingerprint parameters" in notices[0] and "k 10 -> 12" in notices[0]
    assert "rebuilding" in notices[0] and str(cache) in notices[0]
    assert set(parses) >= _code_texts(round_dir)  # nothing of k=10 was used
    parses.clear()
    _scan(round_dir, cache, notices, params=FingerprintParams(k=12))
    assert parses == [] and len(notices) == 1


def test_a_damaged_entry_is_computed_again_with_a_notice(tmp_path, parses):
    round_dir, cache = _round(tmp_path), tmp_path / "cache"
    clean = _scan(round_dir, cache)
    victim = (round_dir / "carol" / "model.py").read_text(encoding="utf-8")
    damage_entry(cache / CACHE_FILE, text_key(victim), 40)
    notices: list[str] = []
    parses.clear()
    report = _scan(round_dir, cache, notices)
    assert parses == [victim]
    assert len(notices) == 1 and "1 damaged entry ignored and computed again" in notices[0]
    assert _same_report(report, clean)
    parses.clear()
    _scan(round_dir, cache)
    assert parses == []  # stored whole again


def test_cache_files_that_are_not_databases_are_started_afresh(tmp_path):
    round_dir, cache = _round(tmp_path), tmp_path / "cache"
    cache.mkdir()
    for name in (CACHE_FILE, FACTS_FILE):  # the fingerprints' and the review questions' facts'
        (cache / name).write_bytes(b"this is not SQLite" * 100)
    notices: list[str] = []
    report = _scan(round_dir, cache, notices)
    assert len(notices) == 2 and all("unreadable" in n and "starting a new one" in n for n in notices)
    assert [n.split(" cache ")[0] for n in notices] == ["fingerprint", "question facts"]
    assert _same_report(report, _scan(round_dir, None))
    with FingerprintCache.open(cache, FingerprintParams()) as reopened:
        assert reopened.size()[0] >= len(_code_texts(round_dir))
    with FactsCache.open(cache) as reopened:
        assert reopened.size()[0] == len(texts_to_read(Report.from_dict(report))) > 0


def test_a_cache_that_cannot_be_written_never_stops_a_scan(tmp_path):
    round_dir = _round(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("the cache folder cannot be made inside a file")
    notices: list[str] = []
    report = _scan(round_dir, blocker / "cache", notices)
    # once per store in that folder: the fingerprints' and the review questions' facts'
    assert len(notices) == 2 and all("cannot be used" in n for n in notices)
    assert notices[0].startswith("fingerprint cache") and notices[1].startswith("question facts cache")
    assert _same_report(report, _scan(round_dir, None))


def test_the_least_recently_used_entries_go_beyond_the_size_cap(tmp_path):
    params = FingerprintParams()
    texts = [f"def f{i}(x):\n    return x + {i}\n" * 40 for i in range(5)]
    fps = [fingerprint_text(t, params).compact() for t in texts]
    with FingerprintCache.open(tmp_path, params) as cache:
        cache.put_many([(text_key(texts[0]), fps[0])])
        one = cache.size()[1]
    cap = int(one * 4.5)  # room for four entries; trimmed down to 80% of it: three
    with FingerprintCache.open(tmp_path, params, max_bytes=cap) as cache:
        cache.put_many([(text_key(t), fp) for t, fp in zip(texts[1:3], fps[1:3])])
        assert cache.get_many([text_key(texts[0])])  # used again: more recent than 1 and 2
        cache.put_many([(text_key(texts[3]), fps[3])])
        assert cache.size()[0] == 4
        cache.put_many([(text_key(texts[4]), fps[4])])
        assert cache.size() <= (3, cap)
        kept = cache.get_many([text_key(t) for t in texts])
    assert set(kept) == {text_key(texts[i]) for i in (0, 3, 4)}


def test_under_task_each_file_is_parsed_once_and_the_findings_are_the_rules_own(tmp_path, parses):
    from checker.ingest.round import load_round
    from checker.pipeline.scan import check_rules
    from checker.pipeline.workdir import work_dir

    round_dir = _round(tmp_path)
    report = _scan(round_dir, None, task_path=defaults.EXAMPLE_TASK)
    learner_files = [p.read_text(encoding="utf-8") for p in sorted(round_dir.rglob("*.py"))]
    handout_only = _code_texts(Path(defaults.EXAMPLE_HANDOUT)) - set(learner_files)
    # every learner file once (its fingerprint and the rules read one tree), the handout's own
    # files once; a handout file a learner kept as it is needs no parse of its own
    assert Counter(parses) == Counter(learner_files) + Counter(handout_only)
    with work_dir() as work:
        subs, _ = load_round(round_dir, work)
        separate = check_rules(load_task(defaults.EXAMPLE_TASK), subs, jobs=1)
    assert report["findings"] and report["findings"] == separate
    cached_dir = tmp_path / "cache"
    assert _same_report(_scan(round_dir, cached_dir, task_path=defaults.EXAMPLE_TASK), report)
    assert _same_report(_scan(round_dir, cached_dir, task_path=defaults.EXAMPLE_TASK), report)


def test_the_cli_keeps_the_cache_where_it_says_and_no_cache_keeps_none(tmp_path, monkeypatch):
    round_dir = _round(tmp_path)
    monkeypatch.setenv(defaults.FINGERPRINT_CACHE_ENV, str(tmp_path / "env-cache"))
    runner = CliRunner()
    done = runner.invoke(cli, ["scan", str(round_dir), "-q", "--no-cache", "-o", str(tmp_path / "a")])
    assert done.exit_code == 0, done.output
    assert not (tmp_path / "env-cache").exists()
    done = runner.invoke(cli, ["scan", str(round_dir), "-q", "-o", str(tmp_path / "b")])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "env-cache" / CACHE_FILE).is_file()
    assert (tmp_path / "env-cache" / FACTS_FILE).is_file()  # the review questions' facts, beside
    monkeypatch.delenv(defaults.FINGERPRINT_CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "noshortcut"
    index = tmp_path / "index"
    index.mkdir()
    assert default_cache_dir(index) == index / defaults.INDEX_CACHE_SUBDIR


def test_a_worker_dying_in_the_shared_parse_falls_back_to_the_separate_paths(tmp_path, monkeypatch):
    """The shared parse of `--task` runs learners in forked workers; one that dies (libCST
    crashing on a file the parse guard does not know) must not cost the round: fingerprints and
    rules are then taken separately, as without the shared parse, and give the same report."""
    import os

    import checker.pipeline.scan as pipeline

    files = {f"l{i:02d}/train.py": f"import torch\n\n\ndef step_{i}(model, x):\n    return model(x) * {i}\n"
             for i in range(20)}
    files["l07/model.py"] = "import timm\n\nmodel = timm.create_model('resnet18', pretrained=True)\n"
    root = tmp_path / "round"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    task = tmp_path / "task.toml"
    task.write_text('[task]\nname = "t"\n[rules]\nforbid_imports = ["timm"]\nforbid_pretrained = true\n')
    config = ScanConfig(round_dir=root, jobs=2, task_path=task)
    expected = scan(config)
    real = pipeline._parse_once

    def dies_on_l07(task, sub, params, have):
        if sub.learner == "l07":
            os._exit(9)  # as a segfault in a worker would end it
        return real(task, sub, params, have)

    monkeypatch.setattr(pipeline, "_parse_once", dies_on_l07)
    assert pipeline.fingerprint_and_check(load_task(task), _subs(root), config) is None
    fell_back = scan(config)
    assert _same_report(fell_back, expected)
    assert {f["code"] for f in fell_back["findings"] if f["learner"] == "l07"} >= {"NS101"}


def _subs(root: Path):
    from checker.ingest.round import load_round
    from checker.pipeline.workdir import work_dir

    with work_dir() as work:
        return load_round(root, work)[0]
