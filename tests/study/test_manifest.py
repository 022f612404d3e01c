"""Manifests: paths confined to the study folder, repeated measurements refused, every error one line from the CLI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.cli import main
from ncmsurf.io.biologic_eis import write_mpt
from ncmsurf.io.eds_formats import write_npz
from ncmsurf.io.sims_formats import write_surfacelab_txt
from ncmsurf.io.vamas import write_vamas
from ncmsurf.study._manifest import read_manifest


# ------------------------------------------------------------------ helpers
def xps(region: str = "Ni 2p") -> ns.XPSSpectrum:
    return ns.XPSSpectrum(np.linspace(870, 850, 41), np.linspace(100, 200, 41), region=region)


def eis() -> ns.ImpedanceSpectrum:
    f = np.logspace(4, -1, 11)
    return ns.ImpedanceSpectrum(f, 5 + 20 / (1 + 1j * f * 1e-3))


def sims() -> ns.DepthProfile:
    return ns.DepthProfile(np.arange(5.0), {"AlO-": [5.0, 4.0, 2.0, 1.0, 1.0], "NiO-": [1.0, 2.0, 4.0, 5.0, 5.0]})


def eds() -> ns.ElementMap:
    return ns.ElementMap({"Al": np.ones((4, 4)), "Ni": np.full((4, 4), 2.0)}, pixel_size=10.0)


WRITERS: dict[str, Any] = {
    ".vms": lambda m, p: write_vamas(m if isinstance(m, list) else [m], p),
    ".mpt": lambda m, p: write_mpt([m], p),
    ".txt": write_surfacelab_txt,
    ".npz": write_npz,
}


def study_folder(tmp_path: Path, files: dict[str, Any], entries: list[str], extra: str = "") -> Path:
    folder = tmp_path / "study"
    folder.mkdir(exist_ok=True)
    for name, m in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        WRITERS[Path(name).suffix](m, folder / name)
    text = [extra] + [f"[[files]]\n{e}\n" for e in entries]
    (folder / "study.toml").write_text("\n".join(text), encoding="utf-8")
    return folder


def entry(path: str, sample: str = "A(3)-NCM", **more: str) -> str:
    lines = [f"path = {path!r}".replace("'", '"'), f'sample = "{sample}"'] + [f"{k} = {v}" for k, v in more.items()]
    return "\n".join(lines)


def cli_error(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["report", str(folder), "-o", str(tmp_path / "out" / "report.html"), "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# -------------------------------------------------------------------- paths
def test_absolute_path_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = study_folder(tmp_path, {}, [entry("/etc/passwd", kind='"eis"')])
    with pytest.raises(ns.ValidationError, match=r"files\[0\] \('/etc/passwd'\): 'path' '/etc/passwd' is absolute"):
        read_manifest(folder)
    with pytest.raises(ns.ValidationError, match="is absolute"):
        ns.Study.from_folder(folder)
    assert "ValidationError" in cli_error(folder, tmp_path, capsys)


def test_dotdot_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    write_mpt([eis()], tmp_path / "x.mpt")
    folder = study_folder(tmp_path, {}, [entry("../x.mpt")])
    with pytest.raises(ns.ValidationError, match=r"'\.\./x\.mpt' leads out of the study folder with '\.\.'"):
        read_manifest(folder)
    # a '..' that stays inside is fine
    folder = study_folder(tmp_path, {"a.mpt": eis()}, [entry("sub/../a.mpt")])
    (folder / "sub").mkdir()
    assert read_manifest(folder).entries[0].path == "sub/../a.mpt"
    assert len(ns.Study.from_folder(folder).measurements()) == 1


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_mpt([eis()], outside / "x.mpt")
    folder = study_folder(tmp_path, {"in.mpt": eis()}, [entry("link.mpt"), entry("passwd"), entry("inner.mpt")])
    os.symlink(outside / "x.mpt", folder / "link.mpt")
    os.symlink("/etc/passwd", folder / "passwd")
    os.symlink(folder / "in.mpt", folder / "inner.mpt")  # a link that stays inside is fine
    with pytest.raises(ns.ValidationError, match=r"files\[0\].*leads out of the study folder through a symbolic link"):
        read_manifest(folder)
    (folder / "study.toml").write_text(f"[[files]]\n{entry('passwd')}\n[[files]]\n{entry('inner.mpt')}\n")
    with pytest.raises(ns.ValidationError, match=r"files\[0\].*symbolic link \(to /etc/passwd\)"):
        ns.Study.from_folder(folder)


def test_allow_outside_reads_files_elsewhere(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write_mpt([eis()], outside / "x.mpt")
    folder = study_folder(tmp_path, {}, [entry(str(outside / "x.mpt")), entry("../elsewhere/x.mpt", "P-NCM")])
    st = ns.Study.from_folder(folder, allow_outside=True)
    assert len(st.measurements()) == 2
    with pytest.raises(ns.ValidationError):
        ns.Study.from_folder(folder)


# --------------------------------------------------------------- duplicates
@pytest.mark.parametrize(("files", "what"), [
    ({"a.vms": xps(), "b.vms": xps()}, "a second Ni 2p spectrum"),
    ({"a.txt": sims(), "b.txt": sims()}, "a second sims measurement"),
    ({"a.npz": eds(), "b.npz": eds()}, "a second eds measurement"),
])
def test_repeated_measurements_are_refused_naming_both_entries(tmp_path: Path, files: dict[str, Any],
                                                               what: str, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = files
    folder = study_folder(tmp_path, files, [entry(a), entry(b)])
    with pytest.raises(ns.ValidationError) as info:
        ns.Study.from_folder(folder)
    msg = str(info.value)
    assert f"files[1] ('{b}', sample 'A(3)-NCM') holds {what} of sample 'A(3)-NCM'" in msg
    assert f"the first is study.toml files[0] ('{a}'" in msg
    # recorded instead of raised: the first is kept, the second says why it is not used
    st = ns.Study.from_folder(folder, errors="record")
    kept = [e for e in st.entries if e.measurement is not None]
    dropped = [e for e in st.entries if e.measurement is None]
    assert [e.source for e in kept] == [a] and [e.source for e in dropped] == [b]
    assert what in dropped[0].error
    assert "holds a second" in cli_error(folder, tmp_path, capsys)


def test_repeat_inside_one_file_is_refused(tmp_path: Path) -> None:
    folder = study_folder(tmp_path, {"a.vms": [xps(), xps("C 1s"), xps()]}, [entry("a.vms")])
    with pytest.raises(ns.ValidationError, match=r"files\[0\] \('a.vms'.*block 3 holds a second Ni 2p spectrum.*"
                                                 r"the first is block 1 of the same file"):
        ns.Study.from_folder(folder)


def test_what_is_not_a_repeat(tmp_path: Path) -> None:
    files = {"a.vms": xps(), "b.vms": xps(), "c.vms": xps("C 1s"), "d.mpt": eis(), "e.mpt": eis(), "f.txt": sims(),
             "g.txt": sims()}
    entries = [entry("a.vms"), entry("b.vms", "A(3)-NCM@100"), entry("c.vms"), entry("d.mpt"), entry("e.mpt"),
               entry("f.txt"), entry("g.txt", "F(3)-NCM")]
    st = ns.Study.from_folder(study_folder(tmp_path, files, entries))
    # another cycle state, another region, two impedance spectra, another sample
    assert len(st.measurements()) == 7


def test_angle_resolved_spectra_are_not_repeats(tmp_path: Path) -> None:
    from conftest import shared_file

    src = shared_file("xps", "ARXPS.vms")  # O 1s, C 1s and Al 2p at five emission angles each
    folder = study_folder(tmp_path, {}, [entry("ARXPS.vms")])
    (folder / "ARXPS.vms").write_bytes(src.read_bytes())
    st = ns.Study.from_folder(folder)
    assert len(st.measurements(kind="xps")) == 15
    angles = {(m.region, m.meta["emission_angle"]) for m in st.measurements()}
    assert len(angles) == 15


# ---------------------------------------------------------- types, nesting
@pytest.mark.parametrize(("extra", "more", "match"), [
    ("", {"options": '{mass = "heavy"}'}, r"options.mass must be a positive"),
    ("", {"options": '{path = "b.mpt"}'}, r"options.path is not a reader option"),
    ("", {"options": '{kind = "eis"}'}, r"options.kind is not a reader option"),
    ("", {"options": "{format = 3}"}, r"options.format must be a reader name"),
    ("", {"options": "{x = {y = 1}}"}, r"options.x must be a number, text, boolean or a flat array"),
    ("", {"options": "{x = [[1], [2]]}"}, r"options.x must be"),
    ("", {"cycles": "1.5"}, r"'cycles' must be a non-negative integer"),
    ("", {"area": '"big"'}, r"area must be a positive number"),
    ("", {"note": "3"}, r"'note' must be text"),
    ('[analysis]\nattenuation_length = "abc"\n', {}, r"\[analysis\] attenuation_length must be a positive"),
    ("[analysis]\ncharge_correct = 1\n", {}, r"charge_correct must be a boolean"),
    ("[analysis]\nanything = {a = 1}\n", {}, r"\[analysis\] anything: expected a number"),
    ("[defaults]\nmass = -1\n", {}, r"\[defaults\] mass must be a positive"),
    ("[truth]\nx = " + "[" * 20 + "]" * 20 + "\n", {}, r"nested deeper than 16 levels"),
    ("[truth]\nx = " + "[" * 50_000 + "]" * 50_000 + "\n", {}, r"nested (too deeply|deeper)"),
    ("[study\n", {}, r"not a valid TOML manifest"),
])
def test_manifest_errors_are_one_line_validation_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         extra: str, more: dict[str, str], match: str) -> None:
    folder = study_folder(tmp_path, {"a.mpt": eis()}, [entry("a.mpt", **more)], extra=extra)
    with pytest.raises(ns.ValidationError, match=match):
        ns.Study.from_folder(folder)
    err = cli_error(folder, tmp_path, capsys)
    assert err.startswith("ncmsurf report: error: ValidationError: ")


def test_cli_turns_any_reader_failure_into_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = study_folder(tmp_path, {"a.mpt": eis()}, [entry("a.mpt", options='{nosuch_option = "x"}')])
    (folder / "a.mpt").write_bytes(b"\x00\xff garbage")
    err = cli_error(folder, tmp_path, capsys)
    assert "files[0]" in err
