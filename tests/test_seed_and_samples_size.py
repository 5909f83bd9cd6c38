"""The seed's and the samples' limits, one rule in ``ldcsr_core.rules`` for the command line and QGIS
(``check_seed``, ``check_samples``; QGIS's side: tests/qgis/test_qgis_seed.py, test_qgis_samples_typed.py), a
number past them said short, not in its hundreds or thousands of digits."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ldcsr_core.cli import main
from ldcsr_core.errors import InputError
from ldcsr_core.rules import check_seed


def _upscale(tmp_path, *args):
    return CliRunner().invoke(main, ["upscale", str(tmp_path / "a.tif"), "-o", str(tmp_path / "o.tif"), "--scale", "2",
                                     *args])


@pytest.mark.parametrize("digits, said", [(1300, "1e+1300"), (5000, "1e+5000")])
def test_a_seed_past_2_4096_is_refused_as_qgis_refuses_it(tmp_path, digits, said):
    """Before: ldcsr upscale --seed of 1300 nines was taken (QGIS's SEED refused it: past 2**4096), and one of 5000
    refused in its 5000 digits (Python's 4300-digit limit: 'is not a valid integer'); now both are refused at QGIS's
    limit in the engine's words, the number said short."""
    r = _upscale(tmp_path, "--seed", "9" * digits)
    assert r.exit_code == 2, r.output
    assert f"Invalid value for '--seed': seed must be less than 2**4096 in size, got {said}\n" in r.output, r.output
    assert "9" * 30 not in r.output


def test_the_seed_limit_is_2_4096_either_sign():
    """Before: check_seed took any size (the API and the command line), QGIS stopped at 2**4096."""
    assert check_seed(2 ** 4096 - 1) == 2 ** 4096 - 1 and check_seed(-(2 ** 4096 - 1)) == -(2 ** 4096 - 1)
    for seed in (2 ** 4096, -2 ** 4096):
        with pytest.raises(InputError, match=r"seed must be less than 2\*\*4096 in size, got -?1.04e\+1233$"):
            check_seed(seed)


@pytest.mark.parametrize("given, said", [(str(10 ** 400), "1e+400"), ("9" * 5000, "1e+5000")],
                         ids=["10**400", "5000 nines"])
def test_samples_past_the_limit_are_said_short(tmp_path, given, said):
    """Before: --samples 10**400 said 'Invalid value for '--samples' / '-k': 1000…(401 digits) is not in the range
    1<=x<=32.', 5000 digits '… is not a valid integer' in full; now the engine's rule and words, as QGIS's SAMPLES,
    the number short."""
    r = _upscale(tmp_path, "--samples", given)
    assert r.exit_code == 2, r.output
    assert (f"Invalid value for '--samples' / '-k': --samples={said} is more than the 32 samples an uncertainty map "
            f"takes (each sample is a whole run: {said} would take {said} times as long as one): use 32 or fewer"
            in r.output), r.output
    assert given[:30] not in r.output


@pytest.mark.parametrize("command", ["train", "adapt"])
def test_a_training_seed_torch_cannot_take_is_a_usage_error(tmp_path, command):
    """Before: ldcsr train --seed 2**64 read the data, then ended in 'Error: ValueError: Overflow when unpacking long
    long' (torch's generator); adapt the same after its scene's look. Now both are usage errors naming the range."""
    scene = tmp_path / "a.tif"
    scene.write_bytes(b"")  # (not read: the option is refused first)
    args = (["train", str(tmp_path), "--out", str(tmp_path / "m.safetensors")] if command == "train"
            else ["adapt", str(scene), "--scale", "2", "--out", str(tmp_path / "m.safetensors")])
    r = CliRunner().invoke(main, [*args, "--seed", str(2 ** 64)])
    assert r.exit_code == 2, r.output
    assert ("Invalid value for '--seed': a training seed must be from -2**63 to 2**64 - 2 (what torch's generators "
            "take), got 18446744073709551616") in r.output, r.output


def test_the_training_seed_range_is_what_torch_takes_for_seed_and_seed_plus_one():
    """build_model(seed=2**64) raised a bare ValueError ('Overflow when unpacking long long'); train and adapt, which
    seed torch with seed and seed + 1, failed alike after reading their data."""
    import torch

    from ldcsr_core import build_model
    from ldcsr_core.rules import check_training_seed

    for seed in (-2 ** 63, 2 ** 64 - 2):  # torch takes both, and seed + 1
        assert check_training_seed(seed) == seed
        torch.Generator().manual_seed(seed)
        torch.Generator().manual_seed(seed + 1)
    for seed in (-2 ** 63 - 1, 2 ** 64 - 1, 2 ** 64):
        with pytest.raises(InputError, match=r"a training seed must be from -2\*\*63 to 2\*\*64 - 2"):
            check_training_seed(seed)
    with pytest.raises(InputError, match="a training seed must be"):
        build_model(seed=2 ** 64)


def test_train_refuses_a_seed_past_torch_s_range_before_reading_its_data(tmp_path):
    """The API's train(): the seed is checked with the other arguments, before DATA (here a folder not there) is read."""
    from ldcsr_core.training.trainer import train

    with pytest.raises(InputError, match="a training seed must be"):
        train(tmp_path / "not-there", tmp_path / "m.safetensors", seed=2 ** 64, minutes=(0.01, 0, 0))


@pytest.mark.parametrize("digits", [1300, 5000])
def test_a_training_seed_past_2_4096_is_told_the_training_range(tmp_path, digits):
    """Before: ldcsr train --seed of 1300 (or 5000) nines said 'seed must be less than 2**4096 in size', a limit
    upscale's seed has, so a user then gave 2**4000 and met the range; now the training range, as for 2**64."""
    r = CliRunner().invoke(main, ["train", str(tmp_path), "--out", str(tmp_path / "m.safetensors"),
                                  "--seed", "9" * digits])
    assert r.exit_code == 2, r.output
    assert ("Invalid value for '--seed': a training seed must be from -2**63 to 2**64 - 2 (what torch's generators "
            f"take), got 1e+{digits}") in r.output, r.output


@pytest.mark.parametrize("command, given, said", [("train", "1e5000", "1e+5000"), ("adapt", "-1e5000", "-1e+5000"),
                                                  ("train", "1.5e5000", "1.5e+5000")])
def test_a_training_seed_past_2_4096_in_another_notation_is_told_the_training_range(tmp_path, command, given, said):
    """Before: ldcsr train --seed 1e5000 said 'seed must be less than 2**4096 in size' (upscale's limit) while the
    same number in digits said the training range; now the training range in either notation."""
    scene = tmp_path / "a.tif"
    scene.write_bytes(b"")  # (not read: the option is refused first)
    args = (["train", str(tmp_path), "--out", str(tmp_path / "m.safetensors")] if command == "train"
            else ["adapt", str(scene), "--scale", "2", "--out", str(tmp_path / "m.safetensors")])
    r = CliRunner().invoke(main, [*args, "--seed", given])
    assert r.exit_code == 2, r.output
    assert ("Invalid value for '--seed': a training seed must be from -2**63 to 2**64 - 2 (what torch's generators "
            f"take), got {said}") in r.output, r.output
