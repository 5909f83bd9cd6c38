"""Seeded random weights drawn from a private generator (ldcsr_core.private_draws): build_model(seed=...), the
trainer's discriminator and a fine-tune leave torch's global generator to the other threads drawing from it, and the
weights for a seed stay what torch.manual_seed(seed) then the constructor gave, bit for bit."""

import threading

import numpy as np
import pytest
import torch

import ldcsr_core
from ldcsr_core import checkpoints as C
from ldcsr_core.builtin_models import builtin_model_paths
from ldcsr_core.checkpoints import config_from_metadata, header_metadata
from ldcsr_core.config import compact_config, official_default_config, tiny_test_config
from ldcsr_core.models.ldcsr import LDCSR
from ldcsr_core.training import trainer as trainer_mod
from ldcsr_core.training.losses import PatchDiscriminator
from tests.train_pictures import picture, picture_folder

CONFIGS = {"tiny": lambda: tiny_test_config(), "tiny with encoder": lambda: tiny_test_config(with_encoder=True),
           "compact with encoder": lambda: compact_config(with_encoder=True),
           "official with encoder": lambda: official_default_config(with_encoder=True),
           **{f"shipped {p.stem}": lambda p=p: config_from_metadata(header_metadata(p), p)
              for p in builtin_model_paths()}}


def the_old_way(build, seed):
    """What a seeded build was before: torch's global CPU generator seeded, the constructor, the generator put back."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def assert_same_tensors(got: dict, want: dict):
    assert list(got) == list(want)
    differ = [k for k in want if not torch.equal(got[k], want[k])]
    assert not differ, f"{len(differ)} of {len(want)} tensors differ, e.g. {differ[:3]}"


@pytest.mark.parametrize("which", list(CONFIGS))
def test_a_seeds_weights_are_the_ones_torch_manual_seed_gave(which):
    """The private generator gives the stream torch.manual_seed gave: every tensor of every config's model equal,
    for the seeds at both ends of the range a training seed may take. torch's global generator is not moved (its
    state is not put back now: a draw from it would show)."""
    cfg = CONFIGS[which]()
    seeds = (0, -2 ** 63, 2 ** 64 - 2) if which == "tiny" else (5,)
    for seed in seeds:
        torch.manual_seed(123)
        before = torch.random.get_rng_state()
        got = ldcsr_core.build_model(cfg, seed=seed).state_dict()
        assert torch.equal(torch.random.get_rng_state(), before)
        assert_same_tensors(got, the_old_way(lambda: LDCSR(cfg), seed).state_dict())


def test_no_seed_draws_from_where_torchs_generator_stands_and_leaves_it_there():
    """``_construct(config)`` (load_model's rebuild of a file that leaves a layer unset): the weights torch's global
    generator gives from where it stands, as before, and it stays there."""
    torch.manual_seed(42)
    before = torch.random.get_rng_state()
    got = C._construct(tiny_test_config()).state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    assert_same_tensors(got, the_old_way(lambda: LDCSR(tiny_test_config()), 42).state_dict())


def drawing_during(build, monkeypatch, module, name):
    """``build()`` while another thread draws from torch's global generator (seeded 9 first), twice: before the
    constructor ``module.name`` runs and after it, each time the build paused until the draw is made (deterministic).
    The other thread's numbers, and the seeded numbers drawn alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(9)
        alone = [torch.rand(4) for _ in range(3)]
    turn, drawn, got = threading.Semaphore(0), threading.Semaphore(0), []

    def draw_meanwhile():
        for _ in range(2):
            assert turn.acquire(timeout=30)
            got.append(torch.rand(4))
            drawn.release()

    real = getattr(module, name)

    def constructed(*args):  # the build paused while the other thread draws, before and after the constructor
        turn.release()
        assert drawn.acquire(timeout=30)
        made = real(*args)
        turn.release()
        assert drawn.acquire(timeout=30)
        return made

    monkeypatch.setattr(module, name, constructed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(9)
        thread = threading.Thread(target=draw_meanwhile)
        thread.start()
        built = build()
        thread.join(30)
        got.append(torch.rand(4))
    monkeypatch.undo()
    return got, alone, built


def test_another_threads_draws_during_a_seeded_build_are_its_own_and_do_not_reach_the_weights(monkeypatch):
    """Before: build_model(seed=3) seeded torch's global generator, built, and put it back: the other thread drew
    the seed's numbers during the build (and the model's weights were no longer the seed's: its draw shifted their
    stream), then drew again the numbers it had drawn before. Now its sequence is the seeded sequence drawn alone and
    the weights are the seed's. (Its draws are made while the build's private-generator mode is on in this thread:
    torch's mode stack is per thread.)"""
    got, alone, model = drawing_during(lambda: ldcsr_core.build_model(tiny_test_config(), seed=3), monkeypatch,
                                       C, "LDCSR")
    assert all(torch.equal(a, b) for a, b in zip(got, alone, strict=True))
    assert_same_tensors(model.state_dict(), ldcsr_core.build_model(tiny_test_config(), seed=3).state_dict())


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    return picture_folder(tmp_path_factory.mktemp("imgs"), [picture(64, seed=i) for i in range(2)])


def a_trainer(image_dir, tmp_path):
    return trainer_mod.Trainer(image_dir, tmp_path / "m.safetensors", config=tiny_test_config(with_encoder=True),
                               steps=(1, 0, 0), minutes=(0.0, 0.0, 0.0), batch_size=2, lr_size=16,
                               scale_range=(2.0, 2.0), seed=4, device="cpu", adv_weight=0.01)


def test_the_trainers_discriminator_is_its_seeds_and_leaves_another_threads_draws(image_dir, tmp_path, monkeypatch):
    """Before: the discriminator (adv_weight > 0) was built under torch.random.fork_rng with torch's global generator
    seeded seed + 1: a thread drawing meanwhile (napari trains in a worker thread) drew those numbers, then the
    ones it had drawn before again. Now its sequence is its own, and the discriminator's weights are the ones
    seed + 1 gave (spectral norm's random vectors included)."""
    got, alone, trainer = drawing_during(lambda: a_trainer(image_dir, tmp_path), monkeypatch, trainer_mod,
                                         "PatchDiscriminator")
    with trainer:
        assert all(torch.equal(a, b) for a, b in zip(got, alone, strict=True))
        assert_same_tensors(trainer.disc.state_dict(), the_old_way(PatchDiscriminator, 4 + 1).state_dict())


def test_a_fine_tune_leaves_torchs_generator_to_another_thread_drawing_meanwhile():
    """Before: fine_tune (ldcsr adapt, napari's Adapt in a worker thread) seeded torch's global generators for the
    whole run and put them back after it, though it draws nothing from them: a thread drawing meanwhile got the
    adapt seed's numbers, then its own again. Now its sequence is the seeded one drawn alone, and the fine-tune
    draws nothing (the generator stands where it was: a draw would move it)."""
    from ldcsr_core.adaptation import PairSampler, Recipe
    from ldcsr_core.finetune import fine_tune, training_copy

    recipe = Recipe(lr=2e-3, warmup=1, batch=2, crop_lr=12)
    pool = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    model = training_copy(ldcsr_core.build_model(tiny_test_config(), seed=1))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(9)
        alone = [torch.rand(4) for _ in range(3)]
    got = []

    def draw_in_another_thread(_progress):  # called in the fine-tune, after each step
        thread = threading.Thread(target=lambda: got.append(torch.rand(4)))
        thread.start()
        thread.join(30)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(9)
        assert fine_tune(model, PairSampler([pool], 2.0, recipe, 0), recipe, budget=60.0, steps=2,
                         callback=draw_in_another_thread) == 2
        got.append(torch.rand(4))
    assert all(torch.equal(a, b) for a, b in zip(got, alone, strict=True))
