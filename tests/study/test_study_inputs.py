"""Bad input: manifest errors name the entry; one bad file never aborts analyze."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.datasets.demo import _eis_spectrum, _sample_truth, _write_eis
from ncmsurf.study import read_manifest


def _eis_file(folder: Path, label: str) -> str:
    s = ns.Sample.parse(label)
    return _write_eis(_eis_spectrum(s, _sample_truth(s), seed=3), folder / label.replace("(", "").replace(")", ""))


def _manifest(folder: Path, entries: list[dict]) -> Path:
    lines = ['[study]', 'name = "t"', ""]
    for e in entries:
        lines.append("[[files]]")
        lines += [f'{k} = {v!r}'.replace("'", '"') for k, v in e.items()]
        lines.append("")
    (folder / "study.toml").write_text("\n".join(lines))
    return folder


def test_missing_file_names_the_entry(tmp_path: Path) -> None:
    good = _eis_file(tmp_path, "P-NCM")
    _manifest(tmp_path, [{"path": good, "sample": "P-NCM", "kind": "eis"},
                         {"path": "eis/absent.mpt", "sample": "A(3)-NCM", "kind": "eis"}])
    with pytest.raises(ns.ValidationError, match=r"files\[1\] \('eis/absent.mpt', sample 'A\(3\)-NCM'\).*missing file"):
        ns.Study.from_folder(tmp_path)


def test_bad_label_names_the_entry(tmp_path: Path) -> None:
    good = _eis_file(tmp_path, "P-NCM")
    _manifest(tmp_path, [{"path": good, "sample": "Q[3]-NCM", "kind": "eis"}])
    with pytest.raises(ns.ValidationError, match=r"files\[0\].*bad sample label.*Q\[3\]-NCM"):
        ns.Study.from_folder(tmp_path)
    _manifest(tmp_path, [{"path": good, "sample": "A(3)-NCM@100", "cycles": 0}])
    with pytest.raises(ns.ValidationError, match=r"files\[0\].*states 100 cycles"):
        ns.Study.from_folder(tmp_path)


def test_wrong_kind_names_the_entry(tmp_path: Path) -> None:
    good = _eis_file(tmp_path, "P-NCM")
    _manifest(tmp_path, [{"path": good, "sample": "P-NCM", "kind": "sims"}])
    with pytest.raises(ns.ValidationError, match=rf"files\[0\] \('{good}', sample 'P-NCM'\).*sims"):
        ns.Study.from_folder(tmp_path)


def test_manifest_errors(tmp_path: Path) -> None:
    with pytest.raises(ns.ValidationError, match="no study manifest"):
        ns.Study.from_folder(tmp_path)
    (tmp_path / "study.toml").write_text("[[files]\n")
    with pytest.raises(ns.ValidationError, match="not a valid TOML"):
        read_manifest(tmp_path)
    _manifest(tmp_path, [{"path": "a.csv", "sample": "P-NCM", "kind": "raman"}])
    with pytest.raises(ns.ValidationError, match="kind must be one of"):
        read_manifest(tmp_path)
    _manifest(tmp_path, [{"path": "a.csv", "sample": "P-NCM", "colour": "red"}])
    with pytest.raises(ns.ValidationError, match="unknown key"):
        read_manifest(tmp_path)
    _manifest(tmp_path, [{"path": "a.csv", "sample": "P-NCM", "area": -1.0}])
    with pytest.raises(ns.ValidationError, match="area must be a positive number"):
        read_manifest(tmp_path)


def test_recorded_bad_file_does_not_abort_analyze(tmp_path: Path) -> None:
    good = _eis_file(tmp_path, "P-NCM")
    (tmp_path / "broken.csv").write_text("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n1000,10,1\n10,abc,2\n")
    _manifest(tmp_path, [{"path": good, "sample": "P-NCM", "kind": "eis", "area": 1.131},
                         {"path": "broken.csv", "sample": "A(3)-NCM", "kind": "eis"}])
    with pytest.raises(ns.ValidationError, match=r"files\[1\] \('broken.csv'"):
        ns.Study.from_folder(tmp_path)
    st = ns.Study.from_folder(tmp_path, errors="record")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ds = st.analyze(progress=False).metrics()
    labels = list(ds.sample.values)
    assert labels == ["P-NCM", "A(3)-NCM"]
    # truth of the generator for P-NCM: R_ct = 60 ohm cm2 (0.5 % noise)
    assert float(ds["r_ct"].values[0]) == pytest.approx(60.0, rel=0.02)
    assert math.isnan(float(ds["r_ct"].values[1]))
    assert "broken.csv" in ds.attrs["reasons"]["r_ct"]["A(3)-NCM"]
    assert "could not be read" in ds.attrs["reasons"]["r_ct"]["A(3)-NCM"]


def test_failing_fit_is_a_reason_not_a_crash() -> None:
    # a spectrum the circuit fit cannot take (two points) beside a good one
    s = ns.Sample.parse("F(3)-NCM")
    st = ns.Study()
    st.add(_eis_spectrum(s, _sample_truth(s), seed=1))
    st.add(ns.ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j]), "A(1)-NCM")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ds = st.analyze(progress=False).metrics()
    i_good = list(ds.sample.values).index("F(3)-NCM")
    assert np.isfinite(ds["r_ct"].values[i_good])
    why = ds.attrs["reasons"]["r_ct"]["A(1)-NCM"]
    assert "impedance fit" in why


def test_add_requires_a_sample() -> None:
    with pytest.raises(ns.ValidationError, match="no sample"):
        ns.Study().add(ns.ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j]))
    with pytest.raises(ns.ValidationError, match="not an ncmsurf measurement"):
        ns.Study().add("spectrum.csv", "P-NCM")  # type: ignore[arg-type]


def test_progress_bar_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    st = ns.Study().add(ns.ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j]), "P-NCM")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        st.analyze(progress=True)
    out = capsys.readouterr()
    assert out.out == ""
    assert "analyze" in out.err and "1/1" in out.err


def test_progress_accepts_a_callable() -> None:
    st = ns.Study().add(ns.ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j]), "P-NCM")
    st.add(ns.ImpedanceSpectrum([1e3, 1.0], [11 - 1j, 25 - 5j]), "A(3)-NCM")
    seen: list[tuple[int, int, str]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        st.analyze(progress=lambda done, total, text: seen.append((done, total, text)))
    assert [(d, t) for d, t, _ in seen] == [(1, 2), (2, 2)]
    assert seen[0][2] == "P-NCM eis"


def test_missing_engine_gives_nan_with_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    import ncmsurf.study._steps as steps

    real = steps._engine

    def fake(name: str):
        if name == "eis":
            raise steps.EngineUnavailable("the eis engine (ncmsurf.eis) is not available: test")
        return real(name)

    monkeypatch.setattr(steps, "_engine", fake)
    s = ns.Sample.parse("F(3)-NCM")
    st = ns.Study().add(_eis_spectrum(s, _sample_truth(s), seed=1))
    ds = st.analyze(progress=False).metrics()
    assert math.isnan(float(ds["r_ct"].values[0]))
    assert ds.attrs["reasons"]["r_ct"]["F(3)-NCM"] == "the eis engine (ncmsurf.eis) is not available: test"
    assert ds.attrs["reasons"]["ni2_fraction"]["F(3)-NCM"] == "no xps file for this sample"


def test_analysis_options_accept_quantities() -> None:
    # Beer-Lambert on the fitted areas: d = L ln(I0 / I) (analytic), L given as a pint Quantity in angstrom
    from ncmsurf.datasets.xps import synthetic_spectrum

    st = ns.Study(analysis={"attenuation_length": ns.ureg.Quantity(18.0, "angstrom"), "xps_regions": ["Ni 2p"]})
    st.add(synthetic_spectrum("Ni 2p", area=2e5, seed=1), "P-NCM")
    st.add(synthetic_spectrum("Ni 2p", area=1e5, seed=2), "A(3)-NCM")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ds = st.analyze(progress=False).metrics()
    (i0, s0), (i, s) = ((float(ds["ni2p_area"].values[k]), float(ds["ni2p_area_stderr"].values[k])) for k in (0, 1))
    assert float(ds["thickness_xps"].values[1]) == pytest.approx(1.8 * math.log(i0 / i), rel=1e-9)
    assert float(ds["thickness_xps_stderr"].values[1]) == pytest.approx(1.8 * math.hypot(s / i, s0 / i0), rel=1e-6)
    assert ds.attrs["reasons"]["thickness_xps"]["P-NCM"] == "pristine sample: no coating"


def test_area_normalised_and_raw_spectra_give_the_same_r_ct(tmp_path: Path) -> None:
    # the same spectrum in ohm with an area, and already in ohm cm2: R_ct in ohm cm2 must agree
    # (generator truth for F(3)-NCM: 46.02 ohm cm2, 0.5 % noise)
    s = ns.Sample.parse("F(3)-NCM")
    raw = _eis_spectrum(s, _sample_truth(s), seed=1)
    assert raw.area is not None
    st = ns.Study().add(raw).add(raw.area_normalized(), "F(3)-NCM@100")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ds = st.analyze(progress=False).metrics()
    a, b = (float(x) for x in ds["r_ct"].values)
    assert a == pytest.approx(b, rel=1e-3)
    assert a == pytest.approx(_sample_truth(s)["r_ct"], rel=0.03)
    assert ds["r_ct"].attrs["units"] == "ohm*cm**2"
