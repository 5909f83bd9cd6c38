"""Every output name refused before any work is one exit status, 2, for every command (``errors.OutputNameError``):
too long, a character the disk refuses (a ``:`` on FAT), not UTF-8, a Windows device's. Before: a device's name was 2,
but ``ldcsr upscale -o`` of a name too long, of a ``:`` on FAT or in a folder not UTF-8 was 5, as were ``--json``
and ``--spread-out``, while ``train`` and ``adapt`` said 2 for a name too long; ``convert`` did not look at all
(``CON.safetensors`` on Windows was written to the console, a name too long failed in errno's words once the
checkpoint was read).

In a folder run the output's name is made from the input's: its refusal says to rename the input, or to upscale it
alone with ``-o`` (before: "choose another name, such as CON_1.x_sr.tif", which a folder run cannot be given).

COM0 and LPT0 are files on Windows (Python's ``ntpath.isreserved``, Go's ``filepath``, Microsoft's naming page since
MicrosoftDocs/win32#2008): written, not refused as "written to the device".
"""

from __future__ import annotations

import os
import shutil

import pytest
import torch

import ldcsr_core
from ldcsr_core import file_names
from ldcsr_core.config import tiny_test_config
from ldcsr_core.errors import OutputNameError, RasterIOError
from tests.raster.test_output_names import FAST, _latin1_folder, _mounted_as, _no_model, run

LONG = "x" * 252  # + a suffix: over 255 bytes


@pytest.fixture
def usb(tmp_path, monkeypatch):
    """An empty folder mountinfo lists as a vfat disk (a USB stick), the model never loaded."""
    out = tmp_path / "usb"
    out.mkdir()
    _mounted_as(monkeypatch, out, "vfat")
    _no_model(monkeypatch)
    return out


def _commands(gray, ckpt, folder, stem):
    """Every command's file output named ``folder/stem.<its suffix>``."""
    return [("upscale", gray, "-o", folder / f"{stem}.tif", *FAST),
            ("upscale", gray, "-o", folder / "o.tif", "-s", 2, "--mode", "diffusion", "--samples", 2, "--device", "cpu",
             "--spread-out", folder / f"{stem}.tif"),
            ("upscale", gray, "-o", folder / f"{stem}.tif", *FAST, "--dask", "local:1"),
            ("selfcheck", gray, "-s", 2, "--device", "cpu", "--json", folder / f"{stem}.json"),
            ("selfcheck", gray, "-s", 2, "--device", "cpu", "--json", folder / f"{stem}.html"),  # the HTML report
            ("evaluate", gray.parent, "--device", "cpu", "--json", folder / f"{stem}.json"),
            ("adapt", gray, "-s", 2, "--device", "cpu", "-o", folder / f"{stem}.safetensors"),
            ("train", folder.parent, "--out", folder / f"{stem}.safetensors"),
            ("train", folder.parent, "--out", folder.parent / "m.safetensors", "--checkpoint", folder / f"{stem}.ckpt"),
            ("train", folder.parent, "--out", folder.parent / "m.safetensors", "--log", folder / f"{stem}.log"),
            ("convert", ckpt, folder / f"{stem}.safetensors")]


@pytest.fixture
def ckpt(tmp_path):
    p = tmp_path / "bare.ckpt"
    torch.save(ldcsr_core.build_model(tiny_test_config(), seed=0).state_dict(), p)
    return p


@pytest.mark.parametrize("why, stem, said", [
    ("too long", LONG, "name too long: "),
    ("a ':' on FAT", "S2_10:30", "its file system refuses the name S2_10:30."),
    ("a Windows device's", "CON", "names a Windows device (CON, the console)"),
])
def test_a_refused_output_name_is_exit_2_for_every_command(usb, rasters, ckpt, monkeypatch, why, stem, said):
    monkeypatch.setattr(ldcsr_core.checkpoints, "load_model", lambda *a, **k: pytest.fail("convert read the checkpoint"))
    for args in _commands(rasters["gray"], ckpt, usb, stem):
        r = run(*args)
        assert r.exit_code == 2 and said in r.output and "Errno" not in r.output, (why, args[0], r.output)
    assert list(usb.iterdir()) == []


def test_an_output_folder_not_in_utf8_is_exit_2_for_every_command(tmp_path, rasters, ckpt, monkeypatch):
    _no_model(monkeypatch)
    folder = _latin1_folder(tmp_path)
    from pathlib import Path

    for args in _commands(rasters["gray"], ckpt, Path(folder), "o"):
        r = run(*args)
        assert r.exit_code == 2 and "not valid UTF-8" in r.output, (args[0], r.output)
    assert os.listdir(folder) == []


def test_one_class_says_it_and_a_late_refusal_of_the_disk_stays_a_write_error(tmp_path, monkeypatch):
    """check_name_length raises OutputNameError (a RasterIOError: napari, QGIS and the batch catch it as before); a
    name exfat-fuse refuses only as it is made (fuseblk: ntfs-3g takes ':') is the write's error, exit 5."""
    import errno

    from ldcsr_core.cli.commands import exit_code_for

    with pytest.raises(OutputNameError) as e:
        file_names.check_name_length(tmp_path / (LONG + ".tif"))
    assert isinstance(e.value, RasterIOError) and e.value.kind == "long" and exit_code_for(e.value) == 2
    _mounted_as(monkeypatch, tmp_path, "fuseblk")
    file_names.check_name_length(tmp_path / "a:b.tif")  # not refused ahead there
    late = file_names.refused_name(tmp_path / "a:b.tif", OSError(errno.ENOENT, "No such file or directory"))
    assert "refuses the name a:b.tif" in late and exit_code_for(RasterIOError(errno.ENOENT, late)) == 5


def test_a_folder_runs_made_name_says_to_rename_the_input(tmp_path, usb, rasters, tiny_model_file, monkeypatch):
    """fr/CON.x.tif gives CON.x_sr.tif, a device's name: the run's output name is not the user's to choose."""
    inp = tmp_path / "fr"
    inp.mkdir()
    for name in ("CON.x.tif", "S2_10:30.tif", "y" * 250 + ".tif"):
        shutil.copy(rasters["gray"], inp / name)
    r = run("upscale", inp, "-o", usb, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 1, r.output
    made = "the name is made from the input"
    assert (f"; {made} {inp / 'CON.x.tif'}: rename it to CON_1.x.tif, or upscale it alone with -o and a name of "
            f"your own (-o {usb / 'CON_1.x_sr.tif'})\n") in r.output, r.output
    assert (f"in names); {made} {inp / 'S2_10:30.tif'}: rename it without those characters, or upscale it alone "
            "with -o and a name of your own\n") in r.output, r.output
    assert (f"takes at most 255): {made} {inp / ('y' * 250 + '.tif')}: rename it to a shorter name, or upscale it "
            "alone with -o and a shorter name\n") in r.output, r.output
    assert "choose" not in r.output and list(usb.iterdir()) == []
    r = run("upscale", inp / "CON.x.tif", "-o", usb, *FAST)  # one input, a folder given: a name made too
    assert r.exit_code == 2, r.output
    assert (f"{made} {inp / 'CON.x.tif'}: rename it to CON_1.x.tif, or give -o a name of your own instead of a "
            f"folder (-o {usb / 'CON_1.x_sr.tif'})") in r.output, r.output
    r = run("upscale", inp / "CON.x.tif", "-o", usb / "CON.y.tif", *FAST)  # a name given: choose another
    assert r.exit_code == 2 and "choose another name, such as CON_1.y.tif" in r.output and made not in r.output


def test_com0_and_lpt0_are_written_as_files(usb, rasters, tiny_model_file, monkeypatch):
    """Windows opens COM0 and LPT0 as files (it has no such devices): before, refused as 'it would be written to the
    device'. COM1 and LPT¹ still are devices."""
    monkeypatch.undo()  # the model is loaded: this one is written
    _mounted_as(monkeypatch, usb, "vfat")
    for name in ("COM0.tif", "lpt0.x.tif", "Com0 .tif"):
        assert file_names.windows_device(name) is None, name
        file_names.check_name_length(usb / name)
    assert file_names.windows_device("COM1.tif") == "COM1" and file_names.windows_device("LPT\u00b9.tif") == "LPT\u00b9"
    monkeypatch.setattr(file_names, "ON_WINDOWS", True)
    file_names.check_name_length(usb / "LPT0.tif")
    r = run("upscale", rasters["gray"], "-o", usb / "COM0.tif", *FAST, "--model", tiny_model_file)
    assert r.exit_code == 0 and (usb / "COM0.tif").is_file(), r.output
