"""Rate capability, retention and asymmetric rates on synthetic runs with known truth."""

from __future__ import annotations

import numpy as np
import pytest

from sulfurscope.cycling import (
    asymmetric_rates,
    c_rate_label,
    cycle_summary,
    early_fade,
    rate_capability,
    retention,
)
from sulfurscope.errors import SulfurscopeError
from sulfurscope.simulate.cycling import (
    HalfCycleSpec,
    long_cycling_schedule,
    rate_test_schedule,
    simulate_run,
)

MASS = 2.2
RATES = (1 / 40, 1 / 20, 1 / 10, 1 / 5, 1 / 2.5)
BASE = {1 / 40: 900.0, 1 / 20: 820.0, 1 / 10: 740.0, 1 / 5: 680.0, 1 / 2.5: 600.0}


def _law(cycle: int, c_rate: float, direction: int) -> float:
    if cycle == 1 and direction == -1:
        return 1000.0  # formation discharge
    base = min(BASE.items(), key=lambda kv: abs(np.log(kv[0] / c_rate)))[1]
    fade = 1.0 - 0.004 * ((cycle - 2) % 5)  # 0.4 %/cycle inside every block
    return base * fade * (0.98 if direction == 1 else 1.0)


@pytest.fixture(scope="module")
def rate_run():
    frame = simulate_run(
        rate_test_schedule(_law), sulfur_mass_mg=MASS, rng=np.random.default_rng(3)
    )
    return cycle_summary(frame, sulfur_mass_mg=MASS)


def test_rate_blocks_recovered(rate_run) -> None:
    rc = rate_capability(rate_run).table
    assert list(rc["Cycles"]) == [1, 5, 5, 5, 5, 5]
    assert list(rc["Label"]) == ["C/10", "C/40", "C/20", "C/10", "C/5", "C/2.5"]
    np.testing.assert_allclose(rc["C-rate"].iloc[1:], RATES, rtol=1e-6)
    expected = [1000.0] + [base * np.mean(1 - 0.004 * np.arange(5)) for base in BASE.values()]
    np.testing.assert_allclose(rc["Mean discharge capacity [mAh/g]"], expected, rtol=5e-3)
    # fade inside each block: (last - first)/first = -1.6 %
    np.testing.assert_allclose(rc["Fade in block [%]"].iloc[1:], -1.6, atol=0.05)
    assert (rc["SD discharge capacity [mAh/g]"].iloc[1:] > 0).all()
    assert rc["SD discharge capacity [mAh/g]"].iloc[0] == 0.0


def test_rate_capability_needs_mass(rate_run) -> None:
    frame = simulate_run(rate_test_schedule(_law, cycles_per_rate=1), sulfur_mass_mg=MASS)
    with pytest.raises(SulfurscopeError, match="sulfur_mass_mg"):
        rate_capability(cycle_summary(frame))


def test_retention_fit_recovers_early_fade_law() -> None:
    q_inf, q2, n_c = 310.0, 420.0, 9.0

    def law(cycle: int, c_rate: float, direction: int) -> float:
        if cycle == 1 and direction == -1:
            return 700.0
        return float(early_fade(np.array([cycle]), q_inf, q2, n_c)[0])

    frame = simulate_run(
        long_cycling_schedule(law, cycles=60), sulfur_mass_mg=MASS, points_per_half_cycle=60
    )
    r = retention(cycle_summary(frame, sulfur_mass_mg=MASS))
    assert r.fit_ok
    assert r.q_inf == pytest.approx(q_inf, rel=5e-3)
    assert r.n_c == pytest.approx(n_c, rel=5e-3)
    assert r.plateau_cycle_fit == pytest.approx(2 + n_c * np.log(20), rel=5e-3)
    t = r.table.set_index("Cycle")
    assert t.loc[2, "Retention [%]"] == pytest.approx(100.0)
    assert t.loc[60, "Retention [%]"] == pytest.approx(100 * law(60, 0.4, -1) / q2, rel=5e-3)
    assert 15 <= r.plateau_cycle <= 45  # the study: fade levels off after 30-40 cycles


def test_retention_flat_run_fit_marked() -> None:
    frame = simulate_run(
        long_cycling_schedule(lambda c, r, d: 500.0, cycles=12),
        sulfur_mass_mg=MASS,
        points_per_half_cycle=40,
    )
    r = retention(cycle_summary(frame, sulfur_mass_mg=MASS))
    # no fade: either the fit says N_c ran away or the excess is zero; never a silent NaN with fit_ok
    assert (not r.fit_ok) or abs(r.q_ref - r.q_inf) < 1.0
    assert r.plateau_cycle == 2


def test_retention_missing_reference_cycle() -> None:
    frame = simulate_run([HalfCycleSpec(-1, 0.1, 500.0, 0.0)], sulfur_mass_mg=MASS)
    with pytest.raises(SulfurscopeError, match="reference cycle 2"):
        retention(cycle_summary(frame, sulfur_mass_mg=MASS))


def test_asymmetric_pairs_discharge_with_preceding_charge() -> None:
    # charge at C/10 then discharge at C/2.5, and charge at C/2.5 then discharge at C/10
    sched = [HalfCycleSpec(-1, 0.1, 700.0, 0.0)]
    caps = {(0.1, 0.4): 520.0, (0.4, 0.1): 300.0}
    for ch, dis in [(0.1, 0.4)] * 3 + [(0.4, 0.1)] * 3:
        sched.append(HalfCycleSpec(1, ch, 600.0 if ch == 0.1 else 310.0, 0.0))
        sched.append(HalfCycleSpec(-1, dis, caps[(ch, dis)], 0.0))
    sched.append(HalfCycleSpec(1, 0.1, 600.0, 0.0))
    frame = simulate_run(sched, sulfur_mass_mg=MASS, points_per_half_cycle=50)
    a = asymmetric_rates(cycle_summary(frame, sulfur_mass_mg=MASS))
    p = a.pairs
    assert list(zip(p["Charge label"], p["Discharge label"], p["Cycles"], strict=True)) == [
        ("C/10", "C/2.5", 3),
        ("C/2.5", "C/10", 3),
    ]
    np.testing.assert_allclose(p["Mean discharge capacity [mAh/g]"], [520.0, 300.0], rtol=5e-3)
    # "slow discharge after a fast charge gives less"
    assert (
        p["Mean discharge capacity [mAh/g]"].iloc[1] < p["Mean discharge capacity [mAh/g]"].iloc[0]
    )


@pytest.mark.parametrize(
    ("rate", "label"), [(0.4, "C/2.5"), (0.025, "C/40"), (2.0, "2C"), (0.0, "n/a")]
)
def test_c_rate_labels(rate: float, label: str) -> None:
    assert c_rate_label(rate) == label


@pytest.mark.parametrize(("decimal", "newline"), [(".", "\r\n"), (",", "\n")])
def test_synthetic_file_recovered_through_mpt(tmp_path, decimal: str, newline: str) -> None:
    """Known capacities, rate blocks and fade → EC-Lab .mpt → read_cycler → within 0.5 %."""
    from sulfurscope.io import read_cycler, write_mpt

    frame = simulate_run(
        rate_test_schedule(_law), sulfur_mass_mg=MASS, rng=np.random.default_rng(9)
    )
    path = write_mpt(
        frame,
        tmp_path / "synthetic.mpt",
        metadata={"sulfur_mass_mg": MASS},
        decimal=decimal,
        newline=newline,
    )
    data = read_cycler(path)
    summary = cycle_summary(data.frame, sulfur_mass_mg=MASS)
    rc = rate_capability(summary).table
    assert list(rc["Label"]) == ["C/10", "C/40", "C/20", "C/10", "C/5", "C/2.5"]
    expected = [1000.0] + [base * np.mean(1 - 0.004 * np.arange(5)) for base in BASE.values()]
    np.testing.assert_allclose(rc["Mean discharge capacity [mAh/g]"], expected, rtol=5e-3)
    np.testing.assert_allclose(rc["Fade in block [%]"].iloc[1:], -1.6, atol=0.05)
    t = summary.table.set_index("Cycle")
    for cycle in (2, 9, 26):
        rate = RATES[(cycle - 2) // 5]
        assert t.loc[cycle, "Discharge capacity [mAh/g]"] == pytest.approx(
            _law(cycle, rate, -1), rel=5e-3
        )
        assert t.loc[cycle, "Charge capacity [mAh/g]"] == pytest.approx(
            _law(cycle, rate, 1), rel=5e-3
        )
