"""Similarity and coverage are shares in [0, 1] everywhere: file pairs and learner pairs.

Property tests over random fragments and own-token masks (seeded, so a failure reproduces), and
the real-round shape that used to break it: learners who rework the handout line by line, whose
matched runs reach into handout tokens at their edges.
"""

from __future__ import annotations

import numpy as np

from checker.code.scoring import CoverageUnion, aggregate_learner_pairs, score_file_pair
from checker.code.tokens import TokenStream
from checker.core.align import Fragment
from checker.pipeline.scan import ScanConfig, scan


def _stream(n: int) -> TokenStream:
    lines = list(range(1, n + 1))
    return TokenStream(tokens=["t"] * n, start_lines=lines, start_cols=[0] * n, end_lines=lines,
                       end_cols=[1] * n, parser="libcst")


def _tiles(rng: np.random.Generator, n_left: int, n_right: int) -> list[Fragment]:
    """Non-overlapping fragments on both sides, as the alignment returns them."""
    out, a, b = [], 0, 0
    while True:
        a += int(rng.integers(0, 20))
        b += int(rng.integers(0, 20))
        length = int(rng.integers(1, 60))
        if a + length > n_left or b + length > n_right:
            return out
        out.append(Fragment(a, a + length, b, b + length))
        a, b = a + length, b + length


def test_file_pair_similarity_and_coverage_are_shares_for_any_own_mask():
    rng = np.random.default_rng(20241205)
    for _ in range(500):
        n_l, n_r = int(rng.integers(1, 400)), int(rng.integers(1, 400))
        frags = _tiles(rng, n_l, n_r)
        own_l = rng.random(n_l) < rng.random()
        own_r = rng.random(n_r) < rng.random()
        for left_own, right_own in ((own_l, own_r), (None, None),
                                    (int(own_l.sum()), int(own_r.sum()))):
            pair = score_file_pair("a", "b", "a.py", "b.py", frags, _stream(n_l), _stream(n_r),
                                   left_own, right_own)
            for value in (pair.similarity, pair.left_coverage, pair.right_coverage):
                assert 0.0 <= value <= 1.0


def test_learner_pair_coverage_is_a_share_of_own_tokens_across_every_partner_file():
    rng = np.random.default_rng(7)
    for _ in range(200):
        files = {"a": [f"a/{i}" for i in range(int(rng.integers(1, 5)))],
                 "b": [f"b/{i}" for i in range(int(rng.integers(1, 5)))]}
        sizes = {f: int(rng.integers(5, 300)) for fs in files.values() for f in fs}
        own = {f: rng.random(n) < 0.3 for f, n in sizes.items()}  # mostly handout
        union = CoverageUnion()
        pairs = []
        for fa in files["a"]:
            for fb in files["b"]:
                frags = _tiles(rng, sizes[fa], sizes[fb])
                if not frags:
                    continue
                pairs.append(score_file_pair("a", "b", fa, fb, frags, _stream(sizes[fa]),
                                             _stream(sizes[fb]), own[fa], own[fb]))
                union.add(fa, "b", sizes[fa], [(f.left_start, f.left_end) for f in frags])
                union.add(fb, "a", sizes[fb], [(f.right_start, f.right_end) for f in frags])
        tokens = {who: sum(int(own[f].sum()) for f in fs) for who, fs in files.items()}
        for lp in aggregate_learner_pairs(pairs, union, tokens, files, own):
            for value in (lp.similarity, lp.left_coverage, lp.right_coverage):
                assert 0.0 <= value <= 1.0


HANDOUT = "\n".join(
    f"def step_{i}(state, value):\n    state['total_{i}'] = state.get('total_{i}', 0) + value * {i}\n"
    f"    return state\n" for i in range(30))


def _reworked(name: str) -> str:
    """The handout with one own line after every handout function, each of its own shape (its
    operators spell out the block number): most tokens are handout, and every matched run of
    own code starts and ends inside handout code."""
    out = []
    for i, block in enumerate(HANDOUT.split("\n\n")):
        ops = ["+-*/%"[(i // 5 ** d) % 5] for d in range(3)]
        out.append(block)
        out.append(f"{name} = step_{i}({{}}, a {ops[0]} b {ops[1]} c {ops[2]} d)\n")
    return "\n".join(out)


def test_learners_who_rework_the_handout_alike_never_share_more_than_all_their_code(tmp_path):
    handout = tmp_path / "handout"
    handout.mkdir()
    (handout / "starter.py").write_text(HANDOUT)
    root = tmp_path / "round"
    for learner in ("ann", "ben", "cai"):
        (root / learner).mkdir(parents=True)
        (root / learner / "main.py").write_text(_reworked("result"))
        (root / learner / "extra.py").write_text(_reworked("other"))
    report = scan(ScanConfig(round_dir=root, base_dir=handout, notes=False, jobs=1))
    assert report["pairs"] and report["learner_pairs"]
    for entry in report["pairs"] + report["learner_pairs"]:
        for key in ("similarity", "left_coverage", "right_coverage"):
            assert 0.0 <= entry[key] <= 1.0, (key, entry)
