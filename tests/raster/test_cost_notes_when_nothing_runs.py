"""``ldcsr upscale``'s cost notes (the --tile note of diffusion mode, the K-times cost of --samples K) are said only
when an input will run: not for a lone output whose spread file is another request's (refused, exit 4), nor for an
output another command is making (waited for, then skipped). Real GeoTIFFs, the real CLI in-process."""

from __future__ import annotations

import threading
import time

from click.testing import CliRunner

from ldcsr_core.cli import main
from ldcsr_core.output_claims import OutputClaim


def _notes(r):
    return [ln for ln in r.stderr.splitlines() if "samples for the uncertainty map" in ln or "--tile 32 applies" in ln]


def _args(src, out, model, *more):
    return ["upscale", str(src), "-o", str(out), "-s", "2", "--mode", "diffusion", "--tile", "32", "--model", str(model),
            "--device", "cpu", *more]


def test_no_cost_notes_before_a_lone_output_whose_spread_file_is_another_requests(rasters, tiny_model_file, tmp_path):
    """o.tif gone, its spread file o_spread.tif of --seed 0 there, run with --seed 1: before, the K-times cost note
    and the --tile note were said, then 'output exists: o_spread.tif', exit 4; now the refusal alone."""
    out = tmp_path / "o.tif"
    first = CliRunner().invoke(main, _args(rasters["rgba"], out, tiny_model_file, "--samples", "2"))
    assert first.exit_code == 0 and len(_notes(first)) == 2, first.output
    out.unlink()
    other = CliRunner().invoke(main, _args(rasters["rgba"], out, tiny_model_file, "--samples", "2", "--seed", "1"))
    assert other.exit_code == 4 and f"output exists: {tmp_path / 'o_spread.tif'}" in other.output, other.output
    assert _notes(other) == [], other.stderr
    # its own request's spread file alone (--seed 0): made again, which only the loaded model tells: said as it runs
    again = CliRunner().invoke(main, _args(rasters["rgba"], out, tiny_model_file, "--samples", "2"))
    assert again.exit_code == 0 and "written" in again.output and len(_notes(again)) == 2, again.output


def test_no_cost_notes_before_an_output_another_command_makes_and_completes(rasters, tiny_model_file, tmp_path):
    """Another command making o.tif (its claim held), which it completes as this one waits: before, the --tile note
    was said, then 'skipped … complete output already there'; now the skip alone."""
    out = tmp_path / "o.tif"
    args = _args(rasters["rgba"], out, tiny_model_file)
    assert CliRunner().invoke(main, args).exit_code == 0
    made = out.rename(tmp_path / "made.tif")  # the other command's output, put in place while this one waits
    other = OutputClaim(out)
    assert other.take(wait=False)

    def complete():
        time.sleep(2.0)
        made.rename(out)
        other.release()

    done = threading.Thread(target=complete)
    done.start()
    try:
        r = CliRunner().invoke(main, args)
    finally:
        done.join()
    assert r.exit_code == 0 and "complete output already there" in r.output, r.output
    assert _notes(r) == [], r.stderr
