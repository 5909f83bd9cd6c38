"""Training's threads: ``train``, ``adapt``, a Trainer and ``model.super_resolve`` called directly take
their steps on the thread rule's count (``LDCSR_THREADS``, or train's own ``threads``) and give the
caller back its own; another thread's count is left alone."""

import threading

import numpy as np
import torch

from ldcsr_core import threads


def test_train_and_adapt_steps_run_on_ldcsr_threads(monkeypatch, tmp_path):
    """``LDCSR_THREADS=N ldcsr train`` / ``adapt`` take their training steps on N torch threads, as
    ``ldcsr --threads N`` does and as tiles run (before: the variable was only checked, the steps
    ran on torch's own count); the count is given back afterwards, and auto mode leaves it alone."""
    from types import SimpleNamespace

    from ldcsr_core import finetune
    from ldcsr_core.training import trainer

    seen = []

    class Recorder:  # stands in for the Trainer: what count would its steps run on?
        def __enter__(self):  # train() closes the Trainer (its log) at the end
            return self

        def __exit__(self, *exc):
            pass

        def __init__(self, *a, **kw):
            seen.append(torch.get_num_threads())

        def run(self):
            return None, {}

    monkeypatch.setattr(trainer, "Trainer", Recorder)
    monkeypatch.setattr(finetune, "_fine_tune", lambda *a, **kw: seen.append(torch.get_num_threads()))
    cpu_model = SimpleNamespace(device=torch.device("cpu"))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        for env in ("1", "auto"):
            monkeypatch.setenv("LDCSR_THREADS", env)
            trainer.train(tmp_path, tmp_path / "m.safetensors")
            finetune.fine_tune(cpu_model, None, None, budget=1.0, steps=1, callback=None)
            seen.append(torch.get_num_threads())
    finally:
        torch.set_num_threads(before)
    assert seen == [1, 1, 3, 3, 3, 3]


def test_direct_super_resolve_and_trainer_run_follow_a_fixed_count_and_restore_the_callers(monkeypatch, tmp_path):
    """model.super_resolve called directly and a Trainer made directly (not through train()) run on LDCSR_THREADS,
    as a tile and train() do, and give the caller back its own count; in auto mode they keep the caller's count
    (no pixel of theirs changes). Before: both ran on the caller's (torch's default) count whatever LDCSR_THREADS
    said."""
    from PIL import Image

    import ldcsr_core
    from ldcsr_core.config import tiny_test_config
    from ldcsr_core.training.trainer import Trainer

    model = ldcsr_core.build_model(config=tiny_test_config(), seed=0)
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / f"img{i}.png")
    seen = []
    run_window, run_phase = type(model).run_window, Trainer.run_phase
    monkeypatch.setattr(type(model), "run_window", lambda *a, **k: seen.append(torch.get_num_threads()) or run_window(
        *a, **k))
    monkeypatch.setattr(Trainer, "run_phase", lambda *a, **k: seen.append(torch.get_num_threads()) or run_phase(*a, **k))
    lr = torch.zeros(1, 3, 16, 16)
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        for env, expected in (("1", 1), ("auto", 2)):
            monkeypatch.setenv(threads.ENV, env)
            seen.clear()
            model.super_resolve(lr, (32, 32), mode="fast")
            with Trainer(tmp_path, tmp_path / "m.safetensors", config=tiny_test_config(with_encoder=True),
                         minutes=(0.0, 0.0, 0.0), steps=(1, 0, 0), batch_size=2, lr_size=16, scale_range=(2.0, 2.0),
                         device="cpu") as t:
                t.run()
            assert seen and set(seen) == {expected}, (env, seen)
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(saved)


def test_train_s_own_threads_win_over_ldcsr_threads_and_give_the_caller_back_its_count(monkeypatch, tmp_path):
    """``ldcsr train --threads 3`` (train(threads=3)) with LDCSR_THREADS=1 takes its steps on 3 threads, as docs/cli.md
    says (its --threads, else ldcsr --threads or LDCSR_THREADS), and the caller keeps its own count. Before: the
    steps ran on LDCSR_THREADS' 1 (train's fixed_count, and since 918fffd the Trainer's run() too, set it over
    torch.set_num_threads(3)), and the caller was left on 3."""
    from PIL import Image

    from ldcsr_core.config import tiny_test_config
    from ldcsr_core.training import trainer

    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / f"img{i}.png")
    seen, run_phase = [], trainer.Trainer.run_phase
    monkeypatch.setattr(trainer.Trainer, "run_phase", lambda *a, **k: seen.append(torch.get_num_threads()) or run_phase(
        *a, **k))
    monkeypatch.setenv(threads.ENV, "1")
    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        trainer.train(tmp_path, tmp_path / "m.safetensors", config=tiny_test_config(with_encoder=True),
                      minutes=(0.0, 0.0, 0.0), steps=(1, 0, 0), batch_size=2, lr_size=16, scale_range=(2.0, 2.0),
                      device="cpu", threads=3)
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(saved)
    assert seen and set(seen) == {3} and after == 2, (seen, after)


def test_a_thread_that_first_looks_at_its_count_while_train_runs_elsewhere_keeps_the_resting_count(monkeypatch):
    """A thread new to torch whose first torch use is the rules' look at its count (policy: fixed_count's first step,
    so napari's Adapt, train, model.super_resolve called directly; auto mode) while train(threads=3) runs on another
    thread, that run ending before the thread's count is taken: the thread runs on the process's resting count (2),
    not on train's 3 for good. Before: policy's first look took torch's process-wide count, which train's fixed_count
    had set, outside the lock where a thread's first count is put right (_own_count, which tile_threads calls first),
    and once train ended nothing put it right."""
    monkeypatch.delenv(threads.ENV, raising=False)
    inside, looked, seen = threading.Event(), threading.Event(), []

    def train_like():  # what train(threads=3) runs its steps under
        with threads.fixed_threads(3), threads.fixed_count():
            inside.set()
            looked.wait(10)

    def tiles():
        inside.wait(10)
        threads.policy()  # the tile's first look (fixed_count's, in auto mode)
        looked.set()
        trainer.join(10)
        with threads.fixed_count():
            seen.append(torch.get_num_threads())

    saved = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        trainer, tile = threading.Thread(target=train_like), threading.Thread(target=tiles)
        trainer.start(), tile.start()
        tile.join(20)
    finally:
        torch.set_num_threads(saved)
    assert seen == [2]
