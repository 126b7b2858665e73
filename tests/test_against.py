"""benchmarks/against.py, the timing of one version of tinygrad_edu against another: no round
counts unless both versions give the same losses, and its ratios point the right way (above 1:
the current version faster). Nothing here is timed: the results are made up."""

import importlib
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def against(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # against.py imports run.py beside it
    return importlib.import_module("against")


def a_round(baseline_s, current_s, losses=(0.9, 0.5, 0.25), current_losses=None, m_losses=None):
    """One round's results as workloads.py reports them, for A1, A2 and M."""
    current_losses = current_losses or losses
    results = {"micrograd A": {"losses": list(losses), "step_s": 10 * baseline_s}}
    for name in ("A1", "A2"):
        results[f"baseline {name}"] = {"losses": list(losses), "step_s": baseline_s}
        results[f"current {name}"] = {"losses": list(current_losses), "step_s": current_s}
    micro = [3.3, 3.1, 2.9]
    results["microgpt M"] = {"losses": micro, "step_s": 0.1}
    results["current M"] = {"losses": m_losses or micro, "step_s": 0.125}
    results["current GPT"] = {"losses": micro, "step_s": 0.025}
    return results


def test_a_round_counts_only_if_both_versions_give_the_same_losses(against):
    against.check_round(a_round(0.01, 0.01), ["A1", "A2", "M"])  # the same: no complaint
    off = [0.9, 0.5 * (1 + 1e-10), 0.25]  # one step, off by more than 1e-12 relative
    with pytest.raises(SystemExit, match="A1: current vs baseline, step 1: loss 0.50000000005"):
        against.check_round(a_round(0.01, 0.01, current_losses=off), ["A1", "A2", "M"])
    m_off = [3.3, 3.1, 2.9 * (1 + 1e-8)]  # M allows 1e-9: training amplifies rounding
    with pytest.raises(SystemExit, match="M: current vs microgpt-style, step 2"):
        against.check_round(a_round(0.01, 0.01, m_losses=m_off), ["M"])
    against.check_round(a_round(0.01, 0.01, m_losses=[3.3, 3.1, 2.9 * (1 + 1e-10)]), ["M"])


def test_the_ratios_say_how_many_times_faster_the_current_version_is(against):
    # baseline / current: 0.8, 0.9 and 1.1 in the three rounds
    rounds = [a_round(0.010, 0.0125), a_round(0.009, 0.010), a_round(0.011, 0.010)]
    summary = against.summarise(rounds, ["A1", "A2", "M"])
    rows = summary["rows"]
    assert rows["A1"]["ratio"] == pytest.approx({"median": 0.9, "min": 0.8, "max": 1.1})
    assert rows["A1"]["current"] == pytest.approx({"median": 0.010, "min": 0.010, "max": 0.0125})
    assert rows["A2"]["micrograd/current"]["median"] == pytest.approx(9.0)  # 10 x 0.9
    assert rows["A1"]["bit for bit"] is True
    assert rows["M"]["ratio"]["median"] == pytest.approx(0.8)  # microgpt's 0.1 s / our 0.125 s
    assert rows["GPT"]["ratio"]["median"] == pytest.approx(4.0)
    assert summary["targets"] == {"A1": False, "A2": False, "M": False}  # 0.9 < 1.0, 0.8 < 0.9
    faster = against.summarise([a_round(0.010, 0.009)], ["A1", "A2"])
    assert faster["targets"] == {"A1": True, "A2": True}


def test_a_directory_without_the_package_is_refused_by_name(against, tmp_path):
    with pytest.raises(SystemExit, match="holds no tinygrad_edu/"):
        against.version(str(tmp_path), "current")
    with pytest.raises(SystemExit, match="neither a directory nor a commit"):
        against.version("no-such-commit-or-folder", "baseline")
