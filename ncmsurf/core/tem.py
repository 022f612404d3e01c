"""TEM image model: a calibrated 2-D intensity image.

Examples
--------
>>> import numpy as np
>>> from ncmsurf.core.tem import TEMImage
>>> img = TEMImage(np.zeros((4, 6)), pixel_size=0.05, meta={"voltage_kV": 200})
>>> img.shape, img.pixel_size, img.extent
((4, 6), 0.05, (0.30000000000000004, 0.2))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import xarray as xr

from ncmsurf.core._validate import frozen_view
from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import Measurement
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import magnitude

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["TEMImage", "nice_scale_bar"]


def _pixel_size(value: Any) -> float:
    if value is None:
        return math.nan
    x = magnitude(value, "nm", name="pixel_size")
    if math.isnan(x):
        return x
    if not math.isfinite(x) or x <= 0:
        raise ValidationError(f"pixel_size: must be finite and > 0 nm (or None when unknown), got {x}")
    return float(x)


class TEMImage(Measurement):
    """A TEM (or STEM) image: 2-D intensity on square pixels of known size.

    Parameters
    ----------
    image : array_like
        2-D intensities (rows = y, columns = x), finite numbers.
    pixel_size : float, pint.Quantity or None
        Edge length of one pixel, nm (a Quantity in any length unit is
        converted). ``None`` when the file gives no calibration: the
        pixel size is then NaN and every length measured on the image is NaN.
    sample : Sample or str, optional
    meta : dict, optional
        Acquisition metadata (voltage, magnification, detector, source file...).
    units : str
        Intensity units (``"counts"``).

    Examples
    --------
    >>> import numpy as np
    >>> img = TEMImage(np.arange(6.0).reshape(2, 3), pixel_size=0.1, sample="A(3)-NCM")
    >>> float(img.image[1, 2]), img.sample.label
    (5.0, 'A(3)-NCM')
    >>> img.data.dims
    ('y', 'x')
    """

    kind: ClassVar[str] = "tem"
    __slots__ = ()

    def __init__(
        self,
        image: Any,
        *,
        pixel_size: Any,
        sample: Sample | str | None = None,
        meta: Mapping[str, Any] | None = None,
        units: str = "counts",
    ) -> None:
        a = np.asarray(image)
        if a.dtype.kind not in "biuf":
            raise ValidationError(f"image: expected numbers, got dtype {a.dtype}")
        if a.ndim != 2:
            raise ValidationError(f"image: expected a 2-D array, got shape {a.shape}")
        if a.size == 0 or min(a.shape) < 1:
            raise ValidationError(f"image: empty image of shape {a.shape}")
        if a.dtype.kind == "f":
            bad = ~np.isfinite(a)
            if bad.any():
                i = int(np.flatnonzero(bad.ravel())[0])
                raise ValidationError(f"image: non-finite value at pixel (row {i // a.shape[1]}, "
                                      f"col {i % a.shape[1]})")
        if a.dtype.kind == "b":
            a = a.astype(np.uint8)
        px = _pixel_size(pixel_size)
        attrs: dict[str, Any] = {"units": str(units), "pixel_size": px, "pixel_size_units": "nm"}
        da = xr.DataArray(frozen_view(a), dims=("y", "x"), name="image", attrs=attrs)
        self._set(da, sample, meta)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> TEMImage:
        """Rebuild from :meth:`to_dataset` output (``ns.save``/``ns.load``)."""
        sample, meta, attrs = cls._split_storage(ds)
        px = attrs.get("pixel_size")
        px = None if px is None or (isinstance(px, float) and math.isnan(px)) else px
        return cls(ds["image"].values, pixel_size=px, sample=sample, meta=meta, units=attrs.get("units", "counts"))

    @property
    def image(self) -> np.ndarray:
        """The 2-D intensities (read-only)."""
        return np.asarray(self._data.values)

    @property
    def pixel_size(self) -> float:
        """Pixel edge length, nm (NaN when unknown)."""
        return float(self._data.attrs["pixel_size"])

    @property
    def calibrated(self) -> bool:
        """True when the pixel size is known."""
        return math.isfinite(self.pixel_size)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns)."""
        return (int(self._data.sizes["y"]), int(self._data.sizes["x"]))

    @property
    def extent(self) -> tuple[float, float]:
        """(width, height) of the field of view, nm."""
        return (self.shape[1] * self.pixel_size, self.shape[0] * self.pixel_size)

    @property
    def units(self) -> str:
        """Intensity units."""
        return str(self._data.attrs["units"])

    def to_dataframe(self) -> Any:
        """One row per pixel: ``y_nm``, ``x_nm`` and the intensity (index: row, column).

        Examples
        --------
        >>> TEMImage(np.eye(2), pixel_size=0.5).to_dataframe()["x_nm"].tolist()
        [0.0, 0.5, 0.0, 0.5]
        """
        df = super().to_dataframe()
        rows = df.index.get_level_values("y").to_numpy()
        cols = df.index.get_level_values("x").to_numpy()
        df.insert(0, "x_nm", cols * self.pixel_size)
        df.insert(0, "y_nm", rows * self.pixel_size)
        return df

    def replace(self, **changes: Any) -> TEMImage:
        """Return a copy with constructor arguments replaced."""
        args: dict[str, Any] = {"image": self.image, "pixel_size": self.pixel_size if self.calibrated else None,
                                "sample": self._sample, "meta": self._meta, "units": self.units}
        unknown = set(changes) - set(args)
        if unknown:
            raise ValidationError(f"replace: unknown field(s) {sorted(unknown)}")
        args.update(changes)
        return TEMImage(args.pop("image"), **args)

    def cropped(self, rows: tuple[int, int], cols: tuple[int, int]) -> TEMImage:
        """The sub-image ``image[rows[0]:rows[1], cols[0]:cols[1]]`` (same pixel size).

        Examples
        --------
        >>> TEMImage(np.ones((5, 5)), pixel_size=1).cropped((1, 3), (0, 4)).shape
        (2, 4)
        """
        sub = self.image[rows[0]:rows[1], cols[0]:cols[1]]
        if sub.size == 0:
            raise ValidationError(f"cropped: empty region rows {rows}, cols {cols} of an image {self.shape}")
        return self.replace(image=sub)

    def _describe(self) -> str:
        px = f"{self.pixel_size:g} nm/px" if self.calibrated else "uncalibrated"
        return f"{self.shape[0]}x{self.shape[1]} px, {px}"

    def plot(self, ax: Axes | None = None, *, scale_bar: bool = True, cmap: str = "gray", **kw: Any) -> Axes:
        """Show the image in nm with a scale bar (requires the ``plot`` extra).

        Parameters
        ----------
        ax : matplotlib Axes, optional
        scale_bar : bool
            Draw a bar of a round length (about a fifth of the width) with its label.
        cmap : str
        **kw
            Passed to ``imshow``.
        """
        from ncmsurf.core._plot import get_axes

        ax = get_axes(ax)
        ny, nx = self.shape
        px = self.pixel_size if self.calibrated else 1.0
        unit = "nm" if self.calibrated else "px"
        ax.imshow(self.image, cmap=cmap, extent=(0, nx * px, ny * px, 0), interpolation="nearest", **kw)
        ax.set_xlabel(f"x ({unit})")
        ax.set_ylabel(f"y ({unit})")
        if self.sample is not None:
            ax.set_title(self.sample.label)
        if scale_bar and self.calibrated:
            length, label = nice_scale_bar(nx * px)
            x0, y0 = nx * px * 0.05, ny * px * 0.93
            ax.plot([x0, x0 + length], [y0, y0], color="white", linewidth=4, solid_capstyle="butt")
            ax.text(x0 + length / 2, y0 - ny * px * 0.02, label, color="white", ha="center", va="bottom")
        return ax


def nice_scale_bar(width: float, fraction: float = 0.2) -> tuple[float, str]:
    """A round scale-bar length near ``fraction`` of ``width`` (nm) and its label.

    Examples
    --------
    >>> nice_scale_bar(50.0)
    (10.0, '10 nm')
    >>> nice_scale_bar(1.0)
    (0.2, '0.2 nm')
    >>> nice_scale_bar(50000.0)
    (10000.0, '10 µm')
    """
    if not math.isfinite(width) or width <= 0:
        raise ValidationError(f"nice_scale_bar: width must be finite and > 0, got {width}")
    target = width * fraction
    exp = math.floor(math.log10(target))
    best = 1.0
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * 10.0**exp <= target * 1.0000001:
            best = m
    length = float(round(best * 10.0**exp, 12))
    if length >= 1000.0:
        return length, f"{length / 1000.0:g} µm"
    return length, f"{length:g} nm"
