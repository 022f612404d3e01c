"""Truth recovery and interval coverage of the coated-NCM chemistry on seeded synthetic spectra.

Run:

    python benchmarks/calibration_chemistry.py [--trials 100] [--case o1s mn2p al2p ni2p]

Four cases, each ``--trials`` seeds (spectra from :mod:`ncmsurf.datasets.xps`, Poisson counts, fitted with the
active Shirley the generator is built on):

- ``o1s``: Al2O3-coated NCM (:func:`~ncmsurf.datasets.xps.synthetic_coated_ncm`: O 1s, Al 2p, Ni 2p, C 1s
  with a 0.6 eV charge shift) by :func:`ncmsurf.xps.fit_joint` with the O/Al = 1.5 tie, the Ni 3p tie and the
  shared shift: the Al-O and carbonate shares of O 1s;
- ``mn2p``: Mn 2p with the Ni LMM Auger lines under Al K-alpha (Mn4+ 0.5, Mn3+ 0.2, Ni LMM 0.3 of area 2e6) by
  :func:`ncmsurf.xps.fit`: the Mn4+ share of the Mn area;
- ``al2p``: Al 2p beside the Ni 3p doublet (Al2O3 0.5, AlF3 0.2, Ni 3p 0.3 of area 2e5, ``"Al 2p:coating"``):
  the Al2O3 share of the Al area and the Ni 3p (doublet) area;
- ``ni2p``: Ni 2p from the multiplet envelopes (first lines 0.4/0.6, area 2e6) by the ``"Ni 2p:multiplet"``
  model: the envelope Ni2+ fraction (:func:`ncmsurf.xps.ni2_fraction` on the spectrum, which refits without
  the absent metal line) against its truth; the verdicts are those of the full multiplet fit.

For each number: the share of trials within the stated accuracy (0.03 for shares), the coverage of the 95 %
intervals (|value - truth| <= 1.96 stderr; target 90-98 %), the mean error, the scatter and the median stated
stderr; and the verdicts.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

import ncmsurf as ns
from ncmsurf.datasets.xps import synthetic_coated_ncm, synthetic_spectrum, synthetic_truth
from ncmsurf.xps._states import _without_absent_metal, ni2_truth

Trial = dict[str, tuple[float, float, float]]  # name -> (value, stderr, truth)


def o1s(seed: int) -> tuple[Trial, str]:
    case = synthetic_coated_ncm(seed=seed)
    res = ns.xps.fit_joint(case["spectra"], case["models"], constraints=case["constraints"],
                           background="active-shirley")
    t = case["truth"]
    out: Trial = {}
    for key, comp in (("al_o_share", "Al-O"), ("carbonate_share", "carbonate")):
        v, e = res.fraction("O 1s", comp)
        out[key] = (v, e, float(t[key]))
    return out, res.quality.level


def mn2p(seed: int) -> tuple[Trial, str]:
    fr = {"Mn4+": 0.5, "Mn3+": 0.2, "Ni LMM": 0.3}
    spec = synthetic_spectrum("Mn 2p", fractions=fr, area=2e6, seed=seed)
    res = ns.xps.fit(spec, "Mn 2p", background="active-shirley")
    v, e = res.fraction("Mn4+", among=["Mn4+", "Mn3+"])
    return {"mn4_share": (v, e, 0.5 / 0.7)}, res.quality.level


def al2p(seed: int) -> tuple[Trial, str]:
    fr = {"Al2O3": 0.5, "AlF3": 0.2, "Ni 3p": 0.3}
    spec = synthetic_spectrum("Al 2p", fractions=fr, area=2e5, seed=seed)
    res = ns.xps.fit(spec, "Al 2p:coating", background="active-shirley")
    truth = synthetic_truth("Al 2p", fractions=fr, area=2e5)["areas"]
    v, e = res.fraction("Al2O3", among=["Al2O3", "AlF3"])
    a, ae = res.areas["Ni 3p"]
    return {"al2o3_share": (v, e, 0.5 / 0.7), "ni3p_area": (a, ae, float(truth["Ni 3p"]))}, res.quality.level


def ni2p(seed: int) -> tuple[Trial, str]:
    spec = synthetic_spectrum("Ni 2p:multiplet", fractions={"Ni2+": 0.4, "Ni3+": 0.6}, area=2e6, seed=seed)
    full = ns.xps.fit(spec, "Ni 2p:multiplet", background="active-shirley")
    # what ni2_fraction(spec, model="multiplet") does: refit without the absent metal line
    v, e = ns.xps.ni2_fraction(_without_absent_metal(spec, full, "active-shirley"))
    return {"ni2_fraction": (v, e, ni2_truth(0.4, 0.6))}, full.quality.level


CASES: dict[str, Callable[[int], tuple[Trial, str]]] = {"o1s": o1s, "mn2p": mn2p, "al2p": al2p, "ni2p": ni2p}
ACCURACY = {"al_o_share": 0.03, "carbonate_share": 0.03, "mn4_share": 0.03, "al2o3_share": 0.03,
            "ni2_fraction": 0.03}


def run(case: str, trials: int, first_seed: int = 0) -> dict[str, Any]:
    """Fit ``trials`` seeds of one case; statistics per number."""
    rows: dict[str, list[tuple[float, float, float]]] = {}
    verdicts: Counter[str] = Counter()
    t0 = time.perf_counter()
    for seed in range(first_seed, first_seed + trials):
        out, level = CASES[case](seed)
        verdicts[level] += 1
        for k, v in out.items():
            rows.setdefault(k, []).append(v)
    elapsed = time.perf_counter() - t0
    stats: dict[str, Any] = {"case": case, "trials": trials, "seconds_per_trial": elapsed / trials,
                             "verdicts": dict(verdicts)}
    for k, r in rows.items():
        a = np.asarray(r, float)
        v, e, t = a[:, 0], a[:, 1], a[:, 2]
        err = v - t
        s: dict[str, float] = {"coverage_95": float(np.mean(np.abs(err) <= 1.96 * e)),
                               "mean_error": float(err.mean()), "scatter": float(err.std(ddof=1)),
                               "median_stderr": float(np.median(e))}
        if k in ACCURACY:
            s["within_accuracy"] = float(np.mean(np.abs(err) <= ACCURACY[k]))
        else:
            s["relative_scatter"] = float(err.std(ddof=1) / np.mean(t))
        stats[k] = s
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--case", nargs="*", default=list(CASES))
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    results = []
    for c in args.case:
        r = run(c, args.trials)
        results.append(r)
        print(json.dumps(r, indent=1), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
