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
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.sample import Sample

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["KINDS", "Manifest", "ManifestEntry", "read_manifest"]

KINDS = ("xps", "eis", "cycling", "sims", "eds")
MANIFEST_NAME = "study.toml"
_ENTRY_KEYS = {"path", "sample", "cycles", "kind", "area", "mass", "options", "note"}


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
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValidationError(f"{what} must be a positive number, got {value!r}")
    return float(value)


def read_manifest(folder: str | os.PathLike[str]) -> Manifest:
    """Parse ``folder/study.toml``.

    Parameters
    ----------
    folder : str or path-like
        The study folder (or the manifest file itself).

    Returns
    -------
    Manifest

    Raises
    ------
    ValidationError
        If the manifest is missing, is not valid TOML, or an entry is
        malformed (bad label, unknown kind, missing path, ...); the message
        names the entry.

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
        raise ValidationError(f"{p}: not a valid TOML manifest: {exc}") from exc
    study = data.get("study", {})
    if not isinstance(study, Mapping):
        raise ValidationError(f"{p}: [study] must be a table")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, Mapping):
        raise ValidationError(f"{p}: [defaults] must be a table")
    analysis = data.get("analysis", {})
    if not isinstance(analysis, Mapping):
        raise ValidationError(f"{p}: [analysis] must be a table")
    files = data.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, Mapping) for f in files):
        raise ValidationError(f"{p}: files must be an array of tables ([[files]])")
    if not files:
        raise ValidationError(f"{p}: the manifest lists no files ([[files]] entries)")
    entries = [_entry(i, f, defaults) for i, f in enumerate(files)]
    extra = {k: v for k, v in data.items() if k not in ("study", "defaults", "analysis", "files")}
    return Manifest(p.parent, str(study.get("name", p.parent.name)), entries, dict(analysis), extra)


def _entry(i: int, f: Mapping[str, Any], defaults: Mapping[str, Any]) -> ManifestEntry:
    path = f.get("path")
    where = f"{MANIFEST_NAME} files[{i}]" + (f" ({path!r})" if isinstance(path, str) else "")
    if not isinstance(path, str) or not path:
        raise ValidationError(f"{where}: 'path' (a file name relative to the study folder) is required")
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
    area = _positive(f.get("area", defaults.get("area")), f"{where}: area")
    mass = _positive(f.get("mass", defaults.get("mass")), f"{where}: mass")
    return ManifestEntry(i, path, sample, kind, area, mass, dict(options))
