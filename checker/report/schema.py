"""report.json's JSON Schema, generated from the typed report (`checker.report.model`).

`report_json_schema()` walks the dataclasses' fields and type hints (`checker.report.codec`), so
the schema says what `Report.to_dict()` writes: every key, its type, which keys are always there,
and no others. docs/report-schema.json is this schema, committed; tests/test_report_schema.py
regenerates it and fails when the two differ, so that the published schema cannot drift from
the code. Regenerate it after changing a section type:

    python -m checker.report.schema            # writes docs/report-schema.json
    python -m checker.report.schema --check    # exit 1 when the committed file differs
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from checker import defaults
from checker.report.codec import json_schema
from checker.report.model import Report

SCHEMA_ID = f"https://noshortcut.invalid/report-schema/v{defaults.REPORT_SCHEMA_VERSION}.json"
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "report-schema.json"


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of report.json at the current schema version."""
    schema = json_schema(
        Report, f"noshortcut report.json, schema version {defaults.REPORT_SCHEMA_VERSION}", SCHEMA_ID
    )
    schema["properties"]["schema_version"]["const"] = defaults.REPORT_SCHEMA_VERSION
    return schema


def schema_text() -> str:
    """The schema as docs/report-schema.json holds it (indented, keys in order, final newline)."""
    return json.dumps(report_json_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m checker.report.schema", description="Write (or check) report.json's JSON Schema."
    )
    parser.add_argument(
        "path", nargs="?", type=Path, default=SCHEMA_PATH, help=f"the schema file [default: {SCHEMA_PATH}]"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the file differs from the generated schema",
    )
    args = parser.parse_args(argv)
    text = schema_text()
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
        if current != text:
            print(
                f"{args.path}: differs from the schema generated from checker.report.model; "
                f"run `python -m checker.report.schema`",
                file=sys.stderr,
            )
            return 1
        print(f"{args.path}: up to date")
        return 0
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
