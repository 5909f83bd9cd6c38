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
