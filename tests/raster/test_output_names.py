"""Output names: on a file system that does not tell letter case apart (a USB stick's FAT or exFAT, an
NTFS disk, an SMB share, macOS): ``A_sr.tif`` and ``a_sr.tif`` are one file there, and so are an
input ``scene.tif`` and an output ``SCENE.TIF``.

Before (checked on a real exFAT volume): ``ldcsr upscale in/ -o /media/usb/out --overwrite`` with
``in/A.tif`` and ``in/a.tif`` wrote both, the second over the first, and said '2 written' (exit 0):
one result lost without a word; without ``--overwrite`` the second failed once its work was done
('output exists from another request'). ``-o SCENE.TIF`` of ``scene.tif`` on exFAT (whose driver
gives the two names different inodes) was renamed over the input: the input was gone.

The tests here run on the test's own (case-sensitive) disk with :func:`file_names.folds_case` made
to say that the output folder folds case, as such a disk would; the last ones run on a real exFAT
volume where one can be mounted (root, FUSE's exfat driver), and are skipped elsewhere.

And an output path that is not valid UTF-8 (a folder named in Latin-1 on an old disk): before, the
model loaded and the run then failed in Python's words, "'utf-8' codec can't encode character
'\\udce9' in position 10: surrogates not allowed" (GDAL takes UTF-8 names only); now refused before
any work, in words, as such an input is.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from ldcsr_core import file_names
from ldcsr_core.cli import main
from ldcsr_core.errors import InputError
from ldcsr_core.files import FileSet, same_file
from ldcsr_core.errors import RasterIOError
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster
from ldcsr_core.geo.raster_io import read_raster, write_raster

FAST = ("-s", 2, "--mode", "fast", "--device", "cpu")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=True)


def _fold_in(monkeypatch, *folders):
    """``folds_case`` says True of ``folders`` (as a FAT, exFAT, NTFS or macOS disk would), False elsewhere."""
    real = {os.path.realpath(f) for f in folders}
    monkeypatch.setattr(file_names, "folds_case", lambda folder: os.path.realpath(folder) in real)


def _no_model(monkeypatch):
    """A run that loads its model has started its work: the refusals here come before."""
    def refuse(*a, **k):
        raise AssertionError("the model was loaded: the refusal came after the work began")

    monkeypatch.setattr("ldcsr_core.cli.upscale_cmd._load_model", refuse)


@pytest.fixture
def two_cases(rasters, tmp_path):
    """in/A.tif and in/a.tif (two different scenes; the test's disk tells them apart), an empty out/."""
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    out.mkdir()
    shutil.copy(rasters["gray"], inp / "A.tif")
    shutil.copy(rasters["rgba"], inp / "a.tif")
    return inp, out


@pytest.mark.parametrize("overwrite", [(), ("--overwrite",)])
def test_two_outputs_one_name_in_a_case_folding_folder_are_refused_up_front(two_cases, tiny_model_file,
                                                                            monkeypatch, overwrite):
    inp, out = two_cases
    _fold_in(monkeypatch, out)
    _no_model(monkeypatch)
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file, *overwrite)
    assert r.exit_code == 2, r.output
    assert (f"{inp / 'A.tif'} and {inp / 'a.tif'} would both be written to {out / 'a_sr.tif'} (A_sr.tif and "
            "a_sr.tif are one file there: its file system does not tell letter case apart)") in r.output
    assert list(out.iterdir()) == []


def test_the_same_names_in_a_folder_that_tells_case_apart_are_both_written(two_cases, tiny_model_file,
                                                                           monkeypatch):
    inp, out = two_cases
    _fold_in(monkeypatch)  # no folder folds case
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["A_sr.tif", "a_sr.tif"]


def test_an_output_named_as_an_input_in_other_letter_case_is_refused(rasters, tiny_model, tmp_path, monkeypatch):
    """The CLI's check and upscale_raster's (QGIS, Python) alike: SCENE.TIF is scene.tif there."""
    src = shutil.copy(rasters["gray"], tmp_path / "scene.tif")
    before = (tmp_path / "scene.tif").read_bytes()
    _fold_in(monkeypatch, tmp_path)
    _no_model(monkeypatch)
    r = run("upscale", src, "-o", tmp_path / "SCENE.TIF", *FAST, "--overwrite")
    assert r.exit_code == 2, r.output
    assert f"output path is an input file: {tmp_path / 'SCENE.TIF'} (inputs are never overwritten)" in r.output
    with pytest.raises(InputError, match="input"):
        upscale_raster(src, tmp_path / "SCENE.TIF", scale=2, model=tiny_model, options=UpscaleOptions(mode="fast"),
                       output=OutputOptions(overwrite=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scene.tif"]
    assert (tmp_path / "scene.tif").read_bytes() == before


def test_a_spread_file_named_as_the_output_in_other_letter_case_is_refused(rasters, tiny_model_file, tmp_path,
                                                                           monkeypatch):
    src = shutil.copy(rasters["gray"], tmp_path / "scene.tif")
    _fold_in(monkeypatch, tmp_path)
    _no_model(monkeypatch)
    r = run("upscale", src, "-o", tmp_path / "o.tif", "--spread-out", tmp_path / "O.tif", "-s", 2,
            "--mode", "diffusion", "--samples", 2, "--device", "cpu", "--model", tiny_model_file)
    assert r.exit_code == 2, r.output
    assert (f"the spread file would be written over the output: {tmp_path / 'O.tif'} (o.tif and O.tif are one "
            "file there: its file system does not tell letter case apart; give --spread-out another name)") in r.output


def test_same_file_and_file_set_by_name_where_case_is_folded(tmp_path, monkeypatch):
    (tmp_path / "scene.tif").write_bytes(b"x")
    assert not same_file(tmp_path / "scene.tif", tmp_path / "SCENE.TIF")
    assert tmp_path / "SCENE.TIF" not in FileSet([tmp_path / "scene.tif"])
    _fold_in(monkeypatch, tmp_path)
    assert same_file(tmp_path / "scene.tif", tmp_path / "SCENE.TIF")
    assert same_file(tmp_path / "new.tif", tmp_path / "New.TIF")  # neither there yet
    assert tmp_path / "SCENE.TIF" in FileSet([tmp_path / "scene.tif"])
    assert not same_file(tmp_path / "scene.tif", tmp_path / "scene2.tif")


def test_folds_case_of_a_folder_that_tells_case_apart(tmp_path):
    """A folder with names is told by them, nothing written there (an input's folder keeps its
    modification time); an empty one by a probe file, removed."""
    names, empty = tmp_path / "names", tmp_path / "empty"
    names.mkdir()
    empty.mkdir()
    (names / "a.tif").write_bytes(b"")
    (names / "B.tif").write_bytes(b"")
    (names / "b.tif").write_bytes(b"")
    os.utime(names, (1_000_000_000, 1_000_000_000))
    assert file_names.folds_case(names) is False
    assert os.stat(names).st_mtime == 1_000_000_000
    assert file_names.folds_case(empty) is False
    assert list(empty.iterdir()) == []



def _folding_disk(monkeypatch, folder, listed=()):
    """``folder`` looked at as on a disk that folds case (a name is found in any letter case), its
    listing holding ``listed`` too: names another run's files had when listed, gone since."""
    folder, lexists, listdir = os.path.realpath(folder), os.path.lexists, os.listdir

    def folded_lexists(path):
        head, name = os.path.split(os.path.realpath(path))
        if head != folder:
            return lexists(path)
        return any(n.lower() == name.lower() for n in listdir(folder))

    def listed_with(path):
        return listdir(path) + (list(listed) if os.path.realpath(path) == folder else [])

    monkeypatch.setattr(file_names.os.path, "lexists", folded_lexists)
    monkeypatch.setattr(file_names.os, "listdir", listed_with)
    monkeypatch.setattr(file_names, "_FOLDS", {})  # its answers not kept after the test


def test_a_name_gone_since_listed_does_not_tell_a_folding_disk_apart(tmp_path, monkeypatch):
    """Another run's part file (or probe file), listed and then renamed or removed, tells nothing.
    Before (a real exFAT volume, another run writing in the output folder): folds_case said False in
    115 of 300 looks, from the other-case name of a file no longer there; two outputs of one name in
    other case could then be written over each other."""
    out = tmp_path / "out"
    out.mkdir()
    _folding_disk(monkeypatch, out, listed=[".r_sr.tif.part"])
    assert file_names.folds_case(out) is True  # by its own probe file
    assert [e.name for e in os.scandir(out)] == []  # removed
    (out / "a_sr.tif").write_bytes(b"")
    _folding_disk(monkeypatch, out, listed=[".r_sr.tif.part"])
    assert file_names.folds_case(out) is True  # by a_sr.tif, found as A_SR.TIF


def test_a_folder_no_probe_can_be_made_in_is_asked_again(tmp_path, monkeypatch):
    """An empty folder this process could not write in (a disk mounted read-only, then read-write in
    the same napari session): its answer then, False, is not kept. Before: kept, so a folding disk
    made writable was taken for one that tells case apart."""
    out = tmp_path / "out"
    out.mkdir()
    _folding_disk(monkeypatch, out)
    mkstemp = file_names.tempfile.mkstemp

    def read_only(*a, **k):
        raise PermissionError(13, "Read-only file system")

    monkeypatch.setattr(file_names.tempfile, "mkstemp", read_only)
    assert file_names.folds_case(out) is False
    monkeypatch.setattr(file_names.tempfile, "mkstemp", mkstemp)
    assert file_names.folds_case(out) is True
    assert [e.name for e in os.scandir(out)] == []

def _latin1_folder(tmp_path):
    folder = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9"))  # 'caf\udce9' for Python
    os.mkdir(folder)
    return folder


def test_an_output_path_not_in_utf8_is_refused_before_any_work(rasters, tiny_model_file, tmp_path, monkeypatch):
    folder = _latin1_folder(tmp_path)
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(rasters["gray"], inp / "a.tif")
    _no_model(monkeypatch)
    for args in ((inp / "a.tif", "-o", os.path.join(folder, "a.tif")), (inp, "-o", folder)):
        r = run("upscale", *args, *FAST, "--model", tiny_model_file)
        assert r.exit_code == 2, r.output
        assert "path is not valid UTF-8: '" in r.output and "caf\\udce9" in r.output, r.output
        assert "choose another name or folder" in r.output and "codec" not in r.output
    assert os.listdir(folder) == []


def test_write_raster_to_a_path_not_in_utf8_says_so(rasters, tmp_path):
    """napari's Save and write_raster go through the writer: its one line, not a UnicodeEncodeError."""
    folder = _latin1_folder(tmp_path)
    with pytest.raises(RasterIOError, match="not valid UTF-8"):
        write_raster(os.path.join(folder, "a.tif"), read_raster(rasters["gray"]))
    assert os.listdir(folder) == []


def test_adapt_out_name_too_long_is_refused_before_the_training(rasters, tiny_model_file, tmp_path, monkeypatch):
    """Before: 'ldcsr adapt' trained for its minutes, said 'kept', then ended in errno's words, '[Errno
    36] File name too long: ...', the adapted model lost. Now exit 2 naming --out, before the model loads."""
    _no_model(monkeypatch)
    out = tmp_path / ("a" * 250 + ".safetensors")
    r = run("adapt", rasters["gray"], "-s", 2, "-o", out, "--model", tiny_model_file, "--device", "cpu")
    assert r.exit_code == 2, r.output
    assert "Invalid value for '--out': the adapted model's name too long: " in r.output
    assert "(262 bytes; the file system takes at most 255): choose a shorter name" in r.output
    assert list(tmp_path.iterdir()) == []


def test_a_report_name_too_long_is_said_in_words(tmp_path):
    """selfcheck --json, evaluate and QGIS's report: before, '[Errno 36] File name too long: ...'."""
    from ldcsr_core.files import check_report_path

    with pytest.raises(RasterIOError, match=r"^the report name too long: .* \(257 bytes; the file system takes at most 255\)"):
        check_report_path(tmp_path / ("r" * 252 + ".json"))


# --- a real exFAT volume (FUSE's exfat driver), where one can be mounted ---------------------------


@pytest.fixture
def exfat(tmp_path):
    """A fresh 8 MB exFAT volume mounted at tmp_path/vol (skipped where it cannot be)."""
    tools = [shutil.which(t) for t in ("mkfs.exfat", "mount.exfat-fuse", "losetup", "umount")]
    if os.geteuid() != 0 or not all(tools) or not os.path.exists("/dev/fuse"):
        pytest.skip("mounting an exFAT volume needs root, /dev/fuse, exfatprogs and exfat-fuse")
    img, vol = tmp_path / "v.img", tmp_path / "vol"
    vol.mkdir()
    with open(img, "wb") as f:
        f.truncate(8 << 20)
    ok = subprocess.run(["mkfs.exfat", str(img)], capture_output=True).returncode == 0
    loop = subprocess.run(["losetup", "-f", "--show", str(img)], capture_output=True, text=True) if ok else None
    if loop is None or loop.returncode != 0:
        pytest.skip("no loop device for an exFAT volume here")
    dev = loop.stdout.strip()
    try:
        if subprocess.run(["mount.exfat-fuse", dev, str(vol)], capture_output=True).returncode != 0:
            pytest.skip("exFAT volume not mounted (FUSE refused)")
        try:
            yield vol
        finally:
            file_names._FOLDS.clear()  # its device number may be another file system's later
            if subprocess.run(["umount", str(vol)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(vol)], capture_output=True)
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def test_on_a_real_exfat_volume(exfat, two_cases, rasters, tiny_model_file, monkeypatch):
    inp, _ = two_cases
    out = exfat / "out"
    out.mkdir()
    assert file_names.folds_case(out) is True  # empty: by its probe file, removed
    assert list(out.iterdir()) == []
    shutil.copy(rasters["gray"], exfat / "scene.tif")
    assert file_names.folds_case(exfat) is True  # by its names
    (exfat / "de").mkdir()
    (exfat / "de" / "straße.tif").write_bytes(b"")  # Python's upper case 'STRASSE.TIF' is no name there
    assert file_names.folds_case(exfat / "de") is True
    _no_model(monkeypatch)
    r = run("upscale", inp, "-o", out, *FAST, "--model", tiny_model_file, "--overwrite")
    assert r.exit_code == 2, r.output
    assert "are one file there: its file system does not tell letter case apart" in r.output
    assert list(out.iterdir()) == []
    r = run("upscale", exfat / "scene.tif", "-o", exfat / "SCENE.TIF", *FAST, "--overwrite")
    assert r.exit_code == 2 and "output path is an input file" in r.output, r.output
    assert (exfat / "scene.tif").read_bytes() == rasters["gray"].read_bytes()


def test_an_answer_is_looked_at_afresh_after_a_minute(tmp_path, monkeypatch):
    """folds_case's answer is kept for KEEP_S, not for the process: a folder's device and inode may be
    another disk's later (a USB stick of another file system mounted at the same device number in a
    long napari session). Before: kept for ever, so the old disk's 'tells case apart' stood for a
    folding one and two outputs of one name in other case could be written over each other."""
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(file_names, "_FOLDS", {})
    now = [1000.0]
    monkeypatch.setattr(file_names.time, "monotonic", lambda: now[0])
    assert file_names.folds_case(out) is False  # this disk tells case apart
    _folding_disk(monkeypatch, out)  # "another disk" at the same device and inode
    monkeypatch.setattr(file_names, "_FOLDS", {file_names._folder_id(str(out)): (False, now[0])})
    now[0] += file_names.KEEP_S / 2
    assert file_names.folds_case(out) is False  # kept: a batch looks once
    now[0] += file_names.KEEP_S
    assert file_names.folds_case(out) is True


def test_a_name_the_exfat_volume_refuses_is_said_as_such(exfat, rasters, tmp_path):
    """``S2_10:30.tif`` (a time in its name) into a folder on a USB stick: FAT and exFAT take no ':' in a name. Before:
    'cannot write to vol/out: No such file or directory' (exfat-fuse's ENOENT) of a folder that is there; now the
    name and the character are said, the input fails alone (exit 1 in a batch) and nothing is left there."""
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(rasters["gray"], inp / "S2_10:30.tif")
    shutil.copy(rasters["gray"], inp / "b.tif")
    out = exfat / "out"
    out.mkdir()
    r = run("upscale", inp, "-o", out, *FAST)
    assert r.exit_code == 1, r.output
    assert (f"cannot write to {out}: its file system refuses the name S2_10:30_sr.tif (for its ':': FAT, exFAT and "
            "NTFS disks and SMB shares take no") in r.output, r.output
    assert sorted(p.name for p in out.iterdir()) == ["b_sr.tif"]
    r = run("upscale", inp / "b.tif", "-o", exfat / "b?.tif", *FAST)
    assert r.exit_code == 5 and "refuses the name b?.tif (for its '?'" in r.output, r.output


def test_a_long_name_the_exfat_volume_holds_is_written(exfat, rasters):
    """exFAT holds 255 UTF-16 units in a name, which exfat-fuse says as 255 (bytes, to pathconf). Before: an output name
    of 132 characters and 258 bytes (accented letters: 2 bytes each) was refused, 'output name too long ... (258
    bytes; the file system takes at most 255)', though the disk takes it; now written. One of 256 units is refused
    before any work, counted as the disk counts it."""
    long = "é" * 126 + "_x.tif"
    r = run("upscale", rasters["gray"], "-o", exfat / long, *FAST)
    assert r.exit_code == 0, r.output
    assert [p.name for p in exfat.iterdir()] == [long]
    r = run("upscale", rasters["gray"], "-o", exfat / ("a" * 252 + ".tif"), *FAST)
    assert r.exit_code == 2 and "(256 characters (UTF-16 units); the file system takes at most 255)" in r.output, r.output
    assert [p.name for p in exfat.iterdir()] == [long]


def _mounted_as(monkeypatch, folder, fs):
    """``folder`` listed by mountinfo as a mount of type ``fs`` (a USB stick's "vfat" or "exfat", exfat-fuse's
    "fuseblk"), the test's disk underneath."""
    from ldcsr_core.mounts import Mount

    real = file_names.mounts
    monkeypatch.setattr(file_names, "mounts", lambda mountinfo="/proc/self/mountinfo": [
        *(real(mountinfo) or []), Mount(os.path.realpath(folder), "/", fs, "/dev/sdz1", ())])


@pytest.mark.parametrize("fs", ["vfat", "exfat"])
def test_a_name_a_fat_or_exfat_disk_refuses_is_refused_before_any_work(tmp_path, rasters, monkeypatch, fs):
    """The kernel's FAT and exFAT drivers refuse ``" * : < > ? \\ |`` in names. Before: found only as the part file was
    made, after the model had loaded (in a folder run, after the inputs before it had run); now refused with the
    other output names, before any work, in the same words. Its names count UTF-16 units (258 bytes, 132 units:
    taken)."""
    out = tmp_path / "usb"
    out.mkdir()
    _mounted_as(monkeypatch, out, fs)
    _no_model(monkeypatch)
    assert file_names.windows_names(out) == "sure"
    file_names.check_name_length(out / ("é" * 126 + "_x.tif"))  # (the test's disk would refuse it: not written)
    r = run("upscale", rasters["gray"], "-o", out / "S2_10:30.tif", *FAST)
    assert r.exit_code == 2, r.output
    assert (f"cannot write to {out}: its file system refuses the name S2_10:30.tif (for its ':': FAT, exFAT and "
            "NTFS disks and SMB shares take no") in r.output, r.output
    assert list(out.iterdir()) == []


def test_a_name_exfat_fuse_or_ntfs_3g_may_take_is_not_refused_before_the_write(tmp_path, monkeypatch):
    """fuseblk is exfat-fuse's (which refuses ':') or ntfs-3g's (which takes it): not refused ahead, the write says it
    where the disk refuses it (test_a_name_the_exfat_volume_refuses_is_said_as_such); its names count UTF-16 units."""
    out = tmp_path / "usb"
    out.mkdir()
    _mounted_as(monkeypatch, out, "fuseblk")
    file_names.check_name_length(out / "S2_10:30.tif")
    file_names.check_name_length(out / ("é" * 126 + "_x.tif"))
    with pytest.raises(RasterIOError, match="256 characters"):
        file_names.check_name_length(out / ("a" * 252 + ".tif"))


def test_an_enoent_on_a_disk_that_takes_any_name_is_not_said_to_be_the_name(tmp_path, monkeypatch):
    """ext4, XFS, tmpfs... take ':' and '?' in names: an ENOENT there is the folder removed (and made again, as the
    isdir that follows finds it). Before: 'its file system refuses the name a:b.tif' of such a disk."""
    _mounted_as(monkeypatch, tmp_path, "ext4")
    err = OSError(errno.ENOENT, "No such file or directory")
    assert file_names.refused_name(tmp_path / "a:b.tif", err) is None


def test_a_name_every_disk_takes_looks_up_no_mount(tmp_path, monkeypatch):
    """check_name_length runs for every output of a batch, up to three times each (the plan, upscale_raster, the
    writer); reading mountinfo costs 0.35 ms, 42 ms with 3000 mounts (a cluster node): a 5000-input run spent minutes
    before its first tile. A name every disk takes (within 255 UTF-16 units and the folder's bytes, no character FAT
    refuses) is passed without it; the others are still told by the disk's type (tests above)."""
    looked = []
    _mounted_as(monkeypatch, tmp_path, "vfat")
    listed = file_names.mounts
    monkeypatch.setattr(file_names, "mounts", lambda *a: looked.append(1) or listed(*a))
    for name in ("S2A_MSIL2A_20230612_T33UUP_sr.tif", "é" * 100 + "_sr.tif", "a" * 255):
        file_names.check_name_length(tmp_path / name)
    assert looked == []
    with pytest.raises(RasterIOError, match="refuses the name a:b.tif"):
        file_names.check_name_length(tmp_path / "a:b.tif")
    file_names.check_name_length(tmp_path / ("é" * 126 + "_x.tif"))  # 258 bytes: held by FAT as 132 units
    assert len(looked) == 2
