"""PHI MultiPak .spe (shared real file) and .pro depth profiles (files built here from the documented layout:
text header SOFH..EOFH, uint32 directory of 24 words per spectrum, float32 blocks cycle after cycle).

Reference values: ../shared/data/README.md, "Readers' edge cases" (pynxtools-xps PHIParser on SnO2_10nm.spe).
No .pro file is shared; the depth-profile tests use files made by ``_xps_builders.phi_bytes``.
"""

from __future__ import annotations

import numpy as np
import pytest
from _xps_builders import phi_bytes, write
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.io._xps_meta import ExcitationEnergyWarning, XPSReadWarning
from ncmsurf.io.phi import depth_profile_stack, phi_region, read_phi
from ncmsurf.io.registry import choose_reader


def test_spe_reference_values():
    p = shared_file("xps", "SnO2_10nm.spe")
    assert choose_reader(p).name == "phi-multipak"
    (s,) = ns.read_xps(p)
    be, y = s.binding_energy, s.intensity
    assert be.size == 1751 and be[0] == pytest.approx(1400.0, abs=0.011) and be[-1] == pytest.approx(0.0, abs=0.011)
    assert y[0] == pytest.approx(54866.668, rel=1e-5)
    assert y.max() == pytest.approx(417658.34, rel=1e-5)
    assert be[int(y.argmax())] == pytest.approx(485.6, abs=0.011)
    assert y.sum() == pytest.approx(1.16666e8, rel=1e-5)
    assert s.excitation_energy == 1486.6 and s.meta["excitation_energy_source"] == "file"
    assert s.meta["pass_energy"] == 224.0 and s.region is None and s.data.attrs["units"] == "counts/s"


def test_spe_matches_pynxtools():
    pytest.importorskip("pynxtools_xps")
    from pynxtools_xps.parsers.phi.parser import PHIParser

    p = shared_file("xps", "SnO2_10nm.spe")
    parser = PHIParser()
    parser._parse(p)
    ref = next(iter(parser._data.values())).data
    (s,) = read_phi(p)
    np.testing.assert_allclose(s.intensity, np.asarray(ref).reshape(-1), rtol=1e-7)
    np.testing.assert_allclose(s.binding_energy, np.asarray(ref["energy"]), atol=1e-6)


def _profile(tmp_path, **kw):
    c1s = [[1000.0 + 10 * k + 100 * c for k in range(11)] for c in range(4)]
    o1s = [[500.0 + 7 * k + 50 * c for k in range(9)] for c in range(4)]
    data = phi_bytes([("C1s", 290.0, -0.2, c1s), ("O1s", 534.0, -0.5, o1s)], profile=True,
                     depth_layers=kw.pop("layers", [(1, 1.0, 2), (2, 0.5, 1)]), **kw)
    return write(tmp_path / "x.pro", data), c1s, o1s


def test_pro_stack_over_cycles_with_sputter_times(tmp_path):
    p, c1s, o1s = _profile(tmp_path, trailer=b"\x00" * 40)
    out = ns.read_xps(p)
    assert [(s.region, s.meta["cycle"]) for s in out] == [("C 1s", c) for c in range(4)] + [("O 1s", c)
                                                                                          for c in range(4)]
    for c in range(4):
        np.testing.assert_array_equal(out[c].intensity, np.float32(c1s[c]))
        np.testing.assert_array_equal(out[4 + c].intensity, np.float32(o1s[c]))
    # pre-sputter cycle at 0, layer 1: 2 x 1 min, layer 2: 1 x 0.5 min
    assert [s.meta["sputter_time_min"] for s in out[:4]] == [0.0, 1.0, 2.0, 2.5]
    assert out[3].meta["sputter_time"] == 150.0 and out[0].meta["sputter_time_source"] == "DepthCalDef"
    assert out[0].meta["undecoded_trailing_bytes"] == 40
    np.testing.assert_allclose(out[0].binding_energy, 290.0 - 0.2 * np.arange(11), atol=1e-9)
    st = depth_profile_stack(out, "O 1s")
    assert st.dims == ("cycle", "binding_energy") and st.shape == (4, 9)
    assert st["sputter_time"].values.tolist() == [0.0, 60.0, 120.0, 150.0]
    assert st.attrs["region"] == "O 1s" and st.attrs["units"] == "counts/s"
    with pytest.raises(ValidationError, match="several regions"):
        depth_profile_stack(out)


def test_pro_stack_feeds_fit_stack(tmp_path):
    from ncmsurf.datasets.xps import synthetic_stack

    ref = synthetic_stack("O 1s", 3, seed=1)
    be = ref["binding_energy"].values
    step = float(be[1] - be[0])
    data = phi_bytes([("O1s", float(be[0]), step, ref.values.tolist())], profile=True,
                     depth_layers=[(1, 1.0, 2)])
    st = depth_profile_stack(read_phi(write(tmp_path / "o.pro", data)))
    st = st.assign_attrs(units="counts")
    res = ns.xps.fit_stack(st, "O 1s")
    assert res.sizes["cycle"] == 3 and "sputter_time" in res.coords


def test_pro_unknown_sputter_times_warn(tmp_path):
    with pytest.warns(XPSReadWarning, match="sputter times unknown"):
        p, _, _ = _profile(tmp_path, layers=[(1, 1.0, 1)])
        out = read_phi(p)
    assert np.isnan(out[0].meta["sputter_time"]) and out[0].meta["sputter_time_source"].startswith("unknown")


def test_missing_source_is_default_with_warning(tmp_path):
    data = phi_bytes([("Ni2p", 880.0, -0.5, [[1.0, 2.0, 3.0]])], hv_line=None)
    with pytest.warns(ExcitationEnergyWarning):
        (s,) = read_phi(write(tmp_path / "a.spe", data))
    assert s.meta["excitation_energy_source"] == "default" and s.excitation_energy == 1486.6
    (s,) = read_phi(write(tmp_path / "b.spe", data), excitation_energy=1253.6)
    assert s.meta["excitation_energy_source"] == "user" and s.excitation_energy == 1253.6


def test_float64_blocks(tmp_path):
    data = phi_bytes([("O1s", 534.0, -0.5, [[1.5, 2.5, 3.5, 4.5]])], dtype="<f8")
    (s,) = read_phi(write(tmp_path / "d.spe", data))
    assert s.intensity.tolist() == [1.5, 2.5, 3.5, 4.5] and s.meta["value_type"] == "float64"


def test_region_names():
    assert phi_region("C1s") == "C 1s" and phi_region("Mo3d5") == "Mo 3d5/2" and phi_region("VB") is None


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda b: b.replace(b"EOFH", b"EOFX"), "EOFH"),
    (lambda b: b.replace(b"NoSpectralReg: 1", b"NoSpectralReg: 2"), "NoSpectralReg"),
    (lambda b: b.replace(b" 1 O1s 8 4 ", b" 1 O1s 8 5 "), "end at|points"),
    (lambda b: b + b"\x00\x00\x00\x00", "after the last data block"),
    (lambda b: b[:-3], "outside"),
    (lambda b: b.replace(b"0.5000 534", b"0.5x00 534"), "number"),
    (lambda b: b[:-4] + np.float32(np.nan).tobytes(), "not finite"),
])
def test_bad_files_name_line_or_offset(tmp_path, mutate, match):
    data = phi_bytes([("O1s", 534.0, -0.5, [[1.0, 2.0, 3.0, 4.0]])])
    p = write(tmp_path / "bad.spe", mutate(data))
    with pytest.raises(ReadError, match=match) as info:
        read_phi(p)
    assert "line" in str(info.value) or "offset" in str(info.value)
