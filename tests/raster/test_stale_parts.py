"""A run killed with kill -9 leaves its part file; the next run on that output removes it (only it)."""

from __future__ import annotations

import errno
import os
import signal
import sys
import time
from pathlib import Path

import pytest
import rasterio

from ldcsr_core import files
from ldcsr_core.output_claims import OutputClaim
from ldcsr_core.geo import raster_io as rio_io
from ldcsr_core.geo.pipeline import OutputOptions, UpscaleOptions, upscale_raster

from . import forked
from .conftest import sha256

CHILD = r"""
import sys, time
from pathlib import Path
import ldcsr_core
from ldcsr_core.geo.pipeline import UpscaleOptions, upscale_raster
model = ldcsr_core.load_model(sys.argv[4], device="cpu")
marker = Path(sys.argv[3])
def stall_after_first_tile(info):
    if info.done >= 1:
        marker.write_text("one tile written")
        time.sleep(600)
upscale_raster(sys.argv[1], sys.argv[2], model=model, scale=2,
               options=UpscaleOptions(mode="fast", tile=32), callback=stall_after_first_tile)
"""


def _env():  # a new interpreter's environment, for test_sidecar_handover's runs of the scripts below
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def _kill_mid_run(src, dst, model_file, tmp_path) -> list[Path]:
    marker = tmp_path / "marker"
    proc = forked.start(["-c", CHILD, src, dst, marker, model_file])  # a process of its own
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr[-2000:]
            assert time.monotonic() < deadline, "the child never finished a tile"
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return sorted(p for p in dst.parent.iterdir() if p.name.startswith(f".{dst.name}."))


def test_kill_9_leaves_a_part_that_the_next_run_removes(rasters, tiny_model_file, tmp_path):
    src = rasters["uint16_nodata"]
    before = sha256(src)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    dst = out_dir / "o.tif"
    left = _kill_mid_run(src, dst, tiny_model_file, tmp_path)
    assert not dst.exists()
    claim = dst.parent / f".{dst.name}{OutputClaim.SUFFIX}"  # unlocked: the next run takes it
    left = [p for p in left if p != claim]
    assert len(left) == 1 and files.is_part_of(left[0], dst), left  # what kill -9 leaves

    # Files that are not ours, or not this output's, or held by a live writer: never touched.
    decoys = [out_dir / ".other.tif.abcdefgh.ldcsr-part", out_dir / ".o.tif.abcdefgh.tmp",
              out_dir / "o.tif.abcdefgh.ldcsr-part", out_dir / ".o.tif.abc.ldcsr-part",
              out_dir / "notes.txt"]
    for d in decoys:
        d.write_text("keep me")
    live, fd = files.make_part(dst)  # a run in progress on the same output (this process)
    try:
        r = forked.run(["-m", "ldcsr_core.cli", "upscale", src, "-o", dst, "-s", "2", "--mode", "fast",
                        "--model", tiny_model_file, "--device", "cpu"], timeout=300)
        assert live.exists()
    finally:
        os.close(fd)
        live.unlink()
    assert r.returncode == 0, r.stderr
    assert ("removed 1 stale part file of o.tif left by an interrupted run: "
            f"{left[0].name}") in r.stderr, r.stderr
    assert not left[0].exists()
    assert all(d.read_text() == "keep me" for d in decoys)
    with rasterio.open(dst) as ds:
        assert (ds.height, ds.width) == (90, 122)
    assert sha256(src) == before
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(["o.tif"] + [d.name for d in decoys])


def test_upscale_raster_reports_what_it_removed(rasters, tiny_model, tmp_path, caplog):
    dst = tmp_path / "g.tif"
    part, fd = files.make_part(dst)
    os.close(fd)  # its writer is gone
    with caplog.at_level("WARNING", logger="ldcsr_core"):
        res = upscale_raster(rasters["gray"], dst, model=tiny_model, scale=2,
                             options=UpscaleOptions(mode="fast"), output=OutputOptions())
    assert res.stale_parts_removed == 1 and not part.exists() and dst.exists()
    assert any(part.name in r.getMessage() for r in caplog.records)


def test_a_skipped_output_s_stale_spread_part_is_removed(rasters, tiny_model, tmp_path):
    """kill -9 while a --overwrite rerun wrote the spread file (its part file left), then the same
    request again: it skips the complete output and spread file of the first run. Before, it never
    opened the spread file's writer, so the dead run's part file (as big as the spread file) stayed
    for good; now every run of that output removes it."""
    dst, spread = tmp_path / "g.tif", tmp_path / "g_spread.tif"
    opts = dict(model=tiny_model, scale=2, options=UpscaleOptions(mode="diffusion", samples=2),
                output=OutputOptions(skip_complete=True))
    assert upscale_raster(rasters["gray"], dst, **opts).status == "written" and spread.exists()
    part, fd = files.make_part(spread)
    os.close(fd)  # its writer was killed
    res = upscale_raster(rasters["gray"], dst, **opts)
    assert res.status == "skipped" and res.stale_parts_removed == 1 and not part.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.tif", "g_spread.tif"]


# An output's name holding the part files' suffix: before 2026-12-07 its part's files were taken for those of a part
# named by its name's first '.ldcsr-part' (none): a live run's set-aside .oldN read as stale, a killed run's removed.
ODD_NAME = "x.ldcsr-part.tif"


@pytest.mark.parametrize("name", ["x.tif", ODD_NAME])
def test_stale_part_names_and_locks(tmp_path, name):
    dst = tmp_path / name
    part, fd = files.make_part(dst)
    assert files.is_part_of(part, dst) and part.name.startswith(f".{name}.")
    aside = Path(f"{part}.old0")  # an old image's sidecar this live --overwrite set aside
    aside.write_text("<PAMDataset/>")
    assert files.stale_parts(dst) == []  # locked by this writer
    os.close(fd)  # the writer died
    sidecar = Path(str(part) + ".aux.xml")
    sidecar.write_text("<PAMDataset/>")
    assert files.stale_parts(dst) == [part, sidecar, aside]
    assert files.remove_stale_parts(dst) == [part, sidecar, aside]
    assert list(tmp_path.iterdir()) == []
    assert not files.is_part_of(tmp_path / ".x.tif.abcdefgh.ldcsr-part", tmp_path / "y.tif")
    assert not files.is_part_of(tmp_path / ".x.tif.ABCDEFGH.ldcsr-part", dst)


KILLED_AT_THE_RENAME = r"""
import os, signal, sys
from pathlib import Path
from ldcsr_core.geo.raster_io import read_raster, write_raster
out, replace = Path(sys.argv[2]), os.replace
def killed_at_the_raster_s_rename(src, dst):  # kill -9 before (or after) the raster's rename, sidecars set aside
    if Path(dst) == out and sys.argv[3] == "after":
        replace(src, dst)
    if Path(dst) == out:
        os.kill(os.getpid(), signal.SIGKILL)
    replace(src, dst)
os.replace = killed_at_the_raster_s_rename
write_raster(out, read_raster(sys.argv[1]), overwrite=True)
"""


@pytest.mark.parametrize("out_name", ["o.tif", ODD_NAME])
def test_kill_9_as_overwrite_renames_leaves_the_old_output_with_its_sidecars(rasters, tmp_path, out_name):
    """kill -9 of an --overwrite as it renames the new file into place, after the old output's sidecars
    were set aside (geotiff_writer._replace_with_sidecars' .oldN): the next writer of that output puts
    them back (the old image was not replaced) and leaves no file of the dead run. Before: the old
    output had lost its .aux.xml and .ovr for good, and their hidden .oldN copies stayed, unknown to
    the stale-part clean-up (and, for :data:`ODD_NAME`, from 396e86c to 2026-12-07's fix, removed with them)."""
    out = tmp_path / out_name
    out.write_bytes(Path(rasters["gray"]).read_bytes())
    old = {out_name: out.read_bytes(), f"{out_name}.aux.xml": b"<PAMDataset>old</PAMDataset>",
           f"{out_name}.ovr": b"old ovr"}
    for name, data in old.items():
        (tmp_path / name).write_bytes(data)
    claim = f".{out.name}{OutputClaim.SUFFIX}"  # unlocked: the next run takes it
    for when in ("before", "after"):
        r = forked.run(["-c", KILLED_AT_THE_RENAME, rasters["rgba"], out, when], text=False, timeout=120)
        assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
        assert not (tmp_path / f"{out_name}.aux.xml").exists()  # the state kill -9 left: set aside
        files_removed = rio_io.clear_stale_parts(out)  # what every writer of o.tif (and ldcsr upscale) does first
        assert files_removed and all(files.is_part_of(p, out) for p in files_removed)
        left = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != claim}
        if when == "before":  # the old image, with its own sidecars again
            assert left == old
        else:  # the new image in place: the old one's sidecars gone with the dead run's files
            assert sorted(left) == [out_name] and left[out_name] != old[out_name]


def test_sidecars_set_aside_by_a_killed_overwrite_are_not_put_back_beside_another_image(rasters, tiny_model, tmp_path):
    """kill -9 of an --overwrite as it renames (the old output's sidecars set aside as .oldN), then the
    user deletes the old output, or moves another image to its name: the next run puts the dead run's
    .oldN back only beside the very image they were set aside from. Before: they were put back whatever
    stood at the name: ldcsr upscale of the deleted output was refused ('o.tif.aux.xml exists: GDAL
    would read it as part of o.tif ...', exit 4) for sidecars its own clean-up had just made, and the
    image moved there got the old image's .ovr, which GDAL shows as its overviews."""
    out = tmp_path / "o.tif"
    for gone in (True, False):
        out.write_bytes(Path(rasters["gray"]).read_bytes())
        for side, data in ((".aux.xml", b"<PAMDataset>old</PAMDataset>"), (".ovr", b"old ovr")):
            Path(f"{out}{side}").write_bytes(data)
        r = forked.run(["-c", KILLED_AT_THE_RENAME, rasters["rgba"], out, "before"], text=False, timeout=120)
        assert r.returncode == -signal.SIGKILL and out.exists(), r.stderr.decode()[-2000:]
        if gone:  # the user deleted the old output, not its hidden files
            out.unlink()
            res = upscale_raster(rasters["gray"], out, model=tiny_model, scale=2, options=UpscaleOptions(mode="fast"),
                                 output=OutputOptions())
            assert res.status == "written" and res.stale_parts_removed
            with rasterio.open(out) as ds:
                assert ds.overviews(1) == []
        else:  # another image moved to its name
            other = tmp_path / "other.tif"
            other.write_bytes(Path(rasters["rgba"]).read_bytes())
            os.replace(other, out)
            assert rio_io.clear_stale_parts(out)
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(OutputClaim.SUFFIX)) == ["o.tif"]
        out.unlink()


KILLED_AT_A_STEP = r"""
import os, signal, sys
from pathlib import Path
from ldcsr_core.geo.geotiff_writer import GeoTiffWriter
from ldcsr_core.geo.raster_io import read_raster, write_raster
step, calls, commit = int(sys.argv[3]), [], GeoTiffWriter.commit
def killed(call):  # kill -9 before the commit's step-th rename, link or removal
    def at_a_step(*args, **kw):
        calls.append(args)
        if len(calls) == step:
            os.kill(os.getpid(), signal.SIGKILL)
        return call(*args, **kw)
    return at_a_step
def commit_with_sidecars(self):  # GDAL's .aux.xml and .msk for the new file
    Path(f"{self.tmp_path}.aux.xml").write_bytes(b"<PAMDataset>new</PAMDataset>")
    Path(f"{self.tmp_path}.msk").write_bytes(b"new msk")
    os.replace, os.unlink, os.link = killed(os.replace), killed(os.unlink), killed(os.link)
    commit(self)
GeoTiffWriter.commit = commit_with_sidecars
write_raster(Path(sys.argv[2]), read_raster(sys.argv[1]), overwrite=sys.argv[4:] != ["new"])
"""


@pytest.mark.parametrize("overwrite", [True, False])
def test_kill_9_at_any_step_of_an_overwrite_leaves_the_old_output_or_the_new_one_whole(rasters, tmp_path, overwrite):
    """kill -9 before each rename, link and removal of an --overwrite whose new file has sidecars (.aux.xml, .msk)
    over an old one with its own (.aux.xml, .ovr), or of a new output, then the next writer's clean-up: what is
    left is the old image with exactly its sidecars (or nothing), or the new one with exactly its own, never a mix.
    Before: the new file's sidecars were renamed before the raster, so one killed between them left the old image
    with the new .msk (GDAL reads it as its mask); a new output's were renamed after it, and one killed between
    them left the new image without them (the clean-up removed them with the dead run's files)."""
    out = tmp_path / "o.tif"
    old = {"o.tif": Path(rasters["gray"]).read_bytes(), "o.tif.aux.xml": b"<PAMDataset>old</PAMDataset>",
           "o.tif.ovr": b"old ovr"} if overwrite else {}
    claim, seen, step = f".{out.name}{OutputClaim.SUFFIX}", [], 0
    while True:
        step += 1
        for name, data in old.items():
            (tmp_path / name).write_bytes(data)
        r = forked.run(["-c", KILLED_AT_A_STEP, rasters["rgba"], out, step, "old" if overwrite else "new"],
                       text=False, timeout=120)
        assert r.returncode in (0, -signal.SIGKILL), r.stderr.decode()[-2000:]
        rio_io.clear_stale_parts(out)  # what every writer of o.tif (and ldcsr upscale) does first
        left = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != claim}
        seen.append(left)
        for p in tmp_path.iterdir():
            p.unlink()
        if r.returncode == 0:
            break
    new = seen[-1]
    assert sorted(new) == ["o.tif", "o.tif.aux.xml", "o.tif.msk"] and new["o.tif"] != old.get("o.tif")
    assert new["o.tif.aux.xml"] == b"<PAMDataset>new</PAMDataset>" and new["o.tif.msk"] == b"new msk"
    assert step > (4 if overwrite else 3)  # the set-asides, the renames and the removals were all killed at
    assert [left for left in seen if left not in (old, new)] == []
    assert old in seen and seen.count(new) > 1


@pytest.mark.parametrize("overwrite", [True, False])
def test_a_new_sidecar_that_cannot_be_renamed_is_left_for_the_next_run(rasters, tmp_path, monkeypatch, caplog,
                                                                       overwrite):
    """--overwrite (or a new output) whose new file is in place but whose .aux.xml cannot be renamed beside it (EIO
    injected): the run, written, says so in a warning, keeps that .aux.xml under its part file's name (never removed
    with the part), and the next write of the output puts it beside the new file; the old file's sidecars are gone
    with it. Before: --overwrite failed (the old output kept), and a new output was in place but the run
    said it failed, and its .aux.xml was removed."""
    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    out = tmp_path / "o.tif"
    for name, data in (("o.tif", Path(rasters["gray"]).read_bytes()), ("o.tif.ovr", b"old ovr"))[:2 if overwrite else 0]:
        (tmp_path / name).write_bytes(data)
    commit, replace = GeoTiffWriter.commit, os.replace

    def commit_with_a_sidecar(self):
        Path(f"{self.tmp_path}.aux.xml").write_bytes(b"<PAMDataset>new</PAMDataset>")
        commit(self)

    def failing(call):
        def fails(src, dst, **kw):
            if Path(dst) == Path(f"{out}.aux.xml"):
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            return call(src, dst, **kw)
        return fails

    monkeypatch.setattr(GeoTiffWriter, "commit", commit_with_a_sidecar)
    monkeypatch.setattr(os, "replace", failing(replace))
    monkeypatch.setattr(os, "link", failing(os.link))
    rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=overwrite)
    monkeypatch.undo()
    new = out.read_bytes()
    assert new != Path(rasters["gray"]).read_bytes()
    [left] = [p for p in tmp_path.iterdir() if p.name.endswith(".aux.xml")]
    assert files.is_part_of(left, out) and left.read_bytes() == b"<PAMDataset>new</PAMDataset>"
    assert (f"o.tif.aux.xml not put in place: Input/output error; it is left as {left.name}, which the next write "
            "of o.tif tries again (or rename it to o.tif.aux.xml yourself)") in caplog.text
    rio_io.clear_stale_parts(out)  # the next write of o.tif
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if not p.name.endswith(OutputClaim.SUFFIX)} == {
        "o.tif": new, "o.tif.aux.xml": b"<PAMDataset>new</PAMDataset>"}


def test_an_interrupt_just_after_the_raster_s_rename_leaves_the_new_output_whole(rasters, tmp_path, monkeypatch):
    """Ctrl-C landing as the raster's rename returns (the old output's .aux.xml and .ovr set aside): the new image
    is in place, so the old one's sidecars are removed, not put back beside it. Before: they were put back, and
    GDAL read the old .ovr as the new image's overviews."""
    out = tmp_path / "o.tif"
    for name, data in (("o.tif", Path(rasters["gray"]).read_bytes()), ("o.tif.aux.xml", b"<PAMDataset>old</PAMDataset>"),
                       ("o.tif.ovr", b"old ovr")):
        (tmp_path / name).write_bytes(data)
    replace = os.replace

    def interrupted_after(src, dst):
        replace(src, dst)
        if Path(dst) == out:
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted_after)
    with pytest.raises(KeyboardInterrupt):
        rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(OutputClaim.SUFFIX)) == ["o.tif"]
    with rasterio.open(out) as ds:
        assert ds.count == 4


def test_a_sidecar_made_since_a_killed_overwrite_is_kept_and_the_set_aside_one_too(rasters, tmp_path, caplog):
    """kill -9 of an --overwrite as it renames, then QGIS writes its .aux.xml (a style or statistics changed) beside
    the image before the next run's clean-up: that .aux.xml is kept, and the one the dead run had (the old image's,
    set aside; or the new image's, not yet renamed) is kept as o.tif.aux.xml.set-aside, with a warning saying what
    to do with it; the other sidecars go in place. Before: the old image's set-aside .aux.xml replaced QGIS's, and
    (the new image killed between its renames) the new image's was removed with the dead run's files."""
    out = tmp_path / "o.tif"
    old = {"o.tif": Path(rasters["gray"]).read_bytes(), "o.tif.aux.xml": b"<PAMDataset>old</PAMDataset>",
           "o.tif.ovr": b"old ovr"}
    qgis = b"<PAMDataset>QGIS style</PAMDataset>"
    claim = f".{out.name}{OutputClaim.SUFFIX}"
    for step in (3, 4):  # kill -9 before the raster's rename, or before the new .aux.xml's (KILLED_AT_A_STEP's 4th)
        for name, data in old.items():
            (tmp_path / name).write_bytes(data)
        killed = [KILLED_AT_THE_RENAME, str(rasters["rgba"]), str(out), "before"] if step == 3 else [
            KILLED_AT_A_STEP, str(rasters["rgba"]), str(out), str(step)]
        r = forked.run(["-c", *killed], text=False, timeout=120)
        assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
        assert (out.read_bytes() == old["o.tif"]) == (step == 3) and not (tmp_path / "o.tif.aux.xml").exists()
        (tmp_path / "o.tif.aux.xml").write_bytes(qgis)
        caplog.clear()
        rio_io.clear_stale_parts(out)
        left = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != claim}
        if step == 3:  # the old image, its .ovr back, QGIS's .aux.xml kept, the old one beside it (as .set-aside)
            assert left == {**old, "o.tif.aux.xml": qgis, "o.tif.aux.xml.set-aside": old["o.tif.aux.xml"]}
        else:  # the new image, its .msk in place, QGIS's .aux.xml kept, the new one beside it
            assert left == {"o.tif": left["o.tif"], "o.tif.aux.xml": qgis, "o.tif.msk": b"new msk",
                            "o.tif.aux.xml.set-aside": b"<PAMDataset>new</PAMDataset>"}
        assert ("kept o.tif.aux.xml, made by another program during or since a write of its image; the one that "
                f"write had is now {tmp_path / 'o.tif.aux.xml.set-aside'} (rename it to o.tif.aux.xml to use it "
                "instead, or remove it; the next write of o.tif removes it)") in caplog.text
        for p in tmp_path.iterdir():
            p.unlink()


def test_a_sidecar_that_cannot_be_put_back_stays_set_aside_and_the_others_go_back(rasters, tmp_path, monkeypatch,
                                                                                  caplog):
    """--overwrite whose raster rename fails (EIO), or one killed before it, over an output with its .aux.xml and
    .ovr: where the old .aux.xml cannot be put back (EIO injected), the .ovr still is, a warning names the .aux.xml
    and where it is left (its .oldN, beside the part file, emptied, and its marker, which stay), and the next write
    of the output puts it back: the old output whole again. Before: the run's put-back stopped at the .aux.xml (the old image
    kept neither sidecar, and their copies went with its part file), and the clean-up's removed the .aux.xml's
    only copy with the dead run's files; until 2026-12-07 the part's marker went (test_sidecar_put_back_fat)."""
    from ldcsr_core.errors import RasterIOError
    from ldcsr_core.geo.sidecars import _file_key

    out = tmp_path / "o.tif"
    old = {"o.tif": Path(rasters["gray"]).read_bytes(), "o.tif.aux.xml": b"<PAMDataset>old</PAMDataset>",
           "o.tif.ovr": b"old ovr"}
    claim = f".{out.name}{OutputClaim.SUFFIX}"
    link, replace = os.link, os.replace

    def failing(call, *, raster):
        def fails(src, dst, **kw):
            if Path(dst) == Path(f"{out}.aux.xml") or (raster and Path(dst) == out):
                raise OSError(errno.EIO, os.strerror(errno.EIO))
            return call(src, dst, **kw)
        return fails

    for killed in (False, True):
        for name, data in old.items():
            (tmp_path / name).write_bytes(data)
        caplog.clear()
        if killed:
            r = forked.run(["-c", KILLED_AT_THE_RENAME, rasters["rgba"], out, "before"], text=False, timeout=120)
            assert r.returncode == -signal.SIGKILL, r.stderr.decode()[-2000:]
        monkeypatch.setattr(os, "link", failing(link, raster=not killed))
        monkeypatch.setattr(os, "replace", failing(replace, raster=not killed))
        if killed:
            rio_io.clear_stale_parts(out)  # what every writer of o.tif does first
        else:
            with pytest.raises(RasterIOError, match="Input/output error"):
                rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=True)
        monkeypatch.setattr(os, "link", link)
        monkeypatch.setattr(os, "replace", replace)
        now = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != claim}
        [aside] = [n for n in now if n.endswith(".old0")]
        [part] = [n for n in now if n.endswith(files.PART_SUFFIX)]
        marker = f"{part}.new"  # naming the old image, as long as a sidecar of it is set aside (FAT: _put_back_of)
        assert now == {"o.tif": old["o.tif"], "o.tif.ovr": old["o.tif.ovr"], aside: old["o.tif.aux.xml"], part: b"",
                       marker: now.get(marker)}
        assert now[marker].decode().split("\n")[1] == _file_key(out)
        assert (f"o.tif.aux.xml not put in place: Input/output error; it is left as {aside}, which the next write "
                "of o.tif tries again (or rename it to o.tif.aux.xml yourself)") in caplog.text
        rio_io.clear_stale_parts(out)  # the next write of o.tif, the file system well again
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != claim} == old
        for p in tmp_path.iterdir():
            p.unlink()


@pytest.mark.parametrize("overwrite", [True, False])
def test_a_live_write_between_its_renames_is_left_alone_by_another_run_s_clean_up(rasters, tmp_path, monkeypatch,
                                                                                 caplog, overwrite):
    """A second run on the same output clears its stale part files before it waits for the first run's claim
    (upscale_raster): the first one's marker and new sidecars, once its raster is renamed, are no dead run's while
    it still holds that file's lock. Before: the clean-up put them in place itself and said it removed 'stale part
    files of o.tif left by an interrupted run', and the live run then warned 'o.tif.aux.xml not put in place: No
    such file or directory; it is left as …' although it was in place."""
    from ldcsr_core.geo import sidecars
    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    out = tmp_path / "o.tif"
    if overwrite:
        out.write_bytes(Path(rasters["gray"]).read_bytes())
        Path(f"{out}.ovr").write_bytes(b"old ovr")
    commit, settle, cleared = GeoTiffWriter.commit, sidecars._settle, []

    def commit_with_sidecars(self):
        Path(f"{self.tmp_path}.aux.xml").write_bytes(b"<PAMDataset>new</PAMDataset>")
        Path(f"{self.tmp_path}.msk").write_bytes(b"new msk")
        commit(self)

    def another_run_meanwhile(*args):  # the raster renamed, its sidecars not yet
        cleared.append(rio_io.clear_stale_parts(out))
        settle(*args)

    monkeypatch.setattr(GeoTiffWriter, "commit", commit_with_sidecars)
    monkeypatch.setattr(sidecars, "_settle", another_run_meanwhile)
    rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=overwrite)
    assert cleared == [[]]
    assert "not put in place" not in caplog.text and "interrupted run" not in caplog.text
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name != f".o.tif{OutputClaim.SUFFIX}"} == {
        "o.tif": out.read_bytes(), "o.tif.aux.xml": b"<PAMDataset>new</PAMDataset>", "o.tif.msk": b"new msk"}


def test_a_live_overwrite_s_set_aside_sidecars_are_left_to_it_by_another_run_s_clean_up(rasters, tmp_path, monkeypatch,
                                                                                         caplog):
    """An --overwrite whose new image has no sidecars leaves no marker: the replaced file's, set aside, are its own to
    remove once its raster is renamed, while it still holds that file's lock. Before: another run's clean-up between
    the two removed them itself, saying it removed 'stale part files of o.tif left by an interrupted run'."""
    from ldcsr_core.geo import sidecars

    out = tmp_path / "o.tif"
    out.write_bytes(Path(rasters["gray"]).read_bytes())
    Path(f"{out}.ovr").write_bytes(b"old ovr")
    Path(f"{out}.aux.xml").write_bytes(b"<PAMDataset>old</PAMDataset>")
    settle, cleared = sidecars._settle, []

    def another_run_meanwhile(path, ours, aside, marker):  # the raster renamed, the old sidecars not yet removed
        assert aside and not ours
        cleared.append(rio_io.clear_stale_parts(out))
        settle(path, ours, aside, marker)

    monkeypatch.setattr(sidecars, "_settle", another_run_meanwhile)
    rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=True)
    assert cleared == [[]]
    assert "interrupted run" not in caplog.text
    assert {p.name for p in tmp_path.iterdir()} - {f".o.tif{OutputClaim.SUFFIX}"} == {"o.tif"}  # the old ones gone
