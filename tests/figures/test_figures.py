"""ns.figures: every figure function on the demo study and on the real files, verdict marks, notes, styles, files."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.results import FitResult, Quality

pytest.importorskip("matplotlib")

RATE_LABEL = re.compile(r"^(\d+(\.\d+)?C|C/\d+)$")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The analysed demo study (every kind)."""
    folder = ns.datasets.demo_study(tmp_path_factory.mktemp("demo"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return ns.Study.from_folder(folder).analyze(progress=False)


def _texts(fig: Any) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
    sup = getattr(fig, "_supxlabel", None)
    if sup is not None:
        out.append(sup.get_text())
    return out


def _clean(fig: Any) -> None:
    problems = ns.figures.check_layout(fig)
    assert problems == [], problems[:5]


# ------------------------------------------------------------------------- labels
def test_rate_and_unit_labels() -> None:
    assert ns.figures.rate_label(0.0974998) == "0.1C"
    assert ns.figures.rate_label(4.87499) == "5C"
    assert ns.figures.rate_label(1 / 3) == "C/3"
    assert ns.figures.rate_label(0.7) == "0.7C"
    assert ns.figures.unit_text("ohm*cm**2") == "Ω·cm²"
    assert ns.figures.unit_text("mAh/g") == "mAh g⁻¹"
    assert ns.figures.unit_text("uF/cm**2") == "µF cm⁻²"
    assert ns.figures.axis_label("x", "1") == "x"


def test_route_colours_are_the_same_in_every_figure_and_colour_blind_safe() -> None:
    a1, a5 = ns.Sample.parse("A(1)-NCM"), ns.Sample.parse("A(5)-NCM")
    group = [a1, ns.Sample.parse("A(3)-NCM"), a5]
    assert ns.figures.sample_color(a5, group) == pytest.approx(
        tuple(int(ns.figures.ROUTE_COLORS["A"][i:i + 2], 16) / 255 for i in (1, 3, 5)))
    assert ns.figures.sample_color(a1, group) != ns.figures.sample_color(a5, group)
    assert set(ns.figures.ROUTE_COLORS.values()) <= set(ns.figures.OKABE_ITO.values())


# -------------------------------------------------------------------- on the demo
def test_xps_panels_on_the_demo(demo: Any) -> None:
    fig = ns.figures.xps_panels(demo, ["Ni 2p", "Li 1s"], ["P-NCM", "A(3)-NCM", "F(3)-NCM"])
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 6
    for ax in axes:
        lo, hi = ax.get_xlim()
        assert lo > hi  # binding energy from high to low
        assert ax.collections, "components are filled"
    assert "Intensity (counts)" in axes[0].get_ylabel() and "Ni 2p" in axes[0].get_ylabel()
    assert axes[0].get_yticks().size > 0  # an intensity axis
    texts = _texts(fig)
    assert "fresh" in texts and "after 100 cycles" in texts
    assert [ax.get_title() for ax in axes[:3]] == ["P-NCM", "A(3)-NCM", "F(3)-NCM"]
    _clean(fig)


def test_xps_panels_drop_a_sample_without_spectra_with_a_note(demo: Any) -> None:
    fig = ns.figures.xps_panels(demo, ["Al 2p"], ["P-NCM", "A(3)-NCM"], "fresh")
    assert len(fig.axes) == 1
    assert any("P-NCM" in n and "not shown" in n for n in ns.figures.figure_notes(fig))


def test_nyquist_on_the_demo_fills_its_panels(demo: Any) -> None:
    fig = ns.figures.nyquist(demo)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert ax.get_xlabel() == "Z′ (Ω·cm²)" and ax.get_ylabel() == "−Z″ (Ω·cm²)"
        assert ax.get_aspect() == 1.0
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        data = np.concatenate([np.column_stack(line.get_data()) for line in ax.lines])
        # the data span at least 80 % of both axes: no band of empty space
        assert (data[:, 0].max() - data[:, 0].min()) / (x1 - x0) > 0.8
        assert (data[:, 1].max() - max(data[:, 1].min(), y0)) / (y1 - y0) > 0.8
        assert len(ax.lines) == 14  # 7 samples: points and fitted curve
    _clean(fig)


def test_rate_eis_cycling_on_the_demo(demo: Any) -> None:
    fig = ns.figures.rate_eis_cycling(demo, ["A(1)-NCM", "F(1)-NCM"])
    a, b, c = fig.axes
    labels = [t.get_text() for t in a.texts if RATE_LABEL.match(t.get_text())]
    assert labels[:6] == ["0.1C", "0.2C", "0.5C", "1C", "2C", "5C"]
    assert not any("0.09" in t or "4.9" in t for t in _texts(fig))
    for ax in (a, c):
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert all(float(t).is_integer() for t in ticks)
        assert ax.get_ylabel() == "Discharge capacity (mAh g⁻¹)"
    assert b.get_xlabel() == "Z′ (Ω·cm²)"
    assert c.get_title() == "Cycling at 1C"
    legend = [t.get_text() for t in a.get_legend().get_texts()]
    assert legend == ["A(1)-NCM", "F(1)-NCM"]
    _clean(fig)


def test_dqdv_of_the_demo_resolves_the_three_ncm_transitions(demo: Any) -> None:
    from scipy.signal import find_peaks

    from ncmsurf.datasets.cycling import NCM_PEAKS

    fig = ns.figures.dqdv(demo, ["A(3)-NCM"])
    ax = fig.axes[0]
    assert ax.get_ylabel() == "dQ/dV (mAh g⁻¹ V⁻¹)"
    v, y = (np.asarray(z, dtype=float) for z in ax.lines[0].get_data())
    peaks, _ = find_peaks(y, prominence=0.2 * y.max())
    found = sorted(v[peaks])
    assert len(found) == 3
    for (centre, _width, _), at in zip(NCM_PEAKS.values(), found):
        assert abs(at - centre) < 0.05  # the generator's transitions plus a small 0.1C overpotential
    top = y >= 0.98 * y.max()
    assert np.count_nonzero(top) < 0.03 * y.size  # a peak, not a flat top
    _clean(fig)


def test_dqdv_drops_a_cell_without_that_half_cycle_with_a_note() -> None:
    from ncmsurf.datasets.cycling import synthetic_record

    ok = synthetic_record(n_cycles=3, seed=1)
    full = synthetic_record(n_cycles=3, seed=2)
    i = full.current
    start = int(np.flatnonzero(i > 0)[0])
    stop = start + int(np.flatnonzero(i[start:] <= 0)[0])
    keep = np.ones(i.size, dtype=bool)
    keep[start:stop] = False  # this record starts without its first charge: cycle 0 is a lone discharge
    bad = ns.CyclingData(full.time[keep], full.voltage[keep], full.current[keep], mass=full.mass)
    with pytest.raises(ns.ValidationError, match="A[(]1[)]-NCM: no dQ/dV of cycle 0.*F[(]1[)]-NCM"):
        ns.figures.dqdv({"A(1)-NCM": ok, "F(1)-NCM": bad}, cycle=0)  # no cell has it: says why for each
    fig = ns.figures.dqdv({"A(1)-NCM": ok, "F(1)-NCM": bad, "F(3)-NCM": full}, cycle=3)
    assert [ln.get_label() for ln in fig.axes[0].lines] == ["A(1)-NCM", "F(3)-NCM"]
    notes = ns.figures.figure_notes(fig)
    assert any(n.startswith("F(1)-NCM: no dQ/dV of cycle 3") for n in notes), notes
    assert any("F(1)-NCM" in t for t in _texts(fig))  # the note is written under the figure
    # by default each cell's first complete cycle: the record without its first charge is still drawn
    default = ns.figures.dqdv({"A(1)-NCM": ok, "F(1)-NCM": bad})
    assert len(default.axes[0].lines) == 2


def test_eds_maps_on_the_demo(demo: Any) -> None:
    fig = ns.figures.eds_maps(demo, ["A(3)-NCM", "F(3)-NCM"])
    assert len(fig.axes) == 2 * 5
    texts = _texts(fig)
    assert {"Ni", "Co", "Mn", "Al", "Ni + Al"} <= set(texts)
    bars = [t for t in texts if re.fullmatch(r"\d+(\.\d+)? (nm|µm)", t)]
    assert len(bars) == 10
    # the paper's colours: the brightest Ni pixel is sky blue
    img = fig.axes[0].get_images()[0]
    rgba = img.to_rgba(img.get_array())
    r, g, b = rgba.reshape(-1, 4)[np.argmax(np.asarray(img.get_array()).ravel()), :3]
    assert b > r and g > r
    other = ns.figures.eds_maps(demo, ["A(3)-NCM"], colors={"Al": "yellow"}, overlay=["Al"])
    assert len(other.axes) == 5
    _clean(fig)


def test_sims_profiles_on_the_demo_after_cycling(demo: Any) -> None:
    fig = ns.figures.sims_profiles(demo, ["P-NCM", "A(3)-NCM", "F(3)-NCM"])
    assert len(fig.axes) == 3
    for ax in fig.axes:
        assert ax.get_yscale() == "log" and ax.get_xlabel() == "Depth (nm)"
        assert "after 100 cycles" in ax.get_title()
        assert len(ax.lines) == 6
    assert fig.axes[0].get_ylabel() == "Intensity (counts)"
    fresh = ns.figures.sims_profiles(demo, ["A(3)-NCM"], "fresh", fragments=["AlO2-", "NiO2-"], x="time")
    assert fresh.axes[0].get_xlabel() == "Sputter time (s)" and len(fresh.axes[0].lines) == 2
    _clean(fig)


def test_metrics_vs_n_on_the_demo(demo: Any) -> None:
    fig = ns.figures.metrics_vs_n(demo, ["r_ct", "first_capacity", "c_sei", "ni2_fraction"])
    labels = {ax.get_title(): ax.get_ylabel() for ax in fig.axes if ax.get_visible()}
    assert labels["R_ct"] == "R_ct (Ω·cm²)"
    assert labels["First capacity"] == "First capacity (mAh g⁻¹)"
    assert labels["C_SEI"] == "C_SEI (µF cm⁻²)"
    _clean(fig)


def test_tem_on_the_demo_measures_the_shells(demo: Any) -> None:
    import importlib.util

    if importlib.util.find_spec("ncmsurf.tem") is None:
        pytest.skip("the TEM engine is not installed in this build")
    truth = demo.manifest_extra["truth"]
    fig = ns.figures.tem(demo)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 6  # the fresh coated samples
    for title in titles:
        label = title.split(":")[0]
        m = re.search(r"d = ([\d.]+) ± ([\d.]+) nm", title)
        d = truth[label]["tem_thickness_nm"]
        if d >= 1.0:  # resolved shells: the measured thickness near the generator's
            assert m is not None and abs(float(m.group(1)) - d) < 0.3, (title, d)
        elif m is None:  # unresolved ones carry a failed verdict on the panel
            assert title.endswith("thickness not measured")
    notes = ns.figures.figure_notes(fig)
    assert any("A(1)-NCM coating thickness failed" in n for n in notes), notes
    _clean(fig)


def test_tem_draws_scale_bar_and_thickness_with_verdict() -> None:
    class Thickness:  # the shape of the TEM engine's result
        def __init__(self, level: str) -> None:
            self.quality = Quality(level, [] if level == "good" else [("degenerate", "few profiles usable")])
            self.used = np.array([True, True, False])
            self.thickness = (3.0, 0.1)

        def points(self, which: str) -> np.ndarray:
            y = 10.0 if which == "inner" else 13.0
            return np.array([[5.0, y], [10.0, y], [15.0, y]])

    img = np.random.default_rng(0).normal(100, 5, (200, 200))
    fig = ns.figures.tem({"A(3)-NCM": (img, 0.1)}, results={"A(3)-NCM": Thickness("good")})
    texts = _texts(fig)
    assert "A(3)-NCM: d = 3.00 ± 0.10 nm" in texts
    assert "5 nm" in texts  # a 1-2-5 bar of a 20 nm wide image
    assert not any(t.startswith("suspect") or t.startswith("failed") for t in texts)
    bad = ns.figures.tem({"A(3)-NCM": (img, 0.1)}, results={"A(3)-NCM": Thickness("failed")})
    assert any(t.startswith("failed: few profiles usable") for t in _texts(bad))
    _clean(fig)


# ---------------------------------------------------------------------- verdicts
class _Marked:
    """A real XPS fit with another verdict (as the result core gives it)."""

    def __init__(self, fit: Any, level: str) -> None:
        self._fit = fit
        self.success = level != "failed"
        self.message = "did not converge" if level == "failed" else ""
        self.quality = Quality(level, [("at_bound", "Ni3+.fwhm at its bound")] if level == "suspect" else
                               [("not_converged", "did not converge")])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fit, name)


@pytest.mark.parametrize("level", ["suspect", "failed"])
def test_a_suspect_or_failed_xps_fit_is_never_drawn_like_a_good_one(level: str) -> None:
    from ncmsurf.datasets.xps import synthetic_spectrum

    spec = synthetic_spectrum("Ni 2p", fractions={"Ni2+": 0.3, "Ni3+": 0.7}, seed=1, sample="A(3)-NCM")
    fit = ns.xps.fit(spec, "Ni 2p")
    good = ns.figures.xps_panels([(spec, fit)])
    marked = ns.figures.xps_panels([(spec, _Marked(fit, level))])
    g_ax, m_ax = good.axes[0], marked.axes[0]
    assert g_ax.lines[-1].get_linestyle() == "-"
    assert m_ax.lines[-1].get_linestyle() != "-"
    assert all(not c.get_hatch() for c in g_ax.collections)
    assert all(c.get_hatch() for c in m_ax.collections if c.get_label() != "data")
    assert not any(t.get_text().startswith(("suspect", "failed")) for t in g_ax.texts)
    assert any(level in t.get_text() for t in m_ax.texts)
    assert any(level in n for n in ns.figures.figure_notes(marked))


def test_verdict_reads_the_result_core_quality() -> None:
    r = FitResult.build(names=["a"], values=[1.0], quality=Quality("suspect", [("at_bound", "a at its bound")]))
    v = ns.figures.verdict(r)
    assert v.level == "suspect" and v.reasons == ["a at its bound"]
    assert v.text() == "suspect: a at its bound"
    assert ns.figures.verdict(FitResult.build(names=["a"], values=[1.0], success=False)).level == "failed"


def test_a_suspect_circuit_fit_is_marked_on_the_nyquist_plot() -> None:
    from ncmsurf.datasets.eis import synthetic_spectrum

    spec = synthetic_spectrum("R0-p(R1,CPE1)", {"R0": 10.0, "R1": 50.0, "CPE1_0": 1e-5, "CPE1_1": 0.9},
                              frequency=np.logspace(5, -1, 40), noise=0.002, seed=1, sample="A(1)-NCM")
    fit = ns.eis.fit(spec, "R0-p(R1,CPE1)")
    fig = ns.figures.nyquist([(spec, _Marked(fit, "suspect"))])
    line = fig.axes[0].lines[1]
    assert line.get_linestyle() == "--"
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["A(1)-NCM (suspect fit)"]
    assert any("suspect: Ni3+.fwhm at its bound" in t for t in _texts(fig))


# ------------------------------------------------------------------ styles, files
def test_styles(demo: Any) -> None:
    paper = ns.figures.nyquist(demo, ["A(3)-NCM"], "fresh")
    talk = ns.figures.nyquist(demo, ["A(3)-NCM"], "fresh", style="presentation")
    assert talk.axes[0].xaxis.label.get_fontsize() > paper.axes[0].xaxis.label.get_fontsize()
    custom = ns.figures.nyquist(demo, ["A(3)-NCM"], "fresh", style={"axes.labelsize": 13})
    assert custom.axes[0].xaxis.label.get_fontsize() == 13
    ggplot = ns.figures.nyquist(demo, ["A(3)-NCM"], "fresh", style="ggplot")
    assert ggplot.axes[0].get_facecolor() != paper.axes[0].get_facecolor()
    with pytest.raises(ns.ValidationError, match="style"):
        ns.figures.nyquist(demo, style="no-such-style")


def test_save_writes_valid_pdf_svg_png_at_300_dpi(demo: Any, tmp_path: Path) -> None:
    from PIL import Image

    fig = ns.figures.sims_profiles(demo, ["A(3)-NCM"])
    files = ns.figures.save(fig, tmp_path / "sub" / "fig")
    assert [p.suffix for p in files] == [".pdf", ".svg", ".png"]
    assert files[0].read_bytes()[:5] == b"%PDF-" and files[0].read_bytes().rstrip()[-5:] == b"%%EOF"
    assert b"<svg" in files[1].read_bytes()[:1000]
    with Image.open(files[2]) as im:
        assert im.format == "PNG" and round(im.info["dpi"][0]) >= 300
        assert im.size[0] >= 300 * fig.get_size_inches()[0] * 0.99
    with pytest.raises(ns.ValidationError, match="formats"):
        ns.figures.save(fig, tmp_path / "x", "bmp")


def test_supplementary_set_on_the_demo(demo: Any, tmp_path: Path) -> None:
    res = ns.figures.supplementary(demo, tmp_path, formats=("png",), dpi=120)
    keys = [s.key for s in ns.figures.SI_FIGURES]
    assert len(keys) == 10
    tem = bool(demo.manifest_extra.get("images")) or "tem" in {e.kind for e in demo.entries}
    assert set(res.files) == set(keys) - (set() if tem else {"S9_tem"})
    if not tem:
        assert "no tem measurements" in res.skipped["S9_tem"]
    for files in res.files.values():
        assert files[0].stat().st_size > 10_000
    only = ns.figures.supplementary(demo, tmp_path / "only", samples=["A(5)-NCM"], formats="png", dpi=72,
                                    figures=["S4"])
    assert list(only.files) == ["S4_nyquist"]


# -------------------------------------------------------------------- real files
def test_nyquist_on_the_real_spectra_with_fits() -> None:
    pairs = {}
    for k, name in enumerate(("exampleDataBioLogic.mpt", "Circuit1_EIS_1.z", "exampleDataGamry.DTA")):
        spec = ns.read_eis(shared_file("eis", name))[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pairs[f"P-NCM@{k}"] = (spec, ns.eis.fit(spec))
    fig = ns.figures.nyquist(pairs, area_normalised=False)
    assert len(fig.axes) == 3 and fig.axes[0].get_xlabel() == "Z′ (Ω)"
    for ax in fig.axes:
        assert len(ax.lines) == 2
    _clean(fig)
    bode = ns.figures.bode(pairs, area_normalised=False)
    assert len(bode.axes) == 6


def test_xps_panels_on_the_real_spectra() -> None:
    blocks = [s for s in ns.read_xps(shared_file("xps", "vms_txt_export.txt")) if s.region == "Ni 2p"]
    assert len(blocks) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        items = {("Ni 2p", "P-NCM"): (blocks[0], ns.xps.fit(blocks[0], "Ni 2p")),
                 ("Ni 2p", "A(1)-NCM"): (blocks[1], ns.xps.fit(blocks[1], "Ni 2p"))}
        fig = ns.figures.xps_panels(items)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_ylabel() == "Ni 2p\nIntensity (counts/s)"
    assert fig.axes[0].get_xlim()[0] > fig.axes[0].get_xlim()[1]
    _clean(fig)
    arxps = [s for s in ns.read_xps(shared_file("xps", "ARXPS.vms")) if s.region == "Al 2p"]
    by_angle = {("Al 2p", f"P-NCM@{int(s.meta['emission_angle'])}"): s for s in arxps}
    fig = ns.figures.xps_panels(by_angle)  # spectra without fits: data only, no fit drawn
    assert len(fig.axes) == 1 and not fig.axes[0].collections
    assert sum(t.get_text() == " no fit" for t in fig.axes[0].texts) == 5


def test_cycling_figures_on_a_real_record() -> None:
    data = ns.read_cycling(shared_file("cycling", "xTESLADIAG_000019_CH70.070"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = ns.figures.rate_eis_cycling({"P-NCM": data})
        dq = ns.figures.dqdv({"P-NCM": data})
    assert len(fig.axes) == 2 and fig.axes[0].lines and fig.axes[1].lines  # records only: no impedance panel
    assert dq.axes[0].lines
    _clean(fig)


def test_sims_profiles_on_a_real_profile() -> None:
    path = shared_file("sims", "I241209m_A_MAPI_1f-1nA_pos-B4_NF.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ns.NcmsurfWarning)  # the file lists one peak twice (kept, and said)
        prof = ns.read_sims(path)
    fig = ns.figures.sims_profiles({"P-NCM": prof}, fragments=list(prof.fragments)[:5])
    assert fig.axes[0].get_yscale() == "log" and len(fig.axes[0].lines) == 5
    _clean(fig)


def test_model_plots(demo: Any) -> None:
    from matplotlib.figure import Figure

    emap = demo.measurements("A(3)-NCM", "eds")[0]
    ax = Figure().subplots()
    emap.plot(ax=ax)
    texts = [t.get_text() for t in ax.texts]
    assert {"Ni", "Al"} <= set(texts) and any(t.endswith(" nm") or t.endswith(" µm") for t in texts)
    ax = Figure().subplots()
    emap.plot(ax=ax, element="Al")
    assert any(t.endswith("nm") or t.endswith("µm") for t in (x.get_text() for x in ax.texts))
    rec = demo.measurements("A(3)-NCM", "cycling")[0]
    for kind, ylabel in (("voltage", "Voltage (V)"), ("capacity", "Capacity (mAh g⁻¹)"),
                         ("dqdv", "dQ/dV (mAh g⁻¹ V⁻¹)"), ("current", "Current (mA)")):
        ax = Figure().subplots()
        rec.plot(ax=ax, kind=kind)
        assert ax.get_ylabel() == ylabel
    with pytest.raises(ns.NcmsurfError, match="kind"):
        rec.plot(ax=Figure().subplots(), kind="nonsense")
    import ncmsurf.cycling as cyc

    fade = cyc.fit_fade(np.arange(1, 51), ns.ureg.Quantity(200 - 0.2 * np.arange(50), "mAh/g"))
    ax = fade.plot(ax=Figure().subplots())
    assert ax.get_ylabel() == "Capacity (mAh g⁻¹)"


def test_eds_maps_on_a_real_hypermap() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ns.NcmsurfWarning)
        emap = ns.read_eds(shared_file("eds", "Hitachi_TM3030Plus.bcf"))
    fig = ns.figures.eds_maps({"A(3)-NCM": emap})
    assert len(fig.axes) == len(emap.elements) + 1
    texts = _texts(fig)
    assert {"Cu", "Al"} <= set(texts)
    if emap.pixel_size is None:  # no calibration in the file: said on the panel, no scale bar in nm
        assert "pixels (no pixel size in the file)" in texts
        assert not any(re.fullmatch(r"\d+(\.\d+)? (nm|µm)", t) for t in texts)
    _clean(fig)
