"""The typed report (checker.report.model): report.json read and written through it is the same
JSON, values keep their Python types, and a report of another shape is refused naming the place."""

from __future__ import annotations

import json

import orjson
import pytest
from test_render_fixtures import small_round_report

from checker import defaults
from checker.code.scoring import FilePair, FragmentSpan, LearnerPair
from checker.report.codec import ReportError
from checker.report.model import (
    FilePairEntry,
    LearnerPairEntry,
    NotesSection,
    PairFragment,
    Report,
    RetrainRun,
    RetrainSkipped,
)
from checker.report.writers import load_report, write_report


def _json(data: dict) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY)


@pytest.fixture(scope="module")
def full_report() -> dict:
    """Every section filled: code pairs (and a corpus pair), findings, notes, retrain (a run and
    a manifest's skipped entry), warnings, verdicts, corpus and task."""
    return json.loads(_json(small_round_report()))


@pytest.fixture(scope="module")
def example_report() -> dict:
    """A real scan of the bundled example with its task file: rules and notes ran."""
    from checker.pipeline.scan import ScanConfig, scan

    return json.loads(_json(scan(ScanConfig(
        round_dir=defaults.EXAMPLE_ROUND, base_dir=defaults.EXAMPLE_HANDOUT,
        task_path=defaults.EXAMPLE_TASK, jobs=1))))


@pytest.mark.parametrize("name", ["full_report", "example_report"])
def test_from_dict_to_dict_gives_back_the_same_json_bytes_and_round_trips(name, request):
    data = request.getfixturevalue(name)
    report = Report.from_dict(data)
    assert _json(report.to_dict()) == _json(data)
    assert list(report.to_dict()) == list(data)  # keys in the order report.json has them
    assert Report.from_dict(report.to_dict()) == report


def test_every_section_is_typed(full_report):
    report = Report.from_dict(full_report)
    assert isinstance(report.notes, NotesSection)
    assert report.notes.learners[0].paragraphs[0].corpus_match.source.span.start_line == 10
    assert isinstance(report.retrain["ann"], RetrainRun)
    assert isinstance(report.retrain["cat"], RetrainSkipped)
    assert isinstance(report.pairs[0].fragments[0], PairFragment)
    assert report.task.max_params == 20_000_000 and report.corpus.sources[0].licence == "MIT-0"
    assert report.verdicts[0].risk == "high"


def test_the_example_scan_has_notes_findings_and_task(example_report):
    report = Report.from_dict(example_report)
    assert report.notes is not None and report.notes.shared
    assert report.findings and report.task is not None and report.config is not None
    assert "corpus" not in example_report and report.corpus is None  # no index: no key


def test_a_section_that_did_not_run_is_written_as_it_was(full_report):
    data = {**full_report, "notes": {}, "retrain": {}}
    data.pop("corpus")
    data.pop("task")
    report = Report.from_dict(data)
    assert report.notes is None and report.retrain == {} and report.task is None
    assert _json(report.to_dict()) == _json(data)


def test_values_keep_their_types():
    data = {"learner": "ann", "kind": "too_short", "message": "short", "value": 109, "limit": 150,
            "severity": "info", "norm_from_task": False}
    from checker.report.model import NotesFinding

    finding = NotesFinding.from_dict(data)
    assert finding.to_dict() == data and type(finding.to_dict()["value"]) is int


def test_report_json_read_back_through_the_model(tmp_path, full_report):
    write_report(full_report, tmp_path)
    raw = (tmp_path / "report.json").read_bytes()
    assert raw == _json(full_report)
    assert load_report(tmp_path).to_dict() == full_report


def test_pair_entries_match_what_the_scoring_module_writes():
    pair = FilePair("ann", "pypi:d2l==1.0.3", "a.py", "d2l/torch.py", 0.123456789, 0.987654321,
                    0.5, 7, [FragmentSpan(1, 5, 10, 14, 30), FragmentSpan(8, 9, 20, 22, 12)],
                    source="corpus", attributed=True, attribution="# from d2l",
                    right_meta={"version": "1.0.3", "licence": "MIT", "functions": ["f"]})
    assert FilePairEntry.of(pair).to_dict() == pair.to_dict()
    assert FilePairEntry.from_dict(pair.to_dict()) == FilePairEntry.of(pair)
    lp = LearnerPair("ann", "ben", 0.333333, 0.25, 0.75, 9, 2)
    assert LearnerPairEntry.of(lp).to_dict() == lp.to_dict()


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("pairs"), "lacks a field this checker needs: pairs"),
    (lambda d: d["pairs"][2].pop("left"), "lacks a field this checker needs: pairs[2].left"),
    (lambda d: d["pairs"][0].update(similarity="high"),
     "pairs[0].similarity in another shape: expected a number, got str"),
    (lambda d: d["pairs"][0]["fragments"][0].update(tokens=1.5),
     "pairs[0].fragments[0].tokens in another shape: expected an integer, got float"),
    (lambda d: d["notes"]["learners"][0]["paragraphs"][0].update(risk="high"),
     "a field this checker does not know: notes.learners[0].paragraphs[0].risk"),
    (lambda d: d["retrain"]["ann"].update(claimed={"test_accuracy": 0.7}),
     "retrain.ann.claimed in another shape: expected a number, got dict"),
    (lambda d: d.update(learners={}), "learners in another shape: expected a list, got dict"),
])
def test_a_report_of_another_shape_is_refused_naming_the_place(full_report, change, message):
    data = json.loads(json.dumps(full_report))
    change(data)
    with pytest.raises(ReportError) as exc:
        Report.from_dict(data)
    assert message in str(exc.value)


def test_a_scan_with_a_corpus_index_reads_back_as_the_same_bytes(tmp_path, round_dir):
    """The corpus section and a corpus pair's right_meta (version, licence, url, path,
    functions, cell_lines) survive report.json -> Report -> report.json."""
    from click.testing import CliRunner
    from test_scan_corpus import COPIED, INDEPENDENT, PUBLIC

    from checker.cli.main import cli

    (tmp_path / "public" / "d2lmini").mkdir(parents=True)
    (tmp_path / "public" / "d2lmini" / "torch.py").write_text(PUBLIC)
    runner = CliRunner()
    added = runner.invoke(cli, ["corpus", "add", f"dir:{tmp_path / 'public'}",
                                "--index", str(tmp_path / "index")])
    assert added.exit_code == 0, added.output
    root = round_dir({"ann/utils.py": COPIED, "ben/eval.py": INDEPENDENT})
    scanned = runner.invoke(cli, ["scan", str(root), "--index", str(tmp_path / "index"),
                                  "-o", str(tmp_path / "out"), "-q", "--no-html"])
    assert scanned.exit_code == 0, scanned.output
    raw = (tmp_path / "out" / "report.json").read_bytes()
    report = load_report(tmp_path / "out")
    assert report.corpus is not None and report.corpus.sources
    assert [p.source for p in report.pairs].count("corpus") == 1
    assert _json(report.to_dict()) == raw
