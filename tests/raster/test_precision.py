"""The float type rule (``ldcsr_core.precision``): bfloat16 where the CPU computes it natively,
float32 elsewhere; ``LDCSR_DTYPE`` and ``dtype=`` / ``--dtype`` override it; training and conversion
stay float32; the output stays within 50 dB of float32's; provenance and resume know the type."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ldcsr_core
from ldcsr_core import precision

NATIVE = precision.native_bf16_cpu()


def _dtype(model) -> torch.dtype:
    return next(model.parameters()).dtype


@pytest.fixture
def auto(monkeypatch):
    """The engine's own default: no LDCSR_DTYPE (the suite sets float32)."""
    monkeypatch.delenv(precision.ENV, raising=False)


@pytest.mark.skipif(not NATIVE, reason="this CPU has no native bfloat16 (AMX / AVX512-BF16)")
def test_auto_is_bfloat16_on_a_cpu_that_computes_it_natively(auto, tiny_model_file):
    assert _dtype(ldcsr_core.load_model(tiny_model_file, device="cpu")) == torch.bfloat16
    # training (with the encoder) and conversion keep float32 whatever auto would pick
    assert _dtype(ldcsr_core.load_model(tiny_model_file, device="cpu", with_encoder=True)) == torch.float32


def test_auto_is_float32_without_native_bfloat16(auto, monkeypatch, tiny_model_file):
    monkeypatch.setattr(precision, "native_bf16_cpu", lambda: False)
    assert _dtype(ldcsr_core.load_model(tiny_model_file, device="cpu")) == torch.float32
    assert precision.describe().startswith("float32 (auto: no native bfloat16")


def test_environment_and_argument_override_the_rule(monkeypatch, tiny_model_file):
    monkeypatch.setenv(precision.ENV, "bfloat16")
    assert _dtype(ldcsr_core.load_model(tiny_model_file, device="cpu")) == torch.bfloat16
    assert _dtype(ldcsr_core.load_model(tiny_model_file, device="cpu", dtype="float32")) == torch.float32
    assert _dtype(ldcsr_core.load_model(tiny_model_file, device="cpu", with_encoder=True)) == torch.float32
    monkeypatch.setenv(precision.ENV, "float64")
    with pytest.raises(ldcsr_core.ConfigError, match="LDCSR_DTYPE='float64'"):
        ldcsr_core.load_model(tiny_model_file, device="cpu")


@pytest.mark.parametrize("mode,floor_db", [("fast", 50.0), ("diffusion", 45.0)])
def test_bfloat16_output_stays_close_to_float32_with_the_shipped_model(mode, floor_db):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:48, 0:56]
    img = np.stack([128 + 90 * np.sin(xx / 5 + c) * np.cos(yy / 7) for c in range(3)], -1)
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)
    outs = {}
    for dt in ("float32", "bfloat16"):
        model = ldcsr_core.load_model(None, device="cpu", dtype=dt)
        outs[dt] = ldcsr_core.upscale(img, 4, model=model, mode=mode, seed=3).astype(np.float64)
    mse = np.mean((outs["float32"] - outs["bfloat16"]) ** 2)
    assert mse > 0  # really another computation
    assert 10 * np.log10(255.0 ** 2 / mse) >= floor_db


def test_provenance_and_resume_know_the_float_type(rasters, tiny_model_file, tmp_path):
    import rasterio
    from click.testing import CliRunner

    from ldcsr_core.cli import main

    out = tmp_path / "o.tif"
    base = ["upscale", str(rasters["gray"]), "-o", str(out), "-s", "2", "--mode", "fast",
            "--model", str(tiny_model_file)]
    r = CliRunner().invoke(main, [*base, "--dtype", "bfloat16"])
    assert r.exit_code == 0, r.output
    with rasterio.open(out) as ds:
        assert ds.tags()["LDCSR_DTYPE"] == "bfloat16"
    r = CliRunner().invoke(main, [*base, "--dtype", "float32"])  # another request: not "skipped"
    assert r.exit_code == 4 and "another request" in r.output, r.output
    r = CliRunner().invoke(main, [*base, "--dtype", "bfloat16"])  # the same: skipped
    assert r.exit_code == 0 and "1 skipped" in r.output, r.output


def test_dtype_help_says_what_auto_picks_on_cuda():
    """auto is float16 on CUDA (precision.auto_name); --dtype's help said 'float32 elsewhere'."""
    import torch
    from click.testing import CliRunner

    from ldcsr_core.cli import main
    from ldcsr_core.precision import auto_name

    assert auto_name(torch.device("cuda")) == "float16"
    for cmd in ("upscale", "selfcheck"):
        text = " ".join(CliRunner().invoke(main, [cmd, "--help"], terminal_width=200).output.split())
        assert "auto = float16 on CUDA, bfloat16 on a CPU with native bfloat16" in text, text


def test_evaluate_measures_in_float32_where_auto_would_pick_bfloat16(auto, monkeypatch, tiny_model_file, tmp_path):
    """Before: `ldcsr evaluate` loaded its model with "auto", bfloat16 on an AMX / AVX512-BF16 CPU,
    which moves PSNR by as much as an adapted model's gain over its base (its sign came from rounding).
    It measures in float32 unless LDCSR_DTYPE or --dtype asks otherwise, and says which."""
    import json

    from click.testing import CliRunner
    from PIL import Image

    from ldcsr_core.cli import main

    from .test_adapt import scene

    monkeypatch.setattr(precision, "native_bf16_cpu", lambda: True)
    assert _dtype(ldcsr_core.load_model(tiny_model_file, device="cpu")) == torch.bfloat16  # auto's pick here
    Image.fromarray(scene(48, 48)).save(tmp_path / "a.png")
    j = tmp_path / "e.json"

    def evaluate(*extra):
        r = CliRunner().invoke(main, ["evaluate", str(tmp_path), "--model", str(tiny_model_file), "--scales", "2",
                                      "--device", "cpu", "--json", str(j), "--overwrite", *extra])
        assert r.exit_code == 0, r.output
        return r.output.splitlines()[0], json.loads(j.read_text())["dtype"]

    said, dtype = evaluate()
    assert dtype == "float32" and "· float32 on cpu ·" in said, said
    assert evaluate("--dtype", "bfloat16")[1] == "bfloat16"  # asked for
    monkeypatch.setenv(precision.ENV, "bfloat16")
    assert evaluate()[1] == "bfloat16"
    assert evaluate("--dtype", "float32")[1] == "float32"
    monkeypatch.setenv(precision.ENV, "auto")  # the hardware's pick, asked for by name
    assert evaluate()[1] == "bfloat16"


def test_selfcheck_gives_evaluates_figures_in_evaluates_float_type(auto, monkeypatch, tiny_model_file, tmp_path):
    """selfcheck computes in auto, evaluate in float32 (precision.measuring_dtype): where auto is bfloat16
    their figures on one image differ; selfcheck --dtype float32 gives evaluate's (docs/cli.md, README)."""
    import json

    from click.testing import CliRunner
    from PIL import Image

    from ldcsr_core.cli import main

    from .test_adapt import scene

    monkeypatch.setattr(precision, "native_bf16_cpu", lambda: True)
    Image.fromarray(scene(48, 48)).save(tmp_path / "a.png")

    def figures(*args):
        j = tmp_path / "r.json"
        r = CliRunner().invoke(main, [*map(str, args), "--model", str(tiny_model_file), "--device", "cpu", "--mode", "fast",
                                      "--json", str(j), "--overwrite"])
        assert r.exit_code == 0, r.output
        out = json.loads(j.read_text())
        row = out[0] if isinstance(out, list) else {"dtype": out["dtype"], **out["scales"]["2.0"]}
        return row["dtype"], row.get("psnr_model", row.get("psnr")), row.get("lr_psnr_model", row.get("lr_psnr"))

    evaluated = figures("evaluate", str(tmp_path), "--scales", "2")
    assert evaluated[0] == "float32" and figures("selfcheck", tmp_path / "a.png", "--scale", "2")[0] == "bfloat16"
    assert figures("selfcheck", tmp_path / "a.png", "--scale", "2", "--dtype", "float32") == evaluated


def test_the_uncertainty_benchmark_measures_in_evaluates_float_type(auto, monkeypatch, tiny_model_file, tmp_path,
                                                                    capsys):
    """benchmarks/uncertainty_eval.py loads its model by evaluate's rule (precision.measuring_dtype):
    float32 unless its --dtype or LDCSR_DTYPE asks otherwise, and its table and JSON say the type the
    model computed in. Before: it loaded in auto, bfloat16 on a CPU that computes it natively, and
    recorded that, so its figures were not evaluate's."""
    import importlib.util
    import json
    from pathlib import Path

    from PIL import Image

    from .test_adapt import scene

    spec = importlib.util.spec_from_file_location(
        "uncertainty_eval", Path(__file__).resolve().parents[2] / "benchmarks" / "uncertainty_eval.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(precision, "native_bf16_cpu", lambda: True)  # auto's pick would be bfloat16
    data = tmp_path / "hr"
    data.mkdir()
    Image.fromarray(scene(48, 48)).save(data / "a.png")
    j = tmp_path / "u.json"

    def measured(*extra):
        assert bench.main(["--data", str(data), "--model", str(tiny_model_file), "--device", "cpu", "--samples", "2",
                           "--scales", "2", "--json", str(j), *extra]) == 0
        report = json.loads(j.read_text())
        assert report["images"] == 1 and report["samples"] == 2 and "2.0" in report["scales"], report
        return capsys.readouterr().out.splitlines()[0], report["dtype"]

    said, dtype = measured()
    assert dtype == "float32" and "· float32 on cpu ·" in said, said
    assert measured("--dtype", "bfloat16")[1] == "bfloat16"  # asked for
    monkeypatch.setenv(precision.ENV, "bfloat16")
    assert measured()[1] == "bfloat16" and measured("--dtype", "float32")[1] == "float32"
    monkeypatch.setenv(precision.ENV, "auto")  # the hardware's pick, asked for by name
    assert measured()[1] == "bfloat16"
