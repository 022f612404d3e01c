"""The result core: FitResult, Quality, storage, immutability, uncertainties."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.core.errors import ValidationError
from ncmsurf.core.results import FitResult, Quality, citations, register_citation, result_types


def _example(**kw: object) -> FitResult:
    args: dict[str, object] = dict(
        names=["R0", "R1", "alpha"], values=[10.0, 50.0, 0.85],
        covariance=[[0.04, -0.01, 0.0], [-0.01, 0.25, 0.001], [0.0, 0.001, 1e-4]],
        units=["ohm*cm**2", "ohm*cm**2", ""], model="R0-p(R1,CPE1)", citations=["murbach2020"],
        sample="A(3)-NCM@100", source={"path": "x.mpt", "kind": "eis"},
        data_vars={"frequency_grid": ("f", np.logspace(0, 3, 4))},
        attrs={"chi2": 1.5, "weighting": "modulus"},
    )
    args.update(kw)
    return FitResult.build(**args)  # type: ignore[arg-type]


def test_accessors_and_units() -> None:
    r = _example()
    assert r.names == ["R0", "R1", "alpha"]
    assert r.values == {"R0": 10.0, "R1": 50.0, "alpha": 0.85}
    assert r.stderr["R1"] == pytest.approx(0.5)
    assert r.units["R0"] == "ohm*cm**2"
    assert r.covariance.dims == ("param", "param_2")
    assert float(r.covariance.sel(param="R0", param_2="R1")) == -0.01
    assert r.correlation.sel(param="R0", param_2="R1").item() == pytest.approx(-0.01 / (0.2 * 0.5))
    assert r.model == "R0-p(R1,CPE1)"
    assert r.sample == ns.Sample.parse("A(3)-NCM@100")
    assert r.source == {"kind": "eis", "path": "x.mpt"}
    assert r.citations == ("murbach2020",)
    assert r.estimate("R1") == (50.0, pytest.approx(0.5))
    assert r.quality.level == "good" and bool(r)


def test_immutable_through_every_public_attribute() -> None:
    r = _example()
    before = r.to_dataset()
    with pytest.raises(AttributeError):
        r.success = False  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del r.names
    d = r.values
    d["R0"] = 0.0
    r.stderr["R0"] = 99.0
    r.units["R0"] = "V"
    cov = r.covariance
    cov[0, 0] = 123.0
    r.source["path"] = "other"
    r.quality.reasons.append(("at_bound", "x"))  # a new list each time
    with pytest.raises(AttributeError):
        r.quality._level = "failed"  # type: ignore[misc]
    ds = r.to_dataset()
    ds["value"][0] = -1.0
    ds.attrs["success"] = False
    with pytest.raises(ValueError):
        r._ds["value"].values[0] = 5.0  # the backing arrays are read-only
    assert r.to_dataset().identical(before)


def test_equality_save_load_pickle(tmp_path) -> None:  # type: ignore[no-untyped-def]
    r = _example()
    assert r == _example()
    assert r != _example(values=[10.0, 50.0, 0.86])
    path = ns.save(r, tmp_path / "r.nc")
    back = ns.load(path)
    assert type(back) is FitResult and back == r
    assert pickle.loads(pickle.dumps(r)) == r
    assert FitResult.from_dataset(r.to_dataset()) == r


def test_failed_fit_is_falsy_and_stays_failed() -> None:
    r = FitResult.build(names=["a"], values=[1.0], stderr=[0.1], success=False, message="max nfev")
    assert not r and r.quality.level == "failed"
    assert r.quality.codes == ["not_converged"]
    q = Quality.from_checks(suspect=[("at_bound", "a at bound")])
    r2 = FitResult.build(names=["a"], values=[1.0], success=False, quality=q, message="diverged")
    assert r2.quality.level == "failed" and set(r2.quality.codes) == {"at_bound", "not_converged"}
    with pytest.raises(ValidationError):
        r.replace(quality=Quality.good())


def test_suspect_is_truthy_with_reasons() -> None:
    q = Quality("suspect", [("degenerate", "R_s collapsed")])
    r = _example(quality=q)
    assert bool(r) and r.quality == q
    assert "[degenerate] R_s collapsed" in r.fit_report()
    assert "suspect" in r._repr_html_()
    assert "! [degenerate]" in repr(r)


def test_quality_validation() -> None:
    with pytest.raises(ValidationError):
        Quality("bad")
    with pytest.raises(ValidationError):
        Quality("suspect")  # a reason is required
    with pytest.raises(ValidationError):
        Quality("suspect", [("no_such_code", "x")])
    q = Quality("suspect", [("at_bound", "a")]).worse(Quality("failed", [("not_converged", "b")]))
    assert q.level == "failed" and q.codes == ["at_bound", "not_converged"]
    assert Quality.from_json(q.to_json()) == q


def test_report_and_repr_have_units_verdict_and_papers() -> None:
    register_citation("murbach2020", "M. D. Murbach et al., J. Open Source Softw. 5, 2349 (2020)")
    r = _example()
    rep = r.fit_report()
    assert "Ω·cm²" in rep and "quality: good" in rep and "Murbach" in rep
    assert "R1 = 50.0 ± 0.5 Ω·cm²" in repr(r)
    html = r._repr_html_()
    assert "<table>" in html and "Ω·cm²" in html and "good" in html
    assert ns.citations(r) == citations(["murbach2020"])


def test_uvalues_carry_the_correlation() -> None:
    r = _example()
    u = r.uvalues()
    s = u["R0"] + u["R1"]
    assert s.std_dev == pytest.approx(math.sqrt(0.04 + 0.25 - 0.02))
    assert set(r.uvalues(["alpha"])) == {"alpha"}
    nan = FitResult.build(names=["a", "b"], values=[1.0, 2.0], stderr=[0.1, np.nan])
    un = nan.uvalues()
    assert un["a"].std_dev == pytest.approx(0.1) and math.isnan(un["b"].std_dev)


def test_covariance_over_free_parameters_only() -> None:
    r = FitResult.build(names=["a", "b", "c"], values=[1.0, 2.0, 3.0], free=[True, False, True],
                        covariance=[[0.01, 0.002], [0.002, 0.04]])
    c = r.covariance.values
    assert c[1].tolist() == [0.0, 0.0, 0.0] and c[0, 2] == 0.002
    assert r.stderr["b"] == 0.0 and r.free == {"a": True, "b": False, "c": True}
    assert "fixed" in r.fit_report()


def test_reserved_names_are_refused() -> None:
    with pytest.raises(ValidationError):
        FitResult.build(names=["a"], values=[1.0], attrs={"success": True})
    with pytest.raises(ValidationError):
        FitResult.build(names=["a"], values=[1.0], data_vars={"value": ("x", [1.0])})
    with pytest.raises(ValidationError):
        FitResult.build(names=["a", "a"], values=[1.0, 2.0])
    with pytest.raises(ValidationError):
        FitResult.build(names=["a"], values=[1.0, 2.0])


def test_subclasses_register_and_rebuild_by_tag() -> None:
    class _DemoResult(FitResult):
        @property
        def doubled(self) -> float:
            return 2 * self.values["x"]

    r = _DemoResult.build(names=["x"], values=[3.0], stderr=[0.1])
    assert result_types()["_DemoResult"] is _DemoResult
    back = FitResult.from_dataset(r.to_dataset())
    assert type(back) is _DemoResult and back.doubled == 6.0 and back == r
    with pytest.raises(TypeError):
        type("_DemoResult", (FitResult,), {"__qualname__": "elsewhere._DemoResult"})
