"""Names napari makes itself are never a Windows device's: its user cannot choose them.

Before: a big Run of ``CON.x.tif`` on a USB stick (a disk Windows reads) streamed to ``CON.x_x2.50_ldcsr.tif``,
which the engine refused once the run had started, "… names a Windows device (CON, the console) …; choose another
name, such as CON_1.x_x2.50_ldcsr.tif", a name napari gives no way to choose; and Adapt of a layer ``CON.x`` saved
its kept model as ``CON.x-x2-<time>.safetensors``, refused on Windows after the minutes of training (the model
lost). Now ``CON_1.x_x2.50_ldcsr.tif`` and ``CON_1.x-x2-<time>.safetensors`` (``file_names.made_not_a_device``).
"""

from __future__ import annotations

import os

import numpy as np
import rasterio
from rasterio.transform import from_origin

from napari_ldcsr.io import _lazy
from tests.plugin.test_bigrun import _errors, _open_lazy
import pytest

pytestmark = pytest.mark.viewer_hidden  # nothing here depends on the window being on screen


def _on_a_usb_stick(monkeypatch, folder):
    from ldcsr_core import file_names
    from ldcsr_core.mounts import Mount

    real = file_names.mounts
    monkeypatch.setattr(file_names, "mounts", lambda mountinfo="/proc/self/mountinfo": [
        *(real(mountinfo) or []), Mount(os.path.realpath(folder), "/", "vfat", "/dev/sdz1", ())])


def test_a_big_run_of_a_source_named_as_a_device_streams_to_a_name_windows_takes(tmp_path, ldcsr, qtbot, notes,
                                                                                 monkeypatch):
    """CON.x.tif (96×128 px) on a folder mountinfo lists as vfat, opened lazily; results over 100 kB stream."""
    monkeypatch.setattr(_lazy, "LAZY_MIN_PIXELS", 64 * 64)
    monkeypatch.setattr(_lazy, "TOP_LEVEL_SIDE", 64)
    monkeypatch.setenv("NAPARI_LDCSR_STREAM_MB", str(100_000 / 2**20))
    (usb := tmp_path / "usb").mkdir()
    src_path = usb / "CON.x.tif"
    rgb = (np.random.default_rng(0).random((3, 96, 128)) * 255).astype(np.uint8)
    with rasterio.open(src_path, "w", driver="GTiff", height=96, width=128, count=3, dtype="uint8",
                       crs="EPSG:32617", transform=from_origin(400000.0, 3300000.0, 0.5, 0.5)) as dst:
        dst.write(rgb)
    _on_a_usb_stick(monkeypatch, usb)
    viewer, widget = ldcsr
    src = _open_lazy(viewer, src_path)
    widget.set_layer(src)
    widget.set_scale(2.5)
    assert widget.run()
    assert "streaming to CON_1.x_x2.50_ldcsr.tif" in widget.status, widget.status
    qtbot.waitUntil(lambda: not widget.running, timeout=120_000)
    assert not _errors(notes), notes
    assert sorted(p.name for p in src_path.parent.iterdir()) == ["CON.x.tif", "CON_1.x_x2.50_ldcsr.tif"]
    assert viewer.layers[-1].metadata["path"] == str(src_path.with_name("CON_1.x_x2.50_ldcsr.tif"))


def test_an_adapted_models_file_name_is_not_a_devices(tmp_path, monkeypatch):
    from ldcsr_core import file_names
    from napari_ldcsr.run._adapt import model_file_name

    name = model_file_name("CON.x", 2.0, when=0)
    assert name.startswith("CON_1.x-x2-") and name.endswith(".safetensors"), name
    monkeypatch.setattr(file_names, "ON_WINDOWS", True)
    file_names.check_name_length(tmp_path / name)  # (before: refused, CON.x-x2-….safetensors, once trained)
    assert model_file_name("ortho", 2.0, when=0).startswith("ortho-x2-")  # other names as they were
