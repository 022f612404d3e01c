"""The ``study.toml`` manifest: which file belongs to which sample.

A manifest is a TOML file in the study folder::

    [study]
    name = "my coating study"

    [defaults]            # applied to every file entry unless it sets its own
    area = 1.131          # electrode area in cm^2 (impedance)
    mass = 0.0105         # active mass in g (cycling)

    [analysis]            # options of Study.analyze (see Study.analyze)
    attenuation_length = 1.7

    [[files]]
    path = "xps/A3-NCM.vms"
    sample = "A(3)-NCM"
    cycles = 0            # optional; must agree with the label if it has one
    kind = "xps"          # optional; sniffed from the content when absent
    options = {}          # optional reader options

Any further tables (``[generator]``, ``[truth]``, ...) are kept verbatim in
:attr:`Manifest.extra`.

Paths are confined to the study folder: an absolute path, a ``..`` that
leaves the folder, or a symbolic link that points out of it is refused
unless the caller passes ``allow_outside=True`` (a manifest cannot grant
that to itself). Reader ``options`` and ``[analysis]`` values are checked
for their types (:data:`ANALYSIS_OPTIONS`); tables nested deeper than
:data:`MAX_DEPTH` levels are refused.

Duplicates (see :func:`duplicate_entries`): a second XPS spectrum of the
same region and emission angle, a second ToF-SIMS profile or a second EDS
map for one sample (same cycle state) is refused, naming both entries: the
analysis uses one measurement of each, and combining two (summing counts,
averaging maps of different particles) would change what the numbers mean
without saying so. Several impedance spectra or cycling records per sample
are kept (files often hold several; the analysis step states which it uses).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.sample import Sample

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["ANALYSIS_OPTIONS", "KINDS", "MAX_DEPTH", "Manifest", "ManifestEntry", "duplicate_entries",
           "read_manifest"]

KINDS = ("xps", "eis", "cycling", "sims", "eds", "tem")
MANIFEST_NAME = "study.toml"
MAX_DEPTH = 16
"""Deepest nesting of tables and arrays a manifest may have."""
_ENTRY_KEYS = {"path", "sample", "cycles", "kind", "area", "mass", "options", "note"}
_NOT_OPTIONS = {"path": "path", "kind": "kind", "sample": "sample"}
"""Reader options that are entry keys of their own (giving them as options is refused)."""
_POSITIVE_OPTIONS = ("mass", "area", "sputter_rate", "pixel_size")

ANALYSIS_OPTIONS: dict[str, str] = {
    "attenuation_length": "positive",
    "emission_angle": "number",
    "charge_reference": "number",
    "sputter_rate": "positive",
    "retention_cycles": "positive integer",
    "charge_correct": "boolean",
    "xps_background": "text",
    "eis_circuit": "text",
    "fade_model": "text",
    "sims_fragment": "text",
    "eds_element": "text",
}
"""Known ``[analysis]`` options and the type each needs (other keys must be plain values)."""


@dataclass(frozen=True)
class ManifestEntry:
    """One ``[[files]]`` entry of a manifest.

    Attributes
    ----------
    index : int
        Position in the manifest (0-based), used in error messages.
    path : str
        File path relative to the study folder.
    sample : Sample
    kind : str or None
        Model kind, or None to sniff it.
    area : float or None
        Electrode area in cm².
    mass : float or None
        Active mass in g.
    options : dict
        Reader options.
    """

    index: int
    path: str
    sample: Sample
    kind: str | None = None
    area: float | None = None
    mass: float | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        """Short description of the entry for messages."""
        return f"{MANIFEST_NAME} files[{self.index}] ({self.path!r}, sample {self.sample.label!r})"


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest.

    Attributes
    ----------
    folder : pathlib.Path
    name : str
    entries : list of ManifestEntry
    analysis : dict
        Options for :meth:`ncmsurf.Study.analyze`.
    extra : dict
        Other top-level tables (e.g. ``generator``, ``truth``), verbatim.
    """

    folder: Path
    name: str
    entries: list[ManifestEntry]
    analysis: dict[str, Any]
    extra: dict[str, Any]


def _positive(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or value != value \
            or value == float("inf"):
        raise ValidationError(f"{what} must be a positive number, got {value!r}")
    return float(value)


def _depth(value: Any, where: str, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise ValidationError(f"{where}: tables or arrays nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _depth(v, f"{where}.{k}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _depth(v, f"{where}[{i}]", depth + 1)


def _plain(value: Any) -> bool:
    """A TOML scalar, or a flat array of scalars."""
    scalar = (str, int, float, bool)
    return isinstance(value, scalar) or (isinstance(value, list) and all(isinstance(v, scalar) for v in value))


def _check_type(value: Any, need: str, where: str) -> None:
    ok = {
        "positive": not isinstance(value, bool) and isinstance(value, (int, float)) and 0 < value < float("inf"),
        "number": not isinstance(value, bool) and isinstance(value, (int, float)) and abs(value) < float("inf"),
        "positive integer": not isinstance(value, bool) and isinstance(value, int) and value > 0,
        "boolean": isinstance(value, bool),
        "text": isinstance(value, str),
    }[need]
    if not ok:
        raise ValidationError(f"{where} must be a {need}, got {value!r}")


def _check_analysis(analysis: Mapping[str, Any], where: str) -> None:
    for key, value in analysis.items():
        need = ANALYSIS_OPTIONS.get(key)
        if need is not None:
            _check_type(value, need, f"{where} {key}")
        elif not _plain(value):
            raise ValidationError(f"{where} {key}: expected a number, text, boolean or a flat array of those, "
                                  f"got {type(value).__name__}")


def _check_options(options: Mapping[str, Any], where: str) -> None:
    for key, value in options.items():
        if key in _NOT_OPTIONS:
            raise ValidationError(f"{where}: options.{key} is not a reader option; give {_NOT_OPTIONS[key]!r} "
                                  "as a key of the entry itself")
        if not _plain(value):
            raise ValidationError(f"{where}: options.{key} must be a number, text, boolean or a flat array of "
                                  f"those, got {type(value).__name__}")
        if key == "format" and not isinstance(value, str):
            raise ValidationError(f"{where}: options.format must be a reader name, got {value!r}")
        if key in _POSITIVE_OPTIONS:
            _check_type(value, "positive", f"{where}: options.{key}")


def _confined(folder: Path, path: str, where: str, allow_outside: bool) -> None:
    """Refuse a path that leaves the study folder (absolute, ``..``, or a symbolic link out of it)."""
    if "\x00" in path:
        raise ValidationError(f"{where}: 'path' contains a NUL character")
    if allow_outside:
        return
    if os.path.isabs(path) or Path(path).is_absolute() or path.startswith(("\\", "/")) \
            or (len(path) > 1 and path[1] == ":"):
        raise ValidationError(f"{where}: 'path' {path!r} is absolute; paths must be relative to the study folder "
                              "(pass allow_outside=True to read files elsewhere)")
    root = folder.resolve()
    try:
        target = (folder / path).resolve()
    except (OSError, RuntimeError) as exc:
        raise ValidationError(f"{where}: 'path' {path!r} cannot be resolved: {exc}") from None
    if target != root and root not in target.parents:
        how = "through a symbolic link" if ".." not in Path(path).parts else "with '..'"
        raise ValidationError(f"{where}: 'path' {path!r} leads out of the study folder {how} (to {target}); "
                              "pass allow_outside=True to read files elsewhere")


def read_manifest(folder: str | os.PathLike[str], *, allow_outside: bool = False) -> Manifest:
    """Parse ``folder/study.toml``.

    Parameters
    ----------
    folder : str or path-like
        The study folder (or the manifest file itself).
    allow_outside : bool
        Accept file paths outside the study folder (absolute paths, ``..``,
        symbolic links out of it). Off by default, so that a manifest cannot
        make a report read ``/etc/passwd``.

    Returns
    -------
    Manifest

    Raises
    ------
    ValidationError
        If the manifest is missing, is not valid TOML, is nested too deeply,
        or an entry is malformed (bad label, unknown kind, missing path, a
        path out of the folder, an option of the wrong type, ...); the
        message names the entry.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> text = ['[[files]]', 'path = "a.mpt"', 'sample = "A(3)-NCM@100"', 'kind = "eis"']
    >>> _ = d.joinpath("study.toml").write_text(chr(10).join(text))
    >>> m = read_manifest(d)
    >>> m.entries[0].sample.label, m.entries[0].kind
    ('A(3)-NCM@100', 'eis')
    """
    p = Path(folder)
    if p.is_dir():
        p = p / MANIFEST_NAME
    if not p.is_file():
        raise ValidationError(f"no study manifest: {p} does not exist (a study folder needs a {MANIFEST_NAME})")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{p}: not a valid TOML manifest: {exc}") from None
    except RecursionError:
        raise ValidationError(f"{p}: not a valid TOML manifest: tables or arrays nested too deeply") from None
    except OSError as exc:
        raise ValidationError(f"{p}: cannot read the manifest: {exc}") from None
    _depth(data, MANIFEST_NAME)
    study = data.get("study", {})
    if not isinstance(study, Mapping):
        raise ValidationError(f"{p}: [study] must be a table")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, Mapping):
        raise ValidationError(f"{p}: [defaults] must be a table")
    analysis = data.get("analysis", {})
    if not isinstance(analysis, Mapping):
        raise ValidationError(f"{p}: [analysis] must be a table")
    _check_analysis(analysis, f"{p}: [analysis]")
    for key in ("area", "mass"):
        _positive(defaults.get(key), f"{p}: [defaults] {key}")
    files = data.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, Mapping) for f in files):
        raise ValidationError(f"{p}: files must be an array of tables ([[files]])")
    if not files:
        raise ValidationError(f"{p}: the manifest lists no files ([[files]] entries)")
    entries = [_entry(i, f, defaults, p.parent, allow_outside) for i, f in enumerate(files)]
    extra = {k: v for k, v in data.items() if k not in ("study", "defaults", "analysis", "files")}
    return Manifest(p.parent, str(study.get("name", p.parent.name)), entries, dict(analysis), extra)


def _entry(i: int, f: Mapping[str, Any], defaults: Mapping[str, Any], folder: Path,
           allow_outside: bool) -> ManifestEntry:
    path = f.get("path")
    where = f"{MANIFEST_NAME} files[{i}]" + (f" ({path!r})" if isinstance(path, str) else "")
    if not isinstance(path, str) or not path:
        raise ValidationError(f"{where}: 'path' (a file name relative to the study folder) is required")
    _confined(folder, path, where, allow_outside)
    unknown = sorted(set(f) - _ENTRY_KEYS)
    if unknown:
        raise ValidationError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(_ENTRY_KEYS)}")
    label = f.get("sample")
    if not isinstance(label, str):
        raise ValidationError(f"{where}: 'sample' (a label such as 'A(3)-NCM') is required")
    cycles = f.get("cycles")
    if cycles is not None and (isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 0):
        raise ValidationError(f"{where}: 'cycles' must be a non-negative integer, got {cycles!r}")
    try:
        sample = Sample.parse(label, cycles=cycles)
    except ValidationError as exc:
        raise ValidationError(f"{where}: bad sample label: {exc}") from exc
    kind = f.get("kind")
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"{where}: kind must be one of {KINDS}, got {kind!r}")
    options = f.get("options", {})
    if not isinstance(options, Mapping):
        raise ValidationError(f"{where}: 'options' must be a table")
    _check_options(options, where)
    note = f.get("note")
    if note is not None and not isinstance(note, str):
        raise ValidationError(f"{where}: 'note' must be text, got {note!r}")
    area = _positive(f.get("area", defaults.get("area")), f"{where}: area")
    mass = _positive(f.get("mass", defaults.get("mass")), f"{where}: mass")
    return ManifestEntry(i, path, sample, kind, area, mass, dict(options))


_REFUSED_DUPLICATES = ("xps", "sims", "eds")


def _duplicate_key(entry: ManifestEntry, m: Any) -> tuple[Any, ...] | None:
    from ncmsurf.core.models import Measurement, XPSSpectrum

    kind = m.kind if isinstance(m, Measurement) else None
    if kind not in _REFUSED_DUPLICATES:
        return None
    if isinstance(m, XPSSpectrum):
        region = m.region
        if region is None:  # surveys and unnamed blocks are not analysed per region
            return None
        meta = m.meta
        angle = meta.get("emission_angle")
        return (entry.sample, kind, region, angle if isinstance(angle, (int, float)) else None)
    return (entry.sample, kind)


def duplicate_entries(read: Sequence[tuple[ManifestEntry, Sequence[Any]]]) -> dict[int, str]:
    """Entries that repeat a measurement of an earlier one: entry index → message naming both.

    A repeat is a second XPS spectrum of the same region (and emission
    angle), a second ToF-SIMS profile or a second EDS map for the same sample
    (label and cycle state), within one file or across files. Such entries
    are refused (see the module docstring for why they are not combined).

    Parameters
    ----------
    read : sequence of (ManifestEntry, list of models)
        The entries in manifest order with the models read from their files.

    Examples
    --------
    >>> from ncmsurf.core.models import DepthProfile
    >>> s = Sample.parse("A(3)-NCM")
    >>> a, b = ManifestEntry(0, "a.txt", s), ManifestEntry(1, "b.txt", s)
    >>> p = DepthProfile([0.0, 1.0], {"AlO-": [1.0, 2.0]})
    >>> print(duplicate_entries([(a, [p]), (b, [p])])[1])  # doctest: +NORMALIZE_WHITESPACE
    study.toml files[1] ('b.txt', sample 'A(3)-NCM') holds a second sims measurement of sample 'A(3)-NCM' (the
    first is study.toml files[0] ('a.txt', sample 'A(3)-NCM')); the analysis uses one per sample: remove one
    entry or give them different samples
    """
    seen: dict[tuple[Any, ...], tuple[ManifestEntry, int]] = {}
    out: dict[int, str] = {}
    for entry, models in read:
        for j, m in enumerate(models):
            key = _duplicate_key(entry, m)
            if key is None:
                continue
            first = seen.get(key)
            if first is None:
                seen[key] = (entry, j)
                continue
            what = f"{key[2]} spectrum" if key[1] == "xps" else f"{key[1]} measurement"
            if key[1] == "xps" and key[3] is not None:
                what += f" at emission angle {key[3]:g}°"
            other = first[0].where if first[0] is not entry else f"block {first[1] + 1} of the same file"
            here = entry.where + (f" block {j + 1}" if first[0] is entry else "")
            out.setdefault(entry.index, f"{here} holds a second {what} of sample {entry.sample.label!r} "
                                        f"(the first is {other}); the analysis uses one per sample: remove "
                                        "one entry or give them different samples")
    return out
