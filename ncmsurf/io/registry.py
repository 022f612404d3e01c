"""Reader registry: entry points, content sniffing and dispatch.

Readers are objects with ``name``, ``kind`` (``"xps"``, ``"eis"``,
``"cycling"``, ``"sims"``, ``"eds"``), ``extensions``, ``sniff(path, head)``
returning a confidence in [0, 1], and ``read(path, **options)`` returning a
list of models. They are found through the ``ncmsurf.readers`` entry-point
group; each entry point names a reader or a sequence of readers, so a lab
package can add its own format without touching ncmsurf::

    [project.entry-points."ncmsurf.readers"]
    mylab = "mylab.readers:READERS"

Examples
--------
>>> names = [r.name for r in readers(kind="eis")]
>>> "eis-text" in names
True
"""

from __future__ import annotations

import inspect
import os
import stat
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

from ncmsurf.core.errors import NcmsurfError, NcmsurfWarning, ReadError, ValidationError
from ncmsurf.core.models import Measurement
from ncmsurf.io._table import check_regular_file, max_read_bytes, read_limit

__all__ = [
    "KINDS",
    "Reader",
    "ReaderWarning",
    "SimpleReader",
    "choose_reader",
    "read",
    "read_cycling",
    "read_eds",
    "read_eis",
    "read_sims",
    "read_tem",
    "read_xps",
    "reader_options",
    "readers",
    "register_reader",
    "sniff_scores",
]

KINDS = ("xps", "eis", "cycling", "sims", "eds", "tem")
HEAD_BYTES = 65536
ENTRY_POINT_GROUP = "ncmsurf.readers"


class ReaderWarning(NcmsurfWarning):
    """A reader plugin could not be loaded, or a file needed a repair."""


@runtime_checkable
class Reader(Protocol):
    """What a reader provides."""

    name: str
    kind: str
    extensions: tuple[str, ...]

    def sniff(self, path: Path, head: bytes) -> float:
        """Confidence in [0, 1] that ``path`` (whose first bytes are ``head``) is this format."""
        ...

    def read(self, path: Path, **options: Any) -> list[Measurement]:
        """Read the file into models (raise ReadError on bad content)."""
        ...


@dataclass(frozen=True)
class SimpleReader:
    """A reader built from two functions.

    Parameters
    ----------
    name : str
        Unique reader name, e.g. ``"vamas"``.
    kind : str
        Model kind it returns.
    extensions : tuple of str
        Lower-case suffixes including the dot (a hint only).
    sniff_func : callable
        ``(path, head) -> float``.
    read_func : callable
        ``(path, **options) -> list[Measurement]``.
    description : str
        One line for ``ncmsurf info`` and the docs.
    options : tuple of str, optional
        The keyword options ``read`` accepts. By default they are taken
        from ``read_func``'s signature (see :func:`reader_options`); give
        them when that signature cannot tell (a wrapper taking ``**kw``).
    streaming : bool
        The reader reads large files block by block, so the size limit of
        what is loaded into memory does not apply to the file as a whole.
    """

    name: str
    kind: str
    extensions: tuple[str, ...]
    sniff_func: Any = field(repr=False)
    read_func: Any = field(repr=False)
    description: str = ""
    options: tuple[str, ...] | None = None
    streaming: bool = False

    def sniff(self, path: Path, head: bytes) -> float:
        """Delegate to ``sniff_func``."""
        return float(self.sniff_func(path, head))

    def read(self, path: Path, **options: Any) -> list[Measurement]:
        """Delegate to ``read_func``."""
        out = self.read_func(path, **options)
        return list(out) if isinstance(out, (list, tuple)) else [out]


_EXTRA: list[Reader] = []
_CACHE: list[Reader] | None = None


def register_reader(reader: Reader) -> None:
    """Register a reader at run time (entry points are the usual way).

    Raises
    ------
    ValidationError
        If it lacks the reader attributes or has an unknown kind.
    """
    global _CACHE
    if not isinstance(reader, Reader):
        raise ValidationError(f"register_reader: {reader!r} does not provide name/kind/extensions/sniff/read")
    if reader.kind not in KINDS:
        raise ValidationError(f"register_reader: kind must be one of {KINDS}, got {reader.kind!r}")
    _EXTRA.append(reader)
    _CACHE = None


def _load_entry_points() -> list[Reader]:
    found: list[Reader] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not break ncmsurf
            warnings.warn(f"reader plugin {ep.name!r} ({ep.value}) could not be loaded: {exc}", ReaderWarning,
                          stacklevel=3)
            continue
        items = obj if isinstance(obj, Sequence) and not isinstance(obj, str) else [obj]
        for r in items:
            if isinstance(r, Reader) and r.kind in KINDS:
                found.append(r)
            else:
                warnings.warn(f"reader plugin {ep.name!r} gave an invalid reader {r!r}", ReaderWarning, stacklevel=3)
    return found


def readers(*, kind: str | None = None) -> list[Reader]:
    """All registered readers, optionally of one model kind.

    Examples
    --------
    >>> sorted({r.kind for r in readers()}) == sorted(KINDS)
    True
    """
    global _CACHE
    if _CACHE is None:
        _CACHE = _load_entry_points()
    allr = list(_CACHE) + list(_EXTRA)
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"kind must be one of {KINDS}, got {kind!r}")
    return [r for r in allr if kind is None or r.kind == kind]


_FORWARD_DEPTH = 3


def _signature_options(fn: Callable[..., Any], depth: int = 0) -> frozenset[str] | None:
    """Keyword options of a reader function: its named parameters after the path.

    A ``**_`` catch-all adds nothing (the options it swallows are unknown to
    the reader). A named ``**kw`` that is forwarded (``lambda path, **kw:
    read_x(path, **kw)``) adds the options of the functions it calls; when
    those cannot be found the options are unknown (``None``).
    """
    try:
        fn = inspect.unwrap(fn)
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if params and params[0].kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
        params = params[1:]  # the path
    names = {p.name for p in params if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                  inspect.Parameter.KEYWORD_ONLY)}
    var_kw = next((p.name for p in params if p.kind == inspect.Parameter.VAR_KEYWORD), None)
    if var_kw is None or var_kw.startswith("_"):
        return frozenset(names)
    code = getattr(fn, "__code__", None)
    glb = getattr(fn, "__globals__", {})
    if code is None or depth >= _FORWARD_DEPTH:
        return None
    called = [glb[n] for n in code.co_names if inspect.isfunction(glb.get(n))]
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            obj = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if inspect.isfunction(obj):
            called.append(obj)
    if not called:
        return None
    for c in called:
        sub = _signature_options(c, depth + 1)
        if sub is None:
            return None
        names |= sub
    return frozenset(names)


def reader_options(reader: Reader) -> frozenset[str] | None:
    """The keyword options a reader accepts, or ``None`` when they cannot be known.

    From the reader's ``options`` attribute when it has one, else from the
    signature of its read function (``SimpleReader.read_func`` or ``read``):
    the named parameters after the path; a ``**_`` catch-all accepts nothing
    more. :func:`read` refuses any other option with the list of valid ones.

    Examples
    --------
    >>> sorted(reader_options(next(r for r in readers() if r.name == "eis-text")))
    ['area', 'columns', 'normalize', 'sample']
    """
    explicit = getattr(reader, "options", None)
    if explicit is not None:
        return frozenset(explicit)
    fn = getattr(reader, "read_func", None)
    if fn is None:
        fn = getattr(reader, "read", None)
    if fn is None:
        return None
    return _signature_options(fn)


def _check_options(reader: Reader, path: Path, options: dict[str, Any]) -> None:
    valid = reader_options(reader)
    if valid is None or not options:
        return
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ValidationError(f"{path}: the {reader.name} reader has no option(s) {unknown}; "
                              f"valid options: {sorted(valid)}")


def _head(path: Path, *, allow_special: bool = False) -> bytes:
    st = check_regular_file(path, allow_special=allow_special)
    try:
        flags = os.O_RDONLY | (getattr(os, "O_NONBLOCK", 0) if not stat.S_ISREG(st.st_mode) else 0)
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError as exc:
        raise ReadError(path, None, f"cannot open: {exc.strerror or exc}") from exc


def sniff_scores(path: str | os.PathLike[str], *, kind: str | None = None,
                 allow_special: bool = False) -> list[tuple[float, Reader]]:
    """Every reader's confidence for ``path``, best first (readers scoring 0 left out).

    Raises
    ------
    ReadError
        Missing, non-regular (unless ``allow_special``) or empty file.
    """
    p = Path(path)
    head = _head(p, allow_special=allow_special)
    if not head.strip():
        raise ReadError(p, 1 if head else None, "file is empty")
    out: list[tuple[float, int, Reader]] = []
    for i, r in enumerate(readers(kind=kind)):
        try:
            score = float(r.sniff(p, head))
        except (NcmsurfError, ValueError, TypeError, IndexError, KeyError, UnicodeError, OSError) as exc:
            warnings.warn(f"reader {r.name!r}: its sniffer failed on {p}: {type(exc).__name__}: {exc}",
                          ReaderWarning, stacklevel=3)
            score = 0.0
        if score > 0:
            out.append((score, -i, r))
    out.sort(key=lambda t: (t[0], t[1]), reverse=True)
    return [(sc, r) for sc, _i, r in out]


def choose_reader(path: str | os.PathLike[str], *, kind: str | None = None, fmt: str | None = None,
                  allow_special: bool = False) -> Reader:
    """Pick the reader for ``path`` by content (the best :func:`sniff_scores`), or by name with ``fmt``.

    Raises
    ------
    ReadError
        If the file is empty, not a regular file, or no reader recognises it.
    """
    p = Path(path)
    if fmt is not None:
        cands = readers(kind=kind)
        named = [r for r in cands if r.name == fmt]
        if not named:
            raise ReadError(p, None, f"no reader named {fmt!r}; available: {sorted(r.name for r in cands)}")
        _head(p, allow_special=allow_special)
        return named[0]
    scores = sniff_scores(p, kind=kind, allow_special=allow_special)
    if not scores:
        what = f"{kind} " if kind else ""
        fmts = ", ".join(sorted({r.name for r in readers(kind=kind)}))
        head = _head(p, allow_special=allow_special)
        k = head.find(b"\x00")
        if k >= 0:
            line = head.count(b"\n", 0, k) + head.count(b"\r", 0, k) - head.count(b"\r\n", 0, k) + 1
            raise ReadError(p, line, f"NUL byte (a binary or padded file) not recognised as any supported "
                                     f"{what}format ({fmts})")
        raise ReadError(p, None, f"not recognised as any supported {what}format ({fmts})")
    return scores[0][1]


def read(path: str | os.PathLike[str], *, kind: str | None = None, format: str | None = None,
         max_bytes: int | None = None, allow_special: bool = False, **options: Any) -> list[Measurement]:
    r"""Read any supported file into a list of models.

    Parameters
    ----------
    path : str or path-like
        The file.
    kind : {"xps", "eis", "cycling", "sims", "eds"}, optional
        Restrict to readers of one model kind.
    format : str, optional
        Force a reader by name instead of sniffing.
    max_bytes : int, optional
        Largest file loaded into memory for this call (default
        :func:`ncmsurf.io.max_read_bytes`, 512 MiB unless set).
    allow_special : bool
        Read a FIFO or device (at most ``max_bytes`` of it, copied first);
        refused by default because such a read may block or never end.
    **options
        Passed to the reader (e.g. ``mass=``, ``area=``, ``sample=``); an
        option the reader does not have is a :class:`ValidationError`
        listing the valid ones.

    Returns
    -------
    list of models

    Raises
    ------
    ReadError
        With the path, line and reason when the file is empty, unknown,
        truncated or malformed, larger than the limit, or not a regular file.
    ValidationError
        For an option the chosen reader does not accept.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "z.csv"
    >>> _ = p.write_text("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n1000,10,1\n1,20,5\n")
    >>> read(p, aera=1.0)
    Traceback (most recent call last):
    ...
    ncmsurf.core.errors.ValidationError: ...the eis-text reader has no option(s) ['aera']; valid options: [...]
    """
    p = Path(path)
    st = check_regular_file(p, allow_special=allow_special)
    limit = max_read_bytes() if max_bytes is None else int(max_bytes)
    if not stat.S_ISREG(st.st_mode):
        return _read_special(p, kind=kind, fmt=format, limit=limit, options=options)
    reader = choose_reader(p, kind=kind, fmt=format)
    _check_options(reader, p, options)
    if st.st_size > limit and not getattr(reader, "streaming", False):
        raise ReadError(p, None, f"file is {st.st_size} bytes, more than the {limit}-byte read limit "
                                 "(pass max_bytes= or raise it with ncmsurf.io.set_max_read_bytes)")
    with read_limit(limit):
        out = _run(reader, p, options)
    return out


def _run(reader: Reader, p: Path, options: dict[str, Any]) -> list[Measurement]:
    try:
        out = reader.read(p, **options)
    except NcmsurfError:
        raise
    except (UnicodeDecodeError, IndexError, KeyError, ValueError, TypeError, OverflowError, EOFError) as exc:
        raise ReadError(p, None, f"{reader.name} reader failed: {type(exc).__name__}: {exc}") from exc
    except MemoryError as exc:
        raise ReadError(p, None, f"{reader.name} reader ran out of memory") from exc
    except OSError as exc:
        raise ReadError(p, None, f"{reader.name} reader failed: {exc}") from exc
    if not out:
        raise ReadError(p, None, f"{reader.name}: no data found in file")
    return out


def _read_special(p: Path, *, kind: str | None, fmt: str | None, limit: int,
                  options: dict[str, Any]) -> list[Measurement]:
    """A FIFO or device: copy at most ``limit`` bytes to a temporary file and read that."""
    with tempfile.TemporaryDirectory(prefix="ncmsurf-") as tmp:
        copy = Path(tmp) / (p.name or "input")
        try:
            fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with os.fdopen(fd, "rb") as src, open(copy, "wb") as dst:
                n = 0
                while chunk := src.read(min(1 << 20, limit + 1 - n)):
                    dst.write(chunk)
                    n += len(chunk)
                    if n > limit:
                        raise ReadError(p, None, f"more than the {limit}-byte read limit (a device or pipe "
                                                 "that does not end?)")
        except BlockingIOError:
            pass  # a FIFO without a writer: read what there is (nothing)
        except OSError as exc:
            raise ReadError(p, None, f"cannot read: {exc.strerror or exc}") from exc
        try:
            reader = choose_reader(copy, kind=kind, fmt=fmt)
        except ReadError as exc:
            raise ReadError(p, exc.line, exc.reason) from None
        _check_options(reader, p, options)
        try:
            with read_limit(limit):
                out = _run(reader, copy, options)
        except ReadError as exc:
            raise ReadError(p, exc.line, exc.reason) from None
        return [m.with_meta(source_file=str(p)) if m.meta.get("source_file") == str(copy) else m for m in out]


def _one(models: list[Measurement], path: str | os.PathLike[str], what: str) -> Measurement:
    if len(models) != 1:
        raise ReadError(path, None, f"expected one {what} in the file, found {len(models)}; use ncmsurf.read")
    return models[0]


F = TypeVar("F", bound=Callable[..., Any])

_CHOOSING = """The reader is chosen by content (``ncmsurf info FILE`` shows which and with what
    confidence); ``format=`` forces one by name (``[r.name for r in ncmsurf.io.readers()]``).
    Options a reader does not take are refused, as are files over the read limit
    (:func:`ncmsurf.io.set_max_read_bytes`) and non-regular files."""

_RAISES = """Raises
    ------
    ncmsurf.ReadError
        Naming the file, the line (or byte offset) and what was wrong, when the file
        is damaged, cut, not of this kind, or ambiguous beyond what a warning can say."""


def _reader_doc(func: F) -> F:
    """Fill the paragraphs every ``read_<kind>`` docstring shares (how the reader is chosen, what is raised)."""
    func.__doc__ = (func.__doc__ or "").replace("{choosing}", _CHOOSING).replace("{raises}", _RAISES)
    return func


@_reader_doc
def read_xps(path: str | os.PathLike[str], **options: Any) -> list[Any]:
    """Read an XPS file into spectra.

    Formats: VAMAS ISO 14976 (.vms, .npl, NORM/MAP, regular/irregular, with
    transmission), SPECS .xy and SpecsLab/Prodigy .xml, PHI MultiPak .spe and .pro
    depth profiles, CasaXPS tab-separated text exports, Scienta SES .txt and .ibw,
    and two-column energy/intensity text. The excitation energy comes from the file;
    where the file does not state it, ``meta["excitation_energy_source"]`` is
    ``"default"`` and quantification warns.

    {choosing}

    Returns
    -------
    list of XPSSpectrum
        One spectrum per block (region, angle, depth-profile cycle) in file order.

    {raises}

    Examples
    --------
    >>> import ncmsurf as ns
    >>> import os, tempfile
    >>> from ncmsurf.io.vamas import write_vamas
    >>> spec = ns.datasets.xps.synthetic_spectrum("Ni 2p", seed=0)
    >>> path = write_vamas(spec, os.path.join(tempfile.mkdtemp(), "ni2p.vms"))
    >>> [s.region for s in ns.read_xps(path)]
    ['Ni 2p']
    """
    return read(path, kind="xps", **options)


@_reader_doc
def read_eis(path: str | os.PathLike[str], **options: Any) -> list[Any]:
    """Read an impedance file into spectra (``area=`` in cm² attaches the electrode area).

    Formats: BioLogic EC-Lab .mpt and .mpr (PEIS/GEIS, also inside MB), Gamry .DTA
    (ZCURVE; with drift correction both spectra, labelled, the corrected first),
    Scribner ZPlot/ZView .z, Autolab FRA and NOVA exports, PARSTAT, VersaStudio
    .par, CH Instruments, PowerSuite, Ivium .idf/.ids, PalmSens .pssession, Maccor
    FRA and delimited text by header names. Z is returned as Z' + jZ'' in ohm
    whatever sign convention the file writes (the rule is kept in ``meta``).

    {choosing}

    Returns
    -------
    list of ImpedanceSpectrum
        One spectrum per sweep, split only on the file's own loop/cycle markers.

    {raises}
    """
    return read(path, kind="eis", **options)


@_reader_doc
def read_cycling(path: str | os.PathLike[str], *, mass: Any = None, **options: Any) -> Any:
    """Read a cycler record into one :class:`~ncmsurf.core.models.CyclingData` (``mass`` in g).

    Formats: BioLogic .mpr and .mpt (GCPL, MB, CA/CP, OCV), Neware .nda/.ndax, CSV
    and regular exports, Arbin .res (optional ``io`` extra), Arbin CSV and MITS Pro
    .xlsx, Maccor text/CSV, Novonix, BaSyTec, Battery Data Format CSV, and plain
    CSV/TSV recognised by common header names. The instrument's own capacity
    counters are kept in ``meta["instrument_capacity"]`` for
    :func:`ncmsurf.cycling.summary` to cross-check.

    {choosing}

    Returns
    -------
    CyclingData

    {raises}
    """
    if mass is not None:
        options["mass"] = mass
    return _one(read(path, kind="cycling", **options), path, "cycling record")


@_reader_doc
def read_sims(path: str | os.PathLike[str], **options: Any) -> Any:
    """Read a ToF-SIMS depth profile (IONTOF SurfaceLab exports, sputter-time + fragment-column text).

    Ratio columns stay ratios, Dose and Fluence become coordinates, and fragment
    names are normalised with their isotopes (``^119Sn+``, ``60NiO2-``).

    {choosing}

    Returns
    -------
    DepthProfile

    {raises}
    """
    return _one(read(path, kind="sims", **options), path, "depth profile")


@_reader_doc
def read_eds(path: str | os.PathLike[str], **options: Any) -> Any:
    """Read EDS element maps (Bruker .bcf, JEOL .map, TIFF, NumPy, CSV matrices, zip, per-pixel text).

    A .bcf hypermap gives one map per element by integrating its line window, with
    the energy calibration and pixel size of the file.

    {choosing}

    Returns
    -------
    ElementMap

    {raises}
    """
    return _one(read(path, kind="eds", **options), path, "element map set")


@_reader_doc
def read_tem(path: str | os.PathLike[str], **options: Any) -> Any:
    """Read one TEM image (.dm3, .dm4, .emd, calibrated TIFF) into a :class:`~ncmsurf.core.tem.TEMImage`.

    The pixel size (nm) comes from the file's calibration.

    {choosing}

    Returns
    -------
    TEMImage

    {raises}
    """
    return _one(read(path, kind="tem", **options), path, "TEM image")
