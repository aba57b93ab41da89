"""benchmarks/_alternate.py: the figures two trees' throughput runs are compared by, and their ratios.

The runs need the lab (benchmarks/throughput.py --against); the reading of what each version of the
script printed, the ratios and their summary are pure and checked here on figures it really printed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmark_modules import REPO, load_benchmark

alternate = load_benchmark("_alternate.py")

# What the script printed at 9355a58 (no cpu_ms_per_url yet) and today (trimmed to the keys read).
OLD_RUN = {"urls": 2000, "wall_s": 61.73, "peak_rss_mb": 100.4, "cpu_s": 38.77,
           "lab_cpu_s": {"control": 14.46, "dnsmasq": 0.74, "middlebox": 6.9}}
NEW_RUN = {"urls": 2000, "measured": 2000, "wall_s": 28.81, "peak_rss_mb": 113.3, "cpu_s": 16.18,
           "cpu_ms_per_url": 8.09, "control_cpu_ms_per_url": 4.25,
           "lab_cpu_s": {"control": 8.5, "middlebox": 4.46, "nginx": 3.05}}


def test_figures_are_worked_out_the_same_way_from_old_and_new_output() -> None:
    old = alternate.figures(OLD_RUN)
    new = alternate.figures(NEW_RUN)
    assert set(old) == set(new) == set(alternate.COMPARED)
    assert round(old["cpu_ms_per_url"], 2) == 19.39
    assert round(new["cpu_ms_per_url"], 2) == 8.09  # matches what the new script printed itself
    assert round(new["control_cpu_ms_per_url"], 2) == 4.25
    assert round(old["control_cpu_ms_per_url"], 2) == 7.23


def test_ratios_say_how_many_times_better_this_tree_is() -> None:
    r = alternate.ratios(alternate.figures(NEW_RUN), alternate.figures(OLD_RUN))
    assert r["wall_s"] == 2.14
    assert r["cpu_ms_per_url"] == 2.4
    assert r["peak_rss_mb"] == 0.89  # below 1: this tree uses more memory


def test_a_figure_missing_from_a_run_gives_no_ratio_rather_than_a_division_by_zero() -> None:
    no_helper = {k: v for k, v in NEW_RUN.items() if k != "lab_cpu_s"}
    r = alternate.ratios(alternate.figures(no_helper), alternate.figures(OLD_RUN))
    assert r["control_cpu_ms_per_url"] is None
    assert alternate.figures({"urls": "many", "wall_s": True})["wall_s"] == 0.0  # not numbers: no figure


def test_summary_gives_lowest_median_and_highest_over_pairs() -> None:
    pairs = [{"wall_s": 2.14, "cpu_ms_per_url": 2.4, "control_cpu_ms_per_url": None, "peak_rss_mb": 0.9},
             {"wall_s": 2.29, "cpu_ms_per_url": 2.89, "control_cpu_ms_per_url": None, "peak_rss_mb": 0.93},
             {"wall_s": 2.04, "cpu_ms_per_url": 2.31, "control_cpu_ms_per_url": None, "peak_rss_mb": 0.92}]
    s = alternate.summary(pairs)
    assert s["wall_s"] == {"min": 2.04, "median": 2.14, "max": 2.29}
    assert s["cpu_ms_per_url"] == {"min": 2.31, "median": 2.4, "max": 2.89}
    assert s["control_cpu_ms_per_url"] is None


def test_a_tree_that_is_not_a_checkout_is_refused_before_any_lab_starts(tmp_path: Path) -> None:
    assert "no benchmarks/throughput.py" in alternate.check_tree(tmp_path)
    assert alternate.check_tree(REPO) is None
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "throughput.py"), "--against", str(tmp_path)],
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr


def test_a_run_is_the_trees_own_script_with_size_json_and_no_sample() -> None:
    # An older script may not know a newer flag: throughput.py adds only those changed from defaults.
    assert alternate.command(REPO, 500, []) == [sys.executable, str(REPO / "benchmarks" / "throughput.py"),
                                                "--urls", "500", "--sample", "0", "--json"]
