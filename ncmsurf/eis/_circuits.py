"""Equivalent-circuit strings in impedance.py syntax, compiled once to numpy.

A circuit such as ``"R0-p(R1,CPE1)-p(R2-Wo1,CPE2)"`` is parsed into a small
tree, then turned into the source of one vectorised Python function
``z(p, w) -> complex ndarray`` (``p`` the free parameters, ``w`` the angular
frequencies) which is compiled with :func:`compile` and cached per string and
constant set. Element formulas follow impedance.py's ``elements.py`` (MIT),
except ``La``, which is L·(jω)^α as in its documentation and BioLogic's
application note 42 (impedance.py 1.7.1 computes (L·jω)^α).

Examples
--------
>>> c = compile_circuit("R0-p(R1,C1)")
>>> c.param_names
('R0', 'R1', 'C1')
>>> z = c([10.0, 100.0, 1e-3], np.array([1e-9, 1e9]))  # frequencies in Hz
>>> np.round(z.real, 6).tolist()
[110.0, 10.0]
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ncmsurf.core.errors import FitError

__all__ = [
    "ELEMENTS",
    "PRESETS",
    "CompiledCircuit",
    "ElementSpec",
    "compile_circuit",
    "element_type",
    "parse_circuit",
    "resolve_circuit",
]


@dataclass(frozen=True)
class ElementSpec:
    """One circuit element type.

    Attributes
    ----------
    n : int
        Number of parameters.
    units : tuple of str
    code : str
        numpy expression of the impedance using ``{0}``, ``{1}``, ... for the
        parameters, ``w`` (ω), ``jw`` (jω), ``lw`` (ln ω), ``HP`` (π/2),
        ``E4`` (exp(jπ/4)) and ``{t}`` (a temporary set by ``pre``).
    upper : tuple of float
        Default upper bound of each parameter (lower bounds are 0).
    admittance : str or None
        The admittance written directly (used inside parallel blocks).
    pre : str or None
        Statement assigning the temporary ``{t}``.
    """

    n: int
    units: tuple[str, ...]
    code: str
    upper: tuple[float, ...]
    admittance: str | None = None
    pre: str | None = None


_INF = float("inf")
# Formulas: ``code`` is the impedance; ``admittance`` (optional) its inverse written directly,
# ``pre`` an optional statement defining the temporary ``{t}``. ``w`` = ω, ``jw`` = jω, ``lw`` = ln ω,
# ``HP`` = π/2, ``E4`` = exp(jπ/4) (so √(jωτ) = √(ωτ)·E4 without a complex square root).
ELEMENTS: dict[str, ElementSpec] = {
    "R": ElementSpec(1, ("Ohm",), "{0}", (_INF,), admittance="(1.0 / {0})"),
    "C": ElementSpec(1, ("F",), "(-1j / ({0} * w))", (_INF,), admittance="(1j * ({0} * w))"),
    "L": ElementSpec(1, ("H",), "(1j * ({0} * w))", (_INF,)),
    "W": ElementSpec(1, ("Ohm sec^-1/2",), "({0} * (1 - 1j) / np.sqrt(w))", (_INF,)),
    "Wo": ElementSpec(2, ("Ohm", "sec"), "({0} / ({t} * np.tanh({t})))", (_INF, _INF),
                      pre="{t} = np.sqrt(w * {1}) * E4"),
    "Ws": ElementSpec(2, ("Ohm", "sec"), "({0} * np.tanh({t}) / {t})", (_INF, _INF),
                      pre="{t} = np.sqrt(w * {1}) * E4"),
    "CPE": ElementSpec(2, ("Ohm^-1 sec^a", ""), "(1.0 / ({0} * np.exp({1} * lw) * np.exp(1j * HP * {1})))",
                       (_INF, 1.0), admittance="({0} * np.exp({1} * lw) * np.exp(1j * HP * {1}))"),
    "La": ElementSpec(2, ("H sec", ""), "({0} * np.exp({1} * lw) * np.exp(1j * HP * {1}))", (_INF, 1.0)),
    "G": ElementSpec(2, ("Ohm", "sec"), "({0} / np.sqrt(1 + jw * {1}))", (_INF, _INF)),
    "Gs": ElementSpec(3, ("Ohm", "sec", ""), "({0} / ({t} * np.tanh({2} * {t})))", (_INF, _INF, _INF),
                      pre="{t} = np.sqrt(1 + jw * {1})"),
    "K": ElementSpec(2, ("Ohm", "sec"), "({0} / (1 + jw * {1}))", (_INF, _INF)),
    "Zarc": ElementSpec(3, ("Ohm", "sec", ""), "({0} / (1 + np.exp({2} * (lw + np.log({1}))) * np.exp(1j * HP * {2})))",
                        (_INF, _INF, 1.0)),
    "TLMQ": ElementSpec(3, ("Ohm", "F sec^(gamma - 1)", ""), "(np.sqrt({0} / {t}) / np.tanh(np.sqrt({0} * {t})))",
                        (_INF, _INF, 1.0), pre="{t} = {1} * np.exp({2} * lw) * np.exp(1j * HP * {2})"),
}

# Analytic derivatives dZ/dp_i of the elements, in terms of the element impedance ``{z}``,
# the parameters and the temporary ``{t}``. Elements missing here use finite differences.
DERIVATIVES: dict[str, tuple[str, ...]] = {
    "R": ("ONE",),
    "C": ("(-{z} / {0})",),
    "L": ("(1j * w)",),
    "W": ("((1 - 1j) / np.sqrt(w))",),
    "CPE": ("(-{z} / {0})", "(-{z} * (lw + 1j * HP))"),
    "La": ("(np.exp({1} * lw) * np.exp(1j * HP * {1}))", "({z} * (lw + 1j * HP))"),
    "Wo": ("(1.0 / ({t} * {th}))",
           "(-{0} * ({t} * (1.0 / ({th} * {th})) - {t} + 1.0 / {th}) / (2.0 * {1} * {t}))"),
    "Ws": ("({th} / {t})",
           "({0} * ((1.0 - {th} * {th}) * {t} - {th}) / (2.0 * {1} * {t}))"),
    "K": ("(1.0 / (1 + jw * {1}))", "(-{0} * jw / (1 + jw * {1}) ** 2)"),
}

#: Presets: circuit string and physical names of the parameters.
PRESETS: dict[str, tuple[str, dict[str, str]]] = {
    "randles": ("R0-p(R1-Wo1,C1)", {"R0": "R_s", "R1": "R_ct", "Wo1_0": "Z_W", "Wo1_1": "tau_W", "C1": "C_dl"}),
    "randles-cpe": ("R0-p(R1-Wo1,CPE1)", {"R0": "R_s", "R1": "R_ct", "Wo1_0": "Z_W", "Wo1_1": "tau_W",
                                          "CPE1_0": "Q_dl", "CPE1_1": "alpha_dl"}),
    "ncm": ("R0-p(R1,CPE1)-p(R2-W1,CPE2)", {"R0": "R_s", "R1": "R_SEI", "CPE1_0": "Q_SEI", "CPE1_1": "alpha_SEI",
                                            "R2": "R_ct", "W1": "sigma_W", "CPE2_0": "Q_dl", "CPE2_1": "alpha_dl"}),
}

_TOKEN = re.compile(r"\s*(?:(p\()|([A-Za-z]+_?\d*\w*)|(-)|(,)|(\)))")


def element_type(name: str) -> str:
    """Element type of an element name (``"CPE1"`` → ``"CPE"``; digits and ``_`` removed).

    Examples
    --------
    >>> element_type("Wo12"), element_type("R_0")
    ('Wo', 'R')
    """
    return "".join(ch for ch in name if not ch.isdigit() and ch != "_")


# tree nodes: ("e", name) | ("s", [nodes]) | ("p", [nodes])
Node = tuple[str, Any]


def parse_circuit(circuit: str) -> Node:
    """Parse an impedance.py circuit string into a tree.

    Raises
    ------
    FitError
        With the position of the first syntax error or unknown element.

    Examples
    --------
    >>> parse_circuit("R0-p(R1,C1)")
    ('s', [('e', 'R0'), ('p', [('e', 'R1'), ('e', 'C1')])])
    """
    text = circuit.replace(" ", "")
    if not text:
        raise FitError("circuit: empty string")
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FitError(f"circuit {circuit!r}: unexpected character {text[pos]!r} at position {pos}")
        kind = ("open", "name", "dash", "comma", "close")[m.lastindex - 1 if m.lastindex else 0]
        tokens.append((kind, m.group(m.lastindex or 0), pos))
        pos = m.end()
    idx = 0

    def peek() -> tuple[str, str, int] | None:
        return tokens[idx] if idx < len(tokens) else None

    def series() -> Node:
        nonlocal idx
        items = [term()]
        while (t := peek()) is not None and t[0] == "dash":
            idx += 1
            items.append(term())
        return items[0] if len(items) == 1 else ("s", items)

    def term() -> Node:
        nonlocal idx
        t = peek()
        if t is None:
            raise FitError(f"circuit {circuit!r}: ends where an element was expected")
        if t[0] == "open":
            idx += 1
            items = [series()]
            while (u := peek()) is not None and u[0] == "comma":
                idx += 1
                items.append(series())
            u = peek()
            if u is None or u[0] != "close":
                raise FitError(f"circuit {circuit!r}: missing ')' for p( at position {t[2]}")
            idx += 1
            if len(items) < 2:
                raise FitError(f"circuit {circuit!r}: p(...) at position {t[2]} needs at least two branches")
            return ("p", items)
        if t[0] == "name":
            idx += 1
            etype = element_type(t[1])
            if etype not in ELEMENTS:
                raise FitError(f"circuit {circuit!r}: unknown element {t[1]!r} at position {t[2]} "
                               f"(known: {', '.join(sorted(ELEMENTS))})")
            return ("e", t[1])
        raise FitError(f"circuit {circuit!r}: unexpected {t[1]!r} at position {t[2]}")

    tree = series()
    if idx != len(tokens):
        t = tokens[idx]
        raise FitError(f"circuit {circuit!r}: unexpected {t[1]!r} at position {t[2]}")
    if tree[0] != "s":
        tree = ("s", [tree])
    return tree


def _elements(node: Node) -> list[str]:
    if node[0] == "e":
        return [node[1]]
    out: list[str] = []
    for child in node[1]:
        out.extend(_elements(child))
    return out


@dataclass(frozen=True, eq=False)
class CompiledCircuit:
    """A circuit compiled to a numpy function.

    Attributes
    ----------
    circuit : str
        The circuit string.
    tree : tuple
        Parse tree.
    all_names : tuple of str
        Every parameter name in impedance.py order (``R0``, ``CPE1_0``, ...).
    param_names : tuple of str
        The free parameters (``all_names`` without the constants).
    constants : dict
        Fixed parameter values.
    lower, upper : numpy.ndarray
        Default bounds of the free parameters.
    units : tuple of str
        Unit of each free parameter.
    source : str
        Generated Python source.
    jac_source : str or None
        Source of the analytic derivative ``(z, dz/dp)`` function (``None``
        when an element has no analytic derivative; fits then use finite
        differences).
    """

    circuit: str
    tree: Node
    all_names: tuple[str, ...]
    param_names: tuple[str, ...]
    constants: Mapping[str, float]
    lower: np.ndarray
    upper: np.ndarray
    units: tuple[str, ...]
    source: str
    func: Callable[[np.ndarray, np.ndarray], np.ndarray]
    jac_source: str | None = None
    jac_func: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None

    def impedance(self, params: Sequence[float] | np.ndarray, omega: np.ndarray) -> np.ndarray:
        """Complex impedance at angular frequencies ``omega`` for free parameters ``params``."""
        w = np.asarray(omega, dtype=float)
        with np.errstate(all="ignore"):
            return self.func(np.asarray(params, dtype=float), w)

    def __call__(self, params: Sequence[float] | np.ndarray, frequency: np.ndarray) -> np.ndarray:
        """Complex impedance at frequencies (Hz)."""
        return self.impedance(params, 2 * np.pi * np.asarray(frequency, dtype=float))

    @property
    def element_names(self) -> tuple[str, ...]:
        """Element names in order of appearance."""
        return tuple(_elements(self.tree))


def _names_of(element: str) -> list[str]:
    spec = ELEMENTS[element_type(element)]
    return [element] if spec.n == 1 else [f"{element}_{i}" for i in range(spec.n)]


@functools.lru_cache(maxsize=256)
def _compile_cached(circuit: str, constants_items: tuple[tuple[str, float], ...]) -> CompiledCircuit:
    tree = parse_circuit(circuit)
    elems = _elements(tree)
    if len(set(elems)) != len(elems):
        dup = next(e for e in elems if elems.count(e) > 1)
        raise FitError(f"circuit {circuit!r}: element {dup!r} appears twice")
    constants = dict(constants_items)
    all_names: list[str] = []
    free: list[str] = []
    lower: list[float] = []
    upper: list[float] = []
    units: list[str] = []
    symbol: dict[str, str] = {}
    for e in elems:
        spec = ELEMENTS[element_type(e)]
        for i, name in enumerate(_names_of(e)):
            all_names.append(name)
            const = constants.get(name, constants.get(e) if spec.n == 1 else None)
            if const is not None:
                symbol[name] = repr(float(const))
            else:
                symbol[name] = f"p[{len(free)}]"
                free.append(name)
                lower.append(0.0)
                upper.append(spec.upper[i])
                units.append(spec.units[i])
    unknown = set(constants) - set(all_names) - set(elems)
    if unknown:
        raise FitError(f"constants: {sorted(unknown)} are not parameters of {circuit!r} (parameters: {all_names})")

    lines: list[str] = []

    def element(name: str, want_y: bool) -> str:
        spec = ELEMENTS[element_type(name)]
        args = [symbol[n] for n in _names_of(name)]
        t = f"t{len(lines)}"
        if spec.pre:
            lines.append(spec.pre.format(*args, t=t))
        if want_y:
            return spec.admittance.format(*args, t=t) if spec.admittance else f"(1.0 / {spec.code.format(*args, t=t)})"
        return spec.code.format(*args, t=t)

    def expr(node: Node, want_y: bool = False) -> str:
        if node[0] == "e":
            return element(node[1], want_y)
        if node[0] == "s":
            z = "(" + " + ".join(expr(c) for c in node[1]) + ")"
            return f"(1.0 / {z})" if want_y else z
        y = "(" + " + ".join(expr(c, True) for c in node[1]) + ")"
        return y if want_y else f"(1.0 / {y})"

    body = expr(tree)
    text = "\n".join(lines) + body
    head = ["def _z(p, w):"]
    if "jw" in text:
        head.append("    jw = 1j * w")
    if "lw" in text:
        head.append("    lw = np.log(w)")
    source = "\n".join(head + [f"    {ln}" for ln in lines] + [f"    return {body} + 0j * w", ""])
    namespace: dict[str, Any] = {"np": np, "HP": np.pi / 2, "E4": np.exp(1j * np.pi / 4)}
    exec(compile(source, f"<circuit {circuit}>", "exec"), namespace)
    jac_source = _jacobian_source(tree, symbol, free)
    jac_func = None
    if jac_source is not None:
        exec(compile(jac_source, f"<circuit jacobian {circuit}>", "exec"), namespace)
        jac_func = namespace["_dz"]
    return CompiledCircuit(circuit, tree, tuple(all_names), tuple(free), constants, np.array(lower),
                           np.array(upper), tuple(units), source, namespace["_z"], jac_source, jac_func)


def _jacobian_source(tree: Node, symbol: Mapping[str, str], free: Sequence[str]) -> str | None:
    """Source of ``_dz(p, w) -> (z, dz)`` with dz[i] = ∂Z/∂p[i], or None if an element lacks a derivative."""
    if any(element_type(e) not in DERIVATIVES for e in _elements(tree)):
        return None
    lines: list[str] = []
    index = {name: i for i, name in enumerate(free)}
    counter = [0]

    def new(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def gen(node: Node) -> tuple[str, dict[int, str]]:
        if node[0] == "e":
            name = node[1]
            et = element_type(name)
            spec = ELEMENTS[et]
            names = _names_of(name)
            args = [symbol[n] for n in names]
            t = new("t")
            if spec.pre:
                lines.append(spec.pre.format(*args, t=t))
            th = new("th")
            code = spec.code.format(*args, t=t)
            if any("{th}" in d for d in DERIVATIVES[et]):
                lines.append(f"{th} = np.tanh({t})")
                code = code.replace(f"np.tanh({t})", th)
            z = new("z")
            lines.append(f"{z} = {code}" + (" + ZERO" if et == "R" else ""))
            ds: dict[int, str] = {}
            for k, pname in enumerate(names):
                if pname in index:
                    d = new("d")
                    lines.append(f"{d} = {DERIVATIVES[et][k].format(*args, t=t, z=z, th=th)}")
                    ds[index[pname]] = d
            return z, ds
        parts = [gen(c) for c in node[1]]
        z = new("z")
        if node[0] == "s":
            lines.append(f"{z} = " + " + ".join(p[0] for p in parts))
            merged: dict[int, str] = {}
            for _, ds in parts:
                merged.update(ds)
            return z, merged
        lines.append(f"{z} = 1.0 / (" + " + ".join(f"1.0 / {p[0]}" for p in parts) + ")")
        merged = {}
        for zc, ds in parts:
            if ds:
                f = new("f")
                lines.append(f"{f} = {z} / {zc}")
                lines.append(f"{f} = {f} * {f}")
                for i, d in ds.items():
                    merged[i] = f"({f} * {d})"
        return z, merged

    z, ds = gen(tree)
    body = [f"    {ln}" for ln in lines]
    out = ["def _dz(p, w):", "    jw = 1j * w", "    lw = np.log(w)", "    ZERO = 0j * w", "    ONE = 1.0 + ZERO",
           *body, f"    dz = np.empty(({len(free)},) + np.shape({z}), dtype=complex)"]
    out += [f"    dz[{i}] = {ds[i]}" for i in range(len(free))]
    out += [f"    return {z}, dz", ""]
    return "\n".join(out)


def compile_circuit(circuit: str, constants: Mapping[str, float] | None = None) -> CompiledCircuit:
    """Compile (once; cached) an impedance.py circuit string.

    Parameters
    ----------
    circuit : str
        E.g. ``"R0-p(R1,CPE1)"``; also a preset name (``"ncm"``).
    constants : mapping, optional
        Parameter name (``"R0"``, ``"CPE1_1"``) → fixed value.

    Examples
    --------
    >>> compile_circuit("ncm").param_names
    ('R0', 'R1', 'CPE1_0', 'CPE1_1', 'R2', 'W1', 'CPE2_0', 'CPE2_1')
    >>> compile_circuit("R0-p(R1,CPE1)", {"CPE1_1": 0.9}).param_names
    ('R0', 'R1', 'CPE1_0')
    """
    circuit = PRESETS[circuit][0] if circuit in PRESETS else circuit
    items = tuple(sorted((str(k), float(v)) for k, v in (constants or {}).items()))
    return _compile_cached(circuit.replace(" ", ""), items)


def resolve_circuit(circuit: Any) -> tuple[str, dict[str, str], list[float] | None, dict[str, float]]:
    """Circuit string, physical names, initial guess and constants from a string, preset or CustomCircuit."""
    if isinstance(circuit, str):
        if circuit in PRESETS:
            s, names = PRESETS[circuit]
            return s, dict(names), None, {}
        s = circuit.replace(" ", "")
        for _key, (ps, names) in PRESETS.items():
            if ps == s:
                return s, dict(names), None, {}
        return s, {}, None, {}
    text = getattr(circuit, "circuit", None)
    if isinstance(text, str):  # impedance.py CustomCircuit
        guess = getattr(circuit, "initial_guess", None)
        consts = dict(getattr(circuit, "constants", {}) or {})
        s, names, _, _ = resolve_circuit(text)
        return s, names, (list(map(float, guess)) if guess else None), consts
    raise FitError(f"circuit: expected an impedance.py circuit string, a preset {sorted(PRESETS)} "
                   f"or a CustomCircuit, got {type(circuit).__name__}")
