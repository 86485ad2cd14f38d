"""Accuracy and growth figures: pure functions over scores, no I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def roc_auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Area under the ROC curve = P(score of a random positive > that of a random negative),
    ties counting one half (the Mann-Whitney U statistic over |P| * |N|).

    Raises ValueError when either side is empty: an AUC of nothing is not 0.5.
    """
    if not positives or not negatives:
        raise ValueError(
            f"AUC needs positives and negatives, got {len(positives)} and {len(negatives)}"
        )
    ranked = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum = 0.0  # sum of the positives' (1-based, tie-averaged) ranks
    i = 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        average_rank = (i + 1 + j) / 2
        rank_sum += average_rank * sum(label for _, label in ranked[i:j])
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


@dataclass(frozen=True)
class PrecisionRecall:
    threshold: float
    precision: float | None  # None when nothing reaches the threshold
    recall: float
    true_positives: int
    false_positives: int


def precision_recall(
    positives: Sequence[float], negatives: Sequence[float], threshold: float
) -> PrecisionRecall:
    """A pair is flagged when its score is >= threshold."""
    tp = sum(s >= threshold for s in positives)
    fp = sum(s >= threshold for s in negatives)
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / len(positives) if positives else 0.0
    return PrecisionRecall(threshold, precision, recall, tp, fp)


def doubling_cost(n1: int, t1: float, n2: int, t2: float) -> float:
    """Time factor for doubling N, from two measurements under a power law t ~ N^b:
    2^b with b = log(t2/t1) / log(n2/n1). Linear growth gives 2.0, quadratic 4.0."""
    if n1 <= 0 or n2 <= n1 or t1 <= 0 or t2 <= 0:
        raise ValueError(f"need 0 < n1 < n2 and positive times, got {n1, t1, n2, t2}")
    exponent = math.log(t2 / t1) / math.log(n2 / n1)
    return 2.0 ** exponent
