"""Automatic initial guesses for equivalent circuits, read off the spectrum.

The spectrum is reduced to a few features — the high-frequency intercept,
the arcs of −Z″ (apex frequency and diameter, split at the minima between
apexes), the low-frequency diffusion tail (slope of −Z″ against ω^-1/2) and
any inductive high-frequency part — and each element of the circuit takes
its start value from the feature it most likely describes: the first series
resistor is the intercept, each parallel block takes the next arc from high to
low frequency, Warburg-type elements take the tail.

Examples
--------
>>> import numpy as np
>>> from ncmsurf.eis._circuits import compile_circuit
>>> c = compile_circuit("R0-p(R1,C1)")
>>> f = np.logspace(5, -2, 50)
>>> z = c([10.0, 100.0, 1e-4], f)
>>> g = initial_guess(c, f, z)
>>> [round(float(g[0])), round(float(g[1]), -1)]
[10, 100.0]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ncmsurf.eis._circuits import CompiledCircuit, Node, element_type

__all__ = ["Features", "features", "initial_guess"]


@dataclass
class Features:
    """Shape features of a spectrum (all in ohm, Hz)."""

    r_hf: float
    r_lf: float
    arcs: list[tuple[float, float]] = field(default_factory=list)  # (diameter, apex frequency), HF → LF
    tail_sigma: float = 0.0  # Warburg coefficient of the LF tail (ohm s^-1/2), 0 if none
    tail_extent: float = 0.0  # real-axis extent of the tail
    inductance: float = 0.0
    f_min: float = 1.0
    f_max: float = 1.0
    zi_lf: float = 0.0  # -Z'' at the lowest frequency


def _smooth(y: np.ndarray) -> np.ndarray:
    if y.size < 5:
        return y.copy()
    k = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9.0
    pad = np.concatenate([np.full(2, y[0]), y, np.full(2, y[-1])])
    return np.convolve(pad, k, mode="valid")


def features(frequency: np.ndarray, impedance: np.ndarray) -> Features:
    """Extract the shape features used for the initial guess."""
    order = np.argsort(frequency)[::-1]  # high → low frequency
    f = np.asarray(frequency, float)[order]
    z = np.asarray(impedance, complex)[order]
    zr, mzi = z.real, -z.imag
    f_min, f_max = float(f.min()), float(f.max())
    scale = float(np.max(np.abs(z))) or 1.0
    cap = mzi > 0
    if cap.any():
        first = int(np.argmax(cap))
        if first > 0:  # interpolate the real axis crossing
            a, b = first - 1, first
            t = mzi[a] / (mzi[a] - mzi[b]) if mzi[a] != mzi[b] else 0.0
            r_hf = float(zr[a] + t * (zr[b] - zr[a]))
        else:
            r_hf = float(zr[0] - 0.5 * mzi[0]) if zr[0] - 0.5 * mzi[0] > 0 else float(zr[0])
    else:
        first, r_hf = 0, float(np.min(zr))
    r_hf = max(r_hf, 1e-6 * scale)
    ind = 0.0
    hi = (~cap) & (np.arange(f.size) < max(first, 1))
    if hi.any() and (-mzi[hi]).max() > 0:
        w_hi = 2 * np.pi * f[hi]
        ind = float(np.median(-mzi[hi] / w_hi))
    r_lf = float(zr[-1])
    feats = Features(r_hf=r_hf, r_lf=r_lf, f_min=f_min, f_max=f_max, inductance=ind, zi_lf=float(mzi[-1]))
    fc, rc, yc = f[first:], zr[first:], _smooth(np.clip(mzi[first:], 0, None))
    if fc.size < 3:
        return feats
    peaks = [i for i in range(1, yc.size - 1) if yc[i] >= yc[i - 1] and yc[i] > yc[i + 1]]
    if yc[0] > yc[1]:
        peaks.insert(0, 0)
    # drop shallow peaks (less than 5 % prominence relative to the neighbouring minima)
    ymax = float(yc.max()) or 1.0
    peaks = [i for i in peaks if yc[i] > 0.02 * ymax]
    # LF tail: -Z'' rising towards the lowest frequency
    tail_start = yc.size - 1
    if yc.size >= 4 and yc[-1] > yc[-2] and (not peaks or peaks[-1] < yc.size - 2):
        j = yc.size - 1
        while j > 0 and yc[j - 1] < yc[j]:
            j -= 1
        tail_start = j
        peaks = [i for i in peaks if i < tail_start]
        wt = 2 * np.pi * fc[tail_start:]
        if wt.size >= 2:
            feats.tail_sigma = float(np.median(np.clip(mzi[first:][tail_start:], 0, None) * np.sqrt(wt)))
            feats.tail_extent = float(max(rc[-1] - rc[tail_start], 0.0))
    bounds = [0]
    for a, b in zip(peaks[:-1], peaks[1:], strict=False):
        bounds.append(a + int(np.argmin(yc[a:b + 1])))
    bounds.append(tail_start)
    start_r = r_hf
    for k, pk in enumerate(peaks):
        end = bounds[k + 1]
        d = float(rc[end] - start_r)
        if d <= 0.2 * yc[pk]:
            d = 2.0 * float(yc[pk])
        feats.arcs.append((d, float(fc[pk])))
        start_r = float(rc[end])
    return feats


def _is_capacitive(node: Node) -> bool:
    if node[0] == "e":
        return element_type(node[1]) in ("C", "CPE", "TLMQ")
    return any(_is_capacitive(c) for c in node[1])


def _collect(node: Node) -> list[str]:
    if node[0] == "e":
        return [node[1]]
    out: list[str] = []
    for c in node[1]:
        out.extend(_collect(c))
    return out


def initial_guess(circuit: CompiledCircuit, frequency: np.ndarray, impedance: np.ndarray) -> np.ndarray:
    """Start values of the free parameters of ``circuit`` estimated from the data."""
    ft = features(frequency, impedance)
    w_min, w_max = 2 * np.pi * ft.f_min, 2 * np.pi * ft.f_max
    span = max(ft.r_lf - ft.r_hf, 0.05 * max(ft.r_hf, 1e-12), 1e-12)
    top = circuit.tree[1]
    blocks = [n for n in top if n[0] == "p" and _is_capacitive(n)]
    arcs = list(ft.arcs)
    if len(arcs) > len(blocks) and blocks:  # merge the smallest neighbours until the counts agree
        while len(arcs) > len(blocks):
            sums = [arcs[i][0] + arcs[i + 1][0] for i in range(len(arcs) - 1)]
            i = int(np.argmin(sums))
            fa = float(np.sqrt(arcs[i][1] * arcs[i + 1][1]))
            arcs[i:i + 2] = [(sums[i], fa)]
    if len(arcs) < len(blocks):
        arc_total = max(span - ft.tail_extent, 0.5 * span) if arcs == [] else sum(a[0] for a in arcs)
        n = len(blocks)
        logf = np.linspace(np.log10(ft.f_max) - 1, np.log10(ft.f_min) + 1, n + 2)[1:-1] if not arcs else None
        if arcs:
            # split the largest arc in frequency until counts agree
            while len(arcs) < n:
                i = int(np.argmax([a[0] for a in arcs]))
                d, fa = arcs[i]
                arcs[i:i + 1] = [(d / 2, fa * 10.0), (d / 2, fa / 10.0)]
        else:
            assert logf is not None
            arcs = [(arc_total / n, float(10 ** lf)) for lf in logf]
    values: dict[str, float] = {}
    tail_sigma = ft.tail_sigma if ft.tail_sigma > 0 else 0.1 * span * np.sqrt(w_min)
    tail_z0 = ft.tail_extent if ft.tail_extent > 0 else 0.5 * span
    ind = ft.inductance if ft.inductance > 0 else 1e-3 * max(ft.r_hf, 1e-12) / w_max

    def assign(name: str, d: float, fa: float, top_level: bool, first_r: bool) -> None:
        et = element_type(name)
        wa = 2 * np.pi * fa
        if et == "R":
            values[name] = ft.r_hf if first_r else d
        elif et == "C":
            values[name] = 1.0 / (wa * d) if not top_level else 1.0 / (w_min * max(ft.zi_lf, 1e-3 * span))
        elif et == "CPE":
            alpha = 0.85
            if top_level:
                values[f"{name}_0"] = 1.0 / (w_min ** alpha * max(ft.zi_lf, 1e-3 * span))
            else:
                values[f"{name}_0"] = 1.0 / (d * wa ** alpha)
            values[f"{name}_1"] = alpha
        elif et == "L":
            values[name] = ind
        elif et == "La":
            values[f"{name}_0"], values[f"{name}_1"] = ind, 0.9
        elif et == "W":
            values[name] = tail_sigma
        elif et in ("Wo", "Ws"):
            values[f"{name}_0"], values[f"{name}_1"] = tail_z0, 1.0 / w_min
        elif et in ("K", "G"):
            values[f"{name}_0"], values[f"{name}_1"] = d, 1.0 / wa
        elif et == "Zarc":
            values[f"{name}_0"], values[f"{name}_1"], values[f"{name}_2"] = d, 1.0 / wa, 0.85
        elif et == "Gs":
            values[f"{name}_0"], values[f"{name}_1"], values[f"{name}_2"] = d, 1.0 / wa, 1.0
        elif et == "TLMQ":
            values[f"{name}_0"], values[f"{name}_1"], values[f"{name}_2"] = d, 1.0 / (d * wa), 0.85

    k_block = 0
    first_r_done = False
    f_mid = float(np.sqrt(ft.f_min * ft.f_max))
    for node in top:
        if node[0] == "e":
            is_r = element_type(node[1]) == "R"
            assign(node[1], 0.1 * span, f_mid, True, is_r and not first_r_done)
            first_r_done = first_r_done or is_r
        elif node in blocks:
            d, fa = arcs[k_block]
            k_block += 1
            names = _collect(node)
            n_r = max(sum(element_type(e) == "R" for e in names), 1)
            for e in names:
                assign(e, d / n_r if element_type(e) == "R" else d, fa, False, False)
        else:
            for e in _collect(node):
                assign(e, 0.1 * span, f_mid, False, False)
    out = np.empty(len(circuit.param_names))
    for i, name in enumerate(circuit.param_names):
        v = values.get(name, 0.1 * span)
        out[i] = min(max(v, 1e-300), circuit.upper[i]) if np.isfinite(v) and v > 0 else 0.1 * span
    return out
