"""The benchmark harness of issue #18 (bench/waits.py, bench/run.py, bench/dataset.py): sizes
parsing, the projection that decides a tool's size is not run, the issue's targets and the keys
results.json gains, the speed pool past the units' first pass, and the re-scan/task scans on a
three-learner round. No timing is asserted."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

# `bench/` is a folder of the repository, not an installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest import write_round  # noqa: E402

from bench import dataset, report, run, waits  # noqa: E402


def test_sizes_accept_thousands_and_reject_what_is_not_a_file_count():
    assert waits.parse_sizes("3000, 1000,10k,30_000,1000") == (1000, 3000, 10_000, 30_000)
    for bad in ("1000,ten", "1", "2.5k5", ""):
        with pytest.raises(ValueError, match="--sizes"):
            waits.parse_sizes(bad)


def test_only_and_quick_runs_never_write_the_committed_results(tmp_path):
    parser_args = run.argparse.Namespace(quick=False, sizes="200", seed=1, skip_speed=False,
                                         only=run.parse_stages("speed,scans"))
    config = run.BenchConfig.from_args(parser_args)
    assert config.stages == ("speed", "scans") and config.sizes == (200,)
    assert config.results_dir != run.BENCH_DIR and config.scans_n == waits.SCANS_N
    full = run.BenchConfig.from_args(run.argparse.Namespace(
        quick=False, sizes=None, seed=1, skip_speed=True, only=None))
    assert full.results_dir == run.BENCH_DIR and {10_000, 30_000} <= set(full.sizes)
    assert "speed" not in full.stages and "scans" not in full.stages and "corpus" in full.stages
    with pytest.raises(ValueError, match="choose from"):
        run.parse_stages("speed,sped")


def test_a_size_projected_past_the_hour_is_not_run_and_says_why():
    copydetect = {"1000": {"wall_s": 25.0, "peak_mb": 500.0},
                  "3000": {"wall_s": 200.0, "peak_mb": 1000.0}}
    # t ~ N^1.89: 200 s * (30000/3000)^1.89 = 4.3 h
    reason = waits.skip_reason(copydetect, 30_000, waits.time_limit(30_000, 900), 1e9)
    assert reason.startswith("not run: projected 4.3 h and 4.2 GB peak")
    assert "from 1000->3000 growth" in reason and "1.0 h limit" in reason
    # 200 s * (10000/3000)^1.89 = 33 min: within the hour of the large sizes...
    assert waits.skip_reason(copydetect, 10_000, waits.time_limit(10_000, 900), 1e9) == ""
    # ...not within the 15 minutes a small size gets, nor within the memory given
    assert "limit" in waits.skip_reason(copydetect, 10_000, 900, 1e9)
    memory = waits.skip_reason(copydetect, 10_000, 3600, memory_limit_mb=2048)
    # peak ~ N^0.63: 1000 MB * (10000/3000)^0.63 = 2.1 GB, over the 2 GB given
    assert memory.startswith("not run: projected 33 min and 2.1 GB peak") and "memory" in memory
    # a size already measured, or one measured size only: nothing to project from
    assert waits.extrapolate(copydetect, 3000, "wall_s") is None
    assert waits.skip_reason({"1000": {"wall_s": 25.0, "peak_mb": 500.0}}, 30_000, 1, 1) == ""


def _results_with(speed_10k: float, speed_30k: float, corpus_s: float, cold: float, warm: float,
                  plain: float, task: float) -> run.Results:
    results = run.Results(config={"quick": False, "seed": 1, "speed_timeout_s": 900},
                          environment={"python": "3", "node": "–", "cpus": 2, "memory_gb": 8,
                                       "platform": "test", "packages_benchmarked": {}},
                          command="python bench/run.py", started="now")
    results.speed["noshortcut"] = {
        "10000": {"wall_s": speed_10k, "peak_mb": 2000.0, "cpu_s": speed_10k * 1.5},
        "30000": {"wall_s": speed_30k, "peak_mb": 4000.0, "cpu_s": speed_30k * 1.5}}
    results.growth["noshortcut"] = run._growth(results.speed["noshortcut"], "wall_s")
    results.speed_peak_rss_mb["noshortcut"] = {"10000": 2000.0, "30000": 4000.0}
    results.corpus_check = {"engine": "banded", "cold_single_submission_s": corpus_s,
                            "manifest_files": 3298, "repeats": 1, "runs_s": [corpus_s],
                            "index": "bench/data/corpus-index", "stages_s": {"corpus": 0.5}}
    results.rescan = {"n": 1000, "cold_s": cold, "warm_s": warm, "speedup": round(cold / warm, 2),
                      "repeats": 1, "cache_env": waits.CACHE_ENV, "cold_runs_s": [cold],
                      "warm_runs_s": [warm], "cold_cpu_s": [], "warm_cpu_s": [],
                      "cache_files_after_cold": [1000]}
    results.task_scan = {"n": 1000, "plain_s": plain, "task_s": task,
                         "ratio": round(task / plain, 2), "task_file": "task.toml",
                         "plain_runs_s": [plain], "task_runs_s": [task], "task_cpu_s": []}
    return results


def test_the_issue_targets_are_checked_with_a_ratio_and_rendered_side_by_side():
    results = _results_with(100.0, 250.0, 1.2, 10.0, 0.8, 10.0, 14.0)
    run.evaluate_claims(results, config=None)
    rows = {row["key"]: row for row in results.targets}
    assert rows["corpus_check"]["holds"] and rows["corpus_check"]["ratio"] == 0.6
    assert rows["rescan"]["holds"] and rows["rescan"]["ratio"] == 1.25  # 12.5x against >= 10x
    assert rows["task_scan"]["holds"] and rows["task_scan"]["ratio"] == 0.93
    # (250/100)^(1/log2 3) = 1.78 per doubling
    assert rows["growth"]["holds"] and rows["growth"]["measured"].startswith("1.78x")
    assert "peak 4000 MB at 30,000" in rows["growth"]["measured"]
    slow = _results_with(100.0, 600.0, 2.5, 10.0, 9.0, 10.0, 20.0)
    run.evaluate_claims(slow, config=None)
    assert not any(row["holds"] for row in slow.targets)
    assert sum(not c["holds"] for c in slow.claims) == 4
    text = report.render(asdict(results))
    section = text[text.index("## The waits a mentor meets"):text.index("## Claims")]
    assert "| corpus check, one submission, cold | 1.20 s (engine `banded`, 3298 corpus files) " \
           "| < 2 s | 0.60 | yes |" in section
    assert "| 30,000 | 250.0 | 375.0 | 4000 |" in section


def test_results_json_gains_the_issue_keys():
    results = asdict(_results_with(100.0, 250.0, 1.2, 10.0, 0.8, 10.0, 14.0))
    for key in ("corpus_check", "rescan", "task_scan", "speed_peak_rss_mb", "targets", "gpu"):
        assert key in results
    assert {"engine", "cold_single_submission_s", "manifest_files"} <= set(results["corpus_check"])
    assert {"n", "cold_s", "warm_s"} <= set(results["rescan"])
    assert {"n", "plain_s", "task_s"} <= set(results["task_scan"])
    assert set(results["speed"]["noshortcut"]) == {"10000", "30000"}
    # a results.json from before these keys still renders (--render-only)
    old = json.loads(json.dumps(results))
    for key in ("corpus_check", "rescan", "task_scan", "speed_peak_rss_mb", "targets", "gpu"):
        old.pop(key)
    assert "Nothing of it was measured" in report.render(asdict(run.Results(**old)))


UNIT = '''def scale(values, factor):
    total = 0
    out = []
    for value in values:
        scaled = value * factor
        total += scaled
        out.append(scaled)
    if total > 100:
        out.reverse()
    return out, total
'''


def test_the_speed_pool_goes_past_the_units_first_pass_and_is_cached(tmp_path):
    package = tmp_path / "src" / "pkg"
    package.mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    roots = {"pkg": package}
    units = {f"pkg:a.py::f{i}": dataset.Unit(f"pkg:a.py::f{i}", "pkg", "a.py", f"f{i}",
                                             UNIT.replace("scale", f"scale{i}"), 10)
             for i in range(2)}
    # 1 file + 2 units x (original + 6 variants) = 15 in the first pass, then 12 variants a pass
    pool = dataset.speed_pool(roots, units, 39, seed=3)
    names = [name for name, _ in pool]
    assert len(pool) == 39 and len(set(names)) == 39 and len(set(t for _, t in pool)) > 30
    assert any("_p1_" in name for name in names) and any("_p2_" in name for name in names)
    assert dataset.speed_pool(roots, units, 15, seed=3) != pool[:15]  # one shuffle per size
    assert sorted(dataset.speed_pool(roots, units, 15, seed=3)) == sorted(
        p for p in pool if "_p" not in p[0])
    cached, hit = dataset.cached_speed_pool(tmp_path / "data", roots, units, 39, seed=3)
    again, hit_again = dataset.cached_speed_pool(tmp_path / "data", roots, units, 39, seed=3)
    assert (hit, hit_again) == (False, True) and cached == again == pool


def test_rescan_and_task_scans_record_their_figures(tmp_path):
    code = UNIT + "\n\nprint(scale([1, 2, 3], 2))\n"
    round_dir = write_round(tmp_path / "round", {"ann/train.py": code, "ben/train.py": code,
                                                 "cy/train.py": "print('own work')\n"})
    rescan, task, runs = waits.run_scan_modes(round_dir, tmp_path / "work", 3, repeats=1,
                                              timeout_s=300, late_file=("train.py", code))
    assert [r["status"] for r in runs] == ["ok", "ok", "ok", "ok"], runs
    assert rescan["late_s"] > 0 and rescan["late_speedup"] > 0
    late_report = json.loads((tmp_path / "work" / "late" / "report.json").read_text())
    assert waits.LATE_LEARNER in [learner["id"] for learner in late_report["learners"]]
    assert not (round_dir / waits.LATE_LEARNER).exists()  # the round is left as it was
    assert rescan["n"] == task["n"] == 3 and "failed" not in rescan
    assert rescan["cold_s"] > 0 and rescan["warm_s"] > 0 and task["plain_s"] == rescan["cold_s"]
    assert task["task_s"] > 0 and task["task_file"] == "examples/tasks/2025-task5-cnn.toml"
    assert "--task" in runs[2]["command"] and "--task" not in runs[0]["command"]
    if rescan["cache_supported"]:  # the fingerprint cache is in this checkout: it was used
        assert rescan["cache_files_after_cold"][0] > 0
    else:
        assert "second cold one" in rescan["note"]
