"""The test suite's model cache (conftest's ``_loading_once``: ``model_loaded_once``, ``model_loaded_once_a_module``)
hands back a model only while its file holds the same bytes."""

from __future__ import annotations

import os

import ldcsr_core
from ldcsr_core.config import tiny_test_config

from .conftest import sha256


class _ClockNotTicked:
    """``os.stat``'s result on a file system whose clock has not ticked since the file was first written: the times
    of a rewrite made within one tick (coarse timestamps: 1-2 s on FAT, NFS and SMB, a jiffy on Linux before 6.13)."""

    def __init__(self, st):
        self._st = st

    def __getattr__(self, name):
        return 0 if name in ("st_mtime", "st_ctime", "st_mtime_ns", "st_ctime_ns") else getattr(self._st, name)


def test_a_model_file_rewritten_in_place_within_a_clock_tick_is_loaded_again(model_loaded_once, tmp_path, monkeypatch):
    """Before: the cache knew a file by its inode, size and times, which a same-size rewrite in place (``cp b a``)
    within the clock's tick keeps: the model of the bytes before was handed back (a test of the new file checked the
    old model). Now it knows a file by its bytes' SHA-256: the new file is loaded."""
    made = [ldcsr_core.save_model(ldcsr_core.build_model(tiny_test_config(), seed=s), tmp_path / f"{s}.safetensors",
                                  name="m", version="0", notes="") for s in (1, 2)]
    assert made[0].stat().st_size == made[1].stat().st_size and sha256(made[0]) != sha256(made[1])
    model = tmp_path / "model.safetensors"
    model.write_bytes(made[0].read_bytes())
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda *a, **k: _ClockNotTicked(real_stat(*a, **k)))
    assert ldcsr_core.load_model(model, device="cpu").weights_sha256 == sha256(made[0])
    inode = model.stat().st_ino
    with open(model, "r+b") as f:  # in place, as cp does: the same inode and size
        f.write(made[1].read_bytes())
    assert model.stat().st_ino == inode
    assert ldcsr_core.load_model(model, device="cpu").weights_sha256 == sha256(made[1])
    assert ldcsr_core.load_model(model, device="cpu").weights_sha256 == sha256(made[1])
    assert len(model_loaded_once) == 2  # the later call handed the model loaded
