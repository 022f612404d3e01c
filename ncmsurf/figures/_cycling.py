"""Cycling figures: the rate / impedance / cycling panel set (S5, S6) and dQ/dV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfError, ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.core.sample import Sample
from ncmsurf.figures._base import (
    StyleArg,
    axis_label,
    base_label,
    finish,
    integer_ticks,
    is_study,
    new_figure,
    note,
    rate_label,
    sample_color,
    select_samples,
    style_context,
    verdict,
)
from ncmsurf.figures._eis import collect_eis, draw_nyquist

__all__ = ["dqdv", "rate_eis_cycling"]


class _Cell:
    """One cycled cell: its record, summary, fade fit, and the sample it stands for."""

    __slots__ = ("data", "fade", "sample", "summary")

    def __init__(self, sample: Sample, data: CyclingData | None, summary: Any, fade: Any) -> None:
        self.sample, self.data, self.summary, self.fade = sample, data, summary, fade


def _cells(source: Any, samples: Any) -> tuple[list[_Cell], list[str]]:
    """Cycling cells of the chosen samples (a cycled-state label stands for its fresh cell); notes."""
    import ncmsurf.cycling as cyc

    cells: list[_Cell] = []
    notes: list[str] = []
    if is_study(source):
        avail = [s for s in source.samples if source.measurements(s, "cycling")]
        wanted = select_samples(source.samples, samples, None) if samples is not None else avail
        seen: set[str] = set()
        for s in wanted:
            cell = next((x for x in avail if base_label(x) == base_label(s)), None)
            if cell is None:
                if base_label(s) not in seen:
                    notes.append(f"{base_label(s)}: no cycling record; not shown")
                    seen.add(base_label(s))
                continue
            if cell.label in seen:
                continue
            seen.add(cell.label)
            data = next(m for m in source.measurements(cell, "cycling") if isinstance(m, CyclingData))
            summ = source.result(cell, "cycling", "cycling_summary")
            if summ is None:
                try:
                    summ = cyc.summary(data)
                except (NcmsurfError, ValueError) as exc:
                    notes.append(f"{cell.label}: no cycle summary ({exc}); not shown")
                    continue
            cells.append(_Cell(cell, data, summ, source.result(cell, "cycling", "cycling_fade")))
        return cells, notes
    objs = list(source.items()) if isinstance(source, Mapping) else [(None, x) for x in
                                                                      (source if isinstance(source, (list, tuple))
                                                                       else [source])]
    for k, (key, data) in enumerate(objs):
        if not isinstance(data, CyclingData):
            raise ValidationError(f"item {k} is not a CyclingData")
        s = Sample.parse(str(key)) if key is not None else (data.sample or Sample("P", cycles=k))
        try:
            cells.append(_Cell(s, data, cyc.summary(data), None))
        except (NcmsurfError, ValueError) as exc:
            notes.append(f"{s.label}: no cycle summary ({exc}); not shown")
    if samples is not None:
        chosen = {base_label(x) for x in select_samples([c.sample for c in cells], samples, None)}
        cells = [c for c in cells if base_label(c.sample) in chosen]
    return cells, notes


def _nominal(rates: np.ndarray) -> np.ndarray:
    from ncmsurf.cycling import nominal_c_rate

    return np.array([nominal_c_rate(float(r)) if np.isfinite(r) and r > 0 else np.nan for r in rates])


def _long_run(rates: np.ndarray) -> tuple[int, int]:
    """Start and stop index of the longest run of one nominal C-rate (the long-term cycling)."""
    r = _nominal(rates)
    best, start = (0, 0), 0
    for i in range(1, r.size + 1):
        if i == r.size or not (r[i] == r[start]):
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = i
    return best


def _capacity(summ: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    q = np.asarray(summ["discharge_capacity"].values, dtype=float)
    cyc = np.asarray(summ["cycle"].values, dtype=int) if "cycle" in summ.coords else np.arange(1, q.size + 1)
    rates = np.asarray(summ["c_rate"].values, dtype=float) if "c_rate" in summ else np.full(q.size, np.nan)
    unit = str(summ["discharge_capacity"].attrs.get("units", summ.attrs.get("capacity_units", "mAh")))
    return cyc, q, rates, unit


def _rate_panel(ax: Any, cells: list[_Cell], all_samples: list[Sample]) -> str:
    unit = ""
    labelled = False
    for cell in cells:
        cyc, q, rates, unit = _capacity(cell.summary)
        i0, _ = _long_run(rates)
        stop = i0 + 3 if i0 > 0 else min(q.size, 25)  # the ladder and the first cycles of the long run
        col = sample_color(cell.sample, all_samples)
        ax.plot(cyc[:stop], q[:stop], "o-", ms=2.5, lw=0.8, color=col, label=base_label(cell.sample))
        if not labelled and np.isfinite(rates[:stop]).any():
            nominal = _nominal(rates[:stop])
            groups: list[tuple[int, int]] = []
            start = 0
            for k in range(1, stop + 1):
                if k == stop or nominal[k] != nominal[start]:
                    groups.append((start, k))
                    start = k
            from matplotlib.transforms import blended_transform_factory

            tr = blended_transform_factory(ax.transData, ax.transAxes)
            for a, b in groups:
                ax.text(0.5 * (cyc[a] + cyc[b - 1]), 0.97, rate_label(float(np.nanmedian(rates[a:b]))),
                        transform=tr, ha="center", va="top", fontsize="x-small", color="0.25")
                if a > 0:
                    ax.axvline(cyc[a] - 0.5, color="0.85", lw=0.5, zorder=0)
            labelled = True
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.22 * (hi - lo))  # room for the C-rate labels above the data
    ax.set_xlabel("Cycle")
    integer_ticks(ax.xaxis)
    ax.set_ylabel(axis_label("Discharge capacity", unit))
    ax.set_title("Rate capability")
    ax.legend(loc="lower left", fontsize="x-small", handlelength=1.2)
    return unit


def _cycling_panel(ax: Any, cells: list[_Cell], all_samples: list[Sample], fig: Any) -> None:
    unit = ""
    fit_labelled = False
    for cell in cells:
        cyc, q, rates, unit = _capacity(cell.summary)
        col = sample_color(cell.sample, all_samples)
        i0, i1 = _long_run(rates)
        ax.plot(cyc[i0:i1], q[i0:i1], "o", ms=1.4, color=col, label=base_label(cell.sample))
        fade = cell.fade
        if fade is not None and hasattr(fade, "predict") and i1 - i0 >= 2:
            v = verdict(fade)
            k = np.arange(1, i1 - i0 + 1)
            pred = np.asarray(fade.predict(k), dtype=float)
            if pred.shape == k.shape and np.isfinite(pred).all():
                # the study fits the run from its first cycle on: put the curve on the run's cycles
                kw = {"lw": 1.0, "color": "0.15", "zorder": 5} | ({} if v.good else v.line_kw())
                ax.plot(cyc[i0:i1], pred, label="fitted fade" if not fit_labelled else None, **kw)
                fit_labelled = True
            if not v.good:
                note(fig, f"{cell.sample.label} fade fit {v.text(200)}")
        if i1 - i0 >= 1:
            rate = rate_label(float(np.nanmedian(rates[i0:i1]))) if np.isfinite(rates[i0:i1]).any() else ""
            ax.set_title(f"Cycling at {rate}" if rate else "Cycling")
    ax.set_xlabel("Cycle")
    integer_ticks(ax.xaxis)
    ax.set_ylabel(axis_label("Discharge capacity", unit))
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] == "fitted fade")  # the fit's entry last
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="lower left", fontsize="x-small",
              handlelength=1.2)


def rate_eis_cycling(source: Any, samples: Any = None, *, states: Any = None,
                     style: StyleArg = "paper") -> Any:
    """Rate capability, impedance and long-term cycling of chosen samples (the S5/S6 figure).

    Parameters
    ----------
    source : Study
        A study with cycling records and impedance spectra (a cycled-state
        label stands for its fresh cell's record).
    samples : list of str, optional
        E.g. ``["A(1)-NCM", "F(1)-NCM"]`` (default: every sample with a cycling record).
    states : optional
        Cycle states of the impedance panel (default: all; fresh spectra
        filled, cycled open with dashed fits).
    style : str or dict, optional
        See :func:`ncmsurf.figures.xps_panels`.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels: (a) discharge capacity through the C-rate steps,
        labelled "0.1C" … "5C" above the data; (b) Nyquist plots with fits;
        (c) discharge capacity over the long-term run with the fitted fade
        (records given without a study: the two cycling panels only).
        A sample without a cycling record or spectrum is left out of that
        panel with a note.

    Examples
    --------
    >>> import ncmsurf as ns
    >>> from ncmsurf.datasets.cycling import synthetic_record
    >>> st = ns.Study().add(synthetic_record(n_cycles=30, seed=1), "A(1)-NCM")
    >>> fig = ns.figures.rate_eis_cycling(st)
    >>> [ax.get_title() for ax in fig.axes][0]
    'Rate capability'
    """
    with style_context(style) as _size:
        cells, notes = _cells(source, samples)
        eis_items = collect_eis(source, samples, states, True) if is_study(source) else []
        if not cells and not eis_items:
            raise ValidationError("rate_eis_cycling: no cycling records or impedance spectra for the chosen samples")
        with_eis = bool(eis_items) or is_study(source)  # models without spectra: the two cycling panels only
        ncols = 3 if with_eis else 2
        fig, axes = new_figure(1, ncols, _size, width=ncols * _size[0] * 1.05, height=_size[1] * 1.25)
        for n in notes:
            note(fig, n)
        all_samples = [c.sample for c in cells] + [Sample(it.sample.method, it.sample.n, it.sample.cathode, 0)
                                                   for it in eis_items]
        a, b, c = (axes[0, 0], axes[0, 1], axes[0, 2]) if with_eis else (axes[0, 0], None, axes[0, 1])
        if cells:
            _rate_panel(a, cells, all_samples)
            _cycling_panel(c, cells, all_samples, fig)
        else:
            for ax in (a, c):
                ax.text(0.5, 0.5, "no cycling record", transform=ax.transAxes, ha="center", va="center")
                ax.set_xticks([])
                ax.set_yticks([])
        if b is not None and eis_items:
            states_present = sorted({it.sample.cycles for it in eis_items})
            for st_ in states_present:
                draw_nyquist(b, [it for it in eis_items if it.sample.cycles == st_],
                             [Sample(x.method, x.n, x.cathode, 0) for x in all_samples], fig,
                             legend=False, ls="-" if st_ == 0 else "--")
            from matplotlib.lines import Line2D

            handles = [Line2D([], [], marker="o", ls="-", color="0.3", ms=2.5, label="fresh")]
            if any(c_ > 0 for c_ in states_present):
                handles.append(Line2D([], [], marker="o", mfc="none", ls="--", color="0.3", ms=2.5,
                                      label=f"after {max(states_present)} cycles"))
            b.legend(handles=handles, loc="upper left", fontsize="x-small", handlelength=1.6)
            unit = eis_items[0].unit
            b.set_xlabel(axis_label("Z′", unit))
            b.set_ylabel(axis_label("−Z″", unit))
            b.set_title("Impedance")
            from ncmsurf.figures._eis import _limits

            # free scales here: an equal-aspect box would leave most of this panel empty
            x0, x1, y0, y1 = _limits(eis_items)
            b.set_xlim(min(0.0, x0), x1 + 0.04 * (x1 - x0))
            b.set_ylim(min(0.0, y0), y1 * 1.3)  # room for the legend above the arcs
        elif b is not None:
            b.text(0.5, 0.5, "no impedance spectrum", transform=b.transAxes, ha="center", va="center")
            b.set_xticks([])
            b.set_yticks([])
        for ax, letter in zip([x for x in (a, b, c) if x is not None], "abc"):
            ax.text(-0.02, 1.02, f"({letter})", transform=ax.transAxes, ha="right", va="bottom", fontweight="bold")
        return finish(fig)


def dqdv(source: Any, samples: Any = None, *, cycle: int | None = None, direction: str = "charge",
         style: StyleArg = "paper") -> Any:
    """Differential capacity dQ/dV of one cycle for each chosen cell.

    Parameters
    ----------
    source : Study or CyclingData or list
        A study, a record, a list of records or ``{label: record}``.
    samples : list of str, optional
        Which cells (default: all).
    cycle : int, optional
        Cycle number (default: each record's first complete cycle, i.e. the
        first with both a charge and a discharge).
    direction : {"charge", "discharge"}
    style : str or dict, optional
        See :func:`ncmsurf.figures.xps_panels`.

    Returns
    -------
    matplotlib.figure.Figure
        A cell whose record has no such half-cycle is left out with a note;
        the others are drawn.

    Examples
    --------
    >>> import ncmsurf as ns
    >>> from ncmsurf.datasets.cycling import synthetic_record
    >>> fig = ns.figures.dqdv(synthetic_record(n_cycles=3, seed=1))
    >>> fig.axes[0].get_ylabel()
    'dQ/dV (mAh g⁻¹ V⁻¹)'
    """
    with style_context(style) as _size:
        import ncmsurf.cycling as cyc

        cells, notes = _cells(source, samples)
        fig, axes = new_figure(1, 1, _size, width=_size[0] * 1.5, height=_size[1] * 1.2)
        ax = axes[0, 0]
        for n in notes:
            note(fig, n)
        all_samples = [c.sample for c in cells]
        unit = ""
        drawn = 0
        for cell in cells:
            summ = cell.summary
            k = cycle
            if k is None:
                ok = np.asarray(summ["complete"].values, dtype=bool) if "complete" in summ else None
                cyc_no = np.asarray(summ["cycle"].values, dtype=int)
                k = int(cyc_no[ok][0]) if ok is not None and ok.any() else int(cyc_no[0])
            try:
                assert cell.data is not None
                da = cyc.dqdv(cell.data, cycle=k, direction=direction)
            except (NcmsurfError, ValueError) as exc:
                why = " ".join(str(exc).split())[:120]
                note(fig, f"{cell.sample.label}: no dQ/dV of cycle {k} ({direction}): {why}")
                continue
            v = np.asarray(da[da.dims[0]].values, dtype=float)
            ax.plot(v, np.asarray(da.values, dtype=float), lw=0.9, color=sample_color(cell.sample, all_samples),
                    label=base_label(cell.sample))
            unit = str(da.attrs.get("units", ""))
            drawn += 1
        if drawn == 0:
            raise ValidationError("dqdv: no cell has that half-cycle: " + "; ".join(figure_notes_of(fig)))
        ax.set_xlabel("Voltage (V)")
        ax.set_ylabel(axis_label("dQ/dV", unit))
        ax.set_title(f"dQ/dV, {direction} of cycle {cycle}" if cycle is not None else f"dQ/dV, first {direction}")
        ax.legend(fontsize="x-small", ncols=2 if drawn > 4 else 1, handlelength=1.2)
        return finish(fig)


def figure_notes_of(fig: Any) -> list[str]:
    from ncmsurf.figures._base import figure_notes

    return figure_notes(fig)
