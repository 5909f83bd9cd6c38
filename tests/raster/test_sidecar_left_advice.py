"""What the warning about an old image's sidecar left set aside tells the user, in a run that replaces that image and
in one that does not; and that sidecar after the user deleted its emptied part file by hand, or without its part
renamed to the image by a killed run."""

from __future__ import annotations

import errno
import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest

from ldcsr_core.errors import RasterIOError
from ldcsr_core.geo import raster_io as rio_io
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster
from ldcsr_core.output_claims import OutputClaim

from . import forked

OLD_AUX = b"<PAMDataset>old</PAMDataset>"
RENAME_IT = "(or rename it to o.tif.aux.xml yourself)"


def _failing(monkeypatch, out: Path, *, raster: bool) -> None:
    """os.link and os.replace fail (EIO) onto o.tif.aux.xml, and onto o.tif where ``raster``."""
    failing_names = {Path(f"{out}.aux.xml"), *([out] if raster else [])}

    def failing(call):
        def fails(src, dst, **kw):
            if Path(dst) in failing_names:
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            return call(src, dst, **kw)
        return fails
    monkeypatch.setattr(os, "link", failing(os.link))
    monkeypatch.setattr(os, "replace", failing(os.replace))


def _left_aside(rasters, tmp_path, monkeypatch) -> tuple[Path, str]:
    """o.tif (gray) with its .aux.xml, and an --overwrite whose renames of both failed: its .aux.xml is left as a
    .old0 beside the emptied part. Returns o.tif and that .old0's name."""
    out = tmp_path / "o.tif"
    out.write_bytes(Path(rasters["gray"]).read_bytes())
    Path(f"{out}.aux.xml").write_bytes(OLD_AUX)
    _failing(monkeypatch, out, raster=True)
    with pytest.raises(RasterIOError, match="Input/output error"):
        rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=True)
    monkeypatch.undo()
    [aside] = [p.name for p in tmp_path.iterdir() if p.name.endswith(".old0")]
    return out, aside


@pytest.mark.parametrize("by", ["write_raster", "upscale_raster"])
def test_the_clean_up_of_a_run_that_replaces_the_image_never_advises_renaming_its_old_sidecar_beside_the_new_one(
        rasters, tiny_model, tmp_path, monkeypatch, caplog, by):
    """The old .aux.xml left set aside (a failed put-back), then an --overwrite of o.tif whose clean-up cannot put it
    back either: its warning says it belongs to the o.tif this run replaces, never to rename it beside the new one,
    and that the next write removes it; which it does. Before: 'which the next write of o.tif tries again (or rename
    it to o.tif.aux.xml yourself)', which after the run gave the new image the old one's metadata
    (review31c, advice_after_overwrite.py). The run's own failed put-back, whose old image stays, keeps that advice."""
    out, aside = _left_aside(rasters, tmp_path, monkeypatch)
    assert (f"o.tif.aux.xml not put in place: Input/output error; it is left as {aside}, which the next write of o.tif "
            f"tries again {RENAME_IT}") in caplog.text  # the run's own put-back: the old image is still o.tif
    caplog.clear()
    _failing(monkeypatch, out, raster=False)
    if by == "write_raster":
        rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=True)
    else:
        upscale_raster(rasters["gray"], out, model=tiny_model, scale=2, options=UpscaleOptions(mode="fast"),
                       output=OutputOptions(overwrite=True))
    monkeypatch.undo()
    assert (f"o.tif.aux.xml not put in place: Input/output error; it is left as {aside}, a sidecar of the o.tif that "
            "this run is to replace: never rename it beside the new o.tif (move it elsewhere to keep it); the next "
            "write of o.tif removes it, or puts it back if o.tif was not replaced") in caplog.text
    assert RENAME_IT not in caplog.text
    assert (tmp_path / aside).read_bytes() == OLD_AUX
    rio_io.clear_stale_parts(out)  # the next write of o.tif, the disk well again
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(OutputClaim.SUFFIX)) == ["o.tif"]


def test_a_later_clean_up_of_the_image_not_replaced_advises_renaming_it_and_puts_it_back_then(rasters, tmp_path,
                                                                                              monkeypatch, caplog):
    """The same set-aside .aux.xml, and a clean-up of o.tif (the old image still) outside a run that replaces it:
    the advice to rename it onto o.tif.aux.xml stands, and the next clean-up puts it back."""
    out, aside = _left_aside(rasters, tmp_path, monkeypatch)
    caplog.clear()
    _failing(monkeypatch, out, raster=False)
    rio_io.clear_stale_parts(out)
    monkeypatch.undo()
    assert (f"o.tif.aux.xml not put in place: Input/output error; it is left as {aside}, which the next write of o.tif "
            f"tries again {RENAME_IT}") in caplog.text and "this run is to replace" not in caplog.text
    rio_io.clear_stale_parts(out)
    assert Path(f"{out}.aux.xml").read_bytes() == OLD_AUX


def test_a_set_aside_sidecar_whose_emptied_part_was_deleted_by_hand_still_goes_back(rasters, tmp_path, monkeypatch):
    """A user tidies the folder and deletes the empty hidden part file left beside a set-aside .aux.xml: the next
    clean-up still puts that .aux.xml back beside o.tif (the old image, unchanged). Before: it went with the dead
    run's files ('removed 2 stale part files'), the old image's only copy of its metadata."""
    out, aside = _left_aside(rasters, tmp_path, monkeypatch)
    part = tmp_path / aside[:-len(".old0")]
    assert part.stat().st_size == 0
    part.unlink()
    rio_io.clear_stale_parts(out)
    assert Path(f"{out}.aux.xml").read_bytes() == OLD_AUX
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(OutputClaim.SUFFIX)) == [
        "o.tif", "o.tif.aux.xml"]


def _killed_over_old_sidecars(rasters, tmp_path: Path, when: str) -> tuple[Path, Path]:
    """disk/o.tif (the gray scene) with an old .aux.xml and .ovr, and an --overwrite of it killed just ``when``
    ("before", "after") its raster's rename, the old sidecars set aside; returns o.tif and an empty folder ``copy`` (the
    other disk)."""
    from .test_stale_parts import KILLED_AT_THE_RENAME

    disk, copy = tmp_path / "disk", tmp_path / "copy"
    disk.mkdir(), copy.mkdir()
    out = disk / "o.tif"
    out.write_bytes(Path(rasters["gray"]).read_bytes())
    Path(f"{out}.aux.xml").write_bytes(OLD_AUX)
    Path(f"{out}.ovr").write_bytes(b"old ovr")
    r = forked.run(["-c", KILLED_AT_THE_RENAME, rasters["rgba"], out, when], text=False, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
    assert not Path(f"{out}.aux.xml").exists()
    return out, copy


def _copied_then_cleared(out: Path, copy: Path, *, image_first: bool, but=()) -> dict[str, bytes]:
    """The folder of ``out`` copied to ``copy`` (shutil.copy2: another inode, the times kept, the change time the
    copy's), o.tif first or in name order (rsync's: '.' sorts before 'o'), but the files named in ``but``; then the
    next clean-up there: what it leaves."""
    for p in sorted(out.parent.iterdir(), key=lambda p: (p.name != out.name) if image_first else p.name):
        if p.name not in but:
            shutil.copy2(p, copy / p.name)
    rio_io.clear_stale_parts(copy / out.name)
    return {p.name: p.read_bytes() for p in copy.iterdir() if not p.name.endswith(OutputClaim.SUFFIX)}


def test_a_killed_overwrite_s_old_sidecars_never_go_beside_its_new_image_in_a_copy_of_the_folder(rasters, tmp_path):
    """kill -9 of an --overwrite just after its raster's rename (the old image's .aux.xml and .ovr set aside, the new
    image at o.tif, its part gone), then the folder copied to another disk (cp -a, a file manager's move: each file
    another inode, its change time the copy's; o.tif first here, as a listing may give it): the next clean-up there
    never puts the old image's sidecars beside the new image, whose marker (by device and inode) no longer names it.
    Before: its part gone, they were put back by change times (the copy's), and GDAL read the old image's overviews
    and statistics as the new image's."""
    out, copy = _killed_over_old_sidecars(rasters, tmp_path, "after")
    new = out.read_bytes()
    left = sorted(p.suffix for p in out.parent.glob(".o.tif.*.ldcsr-part.*"))
    assert new != Path(rasters["gray"]).read_bytes() and left == [".new", ".old0", ".old2"]
    assert _copied_then_cleared(out, copy, image_first=True) == {"o.tif": new}


@pytest.mark.parametrize("part_deleted", [False, True])
def test_a_killed_overwrite_s_old_sidecars_go_back_beside_the_old_image_in_a_copy_of_the_folder(rasters, tmp_path,
                                                                                                 part_deleted):
    """kill -9 of an --overwrite just before its raster's rename (the old image's .aux.xml and .ovr set aside, the old
    image still at o.tif), then the folder copied to another disk in name order, as rsync -a copies it (the hidden
    .oldN before o.tif: their change times earlier than the image's), its part kept or deleted by hand: the next
    clean-up there puts them back beside the old image, which they describe. Before: their change times read as set
    aside before the image (its part there), or their marker's device and inode named no file there (its part gone),
    and the clean-up removed the old image's only .aux.xml and .ovr ('removed 4 stale part files')."""
    out, copy = _killed_over_old_sidecars(rasters, tmp_path, "before")
    old = out.read_bytes()
    assert old == Path(rasters["gray"]).read_bytes()
    part = [p.name for p in out.parent.glob(".o.tif.*.ldcsr-part")] if part_deleted else []
    assert _copied_then_cleared(out, copy, image_first=False, but=part) == {
        "o.tif": old, "o.tif.aux.xml": OLD_AUX, "o.tif.ovr": b"old ovr"}


def test_a_killed_overwrite_s_old_sidecars_never_go_beside_another_image_moved_to_its_name_in_a_copy(rasters,
                                                                                                     tmp_path):
    """kill -9 of an --overwrite just before its raster's rename (the old image's .aux.xml and .ovr set aside, its part
    there), the user then moves another image to o.tif and copies the folder to another disk (o.tif first, as a listing
    may give it): the next clean-up there never puts the old image's sidecars beside the other image, which their
    marker does not name. Before: the copy's change times read as set aside after the image, and they went beside it."""
    out, copy = _killed_over_old_sidecars(rasters, tmp_path, "before")
    other = Path(rasters["int16_nodata"]).read_bytes()
    (tmp_path / "other.tif").write_bytes(other)
    os.replace(tmp_path / "other.tif", out)
    assert _copied_then_cleared(out, copy, image_first=True) == {"o.tif": other}


@pytest.mark.parametrize("step", [2, 3])
def test_a_killed_overwrite_s_new_sidecars_go_beside_its_new_image_in_a_copy_of_the_folder(rasters, tmp_path, step):
    """kill -9 of an --overwrite just after its raster's rename, before its new .aux.xml and .msk were put beside it
    (2), or once its .aux.xml was linked there, before its own name was removed (3), then the folder copied to another
    disk: the next clean-up there puts them beside the new image, which their marker names (by its size, ends and
    time: the copy's inode is another), once. Before: the marker's device and inode named no file there, and the new
    image's mask and metadata were removed with the dead run's files; and the link, two files in the copy, left a
    second o.tif.aux.xml.set-aside, 'made by another program', said the warning."""
    from .test_stale_parts import KILLED_AT_A_STEP

    out = tmp_path / "disk" / "o.tif"
    out.parent.mkdir(), (tmp_path / "copy").mkdir()
    out.write_bytes(Path(rasters["gray"]).read_bytes())
    r = forked.run(["-c", KILLED_AT_A_STEP, rasters["rgba"], out, step, "old"], text=False, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
    new = out.read_bytes()
    assert new != Path(rasters["gray"]).read_bytes() and not Path(f"{out}.msk").exists()
    assert Path(f"{out}.aux.xml").exists() is (step == 3)
    assert _copied_then_cleared(out, tmp_path / "copy", image_first=False) == {
        "o.tif": new, "o.tif.aux.xml": b"<PAMDataset>new</PAMDataset>", "o.tif.msk": b"new msk"}



KILLED_OVER_A_LOOKALIKE = r"""
import os, signal, sys
from pathlib import Path
import numpy as np
from rasterio.transform import from_origin
from ldcsr_core.geo import geotiff_writer
from ldcsr_core.geo.raster_io import GeoArray, write_raster
out, later, replace, renames = Path(sys.argv[1]), int(sys.argv[2]), os.replace, geotiff_writer._replace_with_sidecars
def at_its_time(part, path):  # the part done `later` ns after the old image; a dead run's mask beside it
    Path(f"{part}.msk").write_bytes(b"new msk")
    os.utime(part, ns=(0, os.stat(path).st_mtime_ns + later))
    return renames(part, path)
def killed(src, dst):  # kill -9 before the raster's rename, the old image's sidecars set aside
    if Path(dst) == out:
        os.kill(os.getpid(), signal.SIGKILL)
    replace(src, dst)
geotiff_writer._replace_with_sidecars, os.replace = at_its_time, killed
tile = np.zeros((1, 400, 400), np.uint8)
tile[0, 190:210] = 9
write_raster(out, GeoArray(tile, from_origin(500000, 4000000, 10, 10), "EPSG:32633", nodata=0), overwrite=True,
             compress="none")
"""


@pytest.mark.parametrize("later_s", [0.4, 900.5])
def test_a_killed_overwrite_s_old_sidecars_go_back_beside_the_old_image_whose_new_one_looks_alike(tmp_path, later_s):
    """kill -9 of an --overwrite of o.tif just before its raster's rename (the old image's .aux.xml and .ovr set aside),
    its part then deleted by hand, on ext4: the old image and the dead run's are two uncompressed outputs of one tile
    (one size; header and nodata border, so first and last 64 KiB, alike) whose part was done 0.4 s after it (a fast
    folder run) or a quarter hour and 0.5 s after it. The next clean-up puts the old image's sidecars back beside it
    (it is the very file, by its inode, that the marker names as replaced) and never the dead run's mask. Before
    (9495510): the marker's first line named it by size, ends and time as the new image renamed there, so the old
    image lost its only .aux.xml and .ovr and got the dead run's .msk."""
    from rasterio.transform import from_origin

    out = tmp_path / "o.tif"
    tile = np.zeros((1, 400, 400), np.uint8)
    tile[0, 190:210] = 5
    rio_io.write_raster(out, rio_io.GeoArray(tile, from_origin(500000, 4000000, 10, 10), "EPSG:32633", nodata=0),
                        compress="none")
    Path(f"{out}.aux.xml").write_bytes(OLD_AUX)
    Path(f"{out}.ovr").write_bytes(b"old ovr")
    old = out.read_bytes()
    r = forked.run(["-c", KILLED_OVER_A_LOOKALIKE, out, str(int(later_s * 1e9))], text=False, timeout=120)
    assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
    (part,) = tmp_path.glob(".o.tif.*.ldcsr-part")
    new = part.read_bytes()
    assert len(new) == len(old) and new != old and (new[:1 << 16], new[-1 << 16:]) == (old[:1 << 16], old[-1 << 16:])
    part.unlink()  # by hand
    rio_io.clear_stale_parts(out)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.endswith(OutputClaim.SUFFIX)} == {
        "o.tif": old, "o.tif.aux.xml": OLD_AUX, "o.tif.ovr": b"old ovr"}
