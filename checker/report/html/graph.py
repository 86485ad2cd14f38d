"""Similarity histograms and the clusters graph of the overview (pure functions, inline SVG).

Each cluster of learners who share code (or notes) is a circle in spectral order: deterministic,
and the page needs no JS library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from checker import defaults
from checker.report.html.context import (
    Cluster,
    Graph,
    GraphEdge,
    GraphNode,
    Histogram,
    HistogramBin,
    LearnerRef,
)
from checker.report.html.format import pct
from checker.report.model import LearnerPairEntry


def similarity_histogram(
    values: list[float],
    title: str,
    note: str,
    bins: int = defaults.REPORT_HISTOGRAM_BINS,
    threshold: float = defaults.SUSPICIOUS_SIMILARITY,
    width: int = 460,
    height: int = 170,
) -> Histogram:
    """Counts of `values` (0..1) in `bins` equal bins, with SVG geometry for the bars."""
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(float(v) * bins)))] += 1
    left, right, top, bottom = 34, 20, 18, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    bar_w = plot_w / bins
    peak = max(counts) if counts else 0
    out_bins = []
    for i, c in enumerate(counts):
        h = plot_h * c / peak if peak else 0.0
        lo, hi = round(100 * i / bins), round(100 * (i + 1) / bins)
        x, y = round(left + i * bar_w + 1, 1), round(top + plot_h - h, 1)
        out_bins.append(
            HistogramBin(
                f"{lo}–{hi}%",
                c,
                x,
                y,
                round(bar_w - 2, 1),
                round(h, 1),
                round(x + bar_w / 2 - 1, 1),
                round(y - 3, 1),
                (i + 1) / bins > threshold + 1e-9,
            )
        )
    ticks = [
        (round(left + i * bar_w, 1), f"{round(100 * i / bins)}")
        for i in range(0, bins + 1, max(1, bins // 5))
    ]
    threshold_x = round(left + threshold * plot_w, 1)
    return Histogram(
        title,
        len(values),
        note,
        width,
        height,
        float(top + plot_h),
        left - 4,
        width - right,
        float(top + plot_h + 14),
        peak,
        out_bins,
        ticks,
        threshold_x,
        threshold_x + 3,
        f"suspicious ≥ {pct(threshold)}",
    )


def connected_components(nodes: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    """Components (each sorted) of an undirected graph, largest first, then by first member."""
    parent = {n: n for n in nodes}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for n in nodes:
        groups.setdefault(find(n), []).append(n)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: (-len(g), g[0]))


def circle_order(
    nodes: list[str],
    edges: list[tuple[str, str, float]],
    max_spectral: int = defaults.REPORT_GRAPH_SPECTRAL_MAX_NODES,
) -> list[str]:
    """The nodes of one cluster in the order they are placed around its circle.

    Spectral ordering (Fiedler 1973; Barnard, Pothen & Simon 1995): sorting by the eigenvector
    of the second-smallest eigenvalue of the weighted graph Laplacian puts strongly linked
    learners next to each other, so sub-groups stay together and chords stay short. The
    eigenvector's sign is fixed (largest component positive) so the picture is deterministic.
    """
    import numpy as np

    n = len(nodes)
    if n <= 3 or n > max_spectral:
        return sorted(nodes)
    index = {name: i for i, name in enumerate(nodes)}
    adjacency = np.zeros((n, n))
    for a, b, w in edges:
        adjacency[index[a], index[b]] = adjacency[index[b], index[a]] = max(w, 1e-3)
    laplacian = np.diag(adjacency.sum(1)) - adjacency
    _, vectors = np.linalg.eigh(laplacian)
    fiedler = vectors[:, 1]
    if fiedler[np.argmax(np.abs(fiedler))] < 0:
        fiedler = -fiedler
    return [nodes[i] for i in sorted(range(n), key=lambda i: (round(float(fiedler[i]), 9), nodes[i]))]


def cluster_graph(
    learner_pairs: Sequence[LearnerPairEntry],
    notes_pairs: Sequence[tuple[str, str, float]],
    refs: dict[str, LearnerRef],
    threshold: float = defaults.SUSPICIOUS_SIMILARITY,
    min_similarity: float = defaults.REPORT_GRAPH_MIN_SIMILARITY,
    width: int = 1200,
    outputs_pairs: Sequence[tuple[str, str, float]] = (),
) -> Graph:
    """Learners who share code (or notes, or notebook outputs) as clusters, each drawn as a circle
    of learners.

    An edge is a learner pair the verdicts count: similarity >= `min_similarity`, or one side's
    coverage >= `threshold` (a small file copied whole into a big submission); `notes_pairs` are
    (left, right, similarity) of learners sharing notes; `outputs_pairs` (left, right,
    similarity) of learners whose notebooks print the same figures, already those a verdict raises
    (checker.report.verdicts: a figure or an image alone raises nothing, so draws nothing). Labels
    radiate outwards from the circle so long learner ids do not overlap.
    """
    weight: dict[tuple[str, str], dict[str, float]] = {}
    for lp in learner_pairs:
        cover = max(lp.left_coverage, lp.right_coverage)
        if lp.similarity >= min_similarity or cover >= threshold:
            a, b = sorted((lp.left, lp.right))
            weight.setdefault((a, b), {})["code"] = max(
                lp.similarity, weight.get((a, b), {}).get("code", 0.0)
            )
    for one, other, sim in notes_pairs:
        if one and other and sim >= min_similarity:
            a, b = sorted((one, other))
            weight.setdefault((a, b), {})["notes"] = max(sim, weight.get((a, b), {}).get("notes", 0.0))
    for one, other, sim in outputs_pairs:
        a, b = sorted((one, other))
        weight.setdefault((a, b), {})["outputs"] = max(sim, weight.get((a, b), {}).get("outputs", 0.0))
    names = sorted({n for key in weight for n in key})
    components = [c for c in connected_components(names, list(weight)) if len(c) > 1]

    def ref(name: str) -> LearnerRef:
        return refs.get(name) or LearnerRef(name, "", "none")

    # Each cluster is drawn around (0, 0) first: the circle (24 px of arc per learner, 2 learners
    # side by side) and labels radiating out (~5.6 px a character at the 10 px label font); its
    # bounding box then becomes a cell, and cells are packed left to right in shelves.
    drawings = []
    for comp in components:
        comp_edges = [(a, b, max(w.values())) for (a, b), w in weight.items() if a in comp]
        order = circle_order(comp, comp_edges)
        radius = max(28.0, len(order) * 24 / (2 * math.pi))
        start = 0.0 if len(order) == 2 else -math.pi / 2
        items, xs, ys = [], [0.0], [0.0]
        for i, name in enumerate(order):
            theta = start + 2 * math.pi * i / len(order)
            cos, sin = math.cos(theta), math.sin(theta)
            reach = radius + 11 + 5.6 * len(ref(name).name)
            items.append((name, theta, radius * cos, radius * sin))
            xs += [radius * cos - 8, radius * cos + 8, reach * cos]
            ys += [radius * sin - 8, radius * sin + 8, reach * sin - 6, reach * sin + 6]
        drawings.append((comp, radius, items, min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
    margin = 20
    x = y = shelf_h = used_w = 0.0
    nodes, pos = [], {}
    for comp, radius, items, left, top, box_w, box_h in drawings:
        if x + box_w > width and x > 0:
            x, y, shelf_h = 0.0, y + shelf_h + margin, 0.0
        cx, cy = x + margin - left, y + margin - top
        for name, theta, dx, dy in items:
            pos[name] = (round(cx + dx, 1), round(cy + dy, 1))
            left_half = math.cos(theta) < -1e-9
            degrees = math.degrees(theta)
            nodes.append(
                GraphNode(
                    ref(name),
                    pos[name][0],
                    pos[name][1],
                    round(cx + (radius + 11) * math.cos(theta), 1),
                    round(cy + (radius + 11) * math.sin(theta), 1),
                    round(degrees + 180 if left_half else degrees, 1),
                    "end" if left_half else "start",
                    f"{ref(name).name}: {ref(name).risk} risk",
                )
            )
        x += box_w + margin
        shelf_h = max(shelf_h, box_h + margin)
        used_w = max(used_w, x + margin)
    height = int(y + shelf_h + margin) if components else 60
    edges = []
    for (a, b), kinds in sorted(weight.items()):
        if a not in pos:
            continue
        for kind, sim in sorted(kinds.items()):
            edges.append(
                GraphEdge(
                    pos[a][0],
                    pos[a][1],
                    pos[b][0],
                    pos[b][1],
                    round(1 + 4 * sim, 1),
                    kind,
                    f"{ref(a).name} ↔ {ref(b).name}: {kind} similarity {pct(sim)}",
                )
            )
    clusters = []
    for number, comp in enumerate(components, 1):
        sims = [s for (a, b), w in weight.items() if a in comp for s in w.values()]
        kind_names = sorted({k for (a, b), w in weight.items() if a in comp for k in w})
        clusters.append(
            Cluster(number, len(comp), [ref(n) for n in comp], pct(max(sims)), " and ".join(kind_names))
        )
    rule = (
        f"an edge joins two learners whose code (or notes) similarity is at least "
        f"{pct(min_similarity)}, or when {pct(threshold)} of one side's code is shared, or whose "
        f"notebooks print the same figures (medium or high evidence)"
    )
    # the SVG is as wide as its content (a giant cluster may exceed `width`; CSS scales it down)
    return Graph(int(used_w) if components else width, height, nodes, edges, clusters, rule)
