"""The review questions' facts cache (checker.report.factcache): a re-scan reads the questioned
files' libCST facts from the cache folder instead of parsing them again, asks the same questions
as with a cold cache or none, parses a changed or new file again, says so when the code that reads
the facts changed or an entry is damaged, and stores no pickle."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import json
import pickle
import shutil
import zlib
from pathlib import Path

import pytest
from conftest import write_round
from test_fingerprint_cache import _same_report, damage_entry

import checker.pipeline.scan as scan_module
import checker.report.factcache as factcache
import checker.report.questions as questions
from checker import defaults
from checker.code.textcache import CorruptEntry, seal, text_key
from checker.pipeline.scan import ScanConfig, scan
from checker.report.factcache import CACHE_FILE, FactsCache, decode, encode
from checker.report.model import Report
from checker.report.questions import _Def, _Facts, _Spot, code_facts, texts_to_read

D2L = Path(__file__).parent / "data" / "d2l_0_17_6_torch_ch3.py"
# small standard-library modules: real code of distinct shapes, the same on every machine that
# runs this Python; each is handed in by one learner and copied by another
MODULES = (
    "fnmatch bisect colorsys glob sched queue string graphlib reprlib copy abc genericpath copyreg "
    "linecache shlex numbers"
).split()
# code libCST does not parse (Python 2): its facts are stored as "none", its questions read the
# matched lines alone
PY2 = """import math
import numpy as np


def cosine_schedule(step, total, base=0.1, floor=1e-4):
    print "step", step, "of", total
    ratio = min(step, total) / float(total)
    return floor + (base - floor) * 0.5 * (1 + math.cos(math.pi * ratio))


def smooth_curve(losses, beta=0.98):
    avg, out = 0.0, []
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (i + 1)))
    print "smoothed", len(out), "points"
    return np.array(out).reshape(-1, 1)


def best_lr(lrs, losses, skip_start=10, skip_end=5):
    grads = np.gradient(np.array(losses[skip_start:-skip_end]))
    print "steepest at", grads.argmin()
    return lrs[skip_start:-skip_end][grads.argmin()]
"""


@pytest.fixture(scope="module")
def copied_round(tmp_path_factory) -> Path:
    """34 learners in 17 copying pairs: more questioned files than the scan hands to its worker
    processes (`_PARALLEL_FACTS_MIN_FILES`), one of them code libCST cannot parse."""
    files: dict[str, str] = {"p00/prep.py": PY2, "p01/prep2.py": PY2 + "\nprint('mine')\n"}
    for k, name in enumerate(MODULES, start=1):
        text = inspect.getsource(importlib.import_module(name))
        files[f"p{2 * k:02d}/{name}_impl.py"] = text
        files[f"p{2 * k + 1:02d}/mine.py"] = text + f"\n\ndef own_{k}(values):\n    return sorted(values)[:3]\n"
    return write_round(tmp_path_factory.mktemp("copied") / "round", files)


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The texts whose facts are computed from here on: `code_facts` in this process, or handed
    to the scan's worker processes."""
    seen: list[str] = []
    real_facts, real_imap = questions.code_facts, scan_module._forked_imap

    def counting(text):
        seen.append(text)
        return real_facts(text)

    def imap(worker, items, state, jobs):
        if worker is not counting:
            yield from real_imap(worker, items, state, jobs)
            return
        seen.extend(items)
        # the workers get the real one: a function is pickled by its name
        monkeypatch.setattr(questions, "code_facts", real_facts)
        try:
            yield from real_imap(real_facts, items, state, jobs)
        finally:
            monkeypatch.setattr(questions, "code_facts", counting)

    monkeypatch.setattr(questions, "code_facts", counting)
    monkeypatch.setattr(scan_module, "_forked_imap", imap)
    return seen


def _texts(round_dir: Path) -> set[str]:
    return {p.read_text(encoding="utf-8") for p in round_dir.rglob("*.py")}


def _questions(report: dict) -> list:
    return [q for v in report["verdicts"] for q in v["questions"]]


def _example(tmp_path: Path) -> Path:
    return Path(shutil.copytree(defaults.EXAMPLE_ROUND, tmp_path / "round"))


def _scan(round_dir: Path, cache: Path | None, notices: list[str] | None = None, jobs: int = 1, **kw) -> dict:
    """A scan without the notes check (the questions about notes read no code facts)."""
    kw.setdefault("notes", False)
    return scan(
        ScanConfig(
            round_dir=round_dir,
            jobs=jobs,
            cache_dir=cache,
            notice=notices.append if notices is not None else None,
            **kw,
        )
    )


@pytest.mark.parametrize("jobs", [2, 1], ids=["in-workers", "in-process"])
def test_a_warm_rescan_parses_no_questioned_file_and_asks_the_same_questions(copied_round, tmp_path, parsed, jobs):
    files = _texts(copied_round)
    without = _scan(copied_round, None, jobs=jobs)
    parsed.clear()
    cold = _scan(copied_round, tmp_path / "cache", jobs=jobs)
    asked = set(texts_to_read(Report.from_dict(cold)))
    assert len(asked) >= scan_module._PARALLEL_FACTS_MIN_FILES and PY2 in asked
    assert sorted(t for t in parsed if t in files) == sorted(asked)  # each questioned file once
    parsed.clear()
    warm = _scan(copied_round, tmp_path / "cache", jobs=jobs)
    assert [t for t in parsed if t in files] == []
    assert _same_report(cold, without) and _same_report(warm, without)
    assert len(_questions(warm)) > 100 and {q["kind"] for q in _questions(warm)} >= {"function", "constant"}
    with FactsCache.open(tmp_path / "cache") as cache:
        assert cache.size()[0] == len(asked)
        assert cache.get_many([text_key(PY2)]) == {text_key(PY2): None}  # libCST refused it


def test_a_changed_file_and_a_late_submission_are_parsed_again_and_nothing_else(tmp_path, parsed):
    round_dir, cache = _example(tmp_path), tmp_path / "cache"
    first = _scan(round_dir, cache)
    assert sorted(t for t in parsed if t in _texts(round_dir)) == sorted(texts_to_read(Report.from_dict(first)))
    changed = round_dir / "bob" / "cnn.py"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\ndef extra(x):\n    return x * 2\n", "utf-8")
    late = round_dir / "erin" / "train.py"
    late.parent.mkdir()
    late.write_text((round_dir / "alice" / "train.py").read_text(encoding="utf-8") + "\nprint('late')\n", "utf-8")
    parsed.clear()
    report = _scan(round_dir, cache)
    assert sorted(t for t in parsed if t in _texts(round_dir)) == sorted(
        [changed.read_text(encoding="utf-8"), late.read_text(encoding="utf-8")]
    )
    assert any(v["learner"] == "erin" and v["questions"] for v in report["verdicts"])
    assert _same_report(report, _scan(round_dir, None))


def test_other_facts_code_or_libcst_empties_the_cache_and_says_so(tmp_path, parsed, monkeypatch):
    round_dir, cache = _example(tmp_path), tmp_path / "cache"
    notices: list[str] = []
    clean = _scan(round_dir, cache, notices)
    assert notices == []
    questioned = {t for t in parsed if t in _texts(round_dir)}
    # a module that decides the facts changed: its source is part of the key
    monkeypatch.setattr(factcache, "_SOURCES", factcache._SOURCES + ("core/textnorm.py",))
    parsed.clear()
    report = _scan(round_dir, cache, notices)
    assert len(notices) == 1 and notices[0].startswith(f"question facts cache {cache} ")
    assert "the code that reads the facts changed" in notices[0] and "rebuilding" in notices[0]
    assert {t for t in parsed if t in _texts(round_dir)} == questioned  # nothing old was used
    assert _same_report(report, clean)
    parsed.clear()
    _scan(round_dir, cache, notices)
    assert len(notices) == 1 and not [t for t in parsed if t in questioned]
    # another libCST (its parser decides the facts)
    real_version = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda n: "99.0" if n == "libcst" else real_version(n))
    _scan(round_dir, cache, notices)
    assert len(notices) == 3  # the fingerprint cache's and the facts cache's
    assert any(n.startswith("question facts cache") and "-> 99.0" in n for n in notices[1:])
    assert {t for t in parsed if t in _texts(round_dir)} == questioned


def test_damaged_entries_are_parsed_again_with_one_notice(tmp_path, parsed):
    round_dir, cache = _example(tmp_path), tmp_path / "cache"
    clean = _scan(round_dir, cache)
    victims = sorted(texts_to_read(Report.from_dict(clean)))[:2]
    assert len(victims) == 2
    for victim, at in zip(victims, (8, 20)):  # the first byte of the body, one inside it
        damage_entry(cache / CACHE_FILE, text_key(victim), at)
    notices: list[str] = []
    parsed.clear()
    report = _scan(round_dir, cache, notices)
    assert sorted(t for t in parsed if t in _texts(round_dir)) == victims
    assert notices == [f"question facts cache {cache}: 2 damaged entries ignored and computed again"]
    assert _same_report(report, clean)
    parsed.clear()
    _scan(round_dir, cache)
    assert not [t for t in parsed if t in _texts(round_dir)]  # stored whole again


def test_facts_come_back_from_their_encoding_as_they_were():
    samples = [
        code_facts(D2L.read_text(encoding="utf-8")),
        code_facts(PY2),  # None
        code_facts("import torch\n\n\ndef 前向(x):\n    层 = torch.nn.Linear(784, 10)  # 第一层\n    return 层(x)\n"),
        # a lone surrogate (an undecodable byte the reader kept) in the quoted code
        _Facts([_Def("function", "f", 1, 2)], [_Spot(3, 3, 'g("\udcff", 7)', 2.5, ("7",), 'g(…, 7)')]),
    ]
    assert samples[0] is not None and samples[0].defs and samples[0].constants and samples[0].removals
    assert samples[1] is None and samples[2] is not None and samples[2].constants and samples[2].defs
    for facts in samples:
        again = decode(encode(facts))
        assert again == facts
        if facts is not None:  # scores keep their type (an int is printed as an int)
            assert [type(s.score) for s in again.constants] == [type(s.score) for s in facts.constants]
            assert all(isinstance(s.detail, tuple) for s in again.constants + again.shapes)


def test_an_entry_that_is_not_what_the_cache_wrote_is_refused_and_a_pickle_never_loaded(monkeypatch):
    magic = factcache._MAGIC
    good = encode(code_facts(D2L.read_text(encoding="utf-8")))
    with pytest.raises(CorruptEntry):
        decode(good[:-1] + bytes([good[-1] ^ 1]))  # the checksum no longer holds
    planted = {"defs": [["function", "f", "1", 2]], "constants": [], "shapes": [], "removals": []}
    with pytest.raises(CorruptEntry):  # a sealed entry of other types: refused, not a later crash
        decode(seal(magic, zlib.compress(json.dumps(planted).encode())))
    with pytest.raises(CorruptEntry):
        decode(seal(magic, zlib.compress(b'{"defs": []}')))

    def no_unpickling(*args, **kwargs):
        raise AssertionError("the facts cache unpickled an entry")

    monkeypatch.setattr(pickle, "loads", no_unpickling)
    monkeypatch.setattr(pickle, "load", no_unpickling)
    with pytest.raises(CorruptEntry):
        decode(seal(magic, pickle.dumps(code_facts("lr = 0.1\n"))))
    with pytest.raises(CorruptEntry):
        decode(seal(magic, zlib.compress(pickle.dumps({"defs": []}))))
