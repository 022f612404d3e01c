"""Model components: :class:`Peak`, :class:`Doublet` and :class:`Satellite`, and the shipped presets.

Components are frozen dataclasses describing starting values, bounds and ties;
:mod:`ncmsurf.xps._fit` compiles a list of them into a parameter vector.

Examples
--------
>>> d = Doublet("Ni2+", 854.4, splitting=17.4, ratio=0.5, fwhm=2.0)
>>> d.lines()
('2p3/2', '2p1/2')
>>> [c.name for c in preset_model("Ni 2p")][:2]
['Ni2+', 'Ni3+']
"""

from __future__ import annotations

import json
import re
from dataclasses import KW_ONLY, asdict, dataclass, fields
from functools import lru_cache
from importlib import resources
from typing import Any

from ncmsurf.core.errors import FitError, ValidationError
from ncmsurf.xps._lineshapes import SHAPES

__all__ = ["Component", "Doublet", "Peak", "Satellite", "component_from_dict", "normalize_region",
           "parse_casa_shape", "preset_info", "preset_model", "preset_variants", "presets", "split_preset"]

_CASA_SHAPE = re.compile(r"^\s*(S?GL)\s*\(\s*([0-9.]+)\s*\)\s*$", re.IGNORECASE)


def parse_casa_shape(shape: str) -> tuple[str, dict[str, float]]:
    """Map a shape name (``"voigt"``, ``"GL(30)"``, ``"SGL(30)"``, ...) to (shape, extras).

    Examples
    --------
    >>> parse_casa_shape("GL(30)")
    ('gl', {'eta': 0.3})
    >>> parse_casa_shape("Voigt")
    ('voigt', {})
    """
    m = _CASA_SHAPE.match(shape)
    if m:
        return m.group(1).lower(), {"eta": float(m.group(2)) / 100.0}
    key = shape.strip().lower().replace("_", "-")
    key = {"pseudovoigt": "pseudo-voigt", "pv": "pseudo-voigt", "doniach-sunjic": "ds", "g": "gaussian",
           "l": "lorentzian"}.get(key, key)
    if key not in SHAPES:
        raise ValidationError(f"shape: unknown line shape {shape!r}; known: {sorted(SHAPES)} or GL(m)/SGL(m)")
    return key, {}


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"name: expected a non-empty string, got {name!r}")
    return name


def _bounds(b: Any, field_name: str) -> tuple[float, float] | None:
    if b is None:
        return None
    try:
        lo, hi = float(b[0]), float(b[1])
    except (TypeError, ValueError, IndexError) as exc:
        raise ValidationError(f"{field_name}: expected (min, max), got {b!r}") from exc
    if not lo <= hi:
        raise ValidationError(f"{field_name}: min {lo} > max {hi}")
    return (lo, hi)


@dataclass(frozen=True)
class Peak:
    """One line-shape component.

    Parameters
    ----------
    name : str
        Component name (e.g. ``"Li2CO3"``).
    center : float
        Starting binding energy, eV.
    fwhm : float
        Starting width, eV (the Gaussian width for ``voigt`` and ``ds``).
    shape : str
        ``"gaussian"``, ``"lorentzian"``, ``"voigt"``, ``"pseudo-voigt"``,
        ``"gl"``, ``"sgl"`` (or ``"GL(30)"``/``"SGL(30)"``), ``"ds"``, ``"la"``.
    area : float, optional
        Starting area (estimated from the data when None).
    eta : float, optional
        Lorentzian fraction for ``pseudo-voigt``, ``gl``, ``sgl`` (CasaXPS m/100).
    gamma : float, optional
        Lorentzian half width for ``voigt`` and ``ds``, eV.
    alpha, beta : float, optional
        Asymmetry (``ds``: alpha; ``la``: exponents of the two sides).
    gauss_fwhm : float, optional
        Gaussian broadening of ``la``, eV.
    center_bounds : (float, float), optional
        Absolute bounds of the centre (default centre ± 1.5 eV).
    fwhm_bounds : (float, float)
        Bounds of the width.
    fix : tuple of str
        Parameters held fixed (``"center"``, ``"fwhm"``, ``"area"``).
    fwhm_of : str, optional
        Share the width of the named component (listed before this one):
        this component then has no width parameter of its own (e.g. two
        chemical states of one element fitted with one width).
    free : tuple of str
        Shape parameters refined (``"gamma"``, ``"eta"``, ``"alpha"``, ...);
        shape parameters are fixed unless listed here.

    Examples
    --------
    >>> Peak("C-C", 284.8, shape="GL(30)").eta
    0.3
    """

    name: str
    center: float
    _: KW_ONLY
    fwhm: float = 1.5
    shape: str = "voigt"
    area: float | None = None
    eta: float | None = None
    gamma: float | None = None
    alpha: float | None = None
    beta: float | None = None
    gauss_fwhm: float | None = None
    center_bounds: tuple[float, float] | None = None
    fwhm_bounds: tuple[float, float] = (0.2, 6.0)
    fix: tuple[str, ...] = ()
    free: tuple[str, ...] = ()
    fwhm_of: str | None = None

    kind = "peak"

    def __post_init__(self) -> None:
        _check_name(self.name)
        shape, extras = parse_casa_shape(self.shape)
        object.__setattr__(self, "shape", shape)
        for k, v in extras.items():
            if getattr(self, k) is None:
                object.__setattr__(self, k, v)
        object.__setattr__(self, "center", float(self.center))
        object.__setattr__(self, "fwhm", float(self.fwhm))
        if not self.fwhm > 0:
            raise ValidationError(f"{self.name}: fwhm must be > 0, got {self.fwhm}")
        object.__setattr__(self, "center_bounds", _bounds(self.center_bounds, "center_bounds"))
        object.__setattr__(self, "fwhm_bounds", _bounds(self.fwhm_bounds, "fwhm_bounds"))
        object.__setattr__(self, "fix", tuple(self.fix))
        object.__setattr__(self, "free", tuple(self.free))
        if self.area is not None and not float(self.area) >= 0:
            raise ValidationError(f"{self.name}: area must be >= 0, got {self.area}")

    def shape_params(self) -> dict[str, tuple[float, tuple[float, float], bool]]:
        """Shape parameters: name → (value, bounds, vary)."""
        _, names, defaults, bounds = SHAPES[self.shape]
        out = {}
        for n, d, b in zip(names, defaults, bounds):
            v = getattr(self, n)
            out[n] = (float(d if v is None else v), b, n in self.free)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (stored with fit results)."""
        d = asdict(self)
        d["kind"] = self.kind
        return d


_ORBITAL = re.compile(r"(\d)\s*([pdf])", re.IGNORECASE)
_DOUBLET_RATIO = {"p": 1.0 / 2.0, "d": 2.0 / 3.0, "f": 3.0 / 4.0}
_J = {"p": ("3/2", "1/2"), "d": ("5/2", "3/2"), "f": ("7/2", "5/2")}


def _orbital_of(*texts: str | None) -> str | None:
    """The first ``n l`` orbital (``"2p"``, ``"3d"``, ``"4f"``) found in ``texts``."""
    for t in texts:
        if t:
            m = _ORBITAL.search(str(t))
            if m:
                return f"{m.group(1)}{m.group(2).lower()}"
    return None


@dataclass(frozen=True)
class Doublet(Peak):
    """Spin–orbit doublet: the main line and its partner at ``center + splitting``.

    The two lines share the shape; the partner's area is ``ratio`` times the
    main line's and its width is ``fwhm + ck`` (Coster–Kronig broadening of
    the lower-j line).

    Parameters
    ----------
    splitting : float
        Spin–orbit splitting, eV (fixed unless ``splitting_bounds`` given).
    ratio : float, optional
        Area ratio partner/main. Default: the degeneracy ratio of the
        orbital, (2j₋ + 1)/(2j₊ + 1): 1/2 for p, 2/3 for d, 3/4 for f.
    orbital : str, optional
        ``"2p"``, ``"3d"``, ``"4f"``, ... Default: taken from
        ``lines_labels``, else from the name (e.g. ``"Ce 3d"``), else p (the
        2p levels of the transition metals).
    ck : float
        Extra FWHM of the partner line, eV (fixed unless ``ck_bounds``).
    splitting_bounds, ratio_bounds, ck_bounds : (float, float), optional
        Bounds to refine the tie instead of fixing it.
    lines_labels : (str, str), optional
        Labels of the two lines (default from the orbital: ``("2p3/2",
        "2p1/2")``, ``("3d5/2", "3d3/2")``, ...).

    Examples
    --------
    >>> Doublet("Co3+", 779.8, splitting=15.1).ratio
    0.5
    >>> d = Doublet("Ce4+", 882.5, splitting=18.4, orbital="3d")
    >>> round(d.ratio, 4), d.lines()
    (0.6667, ('3d5/2', '3d3/2'))
    >>> round(Doublet("Pt0 4f", 71.2, splitting=3.33).ratio, 2)
    0.75
    """

    _: KW_ONLY
    splitting: float
    ratio: float = None  # type: ignore[assignment]  # resolved from the orbital in __post_init__
    ck: float = 0.0
    splitting_bounds: tuple[float, float] | None = None
    ratio_bounds: tuple[float, float] | None = None
    ck_bounds: tuple[float, float] | None = None
    lines_labels: tuple[str, str] = None  # type: ignore[assignment]  # from the orbital when not given
    orbital: str | None = None

    kind = "doublet"

    def __post_init__(self) -> None:
        super().__post_init__()
        labels = None if self.lines_labels is None else tuple(str(x) for x in self.lines_labels)
        orb = _orbital_of(self.orbital, *(labels or ()), self.name) or "2p"
        if orb[-1] not in _J:
            raise ValidationError(f"{self.name}: orbital {orb!r} has no spin-orbit doublet (p, d or f)")
        object.__setattr__(self, "orbital", orb)
        if labels is None:
            hi, lo = _J[orb[-1]]
            labels = (f"{orb}{hi}", f"{orb}{lo}")
        object.__setattr__(self, "lines_labels", labels)
        if self.ratio is None:
            object.__setattr__(self, "ratio", _DOUBLET_RATIO[orb[-1]])
        object.__setattr__(self, "ratio", float(self.ratio))
        if not self.ratio > 0:
            raise ValidationError(f"{self.name}: ratio must be > 0, got {self.ratio}")
        for f in ("splitting_bounds", "ratio_bounds", "ck_bounds"):
            object.__setattr__(self, f, _bounds(getattr(self, f), f))

    def lines(self) -> tuple[str, str]:
        """Labels of the main and partner lines."""
        return (str(self.lines_labels[0]), str(self.lines_labels[1]))


@dataclass(frozen=True)
class Satellite(Peak):
    """A satellite tied to ``parent`` by an energy ``offset`` and an area ``ratio``.

    ``center`` is ignored (the position is ``parent centre + offset``); a
    satellite of a :class:`Doublet` is itself a doublet with the parent's
    splitting and ratio.

    Examples
    --------
    >>> Satellite("Ni sat 1", parent="Ni2+", offset=6.8, ratio=0.6).parent
    'Ni2+'
    """

    center: float = 0.0
    _: KW_ONLY
    parent: str = ""
    offset: float = 6.0
    ratio: float = 0.5
    offset_bounds: tuple[float, float] | None = None
    ratio_bounds: tuple[float, float] | None = None

    kind = "satellite"

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.parent:
            raise ValidationError(f"{self.name}: a satellite needs a parent component name")
        if not self.ratio >= 0:
            raise ValidationError(f"{self.name}: ratio must be >= 0, got {self.ratio}")
        for f in ("offset_bounds", "ratio_bounds"):
            object.__setattr__(self, f, _bounds(getattr(self, f), f))


Component = Peak  # Doublet and Satellite are Peaks


def component_from_dict(d: dict[str, Any]) -> Peak:
    """Rebuild a component from :meth:`Peak.to_dict` output (or a preset entry)."""
    d = dict(d)
    kind = d.pop("kind", "peak")
    classes: dict[str, type[Peak]] = {"peak": Peak, "doublet": Doublet, "satellite": Satellite}
    cls = classes.get(kind)
    if cls is None:
        raise ValidationError(f"component kind {kind!r} unknown")
    known = {f.name for f in fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise ValidationError(f"component {d.get('name')!r}: unknown fields {sorted(unknown)}")
    for k in ("center_bounds", "fwhm_bounds", "splitting_bounds", "ratio_bounds", "ck_bounds", "offset_bounds",
              "fix", "free", "lines_labels"):
        if k in d and isinstance(d[k], list):
            d[k] = tuple(d[k])
    return cls(**d)


@lru_cache(maxsize=1)
def _preset_data() -> dict[str, Any]:
    text = resources.files("ncmsurf.xps._data").joinpath("ncm.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def presets() -> list[str]:
    """Names of the shipped NCM models (see :func:`preset_variants` for the variants of each).

    Examples
    --------
    >>> presets()
    ['Ni 2p', 'Co 2p', 'Mn 2p', 'Li 1s', 'O 1s', 'F 1s', 'C 1s', 'Al 2p']
    """
    return [k for k in _preset_data() if not k.startswith("_")]


def normalize_region(region: str) -> str:
    """Canonical core-level text: ``"ni2p"``, ``"Ni 2p3/2"`` → ``"Ni 2p"``.

    Examples
    --------
    >>> normalize_region("ni2p3/2")
    'Ni 2p'
    """
    m = re.match(r"^\s*([A-Za-z]{1,2})\s*(\d[spdf])", region)
    if not m:
        return region.strip()
    el = m.group(1).capitalize()
    return f"{el} {m.group(2).lower()}"


def split_preset(name: str) -> tuple[str, str | None]:
    """``"Ni 2p:multiplet"`` → ``("Ni 2p", "multiplet")``; ``"O 1s"`` → ``("O 1s", None)``.

    Examples
    --------
    >>> split_preset("ni2p:multiplet"), split_preset("O 1s")
    (('Ni 2p', 'multiplet'), ('O 1s', None))
    """
    base, sep, variant = str(name).partition(":")
    return normalize_region(base), (variant.strip() or None) if sep else None


def preset_variants(name: str) -> list[str]:
    """Variants of a preset region (the first is the default).

    Examples
    --------
    >>> preset_variants("Ni 2p")
    ['two-doublet', 'multiplet']
    >>> preset_variants("O 1s")
    ['coated', 'uncoated']
    >>> preset_variants("C 1s")
    ['default']
    """
    key, _ = split_preset(name)
    data = _preset_data()
    if key not in data or key.startswith("_"):
        raise FitError(f"unknown preset {name!r}; shipped presets: {presets()}")
    entry = data[key]
    return [str(entry.get("default_variant", "default")), *entry.get("variants", {})]


def _auger(entry: dict[str, Any], window: tuple[float, float], hv: float) -> list[dict[str, Any]]:
    """Auger components of an entry placed at BE = hv - KE; empty when they fall outside the window."""
    out: list[dict[str, Any]] = []
    comps = [dict(c) for c in entry.get("auger", [])]
    parents = {c["name"] for c in comps if c.get("kind", "peak") != "satellite"}
    kept: set[str] = set()
    for c in comps:
        if c.get("kind", "peak") == "satellite":
            continue
        ke = float(c.pop("kinetic_energy"))
        rng = float(c.pop("kinetic_energy_range", 1.5))
        be = hv - ke
        if window[0] - 2.0 <= be <= window[1] + 2.0:
            c["center"] = round(be, 4)
            c["center_bounds"] = [round(be - rng, 4), round(be + rng, 4)]
            out.append(c)
            kept.add(c["name"])
    for c in comps:
        if c.get("kind") == "satellite" and c.get("parent") in kept:
            out.append(c)
        elif c.get("kind") == "satellite" and c.get("parent") not in parents:
            raise FitError(f"preset data: Auger satellite {c.get('name')!r} has no Auger parent")
    return out


def _drop_outside(comps: list[dict[str, Any]], be_range: tuple[float, float]) -> list[dict[str, Any]]:
    """Drop optional components (and their satellites) whose centre lies outside the data range (± 1 eV)."""
    lo, hi = float(min(be_range)), float(max(be_range))
    gone = {c["name"] for c in comps if c.get("optional") and not lo - 1.0 <= float(c["center"]) <= hi + 1.0}
    return [c for c in comps if c["name"] not in gone and c.get("parent") not in gone]


def preset_info(name: str, *, excitation_energy: float | None = None,
                be_range: tuple[float, float] | None = None) -> dict[str, Any]:
    """The preset entry: ``window`` (BE range), ``references``, ``components`` (dicts), ``variant``.

    ``name`` is a region (``"Ni 2p"``) or ``"region:variant"``
    (``"Ni 2p:multiplet"``). Auger components are placed for the photon
    energy ``excitation_energy`` (eV, default Al Kα 1486.6) and dropped
    when they fall outside the window. With ``be_range`` (the data's
    binding-energy span), components marked ``optional`` (neighbouring
    lines such as Ni 3p in the Al 2p window) are dropped when the data do
    not reach them.

    Examples
    --------
    >>> [c["name"] for c in preset_info("Mn 2p")["components"]][-3:]
    ['Ni LMM', 'Ni LMM sat 1', 'Ni LMM sat 2']
    >>> [c["name"] for c in preset_info("Mn 2p", excitation_energy=1253.6)["components"]]
    ['Mn4+', 'Mn3+']
    """
    data = _preset_data()
    key, variant = split_preset(name)
    if key not in data or key.startswith("_"):
        raise FitError(f"unknown preset {name!r}; shipped presets: {presets()}")
    entry = dict(data[key])
    default = str(entry.get("default_variant", "default"))
    variants = dict(entry.pop("variants", {}))
    info: dict[str, Any] = {"window": list(entry["window"]), "references": list(entry.get("references", [])),
                            "components": [dict(c) for c in entry["components"]], "variant": default,
                            "region": key}
    if variant is not None and variant != default:
        if variant not in variants:
            raise FitError(f"unknown variant {variant!r} of preset {key!r}; variants: {preset_variants(key)}")
        v = variants[variant]
        info["components"] = [dict(c) for c in v["components"]]
        info["references"] = list(v.get("references", [])) + info["references"]
        info["window"] = list(v.get("window", info["window"]))
        info["variant"] = variant
        if "description" in v:
            info["description"] = v["description"]
    hv = 1486.6 if excitation_energy is None else float(excitation_energy)
    info["excitation_energy"] = hv
    info["components"] += _auger(entry, (float(info["window"][0]), float(info["window"][1])), hv)
    if be_range is not None:
        info["components"] = _drop_outside(info["components"], be_range)
    for c in info["components"]:
        c.pop("optional", None)
    return info


def preset_model(name: str, *, excitation_energy: float | None = None,
                 be_range: tuple[float, float] | None = None) -> list[Peak]:
    """The components of a preset as :class:`Peak`/:class:`Doublet`/:class:`Satellite`.

    A doublet that gives neither its orbital nor its line labels takes the
    preset region's orbital (``"Ni 2p"`` → 2p), which sets its default ratio.

    Examples
    --------
    >>> [c.name for c in preset_model("Ni 2p:multiplet") if c.kind == "doublet"]
    ['Ni0', 'Ni2+', 'Ni3+']
    """
    info = preset_info(name, excitation_energy=excitation_energy, be_range=be_range)
    orb = _orbital_of(str(info["region"]))
    out = []
    for c in info["components"]:
        if c.get("kind") == "doublet" and orb and not c.get("orbital") and not c.get("lines_labels"):
            c = {**c, "orbital": orb}
        out.append(component_from_dict(c))
    return out
