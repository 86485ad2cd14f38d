"""Learner verdicts come from their strongest evidence, in words a mentor can read out."""

from __future__ import annotations

from checker.report.model import FilePairEntry, Finding, NotesSection
from checker.report.verdicts import learner_verdicts as _learner_verdicts


def learner_verdicts(learners, learner_pairs, pairs, findings=None, notes=None):
    """The verdicts of report.json-shaped sections, read through the typed report."""
    return [v.to_dict() for v in _learner_verdicts(
        learners, learner_pairs, [FilePairEntry.from_dict(p) for p in pairs],
        [Finding.from_dict(f) for f in findings or []],
        NotesSection.from_dict(notes) if notes is not None else None)]


def _fragment(start: int, end: int, own: int, learners: int = 2) -> dict:
    return {"left_start_line": start, "left_end_line": end, "right_start_line": start,
            "right_end_line": end, "tokens": own, "own_tokens": own, "learners": learners}


def _pair(left: str, right: str, fragments: list[dict], left_file: str = "a.py",
          right_file: str = "b.py", coverage: float = 0.5, source: str = "learner", **extra) -> dict:
    return {"left": left, "right": right, "left_file": left_file, "right_file": right_file,
            "similarity": coverage, "left_coverage": coverage, "right_coverage": coverage,
            "longest_lines": max((f["left_end_line"] - f["left_start_line"] + 1 for f in fragments),
                                 default=0),
            "fragments": fragments, "source": source, **extra}


def _by_learner(verdicts: list[dict]) -> dict[str, dict]:
    return {v["learner"]: v for v in verdicts}


def test_many_short_idiom_fragments_are_not_evidence_however_much_they_cover():
    idioms = [_fragment(10 * i + 1, 10 * i + 3, 25) for i in range(7)]  # seven 3-line idioms
    verdicts = _by_learner(learner_verdicts(["ann", "ben"], [], [_pair("ann", "ben", idioms,
                                                                       coverage=0.85)]))
    assert verdicts["ann"]["risk"] == "none" and verdicts["ben"]["risk"] == "none"


def test_one_long_copied_run_raises_risk_and_names_partner_files_and_lines():
    pair = _pair("ann", "ben", [_fragment(40, 75, 260)], "train.py", "main.py", coverage=0.3)
    ann = _by_learner(learner_verdicts(["ann", "ben"], [], [pair]))["ann"]
    assert ann["risk"] == "high"
    assert "train.py lines 40-75" in ann["reasons"][0] and "ben's main.py" in ann["reasons"][0]


def test_a_copied_file_is_found_whatever_else_the_folder_holds():
    copied = _pair("ann", "ben", [_fragment(1, 30, 200)], "copied.py", "orig.py", coverage=1.0)
    alone = _by_learner(learner_verdicts(["ann", "ben"], [], [copied]))["ann"]
    # the same learner with 200 more files of her own, each with a tiny idiom match
    noise = [_pair("ann", "cat", [_fragment(1, 2, 12)], f"tiny{i}.py", "c.py", coverage=0.05)
             for i in range(200)]
    crowded = _by_learner(learner_verdicts(["ann", "ben", "cat"], [], [copied, *noise]))["ann"]
    assert alone["risk"] == crowded["risk"] == "high"
    assert alone["reasons"][0] == crowded["reasons"][0]


def test_identical_tiny_files_are_too_short_to_tell_and_raise_nothing():
    pair = _pair("ann", "ben", [_fragment(1, 5, 30)], "hello.py", "hello.py", coverage=1.0)
    ann = _by_learner(learner_verdicts(["ann", "ben"], [], [pair]))["ann"]
    assert ann["risk"] == "none"
    assert any("too little code of its own" in r for r in ann["reasons"])


def test_a_whole_file_copied_is_high_even_when_it_is_small():
    pair = _pair("ann", "ben", [_fragment(1, 11, 95)], "a.py", "a.py", coverage=1.0)
    assert _by_learner(learner_verdicts(["ann", "ben"], [], [pair]))["ann"]["risk"] == "high"


def test_strongest_evidence_comes_first_and_each_reason_once():
    weak_corpus = _pair("ann", "pypi:d2l==1.0.3", [_fragment(1, 9, 70)], "a.py", "d2l/torch.py",
                        coverage=0.2, source="corpus")
    strong = _pair("ann", "ben", [_fragment(1, 40, 300)], "b.py", "b.py", coverage=0.89)
    ann = _by_learner(learner_verdicts(["ann", "ben"], [], [weak_corpus, strong, strong]))["ann"]
    assert "ben" in ann["reasons"][0]
    assert len(ann["reasons"]) == len(set(ann["reasons"]))


def test_rules_only_risk_has_no_similarity_score_and_points_at_a_line():
    findings = [{"learner": "ann", "severity": "error", "code": "NS401", "path": ".", "line": 0,
                 "col": 0, "message": "no Conv2d layer"},
                {"learner": "ann", "severity": "error", "code": "NS201", "path": "train.py",
                 "line": 8, "col": 1, "message": "resnet18(pretrained=True)"}]
    ann = _by_learner(learner_verdicts(["ann"], [], [], findings))["ann"]
    assert ann["risk"] == "medium" and ann["score"] == 0
    assert "train.py:8" in ann["reasons"][0] and ".:0" not in ann["reasons"][0]


def test_notes_norms_the_task_did_not_set_are_information_only():
    notes = {"schema": 1, "model": "usem3", "cross_lingual": True, "config": {},
             "needs_attention": True, "learners": [
                 {"learner": "ann", "files": ["notes.md"], "words": 145, "own_words": 145,
                  "own_share": 1.0, "copied_score": 0.0, "needs_attention": True,
                  "paragraphs": [], "findings": [
                      {"learner": "ann", "kind": "too_short", "severity": "info",
                       "norm_from_task": False, "message":
                       "The notes have 145 words; at least 150 are expected."}]}],
             "shared": []}
    ann = _by_learner(learner_verdicts(["ann"], [], [], notes=notes))["ann"]
    assert ann["risk"] == "none"


def test_an_attributed_public_copy_is_low_and_an_expected_source_raises_nothing():
    run = [_fragment(1, 40, 300)]
    attributed = _pair("ann", "pypi:d2l==1.0.3", run, source="corpus", attributed=True,
                       attribution="# from d2l")
    expected = _pair("ben", "pypi:yolov5==7.0.13", run, source="corpus", expected=True)
    verdicts = _by_learner(learner_verdicts(["ann", "ben"], [], [attributed, expected]))
    assert verdicts["ann"]["risk"] == "low" and "attributed" in verdicts["ann"]["reasons"][0]
    assert verdicts["ben"]["risk"] == "none" and "tells learners to use" in verdicts["ben"]["reasons"][0]


def test_a_notes_norm_the_task_set_raises_risk():
    notes = {"schema": 1, "model": "usem3", "cross_lingual": True, "config": {},
             "needs_attention": True, "learners": [
                 {"learner": "ann", "files": ["notes.md"], "words": 145, "own_words": 145,
                  "own_share": 1.0, "copied_score": 0.0, "needs_attention": True,
                  "paragraphs": [], "findings": [
                      {"learner": "ann", "kind": "too_short", "norm_from_task": True, "message":
                       "The notes have 145 words; the task asks for at least 150."}]}],
             "shared": []}
    ann = _by_learner(learner_verdicts(["ann"], [], [], notes=notes))["ann"]
    assert ann["risk"] == "medium" and "150" in ann["reasons"][0]


def _notes_with_shared(words: int) -> dict:
    para = {"owner": "ann", "path": "n.md", "index": 0, "span": {"start_line": 1, "start_col": 0,
            "end_line": 1, "end_col": 9}, "cell": None, "page": None, "words": words,
            "language": "en", "text": "w " * words, "status": "shared", "corpus_match": None,
            "learner_match": None, "suggestion": "", "handout_match": None, "not_prose": "",
            "needs_attention": True}
    learner = {"learner": "ann", "files": ["n.md"], "words": words, "own_words": 0,
               "handout_files": [], "handout_words": 0, "not_prose_words": 0, "own_share": 0.0,
               "copied_score": 0.0, "needs_attention": True, "findings": [], "paragraphs": [para]}
    span = {"start_line": 1, "start_col": 0, "end_line": 1, "end_col": 9}
    return {"schema": 1, "model": "usem3", "cross_lingual": True, "config": {},
            "needs_attention": True, "learners": [learner],
            "shared": [{"learner_a": "ann", "path_a": "n.md", "index_a": 0, "span_a": span,
                        "learner_b": "ben", "path_b": "m.md", "index_b": 0, "span_b": span,
                        "kind": "edited", "score": 0.9, "common_source": "", "source": None}],
            "shared_sources": [], "norms": {}, "handout_documents": [], "warnings": []}


def test_a_sentence_of_standard_phrasing_shared_in_notes_is_shown_not_raised():
    short = _by_learner(learner_verdicts(["ann"], [], [], notes=_notes_with_shared(25)))["ann"]
    long = _by_learner(learner_verdicts(["ann"], [], [], notes=_notes_with_shared(120)))["ann"]
    assert short["risk"] == "low" and "ben's notes" in short["reasons"][0]
    assert long["risk"] == "medium" and "120 words" in long["reasons"][0]
