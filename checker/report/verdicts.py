"""A learner's verdict: one risk level and the reasons, in words a mentor can read out.

Inputs are the report's own sections (code pairs, rule findings, notes, retrain), so a verdict can
be recomputed from report.json alone.
"""

from __future__ import annotations

from checker import defaults

RISK_ORDER = {"high": 3, "medium": 2, "low": 1, "none": 0}
# Code-sharing reasons listed per learner (most similar first); the rest are counted. A mentor
# reads the top few aloud; a learner in a 50-way cluster does not need 50 sentences.
MAX_PAIR_REASONS = 5


def _pct(x: float) -> str:
    return f"{round(100 * x)}%"


def _lines(span: dict | None) -> str:
    if not span:
        return ""
    a, b = span.get("start_line"), span.get("end_line")
    return f" lines {a}-{b}" if a and b and a != b else (f" line {a}" if a else "")


def _notes_reasons(learner: str, notes: dict, threshold: float) -> list[tuple[str, str]]:
    """Reasons (and risk levels) from report["notes"] (checker.notes.findings.NotesReport.to_dict())."""
    out: list[tuple[str, str]] = []
    entry = next((e for e in notes.get("learners", []) if isinstance(e, dict)
                  and e.get("learner") == learner), None)
    if entry:
        copied = [p for p in entry.get("paragraphs", []) if p.get("status") == "copied"]
        cited = [p for p in entry.get("paragraphs", []) if p.get("status") == "cited"]
        if copied:
            first = copied[0]
            match = first.get("corpus_match") or first.get("learner_match") or {}
            src = match.get("source") or {}
            where = f"{src.get('source', '')} {src.get('path', '')}".strip()
            own = entry.get("own_share", 0.0)
            out.append((f"notes: {_pct(own)} in their own words; {len(copied)} paragraph(s) copied "
                        f"without citation, e.g. {first.get('path')}{_lines(first.get('span'))} "
                        f"({match.get('kind', 'copied')} from {where or 'another text'})",
                        "high" if own < threshold else "medium"))
        if cited:
            out.append((f"notes: {len(cited)} paragraph(s) taken from cited sources", "low"))
        for finding in entry.get("findings", []):
            out.append((f"notes: {finding.get('message', finding.get('kind', ''))}", "low"))
    elif notes.get("learners") is not None:
        out.append(("notes: none handed in (no .md, .txt, .pdf, .docx, .html or notebook markdown)",
                    "low"))
    for shared in notes.get("shared", []):
        if learner in (shared.get("learner_a"), shared.get("learner_b")):
            other = shared["learner_b"] if shared.get("learner_a") == learner else shared["learner_a"]
            mine = shared["path_a"] if shared.get("learner_a") == learner else shared["path_b"]
            common = f" (both from {shared['common_source']})" if shared.get("common_source") else ""
            out.append((f"notes: {mine} shares a paragraph with {other}'s notes "
                        f"({shared.get('kind', '')}){common}", "medium"))
    return out


def learner_verdicts(learners: list[str], learner_pairs: list[dict], file_pairs: list[dict],
                     findings: list[dict] | None = None, notes: dict | None = None,
                     retrain: dict | None = None,
                     threshold: float = defaults.SUSPICIOUS_SIMILARITY) -> list[dict]:
    """One verdict per learner: {learner, risk, score, reasons}, ranked by risk then score."""
    # group everything by learner once: a round of thousands of learners has 100,000+ pairs
    pairs_of: dict[str, list[dict]] = {}
    for lp in learner_pairs:
        pairs_of.setdefault(lp["left"], []).append(lp)
        pairs_of.setdefault(lp["right"], []).append(lp)
    corpus_of: dict[str, list[dict]] = {}
    for fp in file_pairs:
        if fp.get("source") == "corpus":
            corpus_of.setdefault(fp["left"], []).append(fp)
    findings_of: dict[str, list[dict]] = {}
    for f in findings or []:
        findings_of.setdefault(f.get("learner", ""), []).append(f)
    out = []
    for learner in learners:
        reasons: list[str] = []
        score = 0.0
        risk = "none"

        def raise_to(level: str) -> None:
            nonlocal risk
            if RISK_ORDER[level] > RISK_ORDER[risk]:
                risk = level

        shown = 0
        more = 0
        for lp in sorted(pairs_of.get(learner, []), key=lambda p: -p["similarity"]):
            other = lp["right"] if lp["left"] == learner else lp["left"]
            own_cov = lp["left_coverage"] if lp["left"] == learner else lp["right_coverage"]
            if lp["similarity"] < threshold / 2 and own_cov < threshold:
                continue
            score = max(score, lp["similarity"])
            raise_to("high" if lp["similarity"] >= threshold else "medium")
            if shown == MAX_PAIR_REASONS:
                more += 1
                continue
            shown += 1
            reasons.append(f"shares {_pct(own_cov)} of their code with {other} "
                           f"(similarity {_pct(lp['similarity'])}, longest common fragment "
                           f"{lp['longest_lines']} lines)")
        if more:
            reasons.append(f"... and {more} more learner(s) above half the threshold")
        for fp in corpus_of.get(learner, []):
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
        errors = [f for f in findings_of.get(learner, []) if f.get("severity") == "error"]
        if errors:
            # the example read out is one that points at a line, where there is one
            errors.sort(key=lambda f: (f.get("line", 0) == 0, f["code"]))
            raise_to("medium")
            codes = sorted({f["code"] for f in errors})
            reasons.append(f"{len(errors)} rule violation(s): {', '.join(codes)} — "
                           f"e.g. {errors[0]['path']}:{errors[0]['line']} {errors[0]['message']}")
        for reason, level in _notes_reasons(learner, notes or {}, threshold):
            reasons.append(reason)
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
