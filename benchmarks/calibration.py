"""Calibration of the XPS and fade verdicts and intervals on seeded synthetic truth (larger counts than the tests).

Run:

    python benchmarks/calibration.py [--xps 200] [--fade 100]

XPS: Ni 2p spectra from ``ncmsurf.datasets.xps`` (Poisson counts, active Shirley): the share of ``good`` fits,
the coverage of the 95 % intervals (every free parameter and the Ni2+ share) of the good fits, the share of
fits with one doublet too few (Ni3+ and its satellite left out) flagged ``suspect``, and the stated total-area
stderr over the empirical scatter.

Fade: records from ``ncmsurf.datasets.cycling.synthetic_record`` (exponential law, 0.3 % relative noise), their
summary's discharge capacities: coverage of the fitted law's parameter intervals, of the model-averaged
``cycles_to(0.8)`` intervals of ``model="auto"`` (analytic truth), and the share of linear-law fits flagged
``suspect``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import ncmsurf as ns
from ncmsurf.datasets.cycling import synthetic_record
from ncmsurf.datasets.xps import synthetic_spectrum, synthetic_truth


def xps(n: int) -> dict[str, float]:
    truth = synthetic_truth("Ni 2p", fractions={"Ni2+": 0.6, "Ni3+": 0.4})
    hits = total = good = flagged = 0
    tot, err = [], []
    short = [c for c in ns.xps.preset_model("Ni 2p") if c.name != "Ni3+" and getattr(c, "parent", "") != "Ni3+"]
    for seed in range(n):
        spec = synthetic_spectrum("Ni 2p", fractions={"Ni2+": 0.6, "Ni3+": 0.4}, seed=seed)
        res = ns.xps.fit(spec, "Ni 2p", background="active-shirley")
        v, e = res.total_area()
        tot.append(v)
        err.append(e)
        if res.quality.level == "good":
            good += 1
            f, fe = res.fraction("Ni2+")
            hits += abs(f - 0.6) <= 1.96 * fe
            total += 1
            for name, (pv, pe) in res.params.items():
                if res.free[name] and name in truth["params"]:
                    hits += abs(pv - truth["params"][name]) <= 1.96 * pe
                    total += 1
        flagged += ns.xps.fit(spec, short, background="active-shirley").quality.level == "suspect"
    return {"fits": n, "good": good / n, "coverage": hits / total, "intervals": total, "wrong_flagged": flagged / n,
            "total_area_stderr_over_scatter": float(np.median(err) / np.std(tot, ddof=1))}


def fade(n: int) -> dict[str, float]:
    k = 2e-3
    law = {"model": "exponential", "k": k}
    true_cycle = 1 + np.log(1.25) / k
    p_hits = p_total = c_hits = c_total = good = flagged = 0
    for seed in range(n):
        rec = synthetic_record(n_cycles=150, fade=law, c_rate=0.1, noise=0.003, seed=seed, points_per_cycle=40)
        s = ns.cycling.summary(rec)
        cyc, cap = s.cycle.values, s.discharge_capacity.values
        q0 = rec.meta["truth"]["fade"]["q0"]
        fit = ns.cycling.fit_fade(cyc, cap, model="exponential")
        if fit.quality.level == "good":
            good += 1
            for name, v in (("q0", q0), ("k", k)):
                p_hits += abs(fit.params[name] - v) <= 1.96 * fit.stderr[name]
                p_total += 1
        auto = ns.cycling.fit_fade(cyc, cap)
        ct = auto.cycles_to(0.8)
        if auto.quality.level == "good" and ct is not None:
            c_hits += ct[1] <= true_cycle + cyc[0] - 1 <= ct[2]
            c_total += 1
        flagged += ns.cycling.fit_fade(cyc, cap, model="linear").quality.level == "suspect"
    return {"fits": n, "good": good / n, "param_coverage": p_hits / p_total, "auto_cycles_to_coverage":
            c_hits / max(c_total, 1), "auto_good": c_total, "wrong_flagged": flagged / n}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--xps", type=int, default=200)
    ap.add_argument("--fade", type=int, default=100)
    a = ap.parse_args()
    warnings.simplefilter("ignore", ns.NcmsurfWarning)
    t0 = time.perf_counter()
    print("XPS Ni 2p:", {k: round(v, 4) for k, v in xps(a.xps).items()}, f"({time.perf_counter() - t0:.0f} s)")
    t0 = time.perf_counter()
    print("fade:", {k: round(v, 4) for k, v in fade(a.fade).items()}, f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
