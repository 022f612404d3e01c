"""XPS fitting speed: ncmsurf against lmfitxps on the same Ni 2p data, plus batch and map throughput.

Run with the benchmark environment (has lmfitxps):

    /work/venv-bench/bin/python benchmarks/bench_xps.py [--quick]

Model on both sides: two Voigt doublets (Ni2+, Ni3+; shared sigma and gamma within a doublet, splitting
bounded 17.1-17.9 eV, area ratio 1/2) + two Voigt satellite doublets tied to their parents by offset and
area ratio, + a Shirley background refined in the fit (ncmsurf "active-shirley"; lmfitxps ShirleyBG with
k and const). Both use Poisson weights 1/sqrt(max(y, 1)); the residual compared is the weighted chi-square
of each side's best fit on the same data. Timings are interleaved, median of several runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
from _memory import peak_mb

import ncmsurf as ns
from ncmsurf.datasets.xps import synthetic_map, synthetic_spectrum, synthetic_stack


def lmfitxps_model(x, y):
    import lmfit
    from lmfitxps.models import ShirleyBG

    comps = ns.xps.preset_model("Ni 2p")
    model = ShirleyBG(prefix="bg_", independent_vars=["y"])
    params = model.make_params(k=1e-4, const=float(np.min(y)))
    s2 = 2 * np.sqrt(2 * np.log(2))
    for c in comps:
        if c.kind != "doublet":
            continue
        p = c.name.replace("+", "p").replace(" ", "") + "_"
        q = p[:-1] + "b_"
        model += lmfit.models.VoigtModel(prefix=p) + lmfit.models.VoigtModel(prefix=q)
        params.update(lmfit.models.VoigtModel(prefix=p).make_params())
        params.update(lmfit.models.VoigtModel(prefix=q).make_params())
        params.add(p + "split", value=c.splitting, min=c.splitting_bounds[0], max=c.splitting_bounds[1])
        params[p + "center"].set(value=c.center, min=c.center_bounds[0], max=c.center_bounds[1])
        params[p + "sigma"].set(value=c.fwhm / s2, min=c.fwhm_bounds[0] / s2, max=c.fwhm_bounds[1] / s2)
        params[p + "gamma"].set(value=c.gamma, vary=False)
        params[p + "amplitude"].set(value=2e5 / 3, min=0)
        params[q + "amplitude"].set(expr=f"{p}amplitude*{c.ratio}")
        params[q + "center"].set(expr=f"{p}center+{p}split")
        params[q + "sigma"].set(expr=f"{p}sigma")
        params[q + "gamma"].set(value=c.gamma, vary=False)
    for c in comps:
        if c.kind != "satellite":
            continue
        parent = c.parent.replace("+", "p").replace(" ", "") + "_"
        p = c.name.replace(" ", "") + "_"
        q = p[:-1] + "b_"
        model += lmfit.models.VoigtModel(prefix=p) + lmfit.models.VoigtModel(prefix=q)
        params.update(lmfit.models.VoigtModel(prefix=p).make_params())
        params.update(lmfit.models.VoigtModel(prefix=q).make_params())
        params.add(p + "off", value=c.offset, min=c.offset_bounds[0], max=c.offset_bounds[1])
        params.add(p + "ratio", value=c.ratio, min=c.ratio_bounds[0], max=c.ratio_bounds[1])
        params[p + "sigma"].set(value=c.fwhm / s2, min=c.fwhm_bounds[0] / s2, max=c.fwhm_bounds[1] / s2)
        params[p + "gamma"].set(value=c.gamma, vary=False)
        params[p + "amplitude"].set(expr=f"{parent}amplitude*{p}ratio")
        params[p + "center"].set(expr=f"{parent}center+{p}off")
        params[q + "amplitude"].set(expr=f"{parent}amplitude*{p}ratio*0.5")
        params[q + "center"].set(expr=f"{parent}center+{p}off+{parent}split")
        params[q + "sigma"].set(expr=f"{p}sigma")
        params[q + "gamma"].set(value=c.gamma, vary=False)
    return model, params


def bench_single(reps: int) -> dict:
    spec = synthetic_spectrum("Ni 2p", fractions={"Ni2+": 0.6, "Ni3+": 0.4}, area=1e6, seed=7)
    x, y = spec.binding_energy, spec.intensity
    w = 1 / np.sqrt(np.maximum(y, 1))
    model, params = lmfitxps_model(x, y)
    t_ns, t_lx = [], []
    res_ns = res_lx = None
    for _ in range(reps):
        t0 = time.perf_counter()
        res_ns = ns.xps.fit(spec, "Ni 2p", background="active-shirley")
        t_ns.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        res_lx = model.fit(y, params, x=x, y=y, weights=w)
        t_lx.append(time.perf_counter() - t0)
    chi_ns = float(np.sum(((y - res_ns.best_fit) * w) ** 2))
    chi_lx = float(np.sum(((y - res_lx.best_fit) * w) ** 2))
    frac_lx = res_lx.params["Ni2p_amplitude"].value / (res_lx.params["Ni2p_amplitude"].value
                                                         + res_lx.params["Ni3p_amplitude"].value)
    return {"t_ns": statistics.median(t_ns), "t_lx": statistics.median(t_lx), "chi_ns": chi_ns, "chi_lx": chi_lx,
            "frac_ns": res_ns.fraction("Ni2+")[0], "frac_lx": frac_lx, "nfev_lx": res_lx.nfev,
            "nfev_ns": res_ns.meta["nfev"], "n": x.size, "reps": reps}


def _warm() -> None:
    import ncmsurf.xps._batch  # noqa: F401


def bench_batch(n: int, workers: int) -> dict:
    stack = synthetic_stack("Ni 2p", n, seed=100, area=1e6)
    out = {}
    t0, c0 = time.perf_counter(), time.process_time()
    serial = ns.xps.fit(stack, "Ni 2p", background="active-shirley")
    out["serial"] = time.perf_counter() - t0
    out["serial_cpu"] = time.process_time() - c0
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            Client(cl) as client:
        client.run(_warm)  # imports in the workers, not timed (cluster start-up is not fitting)
        t0 = time.perf_counter()
        par = ns.xps.fit(stack.chunk({"spectrum": max(1, n // (4 * workers))}), "Ni 2p",
                         background="active-shirley", client=client)
        out["dask"] = time.perf_counter() - t0
    out["max_diff"] = float(np.nanmax(np.abs(par["params"].values - serial["params"].values)))
    out["ok"] = int(serial["success"].sum())
    truth = stack.attrs["fractions"][:, 0]
    out["frac_rmse"] = float(np.sqrt(np.nanmean((serial["fraction"].sel(main="Ni2+").values - truth) ** 2)))
    out["n"] = n
    out["input_mb"] = stack.nbytes / 1e6
    out["peak_mb"], _ = peak_mb(lambda: ns.xps.fit(stack, "Ni 2p", background="active-shirley"))
    return out


def bench_map(side: int, workers: int) -> dict:
    # a map pixel collects far fewer counts than a survey-quality spectrum
    m = synthetic_map("Ni 2p", (side, side), seed=5, area=1e5, background=500.0, step=0.2)
    from distributed import Client, LocalCluster

    sub = m.isel(y=slice(0, 4))
    c0 = time.process_time()
    ns.xps.fit(sub, "Ni 2p", background="active-shirley")
    cpu_px = (time.process_time() - c0) / (4 * side)
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cl, \
            Client(cl) as client:
        client.run(_warm)
        t0 = time.perf_counter()
        out = ns.xps.fit(m.chunk({"y": 1}), "Ni 2p", background="active-shirley", client=client)
        dt = time.perf_counter() - t0
    return {"side": side, "t": dt, "per_pixel": dt / side**2, "ok": int(out["success"].sum()), "cpu_px": cpu_px,
            "extrapolated_256": dt / side**2 * 256**2, "n_energy": m.sizes["binding_energy"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--map-side", type=int, default=None, help="side of the square map (default 48; 256 = full)")
    a = ap.parse_args()
    workers = min(2, os.cpu_count() or 1)
    s = bench_single(3 if a.quick else 7)
    b = bench_batch(200 if a.quick else 1000, workers)
    m = bench_map(a.map_side or (16 if a.quick else 48), workers)
    from importlib.metadata import version

    import lmfit
    import scipy

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; Python {sys.version.split()[0]}, "
          f"numpy {np.__version__}, scipy {scipy.__version__}, lmfit {lmfit.__version__}, "
          f"lmfitxps {version('lmfitxps')}, ncmsurf {ns.__version__}")
    print()
    print("| case | ncmsurf | lmfitxps | ratio |")
    print("|---|---|---|---|")
    print(f"| Ni 2p fit, {s['n']} pts, median of {s['reps']} | {s['t_ns'] * 1e3:.1f} ms ({s['nfev_ns']} evals) "
          f"| {s['t_lx'] * 1e3:.0f} ms ({s['nfev_lx']} evals) | {s['t_lx'] / s['t_ns']:.0f}x |")
    print(f"| weighted chi-square (same data, same weights) | {s['chi_ns']:.1f} | {s['chi_lx']:.1f} | "
          f"{s['chi_lx'] / s['chi_ns']:.3f} |")
    print(f"| Ni2+ fraction (truth 0.600) | {s['frac_ns']:.4f} | {s['frac_lx']:.4f} | |")
    print()
    print("| batch | time | note |")
    print("|---|---|---|")
    print(f"| {b['n']} Ni 2p spectra, serial | {b['serial']:.1f} s (CPU {b['serial_cpu']:.1f} s, i.e. "
          f"{b['serial_cpu'] / workers:.1f} s on {workers} idle cores) | {b['ok']} converged, "
          f"Ni2+ fraction RMSE vs truth {b['frac_rmse']:.4f} |")
    print(f"| {b['n']} Ni 2p spectra, serial, peak memory (tracemalloc) | {b['peak_mb']:.1f} MB above the "
          f"{b['input_mb']:.1f} MB stack ({b['peak_mb'] / b['input_mb']:.2f}x) | total "
          f"{1 + b['peak_mb'] / b['input_mb']:.2f}x the input |")
    print(f"| {b['n']} Ni 2p spectra, dask.distributed {workers} processes | {b['dask']:.1f} s | "
          f"max |dask - serial| = {b['max_diff']:.1e} |")
    print(f"| {m['side']}x{m['side']} Ni 2p map ({m['n_energy']} pts/pixel), dask {workers} processes | "
          f"{m['t']:.1f} s ({m['per_pixel'] * 1e3:.1f} ms/pixel) | {m['ok']} converged; "
          f"256x256 extrapolated: {m['extrapolated_256'] / 60:.1f} min wall; CPU {m['cpu_px'] * 1e3:.1f} ms/pixel "
          f"-> {m['cpu_px'] * 256**2 / workers / 60:.1f} min on {workers} idle cores |")
    print()
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (other jobs share the {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
