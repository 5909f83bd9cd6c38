"""Layers that are not one 2-D picture (a time series of scenes, a band stack as the first axis, a
picture's colours shown as planes): Run, Check quality and the live lens refuse them alike, in one
sentence that says what the layer is and what to do."""

from __future__ import annotations

import numpy as np
import pytest

from napari_ldcsr.lens._lens import LiveLens

RNG = np.random.default_rng(0)
STACKS = {
    "time series": (lambda v: v.add_image(RNG.integers(0, 255, (3, 40, 36, 3), dtype=np.uint8), rgb=True, name="t"),
                    "'t' is a stack of 3 RGB pictures of 40×36 px (shape (3, 40, 36, 3)); LDCSR works on one picture at "
                    "a time: save the one to super-resolve as an image of its own and open it (napari's Split Stack "
                    "would split its colours instead)."),
    "band stack": (lambda v: v.add_image(RNG.random((2, 4, 40, 36)), name="b"),
                   "'b' is a stack of 8 grey pictures of 40×36 px (shape (2, 4, 40, 36)); LDCSR works on one 2-D "
                   "picture: split it (right-click it in the layer list ▸ Split Stack) and pick one; a multi-band "
                   "GeoTIFF opened with the 'LDCSR super-resolution' reader opens as RGB or as one layer per band."),
    "colours as planes": (lambda v: v.add_image(RNG.integers(0, 255, (40, 36, 3), dtype=np.uint8), rgb=False, name="c"),
                          "'c' is a stack of 40 grey pictures of 36×3 px (shape (40, 36, 3)); LDCSR works on one 2-D "
                          "picture. If its last axis holds the colours of one picture, add it as RGB (rgb=True, in a "
                          "script or napari's console); else split it (right-click it in the layer list ▸ Split Stack) "
                          "and pick one."),
    "a stack of one": (lambda v: v.add_image(RNG.random((1, 40, 36)), name="o"),
                       "'o' is one grey picture of 40×36 px in a stack of one (shape (1, 40, 36)); LDCSR works on a "
                       "2-D layer: split it (right-click it in the layer list ▸ Split Stack): the one layer it gives "
                       "is that picture."),
    "a last axis of one": (lambda v: v.add_image(RNG.random((40, 36, 1)), name="g"),
                           "'g' is one grey picture of 40×36 px with a last axis of length 1 (shape (40, 36, 1)), which "
                           "napari shows as 40 slices of 36×1 px; LDCSR works on a 2-D layer: add it without that axis "
                           "(layer.data[..., 0]), or open its file with the 'LDCSR super-resolution' reader."),
}
# Before (colours as planes, a layer made in the console: no file): "… open its file with File ▸ Open with Plugin ▸ …".
# Before (one picture with an axis of length 1): "'o' is a stack of 1 grey pictures of 40×36 px …"; "'g' is a stack
# of 40 grey pictures of 36×1 px …: split it (… Split Stack) and pick one" (40 layers of one column each).


@pytest.mark.parametrize("kind", STACKS)
def test_a_stack_is_refused_with_what_to_do(ldcsr, notes, tiny_model, kind):
    viewer, widget = ldcsr
    make, sentence = STACKS[kind]
    layer = make(viewer)
    n = len(viewer.layers)
    assert widget.run(layer=layer, scale=2.0) is False  # before: "'t' has shape (3, 40, 36, 3); LDCSR works on 2-D …"
    assert notes[-1] == ("error", sentence)
    assert widget.check_quality(layer) is False
    assert notes[-1][1].endswith(sentence)
    lens = LiveLens(viewer, model_provider=lambda s: tiny_model)
    assert lens.set_layer(layer) is False  # before: "… has 4 dimensions; the lens works on 2-D (grey or RGB) layers"
    assert notes[-1] == ("warning", f"Live lens: {sentence.rstrip('.')}.")
    assert len(viewer.layers) == n and not widget.running


#: the words for the 8×8 RGB file napari's own reader opened as a stack, before and after what to do
SMALL = ("'small' is a stack of 8 grey pictures of 8×3 px (shape (8, 8, 3)); LDCSR works on one 2-D picture. If its "
         "last axis holds the colours of one picture (napari takes a last axis of 3 or 4 for colours only in pictures "
         "over 30 px a side), ")
MENU = "File ▸ Open with Plugin ▸ Open File(s)… and pick the 'LDCSR super-resolution' reader"
SPLIT = "; else split it (right-click it in the layer list ▸ Split Stack) and pick one."


def _napari_s_stack_of_a_small_rgb_file(viewer, path, driver: str):
    """An 8×8 RGB picture written to ``path`` by GDAL's ``driver``, opened with napari's own reader (as a
    drop without a choice): a stack of 8 grey pictures of 8×3 px."""
    rasterio = pytest.importorskip("rasterio")
    with rasterio.open(path, "w", driver=driver, width=8, height=8, count=3, dtype="uint8") as dst:
        dst.write(RNG.integers(0, 255, (3, 8, 8), dtype=np.uint8))
    (stack,) = viewer.open(str(path), plugin="napari")
    assert stack.data.shape == (8, 8, 3) and not stack.rgb
    return stack


@pytest.mark.viewer_hidden
def test_a_small_rgb_file_napari_opened_as_a_stack_is_refused_with_what_a_gui_user_can_do(ldcsr, qtbot, notes,
                                                                                         bicubic_engine, tmp_path):
    """An 8×8 RGB PNG dropped on napari: its own reader takes a last axis of 3 for colours only in
    pictures over 30 px a side, so it shows a stack of 8 grey pictures of 8×3 px. Before: the refusal
    said "open it as RGB (napari's rgb=True)", which the GUI does not offer. Now it names the file and
    the menu; following it, the picture runs as RGB."""
    viewer, widget = ldcsr
    path = tmp_path / "small.png"
    stack = _napari_s_stack_of_a_small_rgb_file(viewer, path, "PNG")
    assert widget.run(layer=stack, scale=2.0) is False
    assert notes[-1] == ("error", f"{SMALL}open its file (small.png) with {MENU}, which opens it as RGB (in a script: "
                                  f"rgb=True){SPLIT}")
    (rgb,) = viewer.open(str(path), plugin="napari-ldcsr")  # what the words say, the reader picked
    assert rgb.rgb and rgb.data.shape == (8, 8, 3)
    assert widget.run(layer=rgb, scale=2.0)
    qtbot.waitUntil(lambda: not widget.running, timeout=60_000)
    assert widget.last_result.data.shape == (16, 16, 3)


@pytest.mark.viewer_hidden
def test_a_small_rgb_file_the_plugin_s_reader_does_not_open_is_not_sent_to_it(ldcsr, notes, tiny_model, tmp_path):
    """An 8×8 RGB BMP napari's own reader opened as a stack: the 'LDCSR super-resolution' reader does not
    take a .bmp, so napari's Open with Plugin does not offer it for that file. Before: the words sent the
    user there ("open its file (small.bmp) with File ▸ Open with Plugin ▸ Open File(s)… and pick the 'LDCSR
    super-resolution' reader")."""
    from napari_ldcsr._reader import napari_get_reader

    viewer, widget = ldcsr
    path = tmp_path / "small.bmp"
    stack = _napari_s_stack_of_a_small_rgb_file(viewer, path, "BMP")
    assert napari_get_reader(str(path)) is None
    assert widget.run(layer=stack, scale=2.0) is False
    assert notes[-1] == ("error", f"{SMALL}save small.bmp as a PNG or GeoTIFF (the 'LDCSR super-resolution' reader "
                                  f"does not open a .bmp) and open that with {MENU}, which opens it as RGB (in a "
                                  f"script: rgb=True){SPLIT}")
