"""What an output's write leaves beside it for another run (its marker, the old image's sidecars set aside, a
sidecar kept as .set-aside), and what that other run, or ldcsr info, does with it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ldcsr_core import files
from ldcsr_core.output_claims import OutputClaim
from ldcsr_core.geo import raster_io as rio_io

OLD = {".aux.xml": b"<PAMDataset>old</PAMDataset>", ".ovr": b"old ovr"}
NEW = {".aux.xml": b"<PAMDataset>new</PAMDataset>", ".msk": b"new msk"}


def _left(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.endswith(OutputClaim.SUFFIX)}


@pytest.mark.parametrize("new_sidecars", [False, True])
def test_another_run_s_clean_up_across_a_live_overwrite_s_raster_rename_leaves_its_files_to_it(
        rasters, tmp_path, monkeypatch, caplog, new_sidecars):
    """A second run's stale-part clean-up (upscale_raster's, before it waits for the first run's claim) lists the
    part files while a live --overwrite's part is there (locked: none of its files stale), and the first run renames
    its raster before the clean-up removes what it found: nothing of the live run is removed, whether or not its new
    image has sidecars (the same rule, by its marker). Before: the clean-up listed the files again to remove them,
    found the old image's sidecars set aside (.old0, .old2) with no part file beside them (and, with new sidecars,
    the marker and those sidecars), removed them and warned 'removed N stale part files of o.tif left by an
    interrupted run' of a run that was alive; with new sidecars the live run then warned 'o.tif.aux.xml not put in
    place: No such file or directory' and the new image had lost its .aux.xml and .msk."""
    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    out = tmp_path / "o.tif"
    out.write_bytes(Path(rasters["gray"]).read_bytes())
    for side, data in OLD.items():
        Path(f"{out}{side}").write_bytes(data)
    commit, replace, listed, cleared = GeoTiffWriter.commit, os.replace, files.stale_parts, []

    def commit_with_sidecars(self):
        for side, data in NEW.items():
            Path(f"{self.tmp_path}{side}").write_bytes(data)
        commit(self)

    def another_run_across_the_rename(src, dst, **kw):
        if Path(dst) != out or cleared:
            return replace(src, dst, **kw)

        def then_renamed(path):  # the clean-up's listing, then the live run's raster rename
            found = listed(path)
            if os.path.lexists(src):
                replace(src, dst, **kw)
            return found

        with monkeypatch.context() as m:
            m.setattr(files, "stale_parts", then_renamed)
            cleared.append(rio_io.clear_stale_parts(out))
        if os.path.lexists(src):
            replace(src, dst, **kw)

    if new_sidecars:
        monkeypatch.setattr(GeoTiffWriter, "commit", commit_with_sidecars)
    monkeypatch.setattr(os, "replace", another_run_across_the_rename)
    rio_io.write_raster(out, rio_io.read_raster(rasters["rgba"]), overwrite=True)
    monkeypatch.undo()
    assert cleared == [[]]
    assert "interrupted run" not in caplog.text and "not put in place" not in caplog.text
    new = {f"o.tif{side}": data for side, data in NEW.items()} if new_sidecars else {}
    assert _left(tmp_path) == {"o.tif": out.read_bytes(), **new}
    assert out.read_bytes() != Path(rasters["gray"]).read_bytes()
