"""Default plots of the models (matplotlib imported only when called)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfError

__all__ = ["get_axes", "plot_model"]


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
        ax.plot(model.time / 3600.0, model.voltage, **kw)
        ax.set_xlabel("Time (h)")
        ax.set_ylabel("Voltage (V)")
    elif isinstance(model, DepthProfile):
        x = model.depth if model.depth is not None else model.sputter_time
        for name, y in model.intensities.items():
            ax.semilogy(x, np.clip(y, 1e-3, None), label=name, **kw)
        ax.set_xlabel("Depth (nm)" if model.depth is not None else "Sputter time (s)")
        ax.set_ylabel("Intensity (counts)")
        ax.legend(fontsize="small")
    elif isinstance(model, ElementMap):
        element = kw.pop("element", model.elements[0])
        im = ax.imshow(model[element], **kw)
        ax.figure.colorbar(im, ax=ax, label=f"{element} counts")
        title = " ".join(x for x in (title, element) if x)
    else:  # pragma: no cover - all models covered above
        raise NcmsurfError(f"no default plot for {type(model).__name__}")
    if title:
        ax.set_title(title)
    return ax
