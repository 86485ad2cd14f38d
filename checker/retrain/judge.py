"""Judging a re-run (pure): the status, the gap and the sentence for the review meeting, from what
the run reached, what the learner claims, the task's target and tolerance, and the parameters."""

from __future__ import annotations

from checker import defaults


def judge(
    *,
    metric: str,
    reached: float,
    claimed: float | None,
    target: float | None,
    tolerance: float,
    direction: str = "max",
    unit: str = "raw",
    params: int | None = None,
    claimed_params: int | None = None,
    max_params: int | None = None,
    params_tolerance: float = defaults.RETRAIN_PARAMS_TOLERANCE,
    short: bool = False,
) -> tuple[str, float | None, str]:
    """(status, gap, reason) for a run that reported `reached`.

    The reference is the claim, else the target. Reproduced when the run is no worse than the
    reference by more than `tolerance` (a run better than claimed is not a shortcut). Over
    budget wins over everything else: a model beyond the task's limit breaks the rule whatever
    it reaches. A counted parameter number far from the claimed one is not reproduced.
    """
    sign = 1.0 if direction == "max" else -1.0
    reference = claimed if claimed is not None else target
    gap = None if reference is None else round(reached - reference, 10)
    run = "the short re-run" if short else "the re-run"
    parts: list[str] = []
    metric_ok = True
    if reference is not None:
        shortfall = sign * (reference - reached)
        what = "the learner's claim" if claimed is not None else "the task's target"
        if shortfall > tolerance + 1e-12:
            metric_ok = False
            parts.append(f"{run} reached {metric} {_fmt(reached, unit)}, {_fmt_gap(shortfall, unit)} "
                         f"{'below' if sign > 0 else 'above'} {what} of {_fmt(reference, unit)} "
                         f"(tolerance {_fmt_gap(tolerance, unit)})")
        else:
            parts.append(f"{run} reached {metric} {_fmt(reached, unit)}; {what} is {_fmt(reference, unit)} "
                         f"(tolerance {_fmt_gap(tolerance, unit)})")
        if claimed is not None and target is not None and sign * (target - reached) > 1e-12:
            parts.append(f"below the task's target of {_fmt(target, unit)}")
    params_ok = True
    if params is not None and claimed_params and abs(params - claimed_params) > params_tolerance * claimed_params:
        params_ok = False
        parts.append(f"the learner claims {_fmt_count(claimed_params)} parameters, the trained model "
                     f"has {_fmt_count(params)}")
    over = params is not None and max_params is not None and params > max_params
    if over:
        parts.insert(0, f"the trained model has {_fmt_count(params)} parameters, over the task's limit "
                        f"of {_fmt_count(max_params)}")
        status = "over_budget"
    elif metric_ok and params_ok:
        status = "reproduced"
        if params is not None and not claimed_params:
            parts.append(f"{_fmt_count(params)} parameters")
    else:
        status = "not_reproduced"
    return status, gap, "; ".join(parts)


def _fmt(value: float, unit: str) -> str:
    if unit == "fraction":
        return f"{value * 100:.1f}%"
    if unit == "percent":
        return f"{value:.1f}%"
    return f"{value:.4g}"


def _fmt_gap(value: float, unit: str) -> str:
    if unit == "fraction":
        return f"{value * 100:.1f} points"
    if unit == "percent":
        return f"{value:.1f} points"
    return f"{value:.4g}"


def _fmt_count(n: int) -> str:
    return f"{n:,}" if n < 1_000_000 else f"{n / 1e6:.2f}M ({n:,})"
