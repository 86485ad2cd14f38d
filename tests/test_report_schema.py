"""docs/report-schema.json is the schema generated from the typed report, and reports validate."""

from __future__ import annotations

import json

import orjson
import pytest
from test_render_fixtures import small_round_report

from checker.report.schema import SCHEMA_PATH, main, report_json_schema, schema_text


def test_the_committed_schema_is_the_generated_one():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "docs/report-schema.json is out of date: run `python -m checker.report.schema`")


def test_check_mode_fails_on_a_stale_schema_file(tmp_path, capsys):
    stale = tmp_path / "schema.json"
    stale.write_text(schema_text().replace('"integer"', '"string"', 1), encoding="utf-8")
    assert main(["--check", str(stale)]) == 1
    assert "python -m checker.report.schema" in capsys.readouterr().err
    assert main([str(stale)]) == 0 and main(["--check", str(stale)]) == 0


def test_the_schema_names_every_section_and_forbids_other_keys():
    schema = report_json_schema()
    assert list(schema["properties"]) == [
        "schema_version", "tool", "created", "elapsed_s", "config", "stats", "learners", "files",
        "pairs", "learner_pairs", "findings", "notes", "retrain", "outputs", "warnings", "verdicts",
        "corpus", "task", "notes_corpus", "history", "lang"]
    assert schema["additionalProperties"] is False
    assert all(d["additionalProperties"] is False for d in schema["$defs"].values())
    assert "text" not in schema["$defs"]["FileEntry"]["required"]  # only for files in pairs
    retrain = schema["properties"]["retrain"]["additionalProperties"]["anyOf"]
    assert retrain == [{"$ref": "#/$defs/RetrainRun"}, {"$ref": "#/$defs/RetrainSkipped"}]


def test_a_full_report_validates_and_a_changed_one_does_not():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(report_json_schema())
    report = json.loads(orjson.dumps(small_round_report()))
    assert list(validator.iter_errors(report)) == []
    report["pairs"][0]["colour"] = "red"
    report["notes"]["learners"][0]["own_share"] = "35%"
    assert len(list(validator.iter_errors(report))) == 2
