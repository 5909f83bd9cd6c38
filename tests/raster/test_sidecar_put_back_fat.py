"""An old image's sidecar that a write on a FAT, exFAT or FUSE disk could not put back, and the next run's put-back."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from ldcsr_core import files
from ldcsr_core.errors import RasterIOError
from ldcsr_core.geo import raster_io as rio_io

from .test_sidecar_handover import OLD, _killed_over_an_old_image, _left, _mountinfo, _remounted_then_cleared


@pytest.mark.parametrize("killed", [False, True])
def test_a_sidecar_not_put_back_on_fat_goes_back_beside_the_old_image_after_a_remount(rasters, tmp_path, monkeypatch,
                                                                                     killed):
    """An --overwrite on FAT over an image with its .aux.xml and .ovr whose raster rename fails (EIO), or one killed
    before it and the next run's clean-up, where the old .aux.xml cannot be put back once (EIO): it stays set aside
    with its part and the part's marker, which names the old image; the disk remounted (the image renumbered, its
    change time now), the next run's clean-up knows the image by that marker and puts the .aux.xml back: the old image
    whole. Before: the failed put-back removed the marker (the run's own, or the clean-up's with the dead run's
    files), so the next clean-up went by change times alone, the image's now the later (on exFAT and FUSE a
    sidecar's is its modification time, remount or not), and removed the old .aux.xml, its only copy."""
    from ldcsr_core import file_names
    from ldcsr_core.geo.sidecars import _file_key

    disk = tmp_path / "disk"
    out = disk / "o.tif"
    disk.mkdir()
    link, replace, renumbers = os.link, os.replace, file_names.renumbers_files
    info = _mountinfo(tmp_path, "vfat", disk)

    def failing(call):
        def fails(src, dst, **kw):
            if Path(dst) == Path(f"{out}.aux.xml") or (not killed and Path(dst) == out):
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            return call(src, dst, **kw)
        return fails

    if killed:
        old = _killed_over_an_old_image(rasters, out)
    else:
        old = Path(rasters["gray"]).read_bytes()
        out.write_bytes(old)
        for side, data in OLD.items():
            Path(f"{out}{side}").write_bytes(data)
    with monkeypatch.context() as m:
        m.setattr(file_names, "renumbers_files", lambda path, mountinfo=info: renumbers(path, mountinfo))
        m.setattr(os, "link", failing(link))
        m.setattr(os, "replace", failing(replace))
        if killed:
            rio_io.clear_stale_parts(out)
        else:
            with pytest.raises(RasterIOError, match="Input/output error"):
                rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=True)
    now = _left(disk)
    [part] = [n for n in now if n.endswith(files.PART_SUFFIX)]
    marker = f"{part}.new"
    assert now == {"o.tif": old, "o.tif.ovr": OLD[".ovr"], f"{part}.old0": OLD[".aux.xml"], part: b"",
                   marker: now.get(marker)}
    assert now[marker].decode().split("\n")[1] == _file_key(out)  # the old image, still there
    _remounted_then_cleared(out, "vfat", tmp_path, monkeypatch)
    assert _left(disk) == {"o.tif": old, **{f"o.tif{side}": data for side, data in OLD.items()}}


@pytest.mark.parametrize("remounted, part_deleted", [(False, False), (True, False), (False, True)])
def test_a_later_overwrite_s_image_of_the_same_size_ends_and_time_never_gets_the_old_image_s_sidecar(
        tmp_path, monkeypatch, remounted, part_deleted):
    """On FAT: an --overwrite of o.tif (image A, with its .aux.xml) fails (EIO on the raster's rename and on the
    .aux.xml's put-back): its part, marker (naming A) and .old0 stay; a second --overwrite writes B, uncompressed, of
    the same scene (same size, header, nodata border: the same first and last 64 KiB, and a time within FAT's 2 s),
    its clean-up's put-back of A's .aux.xml failing again; a remount, the next clean-up: B gets no .aux.xml (A's is
    removed with the dead run's files). Also with a remount between the two writes (the stick plugged in again after
    the error: A renumbered). Before: the marker, kept for the put-back, named a file B's size, ends and time share,
    and A's statistics went beside B (review31c; with the remount between, review31d). Also with the emptied part
    deleted by hand after the first write (its image of another size, so that its marker names no image there):
    before 2026-12-07 the --overwrite kept the markers of such a part, and A's .aux.xml went beside B."""
    import numpy as np
    from rasterio.transform import from_origin

    from ldcsr_core import file_names
    from ldcsr_core.geo.raster_io import GeoArray

    disk = tmp_path / "disk"
    out = disk / "o.tif"
    disk.mkdir()
    info = _mountinfo(tmp_path, "vfat", disk)
    link, replace, renumbers = os.link, os.replace, file_names.renumbers_files

    def image(inner, size=512):
        a = np.zeros((1, size, size), np.uint8)
        a[:, 200:300, 200:300] = inner
        return GeoArray(a, from_origin(500000, 4000000, 10, 10), "EPSG:32633", nodata=0)

    def failing(raster):
        def wrap(call):
            def fails(src, dst, **kw):
                if Path(dst) == Path(f"{out}.aux.xml") or (raster and Path(dst) == out):
                    raise OSError(errno.EIO, os.strerror(errno.EIO))
                return call(src, dst, **kw)
            return fails
        return wrap

    rio_io.write_raster(out, image(1), compress="none")
    Path(f"{out}.aux.xml").write_bytes(b"<PAMDataset>statistics of A</PAMDataset>")
    with monkeypatch.context() as m:
        m.setattr(file_names, "renumbers_files", lambda path, mountinfo=info: renumbers(path, mountinfo))
        m.setattr(os, "link", failing(True)(link))
        m.setattr(os, "replace", failing(True)(replace))
        with pytest.raises(RasterIOError, match="Input/output error"):
            rio_io.write_raster(out, image(9, 384 if part_deleted else 512), overwrite=True, compress="none")
    if part_deleted:
        [part] = [p for p in disk.iterdir() if p.name.endswith(files.PART_SUFFIX)]
        part.unlink()
    if remounted:  # A renumbered: copied onto itself, the same bytes and times under another inode
        number = out.stat().st_ino
        shutil.copy2(out, disk / "copy")
        os.replace(disk / "copy", out)
        assert out.stat().st_ino != number
    with monkeypatch.context() as m:
        m.setattr(file_names, "renumbers_files", lambda path, mountinfo=info: renumbers(path, mountinfo))
        m.setattr(os, "link", failing(False)(link))
        m.setattr(os, "replace", failing(False)(replace))
        rio_io.write_raster(out, image(2), overwrite=True, compress="none")
    b = out.read_bytes()
    assert int(rio_io.read_raster(out).data[0, 250, 250]) == 2  # B
    _remounted_then_cleared(out, "vfat", tmp_path, monkeypatch)
    assert _left(disk) == {"o.tif": b}
