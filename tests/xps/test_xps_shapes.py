"""Line shapes and backgrounds: analytic limits, property tests (hypothesis), vectorised stacks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ncmsurf as ns
from ncmsurf.core.errors import ValidationError
from ncmsurf.xps import _lineshapes as ls
from ncmsurf.xps._engine import compile_model, evaluate

X = np.linspace(-400, 400, 160001)  # wide, fine grid: tails of the Lorentzian-type shapes are inside


@settings(max_examples=12, deadline=None)
@given(area=st.floats(0.1, 1e5), fwhm=st.floats(0.3, 4.0), extra=st.floats(0.0, 1.0))
def test_area_parameter_is_the_integral(area, fwhm, extra):
    # analytic: every shape is normalised to unit area; Lorentzian tails beyond +-400 eV hold
    # fwhm/(pi*400) of the area at most, hence rtol 2e-3
    cases = [ls.gaussian(X, area, 0.0, fwhm), ls.lorentzian(X, area, 0.0, fwhm), ls.voigt(X, area, 0.0, fwhm, extra),
             ls.pseudo_voigt(X, area, 0.0, fwhm, extra), ls.gl(X, area, 0.0, fwhm, extra),
             ls.sgl(X, area, 0.0, fwhm, extra), ls.la(X, area, 0.0, fwhm, 1.0 + extra, 2.0, 0.3)]
    for y in cases:
        assert np.trapezoid(y, X) == pytest.approx(area, rel=4e-3)


def test_shape_limits():
    x = np.linspace(-10, 10, 2001)
    # Voigt with gamma = 0 is the Gaussian; GL(0) and SGL(0) are Gaussians, GL(100)=SGL(100)=Lorentzian
    np.testing.assert_allclose(ls.voigt(x, 2, 0.3, 1.1, 0.0), ls.gaussian(x, 2, 0.3, 1.1), rtol=1e-12)
    np.testing.assert_allclose(ls.gl(x, 2, 0, 1.1, 0.0), ls.gaussian(x, 2, 0, 1.1), rtol=1e-9)
    np.testing.assert_allclose(ls.sgl(x, 2, 0, 1.1, 1.0), ls.lorentzian(x, 2, 0, 1.1), rtol=1e-12)
    np.testing.assert_allclose(ls.gl(x, 2, 0, 1.1, 1.0), ls.lorentzian(x, 2, 0, 1.1), rtol=1e-9)
    # full width at half maximum of the Gaussian and Lorentzian
    for f in (ls.gaussian, ls.lorentzian):
        y = f(x, 1.0, 0.0, 2.0)
        half = x[y >= y.max() / 2]
        assert half[-1] - half[0] == pytest.approx(2.0, abs=0.011)
    # Doniach-Sunjic: alpha = 0 reduces to the Voigt; alpha > 0 puts a tail on the high-BE side
    np.testing.assert_allclose(ls.doniach_sunjic(x, 1, 0, 0.8, 0.3, 0.0), ls.voigt(x, 1, 0, 0.8, 0.3), atol=2e-3)
    ds = ls.doniach_sunjic(x, 1, 0, 0.8, 0.3, 0.2)
    assert ds[x > 3].sum() > 3 * ds[x < -3].sum()
    la = ls.la(x, 1, 0, 1.0, 1.0, 3.0, 0.5)
    assert la[x > 2].sum() > la[x < -2].sum()


def test_analytic_jacobian_matches_finite_differences():
    comps = [ns.xps.Doublet("A", 0.0, splitting=3.0, ratio=0.5, fwhm=1.0, shape="voigt", gamma=0.2,
                            splitting_bounds=(2.5, 3.5), ck_bounds=(0.0, 1.0), ck=0.2, free=("gamma",)),
             ns.xps.Satellite("A sat", parent="A", offset=5.0, ratio=0.3, fwhm=2.0, offset_bounds=(4, 6),
                              ratio_bounds=(0, 1), shape="gaussian"),
             ns.xps.Peak("B", -2.0, shape="GL(30)", free=("eta",)),
             ns.xps.Peak("C", 1.0, shape="lorentzian")]
    cm = compile_model(comps)
    x = np.linspace(-8, 12, 401)
    p = np.asarray(cm.init) * (1 + 0.01 * np.arange(cm.nfree) / cm.nfree)
    _, J, _ = evaluate(cm, p, x, jac=True)
    for i in range(cm.nfree):
        h = 1e-6 * max(abs(p[i]), 1.0)
        up, dn = p.copy(), p.copy()
        up[i] += h
        dn[i] -= h
        num = (evaluate(cm, up, x)[0] - evaluate(cm, dn, x)[0]) / (2 * h)
        np.testing.assert_allclose(J[:, i], num, atol=1e-5 * np.abs(num).max() + 1e-9, err_msg=cm.names[i])


@settings(max_examples=40, deadline=None)
@given(ratio=st.floats(0.1, 1.0), split=st.floats(2.0, 20.0), area=st.floats(1.0, 1e4))
def test_doublet_ratio_holds(ratio, split, area):
    d = ns.xps.Doublet("D", 100.0, splitting=split, ratio=ratio, area=area, fwhm=1.0, shape="gaussian")
    cm = compile_model([d])
    x = np.linspace(80, 140, 6001)
    _, _, curves = evaluate(cm, np.asarray(cm.init), x, per_line=True)
    a_main, a_partner = (np.trapezoid(c, x) for c in curves)
    assert a_partner / a_main == pytest.approx(ratio, rel=1e-6)  # tie is exact by construction
    assert x[np.argmax(curves[1])] - x[np.argmax(curves[0])] == pytest.approx(split, abs=0.011)


@settings(max_examples=60, deadline=None)
@given(lo=st.floats(0, 1e4), k=st.floats(0, 0.5), amp=st.floats(1, 1e5), c=st.floats(-2, 2),
       w=st.floats(0.5, 2.0))
def test_shirley_monotone_between_endpoints(lo, k, amp, c, w):
    # a peak on its own Shirley step, y = lo + g + k * integral(g): the background rises monotonically from
    # the low-BE end level to the high-BE end level (and recovers lo + k * integral(g))
    from ncmsurf.xps._backgrounds import cumulative_integral

    x = np.linspace(-12, 12, 241)
    g = amp * np.exp(-(((x - c) / w) ** 2))
    y = lo + g + k * cumulative_integral(x, g)
    b = ns.xps.shirley(x, y)
    assert b[0] == pytest.approx(y[0]) and b[-1] == pytest.approx(y[-1])
    tol = 1e-6 * (abs(y).max() + 1)
    assert np.all(np.diff(b) >= -tol)
    assert np.all((b >= y[0] - tol) & (b <= y[-1] + tol))
    np.testing.assert_allclose(b, y - g, atol=1e-4 * (amp + 1) + 1e-6 * lo)
    # order of the energies does not matter
    np.testing.assert_allclose(ns.xps.shirley(x[::-1], y[::-1])[::-1], b, rtol=1e-10, atol=1e-9)


def test_shirley_tougaard_vectorised_stacks():
    x = np.linspace(690, 760, 351)
    rng = np.random.default_rng(0)
    stack = 100 + rng.uniform(500, 3000, (4, 1)) * np.exp(-((x - 710) / 1.5) ** 2) + rng.uniform(0, 50, (4, 1)) * (
        x > 710)
    for f in (ns.xps.shirley, ns.xps.tougaard, ns.xps.linear):
        b = f(x, stack)
        for i in range(4):
            # same result row by row; the stacked Shirley iterates until every row converged (tol 1e-6)
            np.testing.assert_allclose(b[i], f(x, stack[i]), rtol=1e-7)


def test_tougaard_against_direct_sum():
    # analytic/direct: B(E_i) = y_lo + B sum_{j: E_j < E_i} K(E_i - E_j) (y_j - y_lo) dE
    x = np.linspace(0, 50, 101)
    y = 10 + 100 * np.exp(-((x - 10) / 2) ** 2)
    b = ns.xps.tougaard(x, y, B=2866, C=1643)
    lo = y[0]
    direct = np.array([lo + 2866 * sum((xi - xj) / (1643 + (xi - xj) ** 2) ** 2 * (yj - lo) * 0.5
                                       for xj, yj in zip(x, y) if xj < xi) for xi in x])
    np.testing.assert_allclose(b, direct, rtol=1e-12, atol=1e-12)
    u3 = ns.xps.tougaard(x, y, B=335.4, C=551, D=436, kind="U3")
    assert u3[-1] > u3[0]
    fitted = ns.xps.tougaard(x, y + 5 * (x > 10), fit_B=True)
    assert fitted[-1] == pytest.approx((y + 5 * (x > 10))[-1])


def test_background_input_errors():
    with pytest.raises(ValidationError, match="monotonic"):
        ns.xps.shirley([1, 3, 2, 4], [1, 2, 3, 4])
    with pytest.raises(ValidationError, match="points"):
        ns.xps.linear([1, 2, 3], [1, 2])
    with pytest.raises(ValidationError, match="kind"):
        ns.xps.tougaard([1, 2, 3], [1, 2, 3], kind="U9")


def test_sgl_matches_casaxps_export():
    """CasaXPS's own SGL(30) component curves for FeO_analyzed.vms (FeO_analyzed_lineshapes_cols.txt).

    The export's component columns are background + component in counts; CasaXPS areas are in CPS*eV and
    Counts = CPS * 2 s (README), so component = 2 * sgl(KE, area, position, fwhm, 0.3).
    """
    from conftest import shared_file

    d = np.loadtxt(shared_file("xps", "FeO_analyzed_lineshapes_cols.txt"), skiprows=8, usecols=range(8))
    ke, bg = d[:, 0], d[:, 6]
    for col, area, fwhm, pos in [(3, 35837.064, 8.0, 770.61), (5, 17705.155, 7.8295407, 756.72212)]:
        casa = d[:, col] - bg
        ours = 2.0 * ls.sgl(ke, area, pos, fwhm, 0.3)
        assert np.abs(ours - casa).max() < 2e-3 * casa.max()


def test_doublet_ratio_follows_the_orbital():
    # degeneracy ratios (2j- + 1) / (2j+ + 1): p 1/2, d 2/3, f 3/4
    from ncmsurf.xps import Doublet

    assert Doublet("Ni2+", 854.4, splitting=17.4).ratio == 0.5
    d = Doublet("Ce4+", 882.5, splitting=18.4, orbital="3d")
    assert d.ratio == pytest.approx(2 / 3) and d.lines() == ("3d5/2", "3d3/2")
    assert Doublet("Pt 4f", 71.2, splitting=3.33).ratio == pytest.approx(3 / 4)
    assert Doublet("x", 71.2, splitting=3.33, lines_labels=("4f7/2", "4f5/2")).ratio == pytest.approx(3 / 4)
    assert Doublet("y", 71.2, splitting=3.33, orbital="4f", ratio=0.7).ratio == 0.7  # an explicit ratio wins
    back = ns.xps._peaks.component_from_dict(d.to_dict())
    assert back == d
