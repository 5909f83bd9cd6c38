"""A level of a multiscale layer edited in place (``layer.data[i][…] = …; layer.refresh()``), in a real napari
viewer (Xvfb): what the live lens, a Run and Check quality make of it. An in-memory layer's levels are its pixels
(level 0: the windows the lens reads; its coarsest: where the lens's stretch is fitted); a lazy layer of a big
GeoTIFF is read from its file by all three, whatever its levels hold."""

from __future__ import annotations

import numpy as np

from .test_lens import _lens_on, small_viewer


def test_an_edit_of_the_coarse_level_refits_the_lens_stretch(make_napari_viewer, qtbot, tiny_model):
    """A multiscale layer no Run takes (a list of NumPy levels): the lens's stretch is fitted on its coarsest level.
    Before, an edit of that level alone (brighter water, 300 → 900) left the lens's stretch and view as they were
    (only level 0's digest was followed); now the lens fits its stretch again on the edited level."""
    from .test_lens import _wait_done

    viewer = small_viewer(make_napari_viewer, qtbot)
    base = (300 + np.random.default_rng(0).normal(0, 20, (64, 64))).astype(np.uint16)
    coarse = base[::4, ::4].copy()
    src = viewer.add_image([base, base[::2, ::2].copy(), coarse], multiscale=True, name="sea")
    lens = _lens_on(viewer, qtbot, src, tiny_model, (30, 30), 4.0)
    before, shown = lens._pixels.stretch, lens.view.values.copy()
    src.data[-1][:] = coarse * 3  # the coarse level only: the lens reads level 0's windows as before
    src.refresh()
    qtbot.wait(100)
    _wait_done(qtbot, lens)
    now = lens._pixels.stretch
    assert now.hi[0] > 2 * before.hi[0], (before, now)
    assert now.lo[0] >= 2 * before.lo[0]
    assert not np.array_equal(lens.view.values, shown)  # level 0's pixels through the new stretch
    lens.close()
