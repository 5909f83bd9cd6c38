"""``ldcsr models`` and ``ldcsr convert`` through click's CliRunner: what a model file lists as, what is
refused as upscale refuses it, a damaged file in the model folder, an official checkpoint converted."""

from __future__ import annotations

import numpy as np

from .test_ldcsr_cli import assert_clean_error, run


def test_models_lists_given_checkpoint(tiny_model_file):
    r = run("models", tiny_model_file)
    assert r.exit_code == 0, r.output
    assert "tiny-test 0" in r.output and "sha256:" in r.output and "params:" in r.output
    # every shipped version is listed, the default marked
    assert "ldcsr-compact-rsscn7-v4.safetensors  [built-in, default]" in r.output
    assert "ldcsr-compact-rsscn7-v3.safetensors  [built-in]" in r.output
    assert "ldcsr-compact-rsscn7-v2.safetensors  [built-in]" in r.output
    assert "ldcsr-compact-rsscn7-v1.safetensors  [built-in]" in r.output
    assert "--model ldcsr-compact-rsscn7-v1" in r.output
    # training notes: one readable line each (the JSON, with the training machine's paths, on --notes)
    assert ("notes:   last training run: fast 1583 steps (50 min), prior 375 steps (8 min), diffusion 1433 "
            "steps (14 min); gain over bicubic on that run's validation subset: fast ×2 +1.64 dB, ×4 +0.72 dB") in r.output
    notes = [ln for ln in r.output.splitlines() if ln.startswith("  notes:")]
    assert len(notes) >= 4 and not [ln for ln in notes if "/work/" in ln or '"history"' in ln]
    full = run("models", "--notes")
    assert full.exit_code == 0 and full.output.count('"history"') == 4


def test_models_config_line_names_v4s_detail_decoder():
    """v4 carries a second decoder that diffusion mode decodes with (0.6 M of its 3.17 M parameters);
    before, its config line read as v3's, nothing telling the two architectures apart."""
    blocks = run("models").output.split("\nldcsr-compact-rsscn7-")
    v3, v4 = (next(b for b in blocks if b.startswith(v)) for v in ("v3.", "v4."))
    assert "config:  decoder ch 32 x(1, 1, 1, 1), unet ch 32 x(1, 2, 2, 2), diffusion-mode detail decoder ch 32" in v4
    assert "detail decoder" not in v3


def test_notes_summary_keeps_other_notes_short():
    from ldcsr_core.cli.describe_cmds import notes_summary

    assert notes_summary("random weights") == "random weights"
    assert notes_summary("x" * 500, width=20) == "x" * 19 + "…"
    assert notes_summary('{"history": "not a dict"}') == '{"history": "not a dict"}'


def test_models_refuses_what_upscale_refuses(tmp_path, golden_dir):
    from safetensors.numpy import save_file
    plain, bad = tmp_path / "plain.safetensors", tmp_path / "bad.safetensors"
    save_file({"a": np.zeros(3, np.float32)}, str(plain))
    save_file({"a": np.zeros(3, np.float32)}, str(bad), metadata={"format": "ldcsr-safetensors-1", "config": "{x"})
    assert_clean_error(run("models", plain), "plain.safetensors: not an LDCSR checkpoint", code=6)
    assert_clean_error(run("models", bad), "bad.safetensors: its model configuration is not valid JSON", code=6)
    r = run("models", golden_dir / "small_state_dict.safetensors")  # a bare state dict is a model
    assert r.exit_code == 0 and "small_state_dict" in r.output, r.output


def test_models_lists_as_unreadable_a_model_whose_config_cannot_be_built(tmp_path, tiny_model_file):
    """'ldcsr models' lists what load_model loads (checkpoints.config_from_metadata), and 'ldcsr info
    --model' refuses what upscale refuses. Before, a file in our format with no config, or a width
    given as a string, was listed as a good model (exit 0) and info said 'not an adapted model'
    (exit 0), while --model with it failed (KeyError / TypeError, exit 1)."""
    import json

    from safetensors.numpy import load_file, save_file
    from safetensors import safe_open

    with safe_open(str(tiny_model_file), framework="numpy") as f:
        meta = f.metadata()
    sd = load_file(str(tiny_model_file))
    cfg = json.loads(meta["config"])
    cfg["decoder"]["ch"] = "x"
    bad, none = tmp_path / "bad.safetensors", tmp_path / "none.safetensors"
    save_file(sd, str(bad), metadata={**meta, "config": json.dumps(cfg)})
    save_file(sd, str(none), metadata={k: v for k, v in meta.items() if k != "config"})
    from PIL import Image

    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "in.png")
    for path, said in ((bad, "(decoder.ch must be a whole number, got 'x')"),
                       (none, "holds no model configuration")):
        r = run("models", path)
        assert r.exit_code == 6 and "[unreadable]" in r.output and said in r.output, r.output
        assert_clean_error(run("upscale", tmp_path / "in.png", "-s", "2", "-o", tmp_path / "o.tif", "--model", path),
                           said, code=6)
        assert_clean_error(run("info", tmp_path / "in.png", "--model", path), said, code=6)  # was 'not an adapted model'


def test_models_lists_every_model_past_a_damaged_one(tiny_model_file, tmp_path, monkeypatch):
    """A truncated file in the model folder (a copy cut short) stopped the listing there: the
    adapted models after it were never shown. Each is listed; the damaged one says why (exit 6)."""
    import shutil

    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "a-cut.safetensors").write_bytes(tiny_model_file.read_bytes()[:1000])
    shutil.copy(tiny_model_file, folder / "b-good.safetensors")
    monkeypatch.setenv("LDCSR_MODELS_DIR", str(folder))
    r = run("models", tiny_model_file)
    assert_clean_error(r, "a-cut.safetensors is cut short: 1000 bytes", code=6)
    out = r.output
    assert "a-cut.safetensors  [unreadable]" in out and "  error:   " in out
    assert "b-good.safetensors\n" in out and out.count("tiny-test 0") == 2  # the folder's and the path's
    assert "ldcsr-compact-rsscn7-v4.safetensors  [built-in, default]" in out


def test_convert_official_checkpoint(tmp_path, golden_dir):
    ckpt = golden_dir / "small_official.ckpt"
    out = tmp_path / "small.safetensors"
    r = run("convert", ckpt, out)
    assert r.exit_code == 0, r.output
    assert out.is_file()
    assert_clean_error(run("convert", ckpt, out), "exists")
    r = run("models", out)
    assert "small_official" in r.output
    # a name nothing would load it under is refused, before any work
    assert_clean_error(run("convert", ckpt, tmp_path / "small.ckpt"), "must be named .safetensors", code=2)
    assert not (tmp_path / "small.ckpt").exists()


def test_convert_refuses_a_model_already_in_the_ldcsr_format(tmp_path, tiny_model_file):
    """Before: 'ldcsr convert' rewrote one of our models (a built-in, an adapted one) as version
    'official', named after the file, its training notes and an adapted model's guard record gone
    (outputs then said 'model tiny official', the authors' weights, and no outside-use note)."""
    out = tmp_path / "again.safetensors"
    assert_clean_error(run("convert", tiny_model_file, out),
                       "tiny.safetensors is already in the ldcsr format (model tiny-test 0): nothing to convert", code=6)
    assert not out.exists()
