"""ldcsr_core.model_names: the models a front end offers by name (QGIS's Model parameter, napari's
Model list), as ``ldcsr upscale --model NAME`` and ``ldcsr models`` know them."""

from __future__ import annotations

import os
import shutil

import pytest

import ldcsr_core
from ldcsr_core.builtin_models import model_path
from ldcsr_core.errors import InputError
from ldcsr_core.model_names import adapted_models, default_model_name, model_named, named_models
from tests import test_model_files

V1, V4 = test_model_files.V1, test_model_files.V4
weights = test_model_files.weights  # the fixture: a built-in models' folder of v1 and v4 with the checksum list
tiny = test_model_files.tiny


def test_the_named_models_are_the_built_in_ones_then_the_adapted_ones(weights, tiny, tmp_path, monkeypatch):
    """model_names: one list for QGIS's Model parameter and napari's (its adapted models): the
    built-in models by the name ldcsr upscale --model takes, the default first, then the user's
    adapted models by file name, newest first, without a copy of a built-in one; a name not there
    is one line naming those there are."""
    mine = tmp_path / "mine"
    mine.mkdir()
    shutil.copy(weights / f"{V1}.safetensors", mine / "copy-of-v1.safetensors")
    for i, name in enumerate(("old", "new")):
        ldcsr_core.save_model(tiny, mine / f"{name}.safetensors", name=name)
        os.utime(mine / f"{name}.safetensors", (1e9 + i, 1e9 + i))
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(mine))
    assert adapted_models() == [mine / "new.safetensors", mine / "old.safetensors"]
    assert named_models() == {V4: weights / f"{V4}.safetensors", V1: weights / f"{V1}.safetensors",
                              "new.safetensors": mine / "new.safetensors", "old.safetensors": mine / "old.safetensors"}
    assert default_model_name() == V4 and model_path(V1) == model_named(V1)  # as --model NAME reads it
    assert model_named("ldcsr-compact-rsscn7") == model_path("ldcsr-compact-rsscn7")  # the default's older name
    with pytest.raises(InputError) as e:
        model_named("copy-of-v1.safetensors")
    assert str(e.value) == (f"no model is named 'copy-of-v1.safetensors': the models are {V4}, {V1}, new.safetensors, "
                            "old.safetensors; give one of them, or a checkpoint file")
