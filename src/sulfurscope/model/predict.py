"""Predictions of a fitted model for every sample: rate capability, retention and the first-discharge
curve (issue 4, part D: "then predict the other samples' ...").

With model C fitted to the smallest particles and model B's D₀ fitted across samples, each sample's
size distribution is run through the study's protocols: the rate test (C/10 formation, then 5 cycles at
each of C/40 … C/2.5), long cycling and the formation discharge itself. Pure: parameters and
distributions in, tables out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sulfurscope.units import CHARGE, CURRENT, VOLTAGE

from .active_volume import SizeDistribution
from .cycling import CyclingParameters
from .formation import FormationParameters
from .protocols import (
    STUDY_C_RATES,
    CellModel,
    long_cycling_protocol,
    protocol_capacities,
    rate_test_protocol,
    simulate_protocol,
)

__all__ = ["SamplePredictions", "predict_samples"]


@dataclass(frozen=True, slots=True)
class SamplePredictions:
    """Model predictions per sample.

    Attributes
    ----------
    rate : DataFrame
        ``Sample``, ``Cycle``, ``C-rate``, ``Discharge capacity [mAh/g]`` of the simulated rate test
        (cycle 1 = formation discharge).
    retention : DataFrame
        ``Sample``, ``Cycle``, ``Discharge capacity [mAh/g]``, ``Retention [%]`` (vs cycle 2) of the
        simulated long test.
    first_discharge : DataFrame
        ``Sample``, ``Specific capacity [mAh/g]``, ``Voltage [V]`` of the formation discharge as the
        simulated instrument records it (1 mg of sulfur, noise-free, 60 s sampling).
    active_fraction : dict of str to float
        Electrode active fraction after formation, per sample.
    """

    rate: pd.DataFrame
    retention: pd.DataFrame
    first_discharge: pd.DataFrame
    active_fraction: dict[str, float]

    def to_frame(self) -> pd.DataFrame:
        """The predicted rate-test table."""
        return self.rate

    def to_dict(self) -> dict[str, Any]:
        """Active fractions and the rate table as records."""
        return {
            "active_fraction": dict(self.active_fraction),
            "rate": self.rate.to_dict(orient="records"),
        }


def _discharges(table: pd.DataFrame) -> pd.DataFrame:
    d = table[table["Mode"].isin(["formation", "discharge"])].reset_index(drop=True)
    return pd.DataFrame(
        {
            "Cycle": np.arange(1, len(d) + 1),
            "C-rate": d["C-rate"].to_numpy(),
            "Discharge capacity [mAh/g]": d["Capacity [mAh/g]"].to_numpy(),
        }
    )


def predict_samples(
    distributions: Mapping[str, SizeDistribution],
    *,
    cycling: CyclingParameters,
    formation: FormationParameters,
    c_rates: Sequence[float] = STUDY_C_RATES,
    cycles_per_rate: int = 5,
    long_cycles: int = 50,
    long_c_rate: float = 0.4,
    formation_c_rate: float = 0.1,
    n_cells: int = 20,
) -> SamplePredictions:
    """Predict each sample's rate test, long-cycling retention and first-discharge curve.

    Parameters
    ----------
    distributions : mapping of str to SizeDistribution
        The samples (e.g. the SEM-measured distributions).
    cycling, formation : parameters
        Fitted model C and model B parameters (:class:`ModelFit` ``.cycling`` / ``.formation``).
    c_rates, cycles_per_rate : rate-test protocol
    long_cycles, long_c_rate : long-cycling protocol
    formation_c_rate : float
        C-rate of the formation discharge.
    n_cells : int
        Model B grid cells per class.

    Returns
    -------
    SamplePredictions

    Examples
    --------
    >>> from sulfurscope.model import single_size
    >>> p = predict_samples({"8 um": single_size(8.0)}, cycling=CyclingParameters(),
    ...                     formation=FormationParameters(), cycles_per_rate=1, long_cycles=3)
    >>> list(p.rate["Cycle"])
    [1, 2, 3, 4, 5, 6]
    >>> 0.4 < p.active_fraction["8 um"] < 0.8
    True
    """
    rate_rows, ret_rows, curves = [], [], []
    frac: dict[str, float] = {}
    rate_protocol = rate_test_protocol(
        c_rates, cycles_per_rate=cycles_per_rate, formation_c_rate=formation_c_rate
    )
    long_protocol = long_cycling_protocol(
        long_c_rate, long_cycles, formation_c_rate=formation_c_rate
    )
    for name, dist in distributions.items():
        cell = CellModel(dist, formation, cycling, n_cells=n_cells)
        rate_out = protocol_capacities(rate_protocol, cell)
        form = rate_out.formation
        frac[name] = float(form.electrode_active_fraction) if form is not None else float("nan")
        rate = _discharges(rate_out.table)
        rate.insert(0, "Sample", name)
        rate_rows.append(rate)
        ret = _discharges(protocol_capacities(long_protocol, cell, formation_result=form).table)
        q2 = (
            float(ret.loc[ret["Cycle"] == 2, "Discharge capacity [mAh/g]"].iloc[0])
            if len(ret) > 1
            else np.nan
        )
        ret["Retention [%]"] = 100.0 * ret["Discharge capacity [mAh/g]"] / q2
        ret.insert(0, "Sample", name)
        ret_rows.append(ret)
        # the first discharge as the instrument would record it (model B plus the diffusion term)
        first = simulate_protocol(
            rate_protocol[:1], cell, sulfur_mass_mg=1.0, sample_interval_s=60.0
        )
        under = first[CURRENT].to_numpy() != 0
        curves.append(
            pd.DataFrame(
                {
                    "Sample": name,
                    "Specific capacity [mAh/g]": -first[CHARGE].to_numpy()[under] * 1000.0,
                    "Voltage [V]": first[VOLTAGE].to_numpy()[under],
                }
            )
        )
    return SamplePredictions(
        rate=pd.concat(rate_rows, ignore_index=True),
        retention=pd.concat(ret_rows, ignore_index=True),
        first_discharge=pd.concat(curves, ignore_index=True),
        active_fraction=frac,
    )
