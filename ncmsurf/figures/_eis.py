"""Impedance figures: Nyquist and Bode plots with the fitted circuits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.core.sample import Sample
from ncmsurf.figures._base import (
    StyleArg,
    axis_label,
    finish,
    is_study,
    new_figure,
    note,
    parse_states,
    sample_color,
    select_samples,
    state_label,
    style_context,
    verdict,
)

__all__ = ["bode", "nyquist"]


class _Item:
    __slots__ = ("fit", "sample", "scale", "spec", "unit")

    def __init__(self, sample: Sample, spec: ImpedanceSpectrum, fit: Any, area_normalised: bool) -> None:
        self.sample, self.spec, self.fit = sample, spec, fit
        already = "cm" in str(spec.units)
        if area_normalised and spec.area is not None and not already:
            self.scale, self.unit = float(spec.area), "ohm*cm**2"
        else:
            self.scale, self.unit = 1.0, str(spec.units)

    def z(self) -> np.ndarray:
        return np.asarray(self.spec.impedance) * self.scale

    def fitted(self, n: int = 300) -> tuple[np.ndarray, np.ndarray] | None:
        if self.fit is None or not hasattr(self.fit, "predict"):
            return None
        f = np.logspace(np.log10(self.spec.frequency.max()), np.log10(self.spec.frequency.min()), n)
        return f, np.asarray(self.fit.predict(f)) * self.scale


def collect_eis(source: Any, samples: Any, states: Any, area_normalised: bool) -> list[_Item]:
    """One spectrum (and its fit) per chosen sample, from a Study or a list of spectra / (spectrum, fit)."""
    pairs: list[tuple[Sample, ImpedanceSpectrum, Any]] = []
    if is_study(source):
        for s in source.samples:
            specs = [m for m in source.measurements(s, "eis") if isinstance(m, ImpedanceSpectrum)]
            if specs:
                pairs.append((s, specs[0], source.result(s, "eis", "eis_fit")))
    else:
        objs = list(source.items()) if isinstance(source, Mapping) else [(None, x) for x in
                                                                          (source if isinstance(source, (list, tuple))
                                                                           else [source])]
        for k, (key, obj) in enumerate(objs):
            spec, fit = obj if isinstance(obj, tuple) else (obj, None)
            if not isinstance(spec, ImpedanceSpectrum):
                raise ValidationError(f"nyquist: item {k} is not an ImpedanceSpectrum")
            s = (Sample.parse(str(key)) if key is not None else spec.sample) or Sample("P", cycles=0)
            if key is None and spec.sample is None:
                s = Sample("P", cycles=k)  # unlabelled spectra: keep them apart
            pairs.append((s, spec, fit))
    chosen = select_samples([p[0] for p in pairs], samples, states)
    return [_Item(s, sp, fit, area_normalised) for s, sp, fit in pairs if s in chosen]


def _unit(items: list[_Item]) -> str:
    units = {it.unit for it in items}
    if len(units) > 1:
        raise ValidationError(f"nyquist: spectra in different units {sorted(units)}; give every spectrum an area "
                              "or pass area_normalised=False")
    return units.pop() if units else "ohm"


def draw_nyquist(ax: Any, items: list[_Item], all_samples: list[Sample], fig: Any, *, legend: bool = True,
                 ls: str = "-", label_state: bool = False) -> None:
    """Data as points and fits as lines on one Nyquist panel; a fit that is not good is styled and noted."""
    for it in items:
        col = sample_color(it.sample, all_samples)
        z = it.z()
        v = verdict(it.fit)
        lab = it.sample.label if label_state else it.sample.label.split("@")[0]
        if v.level in ("suspect", "failed"):
            lab += f" ({v.level} fit)"
        ax.plot(z.real, -z.imag, "o", ms=2.2, mfc="none" if it.sample.cycles else col, mec=col, mew=0.6, label=lab)
        curve = it.fitted()
        if curve is not None:
            kw = {"color": col, "lw": 0.9, "ls": ls} | ({} if v.good else v.line_kw())
            if not v.good:
                kw["color"] = col  # keep the sample's colour; the dash tells the verdict
            ax.plot(curve[1].real, -curve[1].imag, **kw)
        if v.level in ("suspect", "failed"):
            note(fig, f"{it.sample.label} circuit fit {v.text(200)}")
    if legend and items:
        ax.legend(loc="upper left", fontsize="x-small", ncols=1 if len(items) < 5 else 2, handlelength=1.0)


def _limits(items: list[_Item]) -> tuple[float, float, float, float]:
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for it in items:
        z = it.z()
        xs.append(z.real)
        ys.append(-z.imag)
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    return float(x.min()), float(x.max()), float(min(0.0, y.min())), float(y.max())


def _equal_limits(ax: Any, lim: tuple[float, float, float, float]) -> None:
    """Equal scales on both axes, the box shaped to the data (no empty band)."""
    x0, x1, y0, y1 = lim
    pad_x = 0.04 * (x1 - x0 or 1.0)
    x0 = min(0.0, x0 - pad_x) if x0 < 0.15 * (x1 - x0) else x0 - pad_x
    ax.set_xlim(x0, x1 + pad_x)
    ax.set_ylim(y0, y0 + max(y1 - y0, 1e-12) * 1.08)
    ax.set_aspect("equal", adjustable="box")


def nyquist(source: Any, samples: Any = None, states: Any = None, *, area_normalised: bool = True,
            equal_aspect: bool = True, style: StyleArg = "paper") -> Any:
    """Nyquist plots with the fitted circuit curves, one panel per cycle state.

    Parameters
    ----------
    source : Study or ImpedanceSpectrum or list
        A study (spectra and ``eis_fit`` results), a spectrum, a list of
        spectra or of ``(spectrum, fit)`` pairs, or ``{label: (spectrum, fit)}``.
    samples, states : optional
        Which samples and cycle states (see :func:`ncmsurf.figures.xps_panels`).
    area_normalised : bool
        Multiply by the electrode area where a spectrum has one (Ω·cm²).
    equal_aspect : bool
        Equal scales on Z′ and −Z″ (semicircles look round); the panels are
        shaped to the data, so no band of the figure stays empty.
    style : str or dict, optional
        See :func:`ncmsurf.figures.xps_panels`.

    Returns
    -------
    matplotlib.figure.Figure
        Data as points (open for cycled samples), fits as lines; a suspect
        fit's curve is dashed and a failed one dotted, its legend entry says
        "(suspect fit)" or "(failed fit)" and the verdict with its reasons is
        written under the figure.

    Examples
    --------
    >>> import ncmsurf as ns
    >>> spec = ns.ImpedanceSpectrum([1e4, 1e2, 1.0, 0.01], [10 - 1j, 20 - 8j, 40 - 5j, 45 - 9j], sample="P-NCM")
    >>> fig = ns.figures.nyquist(spec)
    >>> fig.axes[0].get_xlabel()
    'Z′ (Ω)'
    """
    with style_context(style) as _size:
        items = collect_eis(source, samples, states, area_normalised)
        if not items:
            raise ValidationError("nyquist: no impedance spectra for the chosen samples")
        unit = _unit(items)
        state_list = parse_states(None, sorted({it.sample.cycles for it in items}))
        lims = [_limits([it for it in items if it.sample.cycles == c]) for c in state_list]
        # one panel per state, stacked; each panel's height follows its data at equal scales
        width = 2.0 * _size[0]
        plot_w = width * 0.62
        heights = [float(np.clip((y1 - y0) / max(x1 - min(0.0, x0), 1e-12) * 1.1, 0.25, 1.0)) * plot_w
                   if equal_aspect else 0.6 * plot_w for x0, x1, y0, y1 in lims]
        fig, axes = new_figure(len(state_list), 1, _size, width=width, height=sum(heights) + 0.55 * len(state_list),
                               gridspec_kw={"height_ratios": heights})
        all_samples = [it.sample for it in items]
        for ax, c, lim in zip(axes[:, 0], state_list, lims):
            draw_nyquist(ax, [it for it in items if it.sample.cycles == c], all_samples, fig, legend=False)
            ax.set_xlabel(axis_label("Z′", unit))
            ax.set_ylabel(axis_label("−Z″", unit))
            ax.set_title(state_label(c))
            if equal_aspect:
                _equal_limits(ax, lim)
            ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, fontsize="x-small",
                      handlelength=1.0)
        return finish(fig)


def bode(source: Any, samples: Any = None, states: Any = None, *, area_normalised: bool = True,
         style: StyleArg = "paper") -> Any:
    r"""Bode plots (\\|Z\\| and phase against frequency) with the fitted curves, one column per cycle state.

    Parameters are those of :func:`ncmsurf.figures.nyquist`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import ncmsurf as ns
    >>> spec = ns.ImpedanceSpectrum([1e4, 1e2, 1.0, 0.01], [10 - 1j, 20 - 8j, 40 - 5j, 45 - 9j], sample="P-NCM")
    >>> len(ns.figures.bode(spec).axes)
    2
    """
    with style_context(style) as _size:
        items = collect_eis(source, samples, states, area_normalised)
        if not items:
            raise ValidationError("bode: no impedance spectra for the chosen samples")
        unit = _unit(items)
        state_list = parse_states(None, sorted({it.sample.cycles for it in items}))
        fig, axes = new_figure(2, len(state_list), _size, sharex="col")
        all_samples = [it.sample for it in items]
        for j, c in enumerate(state_list):
            top, bottom = axes[0, j], axes[1, j]
            for it in (x for x in items if x.sample.cycles == c):
                col = sample_color(it.sample, all_samples)
                z = it.z()
                f = it.spec.frequency
                top.loglog(f, np.abs(z), "o", ms=2, color=col, label=it.sample.label.split("@")[0])
                bottom.semilogx(f, -np.degrees(np.angle(z)), "o", ms=2, color=col)
                curve = it.fitted()
                v = verdict(it.fit)
                if curve is not None:
                    kw = {"color": col, "lw": 0.9} | ({} if v.good else v.line_kw())
                    top.loglog(curve[0], np.abs(curve[1]), **kw)
                    bottom.semilogx(curve[0], -np.degrees(np.angle(curve[1])), **kw)
                if not v.good and v.level != "none":
                    note(fig, f"{it.sample.label} circuit fit {v.text(200)}")
            top.set_ylabel(axis_label("|Z|", unit))
            top.set_title(state_label(c))
            top.legend(fontsize="x-small", loc="lower left", handlelength=1.0)
            bottom.set_xlabel("Frequency (Hz)")
            bottom.set_ylabel("−Phase (°)")
        return finish(fig)
