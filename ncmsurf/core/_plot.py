"""Default plots of the models (matplotlib imported only when called)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfError

__all__ = ["CYCLING_KINDS", "ELEMENT_COLORS", "draw_map", "element_color", "get_axes", "length_text", "nice_length",
           "overlay_rgb", "plot_model", "scale_bar"]

#: Element colours of EDS maps (a coating paper's: Ni sky blue, Co green, Mn purple, Al red); others cycle.
ELEMENT_COLORS: dict[str, str] = {"Ni": "#2FA8E0", "Co": "#1FA84A", "Mn": "#8E44AD", "Al": "#E0301E",
                                  "O": "#F0B400", "F": "#E67E22", "C": "#9E9E9E", "P": "#D35400"}
_MORE_COLORS = ["#F0E442", "#CC79A7", "#009E73", "#FFFFFF"]

#: The kinds of ``CyclingData.plot`` drawn here (``"profile"`` is drawn by ``ncmsurf.cycling``).
CYCLING_KINDS = ("voltage", "current", "capacity", "efficiency", "dqdv")


def get_axes(ax: Any = None) -> Any:
    """Return ``ax`` or a new Axes (raises a clear error without matplotlib)."""
    if ax is not None:
        return ax
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
            import os

            if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
                matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise NcmsurfError("plotting needs matplotlib: pip install 'ncmsurf[plot]'") from exc
    _, new = plt.subplots()
    return new


def plot_model(model: Any, ax: Any = None, **kw: Any) -> Any:
    """Plot any core model with sensible axes."""
    from ncmsurf.core.models import CyclingData, DepthProfile, ElementMap, ImpedanceSpectrum, XPSSpectrum

    ax = get_axes(ax)
    title = "" if model.sample is None else model.sample.label
    if isinstance(model, XPSSpectrum):
        ax.plot(model.binding_energy, model.intensity, **kw)
        ax.set_xlabel("Binding energy (eV)")
        ax.set_ylabel(f"Intensity ({model.units})")
        lo, hi = float(model.binding_energy.min()), float(model.binding_energy.max())
        ax.set_xlim(hi, lo)
        title = " ".join(x for x in (title, model.region or "") if x)
    elif isinstance(model, ImpedanceSpectrum):
        z = model.impedance
        if kw.pop("kind", "nyquist") == "bode":
            ax.loglog(model.frequency, np.abs(z), **kw)
            ax.set_xlabel("Frequency (Hz)")
            ax.set_ylabel(f"|Z| ({model.units})")
        else:
            ax.plot(z.real, -z.imag, "o", **kw)
            ax.set_xlabel(f"Z' ({model.units})")
            ax.set_ylabel(f"-Z'' ({model.units})")
            ax.set_aspect("equal", adjustable="datalim")
    elif isinstance(model, CyclingData):
        kind = kw.pop("kind", "voltage")
        if kind not in CYCLING_KINDS:
            raise NcmsurfError(f"kind: one of {[*CYCLING_KINDS, 'profile']}, got {kind!r}")
        _plot_cycling(model, ax, kind, **kw)
    elif isinstance(model, DepthProfile):
        x = model.depth if model.depth is not None else model.sputter_time
        for name, y in model.intensities.items():
            ax.semilogy(x, np.clip(y, 1e-3, None), label=name, **kw)
        ax.set_xlabel("Depth (nm)" if model.depth is not None else "Sputter time (s)")
        ax.set_ylabel("Intensity (counts)")
        ax.legend(fontsize="small")
    elif isinstance(model, ElementMap):
        element = kw.pop("element", None)
        colors = kw.pop("colors", None)
        if element is not None:
            draw_map(ax, model, element, color=element_color(str(element), 0, colors), **kw)
            title = " ".join(x for x in (title, str(element)) if x)
        else:
            elements = list(kw.pop("elements", model.elements))
            ax.imshow(overlay_rgb([np.asarray(model[e], dtype=float) for e in elements],
                                  [element_color(e, k, colors) for k, e in enumerate(elements)]),
                      interpolation="nearest", **kw)
            _map_axes(ax, model, int(np.shape(model[elements[0]])[1]))
            for k, e in enumerate(elements):
                ax.text(0.02 + 0.1 * k, 0.97, e, transform=ax.transAxes, ha="left", va="top", fontweight="bold",
                        color=element_color(e, k, colors), fontsize="small",
                        bbox={"fc": "black", "ec": "none", "alpha": 0.5, "pad": 1.0})
    else:  # pragma: no cover - all models covered above
        raise NcmsurfError(f"no default plot for {type(model).__name__}")
    if title:
        ax.set_title(title)
    return ax


# ------------------------------------------------------------------------ cycling
def _plot_cycling(model: Any, ax: Any, kind: str, **kw: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    from ncmsurf.core.units import format_unit

    if kind == "voltage":
        ax.plot(model.time / 3600.0, model.voltage, **kw)
        ax.set_xlabel("Time (h)")
        ax.set_ylabel("Voltage (V)")
        return
    if kind == "current":
        ax.plot(model.time / 3600.0, model.current * 1000.0, **kw)
        ax.set_xlabel("Time (h)")
        ax.set_ylabel("Current (mA)")
        return
    import ncmsurf.cycling as cyc  # imported on use only: the plot of a core model calls the engine

    if kind == "dqdv":
        cycle = int(kw.pop("cycle", int(np.min(model.cycle)) if model.cycle is not None else 1))
        direction = str(kw.pop("direction", "charge"))
        da = cyc.dqdv(model, cycle=cycle, direction=direction)
        ax.plot(np.asarray(da[da.dims[0]].values), np.asarray(da.values), **kw)
        ax.set_xlabel("Voltage (V)")
        ax.set_ylabel(f"dQ/dV ({format_unit(str(da.attrs.get('units', '')), style='si')})")
        ax.set_title(f"{direction} of cycle {cycle}")
        return
    summ = cyc.summary(model)
    c = np.asarray(summ["cycle"].values)
    if kind == "capacity":
        unit = format_unit(str(summ["discharge_capacity"].attrs.get("units", "")), style="si")
        ax.plot(c, summ["charge_capacity"].values, "o", ms=2.5, label="charge", **kw)
        ax.plot(c, summ["discharge_capacity"].values, "s", ms=2.5, label="discharge", **kw)
        ax.set_ylabel(f"Capacity ({unit})" if unit else "Capacity")
        ax.legend(fontsize="small")
    else:
        unit = format_unit(str(summ["coulombic_efficiency"].attrs.get("units", "")), style="si")
        ax.plot(c, summ["coulombic_efficiency"].values, "o", ms=2.5, **kw)
        ax.set_ylabel(f"Coulombic efficiency ({unit})" if unit else "Coulombic efficiency")
    ax.set_xlabel("Cycle")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


# ---------------------------------------------------------------------- maps
def nice_length(target: float) -> float:
    """The 1-2-5 length nearest below ``target``.

    Examples
    --------
    >>> nice_length(730.0), nice_length(0.9), nice_length(3.2)
    (500.0, 0.5, 2.0)
    """
    if not math.isfinite(target) or target <= 0:
        raise NcmsurfError(f"nice_length: positive length needed, got {target}")
    e = math.floor(math.log10(target))
    for m in (5.0, 2.0, 1.0):
        if m * 10.0 ** e <= target * (1 + 1e-12):
            return m * 10.0 ** e
    return float(10.0 ** e)  # pragma: no cover


def length_text(nm: float) -> str:
    """A length in nm written with its unit: ``500 nm``, ``2 µm``.

    Examples
    --------
    >>> length_text(500.0), length_text(2000.0), length_text(0.5)
    ('500 nm', '2 µm', '0.5 nm')
    """
    if nm >= 1000.0:
        return f"{nm / 1000.0:g} µm"
    return f"{nm:g} nm"


def scale_bar(ax: Any, pixel_size: float, width_px: int, *, color: str = "white", fraction: float = 0.25) -> str | None:
    """Draw a scale bar (1-2-5 length in nm or µm) in the lower right of an image; returns its label."""
    if not math.isfinite(pixel_size) or pixel_size <= 0 or width_px <= 0:
        return None
    from matplotlib.patches import Rectangle

    length = nice_length(fraction * width_px * pixel_size)
    frac = length / pixel_size / width_px
    x1 = 0.95
    x0 = x1 - frac
    ax.add_patch(Rectangle((x0, 0.06), frac, 0.025, transform=ax.transAxes, color=color, lw=0, zorder=20))
    label = length_text(length)
    ax.text(0.5 * (x0 + x1), 0.1, label, transform=ax.transAxes, color=color, ha="center", va="bottom",
            fontsize="x-small", fontweight="bold", zorder=20)
    return label


def element_color(element: str, k: int, colors: Any = None) -> Any:
    """The colour of an element's map: a given one, the paper's, or the k-th spare colour."""
    if colors is not None and element in colors:
        return colors[element]
    return ELEMENT_COLORS.get(element, _MORE_COLORS[k % len(_MORE_COLORS)])


def _stretch(a: np.ndarray) -> np.ndarray:
    """0-1 after a 0.5-99.5 percentile stretch."""
    a = np.asarray(a, dtype=float)
    lo, hi = float(np.percentile(a, 0.5)), float(np.percentile(a, 99.5))
    if not hi > lo:
        hi = lo + 1.0
    out: np.ndarray = np.clip((a - lo) / (hi - lo), 0.0, 1.0)
    return out


def overlay_rgb(maps: list[np.ndarray], colors: list[Any]) -> np.ndarray:
    """Maps blended into RGB: hue the intensity-weighted mean of their colours, brightness the strongest."""
    from matplotlib.colors import to_rgb

    acc = np.zeros((*np.shape(maps[0]), 3))
    weight = np.zeros(np.shape(maps[0]))
    bright = np.zeros(np.shape(maps[0]))
    for m, col in zip(maps, colors):
        w = _stretch(m)
        acc += w[..., None] * np.asarray(to_rgb(col))[None, None, :]
        weight += w
        bright = np.maximum(bright, w)
    rgb = acc / np.where(weight > 0, weight, 1.0)[..., None]
    peak = np.max(rgb, axis=-1, keepdims=True)
    rgb = rgb / np.where(peak > 0, peak, 1.0)
    out: np.ndarray = np.clip(rgb * bright[..., None], 0.0, 1.0)
    return out


def _map_axes(ax: Any, model: Any, width_px: int) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    px = model.pixel_size
    if px is None or not math.isfinite(float(px)):
        ax.set_xlabel("pixels (no pixel size in the file)", fontsize="x-small")
    else:
        scale_bar(ax, float(px), width_px)


def draw_map(ax: Any, model: Any, element: str, *, color: Any = None, label: bool = True, **kw: Any) -> Any:
    """One element's map on black in its colour, with a scale bar; returns the image artist."""
    from matplotlib.colors import LinearSegmentedColormap, to_rgb

    col = color if color is not None else element_color(element, 0)
    cmap = LinearSegmentedColormap.from_list(f"black-{element}", [(0.0, 0.0, 0.0), to_rgb(col)])
    data = np.asarray(model[element], dtype=float)
    im = ax.imshow(data, cmap=cmap, interpolation="nearest", **kw)
    _map_axes(ax, model, int(data.shape[1]))
    if label:
        ax.text(0.04, 0.95, element, transform=ax.transAxes, color=col, ha="left", va="top", fontweight="bold",
                fontsize="small", bbox={"fc": "black", "ec": "none", "alpha": 0.5, "pad": 1.0})
    return im
