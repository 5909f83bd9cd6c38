"""A seed or a number of samples written as QGIS's SEED and SAMPLES take it ('1e23', '2.0'): the same number on the
command line (ldcsr_core.whole_numbers.whole_text, the rule both read text by); QGIS's side in tests/qgis/test_qgis_seed.py."""

from __future__ import annotations

import pytest
import rasterio
from click.testing import CliRunner

from ldcsr_core.cli import main


def test_a_seed_written_1e23_runs_with_the_seed_qgis_runs_it_with(rasters, tiny_model_file, tmp_path):
    """Before: ldcsr upscale --seed 1e23 was refused ("'1e23' is not a valid integer.") while QGIS's SEED '1e23'
    ran with 10**23 (docs/qgis.md: 'any whole number, as ldcsr upscale --seed takes it'). Now it runs with 10**23:
    the output's seed, and a rerun with its digits is skipped, the same request's complete output."""
    out = tmp_path / "o.tif"
    args = ["upscale", str(rasters["gray"]), "-o", str(out), "-s", "2", "--model", str(tiny_model_file), "--seed"]
    r = CliRunner().invoke(main, [*args, "1e23"])
    assert r.exit_code == 0, r.output
    with rasterio.open(out) as ds:
        assert ds.tags()["LDCSR_SEED"] == str(10 ** 23)
    again = CliRunner().invoke(main, [*args, str(10 ** 23)])
    assert again.exit_code == 0 and "complete output already there" in again.output, again.output


@pytest.mark.parametrize("option, given, said", [
    ("--samples", "3.0", "--samples 3 needs --mode diffusion"),  # read as 3: the next rule speaks
    ("--samples", "1_0.0", "--samples 10 needs --mode diffusion"),  # grouped as Python groups digits
    ("--seed", "1__0", "'1__0' is not a valid integer."),  # a typo, Decimal's 10 (QGIS's before)
    ("--seed", "1.5", "seed must be a whole number, got '1.5'"),
    ("--samples", "nan", "--samples must be a finite number, got 'nan'"),
    ("--seed", "1e5000", "seed must be less than 2**4096 in size, got 1e+5000"),
])
def test_whole_numbers_in_another_notation_are_read_as_qgis_reads_them(rasters, tmp_path, option, given, said):
    """Before: each was "'…' is not a valid integer." (click's int), QGIS's SAMPLES took 3.0 as 3 and said the others
    in the words above; now the command line reads them as QGIS does, refused before the model loads."""
    r = CliRunner().invoke(main, ["upscale", str(rasters["gray"]), "-o", str(tmp_path / "o.tif"), "-s", "2",
                                  "--mode", "fast", option, given])
    assert r.exit_code == 2, r.output
    assert said in r.output, r.output
    assert not (tmp_path / "o.tif").exists()
