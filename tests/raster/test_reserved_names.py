"""Output names Windows takes for a device (``CON.tif``, ``nul.tif``, ``COM1.tif``, ``con .tif``): on Windows, and on
a disk Windows reads (a USB stick's FAT or exFAT, NTFS, an SMB share), refused before any work, exit 2, saying why
and what to do. Before: ``ldcsr upscale in.tif -o /media/usb/CON.tif`` said '1 written' of a file Windows cannot
open (on Windows itself, the output went to the console).

The disk's type is simulated as the tests of ``windows_names`` do (a mountinfo entry of type ``vfat`` ... for the
test's folder), and Windows by ``file_names.ON_WINDOWS``.
"""

from __future__ import annotations

import pytest

from ldcsr_core import file_names
from ldcsr_core.errors import RasterIOError, ReservedNameError
from ldcsr_core.part_files import part_prefix
from tests.raster.test_output_names import FAST, _mounted_as, _no_model, run

DEVICES = ["CON.tif", "nul.tif", "COM1.tif", "aux.tif", "Prn.tiff", "con .tif", "CON..tif", "LPT\u00b9.tif",
           "com9.tif", "NUL.x.tif"]


@pytest.mark.parametrize("fs", ["vfat", "exfat", "fuseblk", "ntfs3", "cifs"])
def test_an_output_named_as_a_windows_device_on_a_disk_windows_reads_is_refused(tmp_path, rasters, monkeypatch, fs):
    out = tmp_path / "usb"
    out.mkdir()
    _mounted_as(monkeypatch, out, fs)
    _no_model(monkeypatch)
    for name in DEVICES:
        r = run("upscale", rasters["gray"], "-o", out / name, *FAST)
        assert r.exit_code == 2, (name, r.output)
        device = file_names.windows_device(name)
        assert (f"output name {name} names a Windows device ({device}, " in r.output
                and f"whatever follows its first dot: on this disk ({fs}), which Windows reads, it would be written "
                    "to the device, or be a file Windows cannot open; choose another name, such as " in r.output), r.output
    assert list(out.iterdir()) == []  # nor a part file, nor a sidecar (CON.tif.aux.xml names the device too)


def test_the_words_name_the_device_and_a_name_to_give(tmp_path, monkeypatch):
    _mounted_as(monkeypatch, tmp_path, "vfat")
    said = {"CON.tif": ("CON, the console", "CON_1.tif"), "nul.tif": ("NUL, the null device", "nul_1.tif"),
            "con .tif": ("CON, the console", "con_1.tif"), "PRN.aux.xml": ("PRN, the printer", "PRN_1.aux.xml"),
            "LPT\u00b2.tif": ("LPT\u00b2, a printer port", "LPT\u00b2_1.tif"), "Com9.tif": ("COM9, a serial port", "Com9_1.tif")}
    for name, (device, other) in said.items():
        with pytest.raises(ReservedNameError, match=f"names a Windows device \\({device}.*such as {other}$"):
            file_names.check_name_length(tmp_path / name)


def test_other_names_and_other_disks_are_written(tmp_path, rasters, monkeypatch):
    """Only the part before the first dot counts, as Windows reads it: CON_sr.tif, COM10.tif, .CON.tif, xCON.tif are
    files there. On a disk Windows does not read (ext4) a device's name is a file as any other: written."""
    usb, ext4 = tmp_path / "usb", tmp_path / "ext4"
    usb.mkdir()
    ext4.mkdir()
    _mounted_as(monkeypatch, usb, "vfat")
    _mounted_as(monkeypatch, ext4, "ext4")
    for name in ("CON_sr.tif", "COM10.tif", "LPT.tif", ".CON.tif", "xCON.tif", "CONSOLE.tif", "con_.tif"):
        assert file_names.windows_device(name) is None, name
        file_names.check_name_length(usb / name)
    r = run("upscale", rasters["gray"], "-o", ext4 / "CON.tif", *FAST)
    assert r.exit_code == 0 and (ext4 / "CON.tif").is_file(), r.output


def test_on_windows_every_disk_refuses_them(tmp_path, monkeypatch):
    """On Windows (os.name "nt") the folder's disk is not looked up: a device's name opens the device on any."""
    monkeypatch.setattr(file_names, "ON_WINDOWS", True)
    monkeypatch.setattr(file_names, "fs_type", lambda *a: pytest.fail("looked up the disk's type on Windows"))
    with pytest.raises(ReservedNameError, match="output name aux.tif names a Windows device .* on Windows it would"):
        file_names.check_name_length(tmp_path / "aux.tif")
    file_names.check_name_length(tmp_path / "aux_sr.tif")


def test_a_name_ending_in_a_dot_or_space_is_refused_there(tmp_path, rasters, monkeypatch):
    """Windows and FAT drop a name's trailing dots (FAT refuses a trailing space): 'q.json.' would be written as
    q.json. Refused on such disks, in words; written elsewhere."""
    usb = tmp_path / "usb"
    usb.mkdir()
    _mounted_as(monkeypatch, usb, "exfat")
    _no_model(monkeypatch)
    r = run("selfcheck", rasters["gray"], "-s", 2, "--device", "cpu", "--json", usb / "q.json.")
    assert r.exit_code == 2, r.output
    assert ("the report name 'q.json.' ends in a dot or a space, which Windows does not keep in a name: on this disk "
            "(exfat), which Windows reads, it would be 'q.json' or refused; choose a name without them") in r.output
    with pytest.raises(ReservedNameError, match="'a.json ' ends in a dot or a space"):
        file_names.check_name_length(usb / "a.json ")
    file_names.check_name_length(tmp_path / "q.json.")  # the test's own disk takes it
    assert list(usb.iterdir()) == []


def test_every_file_a_command_writes_is_refused_so(tmp_path, rasters, monkeypatch):
    """A report, a spread file, an adapted model, a trained model: each refused before any work, exit 2."""
    usb = tmp_path / "usb"
    usb.mkdir()
    _mounted_as(monkeypatch, usb, "vfat")
    _no_model(monkeypatch)
    for args in (("selfcheck", rasters["gray"], "-s", 2, "--device", "cpu", "--json", usb / "NUL.json"),
                 ("upscale", rasters["gray"], "-o", usb / "o.tif", "-s", 2, "--mode", "diffusion", "--samples", 2,
                  "--spread-out", usb / "Aux.tif"),
                 ("adapt", rasters["gray"], "-s", 2, "-o", usb / "com3.safetensors"),
                 ("train", tmp_path, "--out", usb / "LPT1.safetensors")):
        r = run(*args)
        assert r.exit_code == 2 and "names a Windows device" in r.output, (args, r.output)
    assert list(usb.iterdir()) == []


def test_in_a_folder_run_a_made_name_fails_its_input_alone(tmp_path, rasters, tiny_model_file, monkeypatch):
    """in/CON.x.tif gives CON.x_sr.tif, a device's name on Windows up to 10: that input fails, in words, before any
    work; the others are written (as for a made name too long)."""
    import shutil

    inp, usb = tmp_path / "in", tmp_path / "usb"
    inp.mkdir()
    usb.mkdir()
    shutil.copy(rasters["gray"], inp / "CON.x.tif")
    shutil.copy(rasters["gray"], inp / "b.tif")
    _mounted_as(monkeypatch, usb, "vfat")
    r = run("upscale", inp, "-o", usb, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 1, r.output
    assert "CON.x_sr.tif: output name CON.x_sr.tif names a Windows device (CON, the console)" in r.output, r.output
    assert sorted(p.name for p in usb.iterdir()) == ["b_sr.tif"]


def test_the_files_a_write_makes_name_no_device_where_the_output_does_not():
    """The sidecars a write makes begin with the output's name, its part files with a dot: one check of the output's
    name covers them."""
    for out in ("o.tif", "CONx.tif", "COM10.tif"):
        made = [f"{out}.aux.xml", f"{out}.msk", f"{out}.ovr", f"{part_prefix(out)}abcdefgh.ldcsr-part.aux.xml",
                f"{part_prefix(out)}abcdefgh.ldcsr-part.old0"]
        assert [m for m in made if file_names.windows_device(m)] == []
    assert all(file_names.windows_device(f"CON.tif{s}") == "CON" for s in (".aux.xml", ".msk", ".ovr"))
    assert issubclass(ReservedNameError, RasterIOError)  # (napari, QGIS and the batch catch it as a write's refusal)
