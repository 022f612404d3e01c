"""Typed, immutable measurement models over xarray.

Each model validates on construction (raising :class:`ValidationError` that
names the field and the first bad index), keeps units in ``attrs["units"]``
of its xarray object, and never changes after construction: methods return
new objects.

Examples
--------
>>> import numpy as np
>>> from ncmsurf.core.models import XPSSpectrum
>>> spec = XPSSpectrum(np.linspace(870, 850, 5), [10, 12, 30, 12, 10], region="Ni 2p")
>>> spec.region, float(spec.binding_energy[0]), spec.data.attrs["units"]
('Ni 2p', 870.0, 'counts')
>>> round(float(spec.kinetic_energy[0]), 2)
616.6
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
import xarray as xr

from ncmsurf.core._validate import (
    as_1d,
    check_finite,
    check_same_length,
    deep_equal,
    first_index,
    frozen_view,
    meta_copy,
    optional_positive,
)
from ncmsurf.core.errors import ValidationError
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import magnitude

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "AL_KALPHA",
    "CyclingData",
    "DepthProfile",
    "ElementMap",
    "ImpedanceSpectrum",
    "Measurement",
    "XPSSpectrum",
]

AL_KALPHA = 1486.6
"""Default excitation energy (Al Kα), eV."""

M = TypeVar("M", bound="Measurement")


def _sample_or_none(sample: Sample | str | None) -> Sample | None:
    if sample is None or isinstance(sample, Sample):
        return sample
    if isinstance(sample, str):
        return Sample.parse(sample)
    raise ValidationError(f"sample: expected a Sample or a label string, got {type(sample).__name__}")


def _strictly_monotonic(arr: np.ndarray, field: str) -> None:
    if arr.size < 2:
        return
    d = np.diff(arr)
    if np.any(d == 0):
        i = first_index(d == 0) + 1
        raise ValidationError(f"{field}: duplicate value {arr[i]} at index {i}")
    sign = np.sign(d[0])
    bad = np.sign(d) != sign
    if bad.any():
        i = first_index(bad) + 1
        raise ValidationError(f"{field}: not monotonic at index {i} (value {arr[i]} after {arr[i - 1]})")


def _non_decreasing(arr: np.ndarray, field: str) -> None:
    if arr.size < 2:
        return
    d = np.diff(arr)
    if np.any(d < 0):
        i = first_index(d < 0) + 1
        raise ValidationError(f"{field}: decreases at index {i} ({arr[i]} after {arr[i - 1]}); data must be sorted")


class Measurement:
    """Common base of the models: ``.data``, ``.sample``, ``.meta``, immutability.

    Subclasses implement ``_from_parts``-style constructors; instances are
    compared exactly (values, dtype, units, sample, metadata).
    """

    kind: ClassVar[str] = "measurement"
    __slots__ = ("_data", "_meta", "_sample")

    _data: Any
    _sample: Sample | None
    _meta: dict[str, Any]

    def _set(self, data: Any, sample: Sample | str | None, meta: Mapping[str, Any] | None) -> None:
        _freeze(data)
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_sample", _sample_or_none(sample))
        object.__setattr__(self, "_meta", meta_copy(meta))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable; use .replace(...) to get a changed copy")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @property
    def data(self) -> Any:
        """The xarray object behind the model: a copy whose arrays are read-only views of the model's.

        Changing its attributes or variables does not change the model.
        """
        return _public_copy(self._data)

    @property
    def sample(self) -> Sample | None:
        """The sample this measurement belongs to, if known."""
        return self._sample

    @property
    def meta(self) -> dict[str, Any]:
        """A copy of the metadata (instrument settings, provenance, ...)."""
        return meta_copy(self._meta)

    def to_dataframe(self) -> pd.DataFrame:
        """Return the data as a :class:`pandas.DataFrame`."""
        data = self._data
        if isinstance(data, xr.DataArray):
            out: pd.DataFrame = data.to_dataframe(name=str(data.name or "value"))
        else:
            out = data.to_dataframe()
        return out

    # --- storage -------------------------------------------------------
    def to_dataset(self) -> xr.Dataset:
        """Dataset with the model's variables, ``sample`` and ``meta`` in attrs (used by ``ns.save``)."""
        data = self._data
        ds = data.to_dataset() if isinstance(data, xr.DataArray) else data.copy()
        ds.attrs = dict(data.attrs)
        ds.attrs["ncmsurf_sample"] = "" if self._sample is None else self._sample.label
        ds.attrs["ncmsurf_meta"] = meta_copy(self._meta)
        return ds

    @classmethod
    def _split_storage(cls, ds: xr.Dataset) -> tuple[Sample | None, dict[str, Any], dict[str, Any]]:
        attrs = dict(ds.attrs)
        label = attrs.pop("ncmsurf_sample", "")
        meta = attrs.pop("ncmsurf_meta", {})
        sample = Sample.parse(label) if label else None
        return sample, meta, attrs

    # --- copies ---------------------------------------------------------
    def with_sample(self: M, sample: Sample | str | None) -> M:
        """Return a copy attached to ``sample``."""
        new = object.__new__(type(self))
        new._set(self._data, sample, self._meta)
        return new

    def with_meta(self: M, **updates: Any) -> M:
        """Return a copy whose metadata is updated with ``updates``."""
        new = object.__new__(type(self))
        meta = meta_copy(self._meta)
        meta.update(updates)
        new._set(self._data, self._sample, meta)
        return new

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Measurement)
        return (
            self._sample == other._sample
            and deep_equal(self._meta, other._meta)
            and _xr_identical(self._data, other._data)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        s = "" if self._sample is None else f", sample={self._sample.label!r}"
        return f"<{type(self).__name__} {self._describe()}{s}>"

    def _describe(self) -> str:
        return ""

    def plot(self, ax: Axes | None = None, **kw: Any) -> Axes:
        """Plot the measurement (requires the ``plot`` extra)."""
        from ncmsurf.core import _plot

        out: Axes = _plot.plot_model(self, ax, **kw)
        return out


def _variables(obj: xr.DataArray | xr.Dataset) -> list[xr.Variable]:
    if isinstance(obj, xr.DataArray):
        return [obj.variable, *obj.coords.variables.values()]
    return list(obj.variables.values())


def _freeze(obj: xr.DataArray | xr.Dataset) -> None:
    """Make every NumPy array behind ``obj`` read-only (xarray may have copied the frozen inputs)."""
    for var in _variables(obj):
        values = var.values
        if isinstance(values, np.ndarray) and values.flags.writeable:
            values.flags.writeable = False


def _public_copy(obj: Any) -> Any:
    """A shallow copy with private attribute dicts: the read-only arrays are shared, nothing else."""
    out = obj.copy(deep=False)
    out.attrs = copy.deepcopy(obj.attrs)
    if isinstance(out, xr.DataArray):
        for name in out.coords:
            out.coords[name].attrs = copy.deepcopy(obj.coords[name].attrs)
    else:
        for name in out.variables:
            out[name].attrs = copy.deepcopy(obj[name].attrs)
    return out


def _xr_identical(a: xr.DataArray | xr.Dataset, b: xr.DataArray | xr.Dataset) -> bool:
    if type(a) is not type(b):
        return False
    if not deep_equal(dict(a.attrs), dict(b.attrs)):
        return False
    avars = dict(a.coords) | (dict(a.data_vars) if isinstance(a, xr.Dataset) else {"__self__": a})
    bvars = dict(b.coords) | (dict(b.data_vars) if isinstance(b, xr.Dataset) else {"__self__": b})
    if list(avars) != list(bvars) and set(avars) != set(bvars):
        return False
    for k, va in avars.items():
        vb = bvars[k]
        if va.dims != vb.dims or va.dtype != vb.dtype or not deep_equal(dict(va.attrs), dict(vb.attrs)):
            return False
        if not np.array_equal(va.values, vb.values, equal_nan=va.dtype.kind in "fc"):
            return False
    return True


class XPSSpectrum(Measurement):
    """One XPS core-level or survey spectrum.

    Parameters
    ----------
    binding_energy : array_like or pint.Quantity
        Binding energies in eV, strictly monotonic (either direction).
    intensity : array_like
        Counts (or counts per second, see ``units``), same length, finite.
    region : str, optional
        Core level, e.g. ``"Ni 2p"``; ``None`` for a survey or unknown.
    sample : Sample or str, optional
    meta : dict, optional
        Instrument metadata (source, pass energy, dwell, scans, ...).
    excitation_energy : float or pint.Quantity
        Photon energy in eV (default Al Kα, 1486.6 eV).
    transmission : array_like, optional
        Analyser transmission at each point (kept from VAMAS files).
    units : str
        Intensity units, ``"counts"`` (default) or ``"counts/s"``.

    Examples
    --------
    >>> import numpy as np
    >>> s = XPSSpectrum([1, 2, 3], [5.0, 6.0, 7.0], region="C 1s", excitation_energy=1253.6)
    >>> s.excitation_energy
    1253.6
    >>> s.cropped(1.5, 3).binding_energy.tolist()
    [2.0, 3.0]
    """

    kind: ClassVar[str] = "xps"
    __slots__ = ()

    def __init__(
        self,
        binding_energy: Any,
        intensity: Any,
        *,
        region: str | None = None,
        sample: Sample | str | None = None,
        meta: Mapping[str, Any] | None = None,
        excitation_energy: Any = AL_KALPHA,
        transmission: Any = None,
        units: str = "counts",
    ) -> None:
        be = as_1d(binding_energy, "binding_energy", "eV")
        check_finite(be, "binding_energy")
        y = as_1d(intensity, "intensity")
        check_same_length(be, "binding_energy", y, "intensity")
        check_finite(y, "intensity")
        _strictly_monotonic(be, "binding_energy")
        hv = magnitude(excitation_energy, "eV", name="excitation_energy")
        if not np.isfinite(hv) or hv <= 0:
            raise ValidationError(f"excitation_energy: must be finite and > 0 eV, got {hv}")
        if region is not None and not isinstance(region, str):
            raise ValidationError(f"region: expected a string, got {type(region).__name__}")
        coords: dict[str, Any] = {
            "binding_energy": ("energy", frozen_view(be), {"units": "eV", "long_name": "binding energy"})
        }
        if transmission is not None:
            t = as_1d(transmission, "transmission")
            check_same_length(be, "binding_energy", t, "transmission")
            check_finite(t, "transmission")
            coords["transmission"] = ("energy", frozen_view(t), {"units": "1", "long_name": "transmission"})
        attrs: dict[str, Any] = {"units": str(units), "excitation_energy": hv}
        if region is not None:
            attrs["region"] = region
        da = xr.DataArray(frozen_view(y), dims=("energy",), coords=coords, name="intensity", attrs=attrs)
        self._set(da, sample, meta)

    @classmethod
    def from_kinetic(cls, kinetic_energy: Any, intensity: Any, *, excitation_energy: Any = AL_KALPHA,
                     **kw: Any) -> XPSSpectrum:
        """Build a spectrum from kinetic energies (BE = hν − KE).

        Examples
        --------
        >>> XPSSpectrum.from_kinetic([616.6, 617.6], [1, 2]).binding_energy.tolist()
        [870.0, 869.0]
        """
        hv = magnitude(excitation_energy, "eV", name="excitation_energy")
        ke = as_1d(kinetic_energy, "kinetic_energy", "eV")
        return cls(hv - ke, intensity, excitation_energy=hv, **kw)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> XPSSpectrum:
        """Rebuild from :meth:`to_dataset` output."""
        sample, meta, attrs = cls._split_storage(ds)
        da = ds["intensity"]
        t = ds["transmission"].values if "transmission" in ds.coords else None
        return cls(ds["binding_energy"].values, da.values, region=attrs.get("region"), sample=sample, meta=meta,
                   excitation_energy=attrs["excitation_energy"], transmission=t, units=attrs.get("units", "counts"))

    @property
    def binding_energy(self) -> np.ndarray:
        """Binding energy, eV."""
        return np.asarray(self._data["binding_energy"].values)

    @property
    def intensity(self) -> np.ndarray:
        """Intensity in ``data.attrs['units']``."""
        return np.asarray(self._data.values)

    @property
    def region(self) -> str | None:
        """Core-level name (``"Ni 2p"``) or ``None``."""
        region = self._data.attrs.get("region")
        return None if region is None else str(region)

    @property
    def excitation_energy(self) -> float:
        """Photon energy, eV."""
        return float(self._data.attrs["excitation_energy"])

    @property
    def kinetic_energy(self) -> np.ndarray:
        """Kinetic energy hν − BE, eV."""
        return np.asarray(self.excitation_energy - self.binding_energy)

    @property
    def transmission(self) -> np.ndarray | None:
        """Transmission function at each point, or ``None``."""
        if "transmission" in self._data.coords:
            return np.asarray(self._data["transmission"].values)
        return None

    @property
    def units(self) -> str:
        """Intensity units."""
        return str(self._data.attrs["units"])

    def replace(self, **changes: Any) -> XPSSpectrum:
        """Return a copy with constructor arguments replaced.

        Examples
        --------
        >>> XPSSpectrum([1, 2], [3, 4]).replace(region="O 1s").region
        'O 1s'
        """
        args: dict[str, Any] = {
            "binding_energy": self.binding_energy,
            "intensity": self.intensity,
            "region": self.region,
            "sample": self._sample,
            "meta": self._meta,
            "excitation_energy": self.excitation_energy,
            "transmission": self.transmission,
            "units": self.units,
        }
        unknown = set(changes) - set(args)
        if unknown:
            raise ValidationError(f"replace: unknown field(s) {sorted(unknown)}")
        args.update(changes)
        be = args.pop("binding_energy")
        y = args.pop("intensity")
        return XPSSpectrum(be, y, **args)

    def shifted(self, delta: float) -> XPSSpectrum:
        """Return the spectrum with binding energies shifted by ``delta`` eV."""
        d = magnitude(delta, "eV", name="delta")
        return self.replace(binding_energy=self.binding_energy + d)

    def cropped(self, lo: float, hi: float) -> XPSSpectrum:
        """Return the points with ``lo <= BE <= hi``.

        Raises
        ------
        ValidationError
            If fewer than two points fall in the window.
        """
        lo_, hi_ = sorted((magnitude(lo, "eV"), magnitude(hi, "eV")))
        keep = (self.binding_energy >= lo_) & (self.binding_energy <= hi_)
        if keep.sum() < 2:
            raise ValidationError(f"energy_range: fewer than 2 points between {lo_} and {hi_} eV")
        t = self.transmission
        return self.replace(binding_energy=self.binding_energy[keep], intensity=self.intensity[keep],
                            transmission=None if t is None else t[keep])

    def _describe(self) -> str:
        be = self.binding_energy
        return f"{self.region or 'spectrum'}: {be.size} pts, BE {be.min():g}-{be.max():g} eV"


class ImpedanceSpectrum(Measurement):
    """Complex impedance over frequency.

    Parameters
    ----------
    frequency : array_like or pint.Quantity
        Frequencies in Hz; finite, > 0, no duplicates (any order).
    impedance : array_like
        Complex impedance Z′ + jZ″ in ohm (Z″ < 0 is capacitive).
    sample : Sample or str, optional
    area : float or pint.Quantity, optional
        Electrode area in cm²; enables :meth:`area_normalized`.
    meta : dict, optional
    units : str
        ``"ohm"`` (default) or ``"ohm * cm ** 2"`` for area-specific data.

    Examples
    --------
    >>> z = ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j], area=2.0)
    >>> z.area_normalized().impedance.tolist()
    [(20-2j), (40-10j)]
    """

    kind: ClassVar[str] = "eis"
    __slots__ = ()

    def __init__(
        self,
        frequency: Any,
        impedance: Any,
        *,
        sample: Sample | str | None = None,
        area: Any = None,
        meta: Mapping[str, Any] | None = None,
        units: str = "ohm",
    ) -> None:
        f = as_1d(frequency, "frequency", "Hz")
        check_finite(f, "frequency")
        if np.any(f <= 0):
            i = first_index(f <= 0)
            raise ValidationError(f"frequency: must be > 0 Hz, got {f[i]} at index {i}")
        z = as_1d(impedance, "impedance", dtype=np.complex128)
        check_same_length(f, "frequency", z, "impedance")
        check_finite(z, "impedance")
        order = np.argsort(f, kind="stable")
        sf = f[order]
        dup = np.diff(sf) == 0
        if dup.any():
            j = first_index(dup) + 1
            i = int(max(order[j], order[j - 1]))
            raise ValidationError(f"frequency: duplicate frequency {f[i]} Hz at index {i}")
        a = optional_positive(area, "cm**2", "area")
        attrs: dict[str, Any] = {"units": str(units)}
        if a is not None:
            attrs["area"] = a
            attrs["area_units"] = "cm**2"
        da = xr.DataArray(
            frozen_view(z), dims=("frequency",),
            coords={"frequency": ("frequency", frozen_view(f), {"units": "Hz"})},
            name="impedance", attrs=attrs,
        )
        self._set(da, sample, meta)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> ImpedanceSpectrum:
        """Rebuild from :meth:`to_dataset` output."""
        sample, meta, attrs = cls._split_storage(ds)
        return cls(ds["frequency"].values, ds["impedance"].values, sample=sample, area=attrs.get("area"),
                   meta=meta, units=attrs.get("units", "ohm"))

    @property
    def frequency(self) -> np.ndarray:
        """Frequency, Hz."""
        return np.asarray(self._data["frequency"].values)

    @property
    def impedance(self) -> np.ndarray:
        """Complex impedance in ``units``."""
        return np.asarray(self._data.values)

    @property
    def omega(self) -> np.ndarray:
        """Angular frequency 2πf, rad/s."""
        return np.asarray(2 * np.pi * self.frequency)

    @property
    def area(self) -> float | None:
        """Electrode area, cm², or ``None``."""
        a = self._data.attrs.get("area")
        return None if a is None else float(a)

    @property
    def units(self) -> str:
        """Impedance units."""
        return str(self._data.attrs["units"])

    def replace(self, **changes: Any) -> ImpedanceSpectrum:
        """Return a copy with constructor arguments replaced."""
        args: dict[str, Any] = {"frequency": self.frequency, "impedance": self.impedance, "sample": self._sample,
                                "area": self.area, "meta": self._meta, "units": self.units}
        unknown = set(changes) - set(args)
        if unknown:
            raise ValidationError(f"replace: unknown field(s) {sorted(unknown)}")
        args.update(changes)
        return ImpedanceSpectrum(args.pop("frequency"), args.pop("impedance"), **args)

    def area_normalized(self) -> ImpedanceSpectrum:
        """Impedance multiplied by the electrode area, in ohm·cm².

        Raises
        ------
        ValidationError
            If no area is known or the spectrum is already area-specific.
        """
        if self.area is None:
            raise ValidationError("area: not set; give area= (cm²) to normalise to ohm·cm²")
        if self.units != "ohm":
            raise ValidationError(f"impedance is already in {self.units}")
        return self.replace(impedance=self.impedance * self.area, units="ohm * cm ** 2")

    def _describe(self) -> str:
        f = self.frequency
        return f"{f.size} pts, {f.min():g}-{f.max():g} Hz"


class CyclingData(Measurement):
    """One cell's galvanostatic record.

    Conventions: current in A, positive = charge of the cathode (oxidation,
    delithiation of the working electrode); time in s, non-decreasing.

    Parameters
    ----------
    time, voltage, current : array_like
        Same length, finite.
    cycle, step : array_like of int, optional
        Instrument cycle and step numbers, kept when present.
    mass : float or pint.Quantity, optional
        Active mass in g (> 0).
    sample : Sample or str, optional
    meta : dict, optional
    columns : mapping, optional
        Further per-record columns (e.g. ``"temperature"``), name → array.
    column_units : mapping, optional
        Units of ``columns``.

    Examples
    --------
    >>> d = CyclingData([0, 1, 2], [3.0, 3.5, 4.0], [0.001, 0.001, 0.001], mass=0.01)
    >>> d.mass, float(d.voltage[-1])
    (0.01, 4.0)
    """

    kind: ClassVar[str] = "cycling"
    __slots__ = ()

    def __init__(
        self,
        time: Any,
        voltage: Any,
        current: Any,
        *,
        cycle: Any = None,
        step: Any = None,
        mass: Any = None,
        sample: Sample | str | None = None,
        meta: Mapping[str, Any] | None = None,
        columns: Mapping[str, Any] | None = None,
        column_units: Mapping[str, str] | None = None,
    ) -> None:
        t = as_1d(time, "time", "s")
        check_finite(t, "time")
        _non_decreasing(t, "time")
        v = as_1d(voltage, "voltage", "V")
        check_same_length(t, "time", v, "voltage")
        check_finite(v, "voltage")
        c = as_1d(current, "current", "A")
        check_same_length(t, "time", c, "current")
        check_finite(c, "current")
        m = optional_positive(mass, "g", "mass")
        variables: dict[str, Any] = {
            "voltage": ("record", frozen_view(v), {"units": "V"}),
            "current": ("record", frozen_view(c), {"units": "A"}),
        }
        for name, arr in (("cycle", cycle), ("step", step)):
            if arr is not None:
                a = as_1d(arr, name, dtype=np.int64)
                check_same_length(t, "time", a, name)
                variables[name] = ("record", frozen_view(a), {"units": "1"})
        units = dict(column_units or {})
        for name, arr in (columns or {}).items():
            if name in variables or name == "time":
                raise ValidationError(f"columns: {name!r} clashes with a standard column")
            a = np.asarray(arr)
            if a.dtype.kind not in "biuf":
                raise ValidationError(f"columns[{name!r}]: expected numbers, got dtype {a.dtype}")
            a = as_1d(a, f"columns[{name!r}]", dtype=a.dtype)
            check_same_length(t, "time", a, f"columns[{name!r}]")
            variables[name] = ("record", frozen_view(a), {"units": units.get(name, "1")})
        attrs: dict[str, Any] = {}
        if m is not None:
            attrs["mass"] = m
            attrs["mass_units"] = "g"
        ds = xr.Dataset(variables, coords={"time": ("record", frozen_view(t), {"units": "s"})}, attrs=attrs)
        self._set(ds, sample, meta)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> CyclingData:
        """Rebuild from :meth:`to_dataset` output."""
        sample, meta, attrs = cls._split_storage(ds)
        std = {"voltage", "current", "cycle", "step"}
        cols = {str(k): ds[k].values for k in ds.data_vars if k not in std}
        units = {k: str(ds[k].attrs.get("units", "1")) for k in cols}
        return cls(
            ds["time"].values, ds["voltage"].values, ds["current"].values,
            cycle=ds["cycle"].values if "cycle" in ds else None,
            step=ds["step"].values if "step" in ds else None,
            mass=attrs.get("mass"), sample=sample, meta=meta, columns=cols, column_units=units,
        )

    @property
    def time(self) -> np.ndarray:
        """Test time, s."""
        return np.asarray(self._data["time"].values)

    @property
    def voltage(self) -> np.ndarray:
        """Cell voltage, V."""
        return np.asarray(self._data["voltage"].values)

    @property
    def current(self) -> np.ndarray:
        """Current, A (positive = charge)."""
        return np.asarray(self._data["current"].values)

    @property
    def cycle(self) -> np.ndarray | None:
        """Instrument cycle numbers, or ``None``."""
        return self._data["cycle"].values if "cycle" in self._data else None

    @property
    def step(self) -> np.ndarray | None:
        """Instrument step numbers, or ``None``."""
        return self._data["step"].values if "step" in self._data else None

    @property
    def mass(self) -> float | None:
        """Active mass, g, or ``None``."""
        m = self._data.attrs.get("mass")
        return None if m is None else float(m)

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """Extra per-record columns (name → array)."""
        std = {"voltage", "current", "cycle", "step"}
        return {str(k): v.values for k, v in self._data.data_vars.items() if k not in std}

    def __len__(self) -> int:
        return int(self._data.sizes["record"])

    def replace(self, **changes: Any) -> CyclingData:
        """Return a copy with constructor arguments replaced."""
        cols = self.columns
        args: dict[str, Any] = {
            "time": self.time, "voltage": self.voltage, "current": self.current, "cycle": self.cycle,
            "step": self.step, "mass": self.mass, "sample": self._sample, "meta": self._meta, "columns": cols,
            "column_units": {k: str(self._data[k].attrs.get("units", "1")) for k in cols},
        }
        unknown = set(changes) - set(args)
        if unknown:
            raise ValidationError(f"replace: unknown field(s) {sorted(unknown)}")
        args.update(changes)
        return CyclingData(args.pop("time"), args.pop("voltage"), args.pop("current"), **args)

    def _describe(self) -> str:
        return f"{len(self)} records, {self.time[-1] - self.time[0]:g} s"

    def plot(self, ax: Axes | None = None, **kw: Any) -> Axes:
        """Voltage against time, or another ``kind`` of plot.

        Kinds: ``"voltage"`` (default, V against time), ``"current"`` (mA
        against time), ``"capacity"`` (charge and discharge capacity against
        cycle, in mAh/g when the mass is known), ``"efficiency"`` (coulombic
        efficiency against cycle), ``"dqdv"`` (dQ/dV of ``cycle=``, default
        the first, ``direction=`` ``"charge"`` or ``"discharge"``) and
        ``"profile"``: voltage against capacity per cycle, which takes
        ``cycles=``, ``direction=``, ``convention=`` and ``specific=`` (see
        ``ncmsurf.cycling._plots.plot_profile``).
        """
        if kw.get("kind") == "profile":
            from ncmsurf.cycling._plots import plot_profile  # imported only when called

            kw.pop("kind")
            out: Axes = plot_profile(self, ax, **kw)
            return out
        return super().plot(ax, **kw)


class DepthProfile(Measurement):
    """ToF-SIMS depth profile: intensity of each fragment over sputter time.

    Parameters
    ----------
    sputter_time : array_like
        Sputter time, s; non-decreasing, finite.
    intensities : mapping
        Fragment name (``"NiF3-"``) → counts, each the length of ``sputter_time``.
    sample : Sample or str, optional
    meta : dict, optional
    sputter_rate : float or pint.Quantity, optional
        nm/s; enables :attr:`depth`.
    units : str
        Intensity units (``"counts"``).
    coords : mapping, optional
        Further per-point coordinates (``"dose"``, ``"fluence"``, ``"total_ions"``...),
        name → finite array of the length of ``sputter_time``.
    coord_units : mapping, optional
        Units of ``coords`` (default ``"1"``).

    Fragment names may hold any character, ``/`` included (``"Sn+ / ( Pb+ )"``).

    Examples
    --------
    >>> p = DepthProfile([0, 1, 2], {"NiF3-": [5, 4, 1], "AlO-": [1, 2, 3]}, sputter_rate=0.1)
    >>> p.fragments, p.depth.tolist()
    (['NiF3-', 'AlO-'], [0.0, 0.1, 0.2])
    >>> DepthProfile([0, 1], {"a": [1, 2]}, coords={"dose": [0.0, 5e6]}, coord_units={"dose": "ions"}).coords["dose"]
    array([      0., 5000000.])
    """

    kind: ClassVar[str] = "sims"
    __slots__ = ()

    def __init__(
        self,
        sputter_time: Any,
        intensities: Mapping[str, Any],
        *,
        sample: Sample | str | None = None,
        meta: Mapping[str, Any] | None = None,
        sputter_rate: Any = None,
        units: str = "counts",
        coords: Mapping[str, Any] | None = None,
        coord_units: Mapping[str, str] | None = None,
    ) -> None:
        t = as_1d(sputter_time, "sputter_time", "s")
        check_finite(t, "sputter_time")
        _non_decreasing(t, "sputter_time")
        if not isinstance(intensities, Mapping) or not intensities:
            raise ValidationError("intensities: expected a non-empty mapping fragment name → counts")
        variables: dict[str, Any] = {}
        for name, arr in intensities.items():
            if not isinstance(name, str) or not name or name == "sputter_time":
                raise ValidationError(f"intensities: fragment names must be non-empty strings, got {name!r}")
            field = f"intensities[{name!r}]"
            a = as_1d(arr, field)
            check_same_length(t, "sputter_time", a, field)
            check_finite(a, field)
            variables[name] = ("time", frozen_view(a), {"units": units})
        rate = optional_positive(sputter_rate, "nm/s", "sputter_rate")
        attrs: dict[str, Any] = {"units": units}
        if rate is not None:
            attrs["sputter_rate"] = rate
            attrs["sputter_rate_units"] = "nm/s"
        all_coords: dict[str, Any] = {"sputter_time": ("time", frozen_view(t), {"units": "s"})}
        cunits = dict(coord_units or {})
        for name, arr in (coords or {}).items():
            if not isinstance(name, str) or not name or name in all_coords or name in variables:
                raise ValidationError(f"coords: {name!r} is empty or clashes with another name")
            c = as_1d(arr, f"coords[{name!r}]")
            check_same_length(t, "sputter_time", c, f"coords[{name!r}]")
            check_finite(c, f"coords[{name!r}]")
            all_coords[name] = ("time", frozen_view(c), {"units": str(cunits.get(name, "1"))})
        ds = xr.Dataset(variables, coords=all_coords, attrs=attrs)
        self._set(ds, sample, meta)

    def to_dataset(self) -> xr.Dataset:
        """Storage form; fragment names with ``/`` (not allowed in NetCDF) are stored escaped."""
        ds = super().to_dataset()
        slashed = {k: str(k).replace("/", "\u2215") for k in ds.data_vars if "/" in str(k)}
        if slashed:
            ds = ds.rename(slashed)
            ds.attrs["ncmsurf_fragment_names"] = [str(k) for k in self._data.data_vars]
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> DepthProfile:
        """Rebuild from :meth:`to_dataset` output."""
        sample, meta, attrs = cls._split_storage(ds)
        names = attrs.get("ncmsurf_fragment_names")
        keys = [str(k) for k in ds.data_vars]
        labels = list(names) if names is not None and len(names) == len(keys) else keys
        coords = {str(k): v.values for k, v in ds.coords.items() if k != "sputter_time"}
        return cls(ds["sputter_time"].values, {lab: ds[k].values for lab, k in zip(labels, keys)},
                   sample=sample, meta=meta, sputter_rate=attrs.get("sputter_rate"),
                   units=attrs.get("units", "counts"), coords=coords,
                   coord_units={k: str(ds[k].attrs.get("units", "1")) for k in coords})

    @property
    def coords(self) -> dict[str, np.ndarray]:
        """Per-point coordinates besides the sputter time (``"dose"``, ``"fluence"``...)."""
        return {str(k): np.asarray(v.values) for k, v in self._data.coords.items() if k != "sputter_time"}

    @property
    def sputter_time(self) -> np.ndarray:
        """Sputter time, s."""
        return np.asarray(self._data["sputter_time"].values)

    @property
    def fragments(self) -> list[str]:
        """Fragment names, in file order."""
        return [str(k) for k in self._data.data_vars]

    @property
    def intensities(self) -> dict[str, np.ndarray]:
        """Fragment name → intensity array."""
        return {str(k): v.values for k, v in self._data.data_vars.items()}

    @property
    def sputter_rate(self) -> float | None:
        """Sputter rate, nm/s, or ``None``."""
        r = self._data.attrs.get("sputter_rate")
        return None if r is None else float(r)

    @property
    def depth(self) -> np.ndarray | None:
        """Depth = time × rate, nm (``None`` without a rate)."""
        r = self.sputter_rate
        return None if r is None else self.sputter_time * r

    def __getitem__(self, fragment: str) -> np.ndarray:
        if fragment not in self._data.data_vars:
            raise KeyError(f"fragment {fragment!r} not in profile; available: {self.fragments}")
        return np.asarray(self._data[fragment].values)

    def __iter__(self) -> Iterator[str]:
        return iter(self.fragments)

    def replace(self, **changes: Any) -> DepthProfile:
        """Return a copy with constructor arguments replaced."""
        args: dict[str, Any] = {"sputter_time": self.sputter_time, "intensities": self.intensities,
                                "sample": self._sample, "meta": self._meta, "sputter_rate": self.sputter_rate,
                                "units": str(self._data.attrs["units"]), "coords": self.coords,
                                "coord_units": {k: str(self._data[k].attrs.get("units", "1")) for k in self.coords}}
        unknown = set(changes) - set(args)
        if unknown:
            raise ValidationError(f"replace: unknown field(s) {sorted(unknown)}")
        args.update(changes)
        return DepthProfile(args.pop("sputter_time"), args.pop("intensities"), **args)

    def _describe(self) -> str:
        return f"{len(self.fragments)} fragments, {self.sputter_time.size} pts"


class ElementMap(Measurement):
    """EDS element maps on one pixel grid.

    Parameters
    ----------
    maps : mapping
        Element (``"Al"``, ``"Ni"``) → 2-D counts; all the same shape.
    pixel_size : float or pint.Quantity, optional
        nm per pixel.
    sample : Sample or str, optional
    meta : dict, optional

    Examples
    --------
    >>> import numpy as np
    >>> m = ElementMap({"Al": np.ones((2, 3)), "Ni": np.zeros((2, 3))}, pixel_size=50)
    >>> m.elements, m.shape, m.pixel_size
    (['Al', 'Ni'], (2, 3), 50.0)
    """

    kind: ClassVar[str] = "eds"
    __slots__ = ()

    def __init__(
        self,
        maps: Mapping[str, Any],
        *,
        pixel_size: Any = None,
        sample: Sample | str | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(maps, Mapping) or not maps:
            raise ValidationError("maps: expected a non-empty mapping element → 2-D counts")
        shape: tuple[int, ...] | None = None
        first = ""
        variables: dict[str, Any] = {}
        for name, arr in maps.items():
            if not isinstance(name, str) or not name or "/" in name:
                raise ValidationError(f"maps: element names must be non-empty strings without '/', got {name!r}")
            field = f"maps[{name!r}]"
            a = np.asarray(arr)
            if a.dtype.kind not in "biuf":
                raise ValidationError(f"{field}: expected numbers, got dtype {a.dtype}")
            if a.ndim != 2:
                raise ValidationError(f"{field}: expected a 2-D array, got shape {a.shape}")
            if a.size == 0:
                raise ValidationError(f"{field}: empty map")
            if shape is None:
                shape, first = a.shape, name
            elif a.shape != shape:
                raise ValidationError(f"{field}: shape {a.shape} differs from maps[{first!r}] shape {shape}")
            if a.dtype.kind == "f":
                check_finite(a, field)
            variables[name] = (("y", "x"), frozen_view(a), {"units": "counts"})
        px = optional_positive(pixel_size, "nm", "pixel_size")
        attrs: dict[str, Any] = {"units": "counts"}
        if px is not None:
            attrs["pixel_size"] = px
            attrs["pixel_size_units"] = "nm"
        ds = xr.Dataset(variables, attrs=attrs)
        self._set(ds, sample, meta)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> ElementMap:
        """Rebuild from :meth:`to_dataset` output."""
        sample, meta, attrs = cls._split_storage(ds)
        return cls({str(k): v.values for k, v in ds.data_vars.items()}, pixel_size=attrs.get("pixel_size"),
                   sample=sample, meta=meta)

    @property
    def elements(self) -> list[str]:
        """Element names."""
        return [str(k) for k in self._data.data_vars]

    @property
    def maps(self) -> dict[str, np.ndarray]:
        """Element → 2-D array."""
        return {str(k): v.values for k, v in self._data.data_vars.items()}

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the maps."""
        return (int(self._data.sizes["y"]), int(self._data.sizes["x"]))

    @property
    def pixel_size(self) -> float | None:
        """Pixel size, nm, or ``None``."""
        p = self._data.attrs.get("pixel_size")
        return None if p is None else float(p)

    def __getitem__(self, element: str) -> np.ndarray:
        if element not in self._data.data_vars:
            raise KeyError(f"element {element!r} not in map; available: {self.elements}")
        return np.asarray(self._data[element].values)

    def replace(self, **changes: Any) -> ElementMap:
        """Return a copy with constructor arguments replaced."""
        args: dict[str, Any] = {"maps": self.maps, "pixel_size": self.pixel_size, "sample": self._sample,
                                "meta": self._meta}
        unknown = set(changes) - set(args)
        if unknown:
            raise ValidationError(f"replace: unknown field(s) {sorted(unknown)}")
        args.update(changes)
        return ElementMap(args.pop("maps"), **args)

    def _describe(self) -> str:
        return f"{', '.join(self.elements)} on {self.shape[0]}x{self.shape[1]} px"


MODEL_TYPES: dict[str, type[Measurement]] = {
    "xps": XPSSpectrum,
    "eis": ImpedanceSpectrum,
    "cycling": CyclingData,
    "sims": DepthProfile,
    "eds": ElementMap,
}
"""Model kind → class."""
