"""Remembered rounds: `scan --round-name` stores a round in the index, later scans compare with it
(`source` history), a learner's own earlier work never raises risk, `checker rounds list|remove`."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import BigramEmbedder, write_round
from checker.cli.main import cli
from checker.corpus import rounds as rounds_module
from checker.corpus.rounds import RoundsError, list_rounds, remove_round
from checker.pipeline.scan import ScanConfig, scan_report

# A learner's distinctive code (no training loop, nothing the shipped common list knows).
BEAM = '''
import math
from collections import defaultdict


class BeamSearchDecoder:
    """Decode a sequence model's output with a beam of partial hypotheses."""

    def __init__(self, vocab, beam_width=5, length_penalty=0.7, max_steps=40):
        self.vocab = vocab
        self.beam_width = beam_width
        self.length_penalty = length_penalty
        self.max_steps = max_steps
        self.end_token = vocab.index("<eos>")

    def normalised(self, score, length):
        return score / (((5 + length) / 6) ** self.length_penalty)

    def expand(self, hypothesis, log_probs):
        tokens, score = hypothesis
        ranked = sorted(range(len(log_probs)), key=lambda j: -log_probs[j])[: self.beam_width]
        return [(tokens + [j], score + log_probs[j]) for j in ranked]

    def decode(self, step_fn, start):
        beams = [([start], 0.0)]
        finished = []
        for step in range(self.max_steps):
            candidates = []
            for hypothesis in beams:
                if hypothesis[0][-1] == self.end_token:
                    finished.append(hypothesis)
                    continue
                candidates.extend(self.expand(hypothesis, step_fn(hypothesis[0])))
            if not candidates:
                break
            candidates.sort(key=lambda h: -self.normalised(h[1], len(h[0])))
            beams = candidates[: self.beam_width]
        finished.extend(beams)
        best = max(finished, key=lambda h: self.normalised(h[1], len(h[0])))
        return [self.vocab[t] for t in best[0]]


def ngram_overlap(reference, candidate, n=2):
    counts = defaultdict(int)
    for i in range(len(reference) - n + 1):
        counts[tuple(reference[i:i + n])] += 1
    hits = 0
    for i in range(len(candidate) - n + 1):
        key = tuple(candidate[i:i + n])
        if counts[key] > 0:
            hits += 1
            counts[key] -= 1
    return hits / max(1, len(candidate) - n + 1)
'''

AUGMENT = '''
import math
import random


def make_augmenter(seed, flip_probability=0.5, crop_margin=4):
    rng = random.Random(seed)

    def augment(image):
        height, width = len(image), len(image[0])
        if rng.random() < flip_probability:
            image = [list(reversed(row)) for row in image]
        top = rng.randint(0, crop_margin)
        left = rng.randint(0, crop_margin)
        cropped = [row[left:width - crop_margin + left] for row in image[top:height - crop_margin + top]]
        padded = [[0] * (crop_margin // 2) + row + [0] * (crop_margin // 2) for row in cropped]
        blank = [0] * len(padded[0])
        return [blank] * (crop_margin // 2) + padded + [blank] * (crop_margin // 2)

    return augment


class CosineWarmupSchedule:
    def __init__(self, base_lr, warmup_steps, total_steps, floor=1e-5):
        self.base_lr = base_lr
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.floor = floor

    def rate(self, step):
        if step < self.warmup_steps:
            return self.base_lr * (step + 1) / self.warmup_steps
        progress = (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps)
        cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        return self.floor + (self.base_lr - self.floor) * cosine

    def table(self):
        return [round(self.rate(s), 6) for s in range(self.total_steps)]
'''

# Each learner's own, unrelated code.
HONEST = {
    "sieve": '''
def primes_below(limit):
    marks = bytearray([1]) * limit
    marks[:2] = b"\\x00\\x00"
    for p in range(2, int(limit ** 0.5) + 1):
        if marks[p]:
            marks[p * p::p] = bytearray(len(range(p * p, limit, p)))
    return [i for i, m in enumerate(marks) if m]
''',
    "matrix": '''
def transpose(rows):
    return [list(col) for col in zip(*rows)]


def matmul(a, b):
    cols = transpose(b)
    return [[sum(x * y for x, y in zip(row, col)) for col in cols] for row in a]
''',
    "words": '''
from collections import Counter


def top_words(text, n=5):
    words = [w.strip(".,;:!?").lower() for w in text.split()]
    return Counter(w for w in words if w).most_common(n)
''',
}

ROUND_1 = {  # 2024-task1
    "learner-01/augment.py": AUGMENT,
    "learner-02/beam.py": BEAM,
    "learner-05/sieve.py": HONEST["sieve"],
}
ROUND_2 = {  # 2025-task1: learner-01 hands in their own file again, learner-03 learner-02's
    "learner-01/aug_v2.py": AUGMENT,
    "learner-03/decoder.py": BEAM,
    "learner-04/matrix.py": HONEST["matrix"],
    "learner-06/words.py": HONEST["words"],
}


def _scan(round_dir: Path, index: Path, name: str | None = None, **extra):
    config = ScanConfig(round_dir=round_dir, index_dir=index, round_name=name, notes=False, jobs=1,
                        **extra)
    return scan_report(config)


@pytest.fixture()
def two_rounds(tmp_path):
    """An index that remembers 2024-task1; 2025-task1 scanned against it and stored too."""
    index = tmp_path / "index"
    first = _scan(write_round(tmp_path / "r1", ROUND_1), index, "2024-task1")
    second = _scan(write_round(tmp_path / "r2", ROUND_2), index, "2025-task1")
    return index, first, second


def _copies(report) -> set[str]:
    """The remembered learners with whom the report has a history pair of the same code (a few
    lines of chance overlap between unrelated files are pairs too, at low similarity)."""
    return {p.right for p in report.pairs if p.source == "history" and p.similarity > 0.5}


def _verdict(report, learner):
    return next(v for v in report.verdicts if v.learner == learner)


def test_a_file_handed_in_again_by_another_learner_is_paired_with_the_first_rounds_learner(two_rounds):
    index, first, second = two_rounds
    assert [r.name for r in list_rounds(index)] == ["2024-task1", "2025-task1"]
    assert first.history.compared == [] and first.history.stored.name == "2024-task1"
    assert [r.name for r in second.history.compared] == ["2024-task1"]
    [pair] = [p for p in second.pairs if p.left == "learner-03" and p.right == "2024-task1:learner-02"]
    assert (pair.source, pair.left_file, pair.right_file) == ("history", "decoder.py", "beam.py")
    assert pair.history.round == "2024-task1" and not pair.history.own_work
    assert pair.similarity == 1.0
    verdict = _verdict(second, "learner-03")
    assert verdict.risk == "high"
    assert "2024-task1:learner-02" in verdict.reasons[0] and "beam.py" in verdict.reasons[0]
    assert verdict.evidence[0].kind == "history" and verdict.evidence[0].partner == "2024-task1:learner-02"
    # the review questions ask about the copied file, pointing at the earlier round's learner
    assert verdict.questions and verdict.questions[0].file == "decoder.py"
    assert "2024-task1:learner-02" in verdict.questions[0].source
    # the honest learners of the second round stay clear
    assert _verdict(second, "learner-04").risk == "none" and _verdict(second, "learner-06").risk == "none"


def test_a_learners_own_earlier_file_is_shown_as_own_work_and_raises_no_risk(two_rounds):
    _, _, second = two_rounds
    [pair] = [p for p in second.pairs if p.left == "learner-01" and p.right == "2024-task1:learner-01"]
    assert pair.source == "history" and pair.history.own_work and pair.similarity == 1.0
    verdict = _verdict(second, "learner-01")
    assert verdict.risk == "none" and verdict.score == 0.0
    assert any("own earlier work" in r and "augment.py" in r for r in verdict.reasons)
    [item] = [e for e in verdict.evidence if e.kind == "history"]
    assert item.level == "none"


def test_pairs_csv_names_the_round_and_the_learner_and_says_history(two_rounds):
    from checker.report.writers import pairs_csv

    _, _, second = two_rounds
    rows = list(csv.DictReader(io.StringIO(pairs_csv(second))))
    history = {(r["left"], r["right"], r["right_file"]) for r in rows if r["source"] == "history"}
    assert ("learner-03", "2024-task1:learner-02", "beam.py") in history
    assert ("learner-01", "2024-task1:learner-01", "augment.py") in history


def test_the_pair_page_shows_both_sides_and_the_learner_page_says_own_earlier_work(two_rounds, tmp_path):
    from checker.report.html import render_html

    _, _, second = two_rounds
    out = tmp_path / "html"
    render_html(second, out)
    number = next(i for i, p in enumerate(second.pairs, 1) if p.right == "2024-task1:learner-02")
    page = (out / "pairs" / f"pair-{number:04d}.html").read_text(encoding="utf-8")
    assert page.count("BeamSearchDecoder") >= 2  # the code of both files, not line ranges
    assert "not in report.json" not in page and "earlier round 2024-task1" in page
    assert "2024-task1:learner-01" in json.dumps(second.to_dict()["history"]["files"])
    learner_pages = "".join(p.read_text(encoding="utf-8") for p in (out / "learners").glob("*.html"))
    assert "own earlier work · 2024-task1" in learner_pages
    assert "remembered rounds compared" in (out / "index.html").read_text(encoding="utf-8")


def test_an_anonymised_report_codes_the_learners_of_remembered_rounds(two_rounds):
    from checker.report.html.anonymise import anonymise_report

    _, _, second = two_rounds
    text = json.dumps(anonymise_report(second).to_dict(), ensure_ascii=False)
    assert not re.search(r"learner-0\d", text)
    assert "2024-task1:E" in text  # learner-02 is not of this round: an earlier-round code


def test_rescanning_under_the_same_name_replaces_it_and_never_compares_with_its_own_copy(two_rounds, tmp_path):
    index, _, _ = two_rounds
    changed = dict(ROUND_2)
    del changed["learner-06/words.py"]
    again = _scan(write_round(tmp_path / "r2b", changed), index, "2025-task1")
    assert [r.name for r in again.history.compared] == ["2024-task1"]
    assert not any(p.right.startswith("2025-task1:") for p in again.pairs)
    stored = {r.name: r for r in list_rounds(index)}
    assert list(stored) == ["2024-task1", "2025-task1"]
    assert (stored["2025-task1"].learners, stored["2025-task1"].files) == (3, 3)
    # a third round sees the replaced second round: learner-06 is no longer remembered
    third = _scan(write_round(tmp_path / "r3", {"learner-07/w.py": HONEST["words"],
                                                 "learner-08/m.py": HONEST["matrix"]}), index)
    partners = _copies(third)
    assert "2025-task1:learner-04" in partners and "2025-task1:learner-06" not in partners


def test_no_history_compares_with_no_remembered_round(two_rounds, tmp_path):
    index, _, _ = two_rounds
    report = _scan(write_round(tmp_path / "r3", ROUND_2), index, history=False)
    assert not any(p.source == "history" for p in report.pairs)
    assert report.history is None
    assert _verdict(report, "learner-03").risk == "none"


def test_remove_forgets_a_round_and_an_unknown_name_is_a_clear_error(two_rounds, tmp_path):
    index, _, _ = two_rounds
    removed = remove_round(index, "2024-task1")
    assert (removed.name, removed.learners, removed.files) == ("2024-task1", 3, 3)
    assert [r.name for r in list_rounds(index)] == ["2025-task1"]
    with pytest.raises(RoundsError, match=r"2024-task1: no remembered round of that name .*2025-task1"):
        remove_round(index, "2024-task1")
    report = _scan(write_round(tmp_path / "r3", {"learner-09/b.py": BEAM}), index)
    # beam.py is still remembered, through learner-03's copy in 2025-task1
    assert _copies(report) == {"2025-task1:learner-03"}


def test_aliases_join_one_persons_ids_and_bad_rows_are_warnings_naming_file_and_row(two_rounds, tmp_path):
    index, _, _ = two_rounds
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("learner,alias\nlearner-10,learner-02\nlearner-10\n,learner-3\n", encoding="utf-8")
    report = _scan(write_round(tmp_path / "r3", {"learner-10/beam_again.py": BEAM,
                                                 "learner-11/sieve.py": HONEST["sieve"]}),
                   index, aliases_path=aliases)
    mine = [p for p in report.pairs if p.left == "learner-10" and p.right in _copies(report)]
    by_partner = {p.right: p.history.own_work for p in mine}
    # learner-02's beam.py (2024) is learner-10's own; learner-03's copy of it (2025) is not
    assert by_partner == {"2024-task1:learner-02": True, "2025-task1:learner-03": False}
    warned = [w for w in report.warnings if w.path == str(aliases)]
    assert [w.reason.split(":")[0] for w in warned] == ["row 3 skipped", "row 4 skipped"]
    assert report.history.aliases == str(aliases)


def test_an_earlier_rounds_handout_is_not_evidence_against_a_later_round(tmp_path):
    index = tmp_path / "index"
    handout = write_round(tmp_path / "handout", {"decoder.py": BEAM})
    first = dict(ROUND_1)
    first["learner-02/beam.py"] = BEAM + HONEST["words"]  # the handout's file, kept and extended
    _scan(write_round(tmp_path / "r1", first), index, "2024-task1", base_dir=handout)
    # a later round of another task, without that handout: a learner has the old handout's code
    later = _scan(write_round(tmp_path / "r2", {"learner-20/old_handout.py": BEAM,
                                                "learner-21/m.py": HONEST["matrix"]}), index)
    assert _verdict(later, "learner-20").risk == "none"
    assert not any(p.left == "learner-20" and p.right == "2024-task1:learner-02" for p in later.pairs)


def test_a_store_that_fails_midway_leaves_the_remembered_rounds_as_they_were(two_rounds, tmp_path,
                                                                            monkeypatch):
    index, _, _ = two_rounds
    before = [(r.name, r.learners, r.files, r.stored_at) for r in list_rounds(index)]
    calls = []

    def fail_on_second_file(conn, doc, known):
        calls.append(doc.source.path)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return original(conn, doc, known)

    original = rounds_module._content_id
    monkeypatch.setattr(rounds_module, "_content_id", fail_on_second_file)
    with pytest.raises(OSError, match="simulated"):  # replacing 2025-task1 with another round
        _scan(write_round(tmp_path / "r3", {"learner-30/a.py": HONEST["sieve"],
                                            "learner-31/b.py": HONEST["words"]}), index, "2025-task1")
    calls.clear()
    with pytest.raises(OSError, match="simulated"):  # a new name
        _scan(write_round(tmp_path / "r4", ROUND_1), index, "2026-task1")
    monkeypatch.undo()
    assert [(r.name, r.learners, r.files, r.stored_at) for r in list_rounds(index)] == before
    # the old 2025-task1 is whole: its copy of beam.py is still found and shown
    report = _scan(write_round(tmp_path / "r5", {"learner-40/b.py": BEAM}), index)
    partners = _copies(report)
    assert partners == {"2024-task1:learner-02", "2025-task1:learner-03"}
    assert partners <= {f.owner for f in report.history.files}


def test_rounds_stored_with_other_fingerprint_parameters_are_refused_not_compared(two_rounds, tmp_path):
    from checker.code.fingerprints import FingerprintParams, ParamsMismatch

    index, _, _ = two_rounds
    with pytest.raises(ParamsMismatch, match="remembered rounds were stored with other"):
        _scan(write_round(tmp_path / "r3", ROUND_2), index, params=FingerprintParams(k=30),
              min_fragment_tokens=30)


def test_notes_of_a_remembered_round_are_compared_and_a_learners_own_earlier_notes_are_not(tmp_path,
                                                                                         monkeypatch):
    from checker.notes import embeddings

    monkeypatch.setattr(embeddings, "Embedder", lambda *a, **k: BigramEmbedder())
    momentum = ("Momentum keeps an exponentially decaying average of past gradients and steps along "
                "it, so that the oscillations across a narrow valley cancel while the consistent "
                "direction along its floor adds up; with a coefficient of 0.9 the effective step is ten "
                "times the learning rate once the average has warmed up, which is why the learning "
                "rate is usually lowered when momentum is switched on in the optimiser.\n")
    dropout = ("Dropout zeroes each hidden unit with probability p during training and scales the "
               "survivors by one over one minus p, so the expected activation is unchanged at test "
               "time; I read it as training an ensemble of thinned networks that share weights, and in "
               "my runs it helped the wide fully connected layers far more than the convolutions, "
               "where batch normalisation already regularised enough.\n")
    index = tmp_path / "index"
    first = {"learner-01/notes.md": "# Week 3\n\n" + momentum, "learner-01/a.py": HONEST["sieve"],
             "learner-02/notes.md": "# Week 3\n\n" + dropout, "learner-02/b.py": HONEST["words"]}
    scan_report(ScanConfig(round_dir=write_round(tmp_path / "r1", first), index_dir=index,
                           round_name="2024-task1", jobs=1))
    second = {"learner-01/week3.md": "# Notes\n\n" + momentum, "learner-03/notes.md": "# Mine\n\n" + dropout,
              "learner-03/c.py": HONEST["matrix"]}
    report = scan_report(ScanConfig(round_dir=write_round(tmp_path / "r2", second), index_dir=index,
                                    jobs=1))
    shared = {(s.learner_a, s.learner_b) for s in report.notes.shared}
    assert shared == {("learner-03", "2024-task1:learner-02")}  # not learner-01's own notes of 2024
    assert any("2024-task1:learner-02" in r for r in _verdict(report, "learner-03").reasons)
    [mine] = [e for e in report.notes.learners if e.learner == "learner-01"]
    assert {p.status for p in mine.paragraphs if p.words > 20} == {"own"}


def test_cli_remembers_lists_and_removes_rounds(tmp_path):
    runner = CliRunner()
    index = tmp_path / "index"
    r1, r2 = write_round(tmp_path / "r1", ROUND_1), write_round(tmp_path / "r2", ROUND_2)
    done = runner.invoke(cli, ["scan", str(r1), "--index", str(index), "--round-name", "2024-task1",
                               "--no-notes", "-q", "--jobs", "1"])
    assert done.exit_code == 0, done.output
    out = tmp_path / "out"
    done = runner.invoke(cli, ["scan", str(r2), "--index", str(index), "--no-notes", "-q", "--jobs", "1",
                               "-o", str(out), "--no-html", "--fail-on", "high"])
    assert done.exit_code == 1, done.output  # learner-03's copy of an earlier round is high risk
    rows = list(csv.DictReader((out / "pairs.csv").open(encoding="utf-8")))
    assert {"2024-task1:learner-02", "2024-task1:learner-01"} <= {r["right"] for r in rows}
    listed = json.loads(runner.invoke(cli, ["rounds", "list", "--index", str(index), "--json"]).output)
    assert [(r["name"], r["learners"], r["files"]) for r in listed["rounds"]] == [("2024-task1", 3, 3)]
    table = runner.invoke(cli, ["rounds", "list", "--index", str(index)])
    assert table.exit_code == 0 and "2024-task1" in table.output
    missing = runner.invoke(cli, ["rounds", "remove", "2023-task1", "--index", str(index)])
    assert missing.exit_code == 2 and "2023-task1: no remembered round of that name" in missing.output
    removed = runner.invoke(cli, ["rounds", "remove", "2024-task1", "--index", str(index)])
    assert removed.exit_code == 0 and removed.output.startswith("removed 2024-task1")
    empty = runner.invoke(cli, ["rounds", "list", "--index", str(index)])
    assert "no remembered rounds" in empty.output
    bad = runner.invoke(cli, ["scan", str(r1), "--index", str(index), "--round-name", "a:b", "-q"])
    assert bad.exit_code == 2 and "cannot hold ':'" in bad.output


def test_aliases_without_an_index_of_remembered_rounds_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no default index folder here
    monkeypatch.delenv("NOSHORTCUT_INDEX", raising=False)
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("learner-01,learner-02\n", encoding="utf-8")
    done = CliRunner().invoke(cli, ["scan", str(write_round(tmp_path / "r1", ROUND_1)), "--aliases",
                                    str(aliases), "--no-notes", "-q"])
    assert done.exit_code == 2 and "give --index" in done.output
