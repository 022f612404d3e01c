"""Speed of ``ns.xps.fit_joint`` (four regions of a coated NCM) beside one single-region Ni 2p fit.

Run:

    python benchmarks/bench_joint.py [--repeats 5]

Data: :func:`ncmsurf.datasets.xps.synthetic_coated_ncm` seeds 0-4 (O 1s, Al 2p, Ni 2p, C 1s; the O/Al and Ni 3p
ties and the shared shift; active Shirley). Reported: the median wall time of a joint fit, and of one
``ns.xps.fit`` of the same Ni 2p spectrum, interleaved in one process (there is no peer package for joint fits).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import ncmsurf as ns
from ncmsurf.datasets.xps import synthetic_coated_ncm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    joint: list[float] = []
    single: list[float] = []
    nfev: list[int] = []
    for _ in range(args.repeats):
        for seed in range(5):
            case = synthetic_coated_ncm(seed=seed)
            t = time.perf_counter()
            res = ns.xps.fit_joint(case["spectra"], case["models"], constraints=case["constraints"],
                                   background="active-shirley")
            joint.append(time.perf_counter() - t)
            nfev.append(int(res.to_dataset().attrs["nfev"]))
            t = time.perf_counter()
            ns.xps.fit(case["spectra"]["Ni 2p"], "Ni 2p", background="active-shirley")
            single.append(time.perf_counter() - t)
    out = {"joint_fit_median_s": statistics.median(joint), "joint_fit_max_s": max(joint),
           "joint_nfev_median": statistics.median(nfev), "single_ni2p_fit_median_s": statistics.median(single),
           "fits": len(joint)}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
