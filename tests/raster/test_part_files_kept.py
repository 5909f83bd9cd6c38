"""The part files a process remembers making (``part_files.made_here``: an error naming one is said of
its output) do not pile up in a long-lived process, a napari session or a Dask worker writing
thousands of outputs: one renamed into place is forgotten, and of those removed after a failure only
the last ones are kept."""

from __future__ import annotations

import pytest

from ldcsr_core import part_files
from ldcsr_core.errors import OutputExistsError
from ldcsr_core.files import atomic_write_bytes
from ldcsr_core.geo.job import UpscaleOptions
from ldcsr_core.geo.pipeline import upscale_raster


def test_part_files_renamed_into_place_are_forgotten(rasters, tiny_model, tmp_path):
    """Before: every part file made stayed in part_files._MADE for the life of the process (300 small
    writes and 3 GeoTIFFs: 303 entries more); now none."""
    before = len(part_files._MADE)
    for i in range(300):
        atomic_write_bytes(tmp_path / f"r{i}.json", b"{}")
    for i in range(3):
        upscale_raster(rasters["rgba"], tmp_path / f"o{i}.tif", model=tiny_model, scale=2,
                       options=UpscaleOptions(mode="fast"))
    assert len(part_files._MADE) == before


def test_part_files_removed_after_failures_are_kept_only_lately(tmp_path, monkeypatch):
    """Failed writes' part files are remembered (their error, said after the part file is gone, names the
    output); before, all of them for good (300 failures: 300 entries more), now the last 256, the
    last failure's among them."""
    made = []
    real = part_files.make_part
    monkeypatch.setattr(part_files, "make_part", lambda p: made.append(real(p)) or made[-1])
    monkeypatch.setattr("ldcsr_core.files.make_part", part_files.make_part)
    before = len(part_files._MADE)
    (tmp_path / "r.json").write_bytes(b"kept")
    for _ in range(300):
        with pytest.raises(OutputExistsError):
            atomic_write_bytes(tmp_path / "r.json", b"{}", overwrite=False)
    assert len(made) == 300 and not made[-1][0].exists()
    assert len(part_files._MADE) - before <= 256
    assert part_files.made_here(made[-1][0])
    assert (tmp_path / "r.json").read_bytes() == b"kept"
