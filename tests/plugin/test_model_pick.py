"""The model picker keeps the picked checkpoint while the viewer's layers change."""

from __future__ import annotations

import numpy as np


def test_a_picked_checkpoint_stays_picked_when_layers_change(ldcsr, tiny_model, tmp_path):
    """Adding a layer (a Run's result, a file opened) reset the picker to the built-in default and
    dropped the checkpoint from it: the next Run used the base model, not the adapted one."""
    import ldcsr_core

    path = str(ldcsr_core.save_model(tiny_model, tmp_path / "mine.safetensors", name="mine"))
    viewer, widget = ldcsr
    viewer.add_image(np.zeros((20, 20, 3), np.uint8), name="a")
    assert widget.form.add_checkpoint(path)
    assert widget.model_source == path
    viewer.add_image(np.zeros((20, 20, 3), np.uint8), name="b")  # e.g. a Run's result
    assert widget.model_source == path
    assert path in widget.form.model.choices
    viewer.layers.remove("a")
    assert widget.model_source == path and widget.form.layer.value is viewer.layers["b"]
