"""A learner's verdict: one risk level and the reasons, in words a mentor can read out.

Inputs are the report's own sections (code pairs, rule findings, notes, retrain), so a verdict can
be recomputed from report.json alone.
"""

from __future__ import annotations

from checker import defaults

RISK_ORDER = {"high": 3, "medium": 2, "low": 1, "none": 0}


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def learner_verdicts(learners: list[str], learner_pairs: list[dict], file_pairs: list[dict],
                     findings: list[dict] | None = None, notes: dict | None = None,
                     retrain: dict | None = None,
                     threshold: float = defaults.SUSPICIOUS_SIMILARITY) -> list[dict]:
    """One verdict per learner: {learner, risk, score, reasons}, ranked by risk then score."""
    out = []
    for learner in learners:
        reasons: list[str] = []
        score = 0.0
        risk = "none"

        def raise_to(level: str) -> None:
            nonlocal risk
            if RISK_ORDER[level] > RISK_ORDER[risk]:
                risk = level

        for lp in learner_pairs:
            if learner not in (lp["left"], lp["right"]):
                continue
            other = lp["right"] if lp["left"] == learner else lp["left"]
            own_cov = lp["left_coverage"] if lp["left"] == learner else lp["right_coverage"]
            if lp["similarity"] < threshold / 2 and own_cov < threshold:
                continue
            score = max(score, lp["similarity"])
            raise_to("high" if lp["similarity"] >= threshold else "medium")
            reasons.append(f"shares {_pct(own_cov)} of their code with {other} "
                           f"(similarity {_pct(lp['similarity'])}, longest common fragment "
                           f"{lp['longest_lines']} lines)")
        for fp in file_pairs:
            if fp.get("source") != "corpus" or fp["left"] != learner:
                continue
            if fp["left_coverage"] < threshold / 2:
                continue
            where = fp["right"] + (f" {fp['right_file']}" if fp.get("right_file") else "")
            if fp.get("attributed"):
                raise_to("low")
                reasons.append(f"{fp['left_file']}: {_pct(fp['left_coverage'])} comes from {where}, "
                               f"attributed by the learner ({fp.get('attribution', '')})")
            else:
                score = max(score, fp["left_coverage"])
                raise_to("high" if fp["left_coverage"] >= threshold else "medium")
                reasons.append(f"{fp['left_file']}: {_pct(fp['left_coverage'])} matches public code "
                               f"{where} without attribution")
        errors = [f for f in (findings or []) if f.get("learner") == learner
                  and f.get("severity") == "error"]
        if errors:
            # the example read out is one that points at a line, where there is one
            errors.sort(key=lambda f: (f.get("line", 0) == 0, f["code"]))
            raise_to("medium")
            codes = sorted({f["code"] for f in errors})
            reasons.append(f"{len(errors)} rule violation(s): {', '.join(codes)} — "
                           f"e.g. {errors[0]['path']}:{errors[0]['line']} {errors[0]['message']}")
        nl = (notes or {}).get("learners", {}).get(learner)
        if nl:
            for reason in nl.get("reasons", []):
                reasons.append(reason)
            level = nl.get("risk", "none")
            if level in RISK_ORDER:
                raise_to(level)
        rt = (retrain or {}).get(learner)
        if rt and rt.get("status") in ("not_reproduced", "over_budget", "failed", "timed_out"):
            raise_to("medium")
            reasons.append(f"retrain {rt['status'].replace('_', ' ')}: {rt.get('reason', '')}")
        if not reasons:
            reasons.append("nothing beyond the handout and common code was found")
        out.append({"learner": learner, "risk": risk, "score": round(score, 4), "reasons": reasons})
    out.sort(key=lambda v: (-RISK_ORDER[v["risk"]], -v["score"], v["learner"]))
    return out
