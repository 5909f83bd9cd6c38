"""The model picker keeps the picked checkpoint while the viewer's layers change."""

from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.mark.viewer_hidden
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


def test_a_model_file_replaced_at_its_path_is_loaded_again(tmp_path):
    """Before: the plugin's model cache kept the first model loaded from a path for the whole
    session: a checkpoint retrained, adapted or copied over there (from the command line, say)
    was not used, and its results were labelled with the file's name. Now the file's identity
    (inode, size, modification and change times) is compared before a cached model is handed out."""
    import shutil

    import ldcsr_core
    from ldcsr_core.config import tiny_test_config
    from napari_ldcsr.run._job import ModelCache

    path = tmp_path / "mine.safetensors"
    first, second = (ldcsr_core.build_model(config=tiny_test_config(), seed=s) for s in (0, 1))
    ldcsr_core.save_model(first, path, name="mine")
    cache = ModelCache()
    a = cache.get(str(path))
    assert cache.get(str(path)) is a and cache.loads == 1  # unchanged file: the same object
    ldcsr_core.save_model(second, tmp_path / "other.safetensors", name="mine")
    shutil.copy2(tmp_path / "other.safetensors", path)  # copied over, its mtime kept
    assert cache.cached(str(path)) is None
    b = cache.get(str(path))
    assert cache.loads == 2 and b.weights_sha256 != a.weights_sha256
    assert b.weights_sha256 == ldcsr_core.load_model(str(tmp_path / "other.safetensors")).weights_sha256
    assert cache.cached(None) is None and cache.get(None) is cache.get(None)  # the built-in model


def test_a_cached_model_follows_ldcsr_dtype_set_mid_session(tmp_path, monkeypatch):
    """Before: the model cache kept the model of the float type LDCSR_DTYPE asked for when it was
    first loaded: set meanwhile (a notebook, a console), it changed nothing until a restart. Now
    the engine's key (file and float type asked for now) is compared."""
    import ldcsr_core
    from ldcsr_core.config import tiny_test_config
    from napari_ldcsr.run._job import ModelCache

    path = str(ldcsr_core.save_model(ldcsr_core.build_model(config=tiny_test_config()), tmp_path / "m.safetensors",
                                     name="m"))
    monkeypatch.setenv("LDCSR_DTYPE", "float32")
    cache = ModelCache()
    assert next(cache.get(path).parameters()).dtype == torch.float32
    monkeypatch.setenv("LDCSR_DTYPE", "bfloat16")
    assert cache.cached(path) is None
    assert next(cache.get(path).parameters()).dtype == torch.bfloat16 and cache.loads == 2
    assert cache.get(path) is cache.get(path) and cache.loads == 2


def test_a_link_to_a_listed_model_selects_its_entry(ldcsr, tiny_model, tmp_path):
    """Before: the picker compared path text, so loading a link to a model already listed (or the
    model again under a link, after Adapt saved it) added a second entry of one file. Now the
    engine's one rule (builtin_models.model_identity: device and inode) finds the listed entry."""
    import ldcsr_core

    path = str(ldcsr_core.save_model(tiny_model, tmp_path / "mine.safetensors", name="mine"))
    link = tmp_path / "alias.safetensors"
    link.symlink_to(path)
    _, widget = ldcsr
    assert widget.form.add_checkpoint(path)
    count = widget.form.model.native.count()
    assert widget.form.add_checkpoint(str(link))
    assert widget.form.model.native.count() == count and widget.model_source == path
    assert str(link) not in widget.form.model.choices


@pytest.mark.viewer_hidden
def test_load_checkpoint_takes_a_model_file_the_model_list_lists(ldcsr, tiny_model, tmp_path, notes):
    """Load checkpoint… takes a file in our format whatever its name, as --model loads it and the model
    folder lists it in the same Model list (model_metadata.is_safetensors: 'mine.sft',
    'Mine.SAFETENSORS'); a file of another kind under that name is still refused. Before: 'mine.sft is
    not a .ckpt or .safetensors checkpoint.', the picker kept the previous model."""
    import shutil

    import ldcsr_core

    viewer, widget = ldcsr
    saved = ldcsr_core.save_model(tiny_model, tmp_path / "a.safetensors", name="mine")
    for name in ("mine.sft", "Mine.SAFETENSORS"):
        path = str(shutil.copy(saved, tmp_path / name))
        assert widget.form.add_checkpoint(path), notes
        assert widget.model_source == path and path in widget.form.model.choices
    text = tmp_path / "notes.sft"
    text.write_text("adapted on scene.tif\n")
    assert widget.form.add_checkpoint(str(text)) is False
    assert notes[-1] == ("error", "notes.sft is not a .ckpt or .safetensors checkpoint.")
    assert widget.model_source == str(tmp_path / "Mine.SAFETENSORS")  # the previous choice kept


def test_a_model_folder_that_is_a_file_is_said_by_the_model_list(make_napari_viewer, tiny_model, tmp_path, monkeypatch):
    """LDCSR_MODELS_DIR set to a model's file: the Model list's tooltip says why it offers no adapted
    model. Before: the built-in default alone, without a word."""
    import ldcsr_core
    from ldcsr_core.adaptation import model_folder_problem
    from napari_ldcsr._widget import LdcsrWidget

    mine = ldcsr_core.save_model(tiny_model, tmp_path / "mine.safetensors", name="mine")
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(mine))
    widget = LdcsrWidget(make_napari_viewer(), model_provider=lambda source: tiny_model)
    assert [v for v in widget.form.model.choices if str(v).endswith(".safetensors")] == []
    problem = model_folder_problem()
    assert problem.startswith(f"LDCSR_MODELS_DIR={mine} is a file, not a folder")
    assert widget.form.model.tooltip.endswith(f"file.\n\nNote: {problem}"), widget.form.model.tooltip
