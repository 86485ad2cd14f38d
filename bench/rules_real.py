"""Run the example task files over the real west2 submissions and print the findings.

    python bench/rules_real.py                      # findings of every example task on its rounds
    python bench/rules_real.py --all-rules          # every rule on every file: the no-crash check
    python bench/rules_real.py --compare-qualified-names   # alias gatherer vs QualifiedNameProvider

Reads `../shared/datasets/west2-submissions-2024-2026.jsonl.gz` in place (never copied); exits
with a message when it is absent. A learner is the `learner-NN` folder of a path; the round is
what comes before it (`work3`, `pre_task/2024/task1`).
"""

from __future__ import annotations

import argparse
import base64
import collections
import gzip
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from checker.ingest.encoding import UndecodableError, decode_bytes  # noqa: E402
from checker.model import SourceFile  # noqa: E402
from checker.rules.check import check_submission  # noqa: E402
from checker.rules.reader import sources_from_text  # noqa: E402
from checker.task.taskfile import load_task, parse_task  # noqa: E402

OUTSIDE = "(outside learner folders)"
DATASET = REPO.parent / "shared" / "datasets" / "west2-submissions-2024-2026.jsonl.gz"

ALL_RULES = """
[task]
name = "all-rules"
[rules]
max_params = "20M"
forbid_pretrained = true
forbid_model_zoo = true
forbid_imports = ["d2l", "timm", "selenium", "transformers", "torchvision.models"]
forbid_calls = ["eval", "exec", "os.system"]
require_layers = ["LSTM|GRU", "Conv2d"]
forbid_loops = true
require_type_hints = true
require_files = ["**/*.md", "**/*.png"]
forbid_files = [".idea/|venv/"]
require_attribution = true
"""


def load_rounds(path: Path) -> tuple[dict[str, dict[str, list[SourceFile]]], int, list[str]]:
    """round -> learner -> SourceFiles, the number of .py files, and decode problems."""
    rounds: dict[str, dict[str, list[SourceFile]]] = collections.defaultdict(lambda: collections.defaultdict(list))
    problems: list[str] = []
    py_files = 0
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            parts = rec["path"].split("/")
            at = next((i for i, p in enumerate(parts) if p.startswith("learner-")), None)
            if at is None:
                # handout examples (ExampleName/) and round-level files: kept for the no-crash
                # check and the timings, never matched by an example task's rounds
                round_name, learner, rel = OUTSIDE, "/".join(parts[:-1]) or ".", parts[-1]
            else:
                round_name, learner, rel = "/".join(parts[:at]), parts[at], "/".join(parts[at + 1:])
            text = rec.get("text")
            encoding = "utf-8"
            if text is None:
                try:
                    text, encoding = decode_bytes(base64.b64decode(rec["text_b64"]))
                except UndecodableError as exc:
                    problems.append(f"{rec['path']}: {exc}")
                    continue
            py_files += rel.endswith(".py")
            try:
                rounds[round_name][learner].extend(sources_from_text(learner, rel, text, encoding))
            except ValueError as exc:
                problems.append(f"{rec['path']}: {exc}")
    return rounds, py_files, problems


def run_examples(rounds: dict, show: int) -> None:
    for task_path in sorted((REPO / "examples" / "tasks").glob("*.toml")):
        task = load_task(task_path)
        matching = [r for r in task.rounds if r in rounds]
        if not matching:
            continue
        for round_name in matching:
            learners = rounds[round_name]
            started = time.perf_counter()
            findings = []
            for learner in sorted(learners):
                findings.extend(check_submission(task, learners[learner], root=None, learner=learner))
            elapsed = time.perf_counter() - started
            by_code = collections.Counter(f.code for f in findings)
            print(f"\n== {task.name} on {round_name}: {len(learners)} learners, {len(findings)} findings "
                  f"in {elapsed:.2f}s  {dict(sorted(by_code.items()))}")
            for f in findings[:show]:
                cell = f" [cell {f.cell}]" if f.cell else ""
                print(f"  {f.learner}/{f}{cell}  ({f.severity})")
            if len(findings) > show:
                print(f"  ... {len(findings) - show} more")


def run_all_rules(rounds: dict) -> None:
    task = parse_task(ALL_RULES, "all-rules")
    started = time.perf_counter()
    total = collections.Counter()
    crashes = 0
    learners = 0
    for round_name, by_learner in sorted(rounds.items()):
        for learner, files in sorted(by_learner.items()):
            learners += 1
            try:
                findings = check_submission(task, files, root=None, learner=learner)
            except Exception as exc:  # noqa: BLE001 - this is the crash check
                crashes += 1
                print(f"CRASH {round_name}/{learner}: {type(exc).__name__}: {exc}")
                continue
            total.update(f.code for f in findings)
            for f in findings:
                if f.code == "NS000":
                    print(f"  {round_name}/{learner}/{f}")
    elapsed = time.perf_counter() - started
    code_files = sum(1 for r in rounds.values() for fs in r.values() for f in fs if f.kind == "code")
    print(f"\nall rules: {learners} learners, {code_files} code files (.py and notebooks), "
          f"{crashes} crashes, {elapsed:.1f}s; findings by code: {dict(sorted(total.items()))}")


def time_py_files(rounds: dict) -> None:
    """Parse + facts + positions for every .py file: the cost of the rules' front end."""
    from checker.rules.names import analyse_file

    sources = [f for r in rounds.values() for fs in r.values() for f in fs if f.path.endswith(".py") and f.kind == "code"]
    started = time.perf_counter()
    parsed = [analyse_file(s) for s in sources]
    mid = time.perf_counter()
    for p in parsed:
        if hasattr(p, "position"):
            p.position(p.module)
    end = time.perf_counter()
    print(f"{len(sources)} .py files: parse + gather facts {mid - started:.1f}s, "
          f"+ positions for every file {end - mid:.1f}s")


def compare_qualified_names(rounds: dict) -> None:
    """Agreement of the alias gatherer with libCST's QualifiedNameProvider, and both costs."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper, QualifiedNameProvider

    from checker.rules.names import CodeFile, SubmissionIndex, analyse_file

    sources = [f for r in rounds.values() for fs in r.values() for f in fs if f.path.endswith(".py") and f.kind == "code"]
    started = time.perf_counter()
    files = [a for a in (analyse_file(s) for s in sources) if isinstance(a, CodeFile)]
    ours_time = time.perf_counter() - started
    agree = differ = 0
    examples: list[str] = []
    provider_time = 0.0
    for f in files:
        index = SubmissionIndex([f])
        t0 = time.perf_counter()
        wrapper = MetadataWrapper(f.module, unsafe_skip_copy=True)
        names = wrapper.resolve(QualifiedNameProvider)
        resolved = {}
        for ref in f.facts.refs:  # libCST 1.9 hands out lazy values: force them inside the timing
            value = names.get(ref.node, set())
            resolved[id(ref.node)] = value() if callable(value) else value
        provider_time += time.perf_counter() - t0
        for ref in f.facts.refs:
            if not index.is_import_bound(f.path, ref.written, ref.function):
                continue
            ours = index.resolve(f.path, ref.written, ref.function)[0]
            theirs = {q.name for q in resolved[id(ref.node)]}
            if ours in theirs:
                agree += 1
            else:
                differ += 1
                if len(examples) < 8:
                    examples.append(f"{f.source.owner}/{f.path}: {ref.written} -> ours {ours}, provider {sorted(theirs)}")
    print(f"{len(files)} .py files: parse + alias gathering {ours_time:.1f}s; QualifiedNameProvider "
          f"adds {provider_time:.1f}s. Import-bound references: {agree} agree, {differ} differ")
    for e in examples:
        print("  ", e)
    del cst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all-rules", action="store_true", help="every rule on every learner (no-crash check)")
    parser.add_argument("--compare-qualified-names", action="store_true")
    parser.add_argument("--show", type=int, default=40, help="findings printed per task and round")
    args = parser.parse_args()
    if not DATASET.exists():
        print(f"skipped: {DATASET} is absent (the shared datasets folder is not mounted)")
        return 0
    started = time.perf_counter()
    rounds, py_files, problems = load_rounds(DATASET)
    print(f"loaded {sum(len(v) for v in rounds.values())} learner folders in {len(rounds)} rounds, "
          f"{py_files} .py files, in {time.perf_counter() - started:.1f}s; {len(problems)} undecodable")
    for p in problems:
        print("  ", p)
    if args.compare_qualified_names:
        compare_qualified_names(rounds)
    elif args.all_rules:
        time_py_files(rounds)
        run_all_rules(rounds)
    else:
        run_examples(rounds, args.show)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
