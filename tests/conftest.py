"""Shared fixtures: locating ../shared (golden vectors, data) next to the checkout."""

import atexit
import gc
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from suite_helpers import require_shared

REPO = Path(__file__).resolve().parents[1]

# Outputs are compared bit for bit across runs, and in diffusion mode the last bit of some sums
# depends on the thread count: the suite runs on a fixed count, not the load-adaptive default
# (tests/test_threads.py tests that one).
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
# (`make test` runs two pytest-xdist workers and sets LDCSR_THREADS=1 for each: xdist's worker
# count is not in the environment yet when this file is imported.)
os.environ.setdefault("LDCSR_THREADS", str(min(2, _cores)))
# Likewise the float type: the suite compares against float32 references and golden vectors, so it
# runs in float32 wherever the CPU would pick bfloat16 (tests/test_precision.py tests "auto").
os.environ.setdefault("LDCSR_DTYPE", "float32")
# Adapted models go to (and the model picker lists) a folder of the suite's own, never the user's.
# Removed when the pytest process exits (it held 651 empty folders in /tmp before).
_MODELS_DIR = tempfile.mkdtemp(prefix="ldcsr-test-models-")
os.environ["LDCSR_MODELS_DIR"] = _MODELS_DIR
atexit.register(shutil.rmtree, _MODELS_DIR, ignore_errors=True)
# napari's settings live in memory, never in the user's settings file: napari read that file at its
# first viewer and wrote it again at every change of a setting (each dock widget added moves the
# default dock area: a pydantic dump and a YAML file written several times per viewer, in every
# napari test and in the napari scripts the tests run). The viewer fixture resets the settings to
# their defaults for each test anyway. Set before napari.settings is imported (it reads it then).
os.environ["NAPARI_CONFIG"] = ""


def pytest_collection_finish(session) -> None:
    """Freeze what the collection imported (torch, napari, Qt: about 300 000 objects) out of the
    cyclic garbage collector's reach: it is alive for the whole run anyway, and each full
    collection walked all of it again (napari runs one on every layer removed: 1.3 s each on a busy
    2-core machine, 0.3 s frozen). The tests' own objects are collected as before (napari's leak checks see them)."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="module")
def suite_thread_count():
    """A module's Trainers (tests/test_training*.py) run on the suite's fixed count (LDCSR_THREADS),
    as train() and Trainer.run run them, in their methods called directly too (a loss, a step): those took torch's
    default, every core, and two
    pytest-xdist workers each on all of a 2-core machine's cores spun on each other (its runs 3-6×
    as long on a loaded machine)."""
    from ldcsr_core.threads import fixed_count

    with fixed_count():
        yield


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    return require_shared("golden")


@pytest.fixture
def worse_adaptation(monkeypatch):
    """Replace the adaptation's fine-tuning with noise added to the decoder (a model made worse on
    purpose, for the guard to reject)."""
    import torch

    from ldcsr_core import adaptation

    def sabotage(model, sampler, recipe, **kw):
        with torch.no_grad():
            for p in model.first_stage_model.decoder.parameters():
                p.add_(torch.randn_like(p) * 0.5)
        return 1

    monkeypatch.setattr(adaptation, "fine_tune", sabotage)
