"""Self-check: reduced-resolution validation of the model on the scene itself (Wald's protocol).

There is no ground truth finer than the scene, so the scene is taken as the reference: it is
degraded by the factor (PIL bicubic to ``(int(H/s), int(W/s))``), restored to ``H×W`` by the model
and by PIL bicubic, and both are compared with the scene on RGB uint8 with a border crop of
``ceil(s)`` - exactly ``ldcsr evaluate``'s protocol (:func:`ldcsr_core.training.evaluate.reduced_resolution`
and :mod:`ldcsr_core.training.metrics` are shared), so the figures compare with the model card.

Honest limits (:data:`LIMITS`): the check measures the restoration one step (×s) coarser than the
real use, and assumes that the sensor blurs like PIL's bicubic; it says whether the model helps on
this kind of scene, not how accurate the real upscaled pixels are.

A raster (path or open rasterio dataset) is read through the raster pipeline's
:class:`~ldcsr_core.geo.scene_io.SceneReader` (``bands``, ``stretch``, nodata filled) and its
model RGB triplet quantised to uint8; a scene larger than ``max_pixels`` is checked on a window or on
``samples`` windows of ``sample_size`` px spread over it on a regular grid, whose figures are pooled
over all their pixels (PSNR from the pooled squared error, SSIM the mean of all SSIM-map values).

One window is scored in :mod:`ldcsr_core.quality_scoring`; the scene's windows are placed and read in
:mod:`ldcsr_core.scene_windows`; their names are importable from here too.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from collections.abc import Sequence

import numpy as np

from .errors import InputError
from .words import scale_typed, signed
from .rules import (check_callable, check_count, check_flag, check_mode, check_samples, check_scales, check_seed,
                    check_tile)
from .quality_scoring import (  # noqa: F401 - re-exported (adapt, evaluate, the plugins use them)
    WindowCheck, check_scorable, min_side, nodata_share, score_counts, score_window, scored, unscored,
)
from .scene_windows import (  # noqa: F401 - re-exported
    MAX_PIXELS, NO_DATA, SAMPLE_SIZE, SAMPLES, RGBScene, _boxes, _check_restorable, check_has_data, selfcheck_windows,
    sample_boxes, scene_argument,
)

__all__ = ["selfcheck", "selfcheck_scales", "selfcheck_windows", "check_has_data", "SelfCheck", "WindowCheck", "min_side", "write_report", "finite_json", "LIMITS",
           "YARDSTICKS", "mode_text"]


def mode_text(mode: str, seed: int = 0, mean_of: int = 1) -> str:
    """The mode, and what the model's figures are of where it is not one picture: ``diffusion, mean of
    4 samples (seeds 0..3)`` (a check's line and report, napari's status while it runs)."""
    if mean_of < 2:
        return mode
    return f"{mode}, mean of {mean_of} samples (seeds {seed}..{seed + mean_of - 1})"

LIMITS = ("it measures the restoration of a copy one step (the scale) coarser than the scene, not the "
          "real upscale, and assumes a bicubic-like sensor blur")

# why a diffusion-mode check may be no better than bicubic where fast mode is (docs/MODEL_CARD.md: at ×4 on
# RSSCN7 val diffusion +0.05 dB, fast +1.00 dB; fast ahead at every scale)
# which way SSIM (1: identical to the scene) and LR-consistency (the result degraded again vs the scene's coarse
# copy, in dB) are better, as the self-check's line and report say it beside bicubic's figures
YARDSTICKS = "SSIM and LR-consistency: higher is better"  # not "for both": read as both models

DIFFUSION_NOTE = "in diffusion mode invented detail costs PSNR: check fast mode too, the faithful one"


@dataclass
class SelfCheck:
    """Result of :func:`selfcheck` at one scale (figures pooled over ``windows``)."""

    scale: float
    mode: str
    seed: int
    model: str
    model_sha256: str
    sampling: str  # "whole", "window" or "sampled"
    scene_shape: tuple[int, int]
    windows: list[WindowCheck]
    seconds: float = 0.0
    caution: str = ""  # why the figures overstate the model here (an adapted model on its own pixels)
    bands: tuple[int, ...] = ()  # a raster's 1-based bands checked (the model's first triplet)
    band_count: int = 0  # its data bands (alpha left out); 0: an array
    mean_of: int = 1  # the model's restoration: the mean of this many diffusion samples (upscale --samples K's output)
    dtype: str = "float32"  # the float type and device the model computed in (they move the figures)
    device: str = "cpu"
    picture: str = ""  # what 0–255 is for a raster not read as its own 8-bit values (its stretch)

    def bands_text(self) -> str:
        """``bands 4,3,2 of 13 (the others unchecked)`` for a raster whose check leaves data bands
        out or reads them in another order; "" for RGB read as it is, a grey band or an array."""
        b, n = self.bands, self.band_count
        if not n or len(set(b)) == n and b == tuple(sorted(b)):
            return ""
        return f"bands {','.join(map(str, b))} of {n}" + (" (the others unchecked)" if len(set(b)) < n else "")

    def _pool(self, key: str, kind: str) -> float:
        """A figure pooled over the windows that have values for it: a window whose nodata leaves
        it none (e.g. no LR pixel over data alone) has a NaN there, which would make the pool NaN."""
        if key == "ssim":
            ws = [w for w in self.windows if w.ssim_values]
            return float(sum(w.ssim_sum[kind] for w in ws) / sum(w.ssim_values for w in ws))
        from .training.metrics import psnr_from_mse

        n = "values" if key == "mse" else "lr_values"
        ws = [w for w in self.windows if getattr(w, n)]
        if len(ws) == 1:
            return psnr_from_mse(getattr(ws[0], key)[kind])
        tot = sum(getattr(w, key)[kind] * getattr(w, n) for w in ws)
        return psnr_from_mse(tot / sum(getattr(w, n) for w in ws))

    psnr_model = property(lambda self: self._pool("mse", "model"))
    psnr_bicubic = property(lambda self: self._pool("mse", "bicubic"))
    ssim_model = property(lambda self: self._pool("ssim", "model"))
    ssim_bicubic = property(lambda self: self._pool("ssim", "bicubic"))
    lr_psnr_model = property(lambda self: self._pool("lr_mse", "model"))
    lr_psnr_bicubic = property(lambda self: self._pool("lr_mse", "bicubic"))

    @property
    def gain_db(self) -> float:
        """PSNR of the model minus PSNR of bicubic (dB)."""
        return self.psnr_model - self.psnr_bicubic

    @property
    def crop(self) -> int:
        """Border (px) left out of the figures on each side of each window: ``ceil(scale)``."""
        return self.windows[0].crop

    @property
    def pixels(self) -> int:
        return sum(w.box[2] * w.box[3] for w in self.windows)

    @property
    def nodata(self) -> int:
        """Checked pixels that are nodata: filled for the model, left out of the figures."""
        return sum(w.nodata for w in self.windows)

    @property
    def error_model(self) -> np.ndarray | None:
        """Per-pixel |model − scene| averaged over RGB (float32, levels of the 8-bit picture
        checked, NaN in the crop and on nodata) of the one checked window; None for sampled windows (see ``windows[i].error``) or without maps."""
        return self.windows[0].error.get("model") if len(self.windows) == 1 else None

    @property
    def error_bicubic(self) -> np.ndarray | None:
        """As :attr:`error_model`, for bicubic."""
        return self.windows[0].error.get("bicubic") if len(self.windows) == 1 else None

    def where(self) -> str:
        """Which pixels the figures are about, in words (and the share of them that is nodata)."""
        h, w = self.scene_shape
        nodata = f" ({nodata_share(self.nodata, self.pixels)} nodata, not scored)" if self.nodata else ""
        nodata += f", {self.bands_text()}" if self.bands_text() else ""
        if self.sampling == "whole":
            return f"whole scene {w}×{h} px{nodata}"
        if self.sampling == "window":
            y, x, wh, ww = self.windows[0].box
            return f"window x={x} y={y} {ww}×{wh} px of {w}×{h}{nodata}"
        bh, bw = self.windows[0].box[2:]
        if len(self.windows) == 1:  # --samples 1, or a window as large as the scene: nothing pooled
            return f"1 sampled window of {bw}×{bh} px of {w}×{h}{nodata}"
        return (f"{len(self.windows)} sampled windows of {bw}×{bh} px of {w}×{h}, "
                f"pooled over all their pixels{nodata}")

    def verdict(self) -> str:
        """The gain in words, so that its sign needs no reading: ``better than bicubic``, ``worse than
        bicubic`` or ``no better than bicubic`` (a gain that rounds to 0.00 dB, shown without a sign); "" where it is undefined."""
        if not math.isfinite(self.gain_db):
            return ""
        gain = round(self.gain_db, 2)
        return f"{'better than' if gain > 0 else 'worse than' if gain < 0 else 'no better than'} bicubic"

    def mode_note(self) -> str:
        """:data:`DIFFUSION_NOTE` for a diffusion-mode check no better than bicubic, else ""."""
        worse = math.isfinite(self.gain_db) and round(self.gain_db, 2) <= 0
        return DIFFUSION_NOTE if worse and self.mode == "diffusion" else ""

    def gain_text(self) -> str:
        """``+1.23 dB: better than bicubic`` (:meth:`verdict`, and :meth:`mode_note`); where the gain is
        undefined (a flat scene that a restoration gives back exactly has an infinite PSNR), why, instead
        of ``+nan dB`` or ``-inf dB``."""
        if math.isfinite(self.gain_db):
            return f"{signed(self.gain_db)} dB: {self.verdict()}" + (f"; {self.mode_note()}" if self.mode_note() else "")
        return f"no gain to measure: {self.no_gain_reason()}"

    def no_gain_reason(self) -> str:
        """Why the gain is undefined (for a non-finite ``gain_db``): which restoration gives the
        flat pixels back exactly, and the other's PSNR."""
        exact = [k for k, db in (("LDCSR", self.psnr_model), ("bicubic", self.psnr_bicubic)) if db == math.inf]
        if len(exact) == 2:
            return "the pixels are flat, LDCSR and bicubic both restore them exactly"
        if exact:
            other, db = ("bicubic", self.psnr_bicubic) if exact == ["LDCSR"] else ("LDCSR", self.psnr_model)
            return f"the pixels are flat, {exact[0]} restores them exactly ({other}: {db:.1f} dB PSNR)"
        return "the figures are undefined"

    def line(self) -> str:
        """One readable line: the gain over bicubic, SSIM and LR-consistency beside bicubic's with the
        direction that is better (:data:`YARDSTICKS`), and where it was measured."""
        return (f"×{scale_typed(self.scale)}: LDCSR {self.psnr_model:.2f} dB vs bicubic {self.psnr_bicubic:.2f} dB "
                f"({self.gain_text()}), SSIM {self.ssim_model:.4f} vs {self.ssim_bicubic:.4f}, LR-consistency "
                f"{self.lr_psnr_model:.1f} dB vs {self.lr_psnr_bicubic:.1f} dB ({YARDSTICKS}) · {self.where()} · "
                f"crop {self.crop} px · "
                + (f"{self.picture} · " if self.picture else "")
                + f"{self.mode_text()} · {self.dtype} on {self.device}" + (f" · caution: {self.caution}" if self.caution else ""))

    def mode_text(self) -> str:
        """:func:`mode_text` of this check."""
        return mode_text(self.mode, self.seed, self.mean_of)

    def to_dict(self) -> dict:
        """JSON-ready figures (no maps)."""
        return {
            "scale": self.scale, "psnr_model": self.psnr_model, "psnr_bicubic": self.psnr_bicubic,
            "gain_db": self.gain_db, "ssim_model": self.ssim_model, "ssim_bicubic": self.ssim_bicubic,
            "lr_psnr_model": self.lr_psnr_model, "lr_psnr_bicubic": self.lr_psnr_bicubic,
            "crop": self.crop, "mode": self.mode, "seed": self.seed, "mean_of": self.mean_of, "model": self.model,
            "dtype": self.dtype, "device": self.device,
            "model_sha256": self.model_sha256, "sampling": self.sampling, "where": self.where(),
            "scene_shape": list(self.scene_shape), "pixels": self.pixels, "nodata_pixels": self.nodata,
            "windows": [{"x": w.box[1], "y": w.box[0], "width": w.box[3], "height": w.box[2]}
                        for w in self.windows],
            "seconds": round(self.seconds, 3), "limits": LIMITS, "caution": self.caution or None,
            "bands": list(self.bands) or None, "band_count": self.band_count or None,
            "picture": self.picture or None,
        }



# ------------------------------------------------------------------------------------ API


def selfcheck_scales(scene, scales: Sequence[float], *, model=None, mode: str = "diffusion",
                     seed: int = 0, tile: int | None = None, window=None, bands=None,
                     stretch: str = "auto", max_pixels: int = MAX_PIXELS, samples: int = SAMPLES,
                     sample_size: int = SAMPLE_SIZE, maps: bool = True,
                     callback=None, nodata=None, source_file=None, mean_of: int = 1) -> list[SelfCheck]:
    """:func:`selfcheck` at several scales, reading the scene's windows once."""
    check_mode(mode)
    mean_of = check_samples(mean_of, mode, name="mean_of")  # (its samples= is the windows' count)
    scales = check_scales(scales, "selfcheck(scene, 2)")  # [] failed in max(), 2 in iter()
    seed, tile, callback = check_seed(seed), check_tile(tile), check_callable(callback)
    maps = check_flag(maps, "maps")
    max_pixels, samples = check_count(max_pixels, "max_pixels"), check_count(samples, "samples")
    sample_size = check_count(sample_size, "sample_size")
    if source_file is not None and not isinstance(source_file, (str, os.PathLike)):
        raise InputError(f"source_file must be a path or None, got {source_file!r}")
    from .api import resolve_model
    from .precision import model_dtype

    scene = scene_argument(scene)
    src = RGBScene(scene, bands, stretch, nodata)  # the scene's refusals (bands, nodata) before the model loads
    try:
        from .geo.job import check_not_spread_map

        name = str(source_file or (scene if isinstance(scene, (str, os.PathLike)) else getattr(scene, "name", "") or ""))
        check_not_spread_map(src.tags, os.path.basename(name), use="selfcheck")  # upscale's rule: no picture to score
        sampling, boxes = selfcheck_windows(src.shape, scales, window, max_pixels, samples, sample_size)
        check_has_data(src, boxes)  # every pixel nodata: nothing to run the model on, refused before it loads
        tiles = [(b, *src.rgb_valid(b)) for b in boxes]
        model = resolve_model(model)
        computed = dict(dtype=model_dtype(model), device=str(getattr(model, "device", "cpu")))  # as evaluate's
        from .adapt_scene import is_scene_file
        from .adapted_use import adapted_check, own_pixels_caution

        box = (0, 0, *src.shape) if sampling == "sampled" else boxes[0]
        # a copy of a file's pixels in memory (napari's layer) is told as that file too
        own = own_pixels_caution(model, scene, src, box) or (source_file and own_pixels_caution(model, source_file, src, box))
        made = src.made and f"the scene is {src.made}: its pixels are not measurements, so the figures are about that picture"
        from .training.evaluate import trained_folder_of

        if not own and name and (said := is_scene_file(adapted_check(model), name)):  # evaluate's: its base's
            own = (f"this file is {said} (that file or a copy, as the model records it), so the figures overstate "
                   "what it does on other scenes")
        folder = trained_folder_of(model, source_file or scene)  # evaluate's rule: the folders the model's notes name
        seen = folder and (f"the scene is in the folder model {getattr(model, 'name', '?')} was trained on ({folder}, "
                           "as its notes record it): the figures are not on an unseen scene")
        caution = "; ".join(c for c in (made, seen, own) if c)
        picture = src.picture
    finally:
        src.close()
    empty = [b for b, t, _ in tiles if t is None]  # every pixel nodata: a window no model runs on
    tiles = [(b, t, v) for b, t, v in tiles if t is not None]  # (some: check_has_data)
    if callback is not None:  # one progress over every window and scale, as one run's
        from .progress import one_run
        from .window_sizing import plan_for_model
        from .training.evaluate import lr_shape

        callback = one_run(callback, sum(len(plan_for_model(model, lr_shape(b[2:], s), b[2:], tile,
                                                            mode=mode).tiles) for s in scales for b, _, _ in tiles))
    results = []
    for s in scales:
        t0 = time.perf_counter()
        checks = [score_window(t, s, model, box=b, mode=mode, seed=seed, tile=tile, maps=maps,
                               callback=callback, valid=v, mean_of=mean_of) for b, t, v in tiles]
        # every window checked stays in the figures' account: one with nothing to score (all nodata, or
        # data only in the border) pools nothing, but its pixels are in where()'s count and nodata share
        checks = sorted(checks + [unscored(b, s) for b in empty], key=lambda c: boxes.index(c.box))
        scored(checks, s)  # refused where too little is left to score (of all the pixels checked)
        results.append(SelfCheck(
            scale=s, mode=mode, seed=seed, model=str(getattr(model, "name", "?")),
            model_sha256=str(getattr(model, "weights_sha256", "") or ""), sampling=sampling,
            scene_shape=tuple(int(v) for v in src.shape), windows=checks,
            seconds=time.perf_counter() - t0, caution=caution, bands=src.bands, band_count=src.band_count,
            picture=picture, mean_of=mean_of, **computed))
    return results


def selfcheck(scene, scale: float, **kwargs) -> SelfCheck:
    """Reduced-resolution self-check of ``model`` on ``scene`` at ``scale`` (Wald's protocol).

    Parameters
    ----------
    scene : H×W×3 uint8 array (or float in [0, 1], or H×W grey), a raster path (GeoTIFF, PNG,
        JPEG, ...) or an open rasterio dataset.
    scale : the factor, > 1 and <= 8.
    model, mode, seed, tile : as for :func:`ldcsr_core.upscale` (model None: the shipped one).
    window : ``(row_off, col_off, height, width)`` to check instead of the whole scene.
    bands, stretch, nodata : rasters only: the model's RGB triplet, the radiometric stretch and a
        nodata value (or a tuple of several) instead of the file's, as ``ldcsr upscale --bands/--stretch/--nodata``.
    max_pixels, samples, sample_size : a scene above ``max_pixels`` (without ``window``) is checked
        on ``samples`` windows of ``sample_size`` px on a regular grid, none overlapping another
        (fewer where the scene holds no more: :func:`sample_boxes`), pooled over their pixels.
    maps : keep the per-pixel error maps (``error_model`` / ``error_bicubic``).
    callback : the engine's progress callback (``ldcsr_core.progress``; raise ``Cancelled`` to stop):
        one run's ``done`` = 0 … ``total`` over every window (and scale) checked.
    source_file : the file ``scene``'s pixels were read from as they are (napari's layer of a file, held
        in memory), for the caution only: the figures are of ``scene``; its caution is that file's too.
    mean_of : K > 1 scores the mean of K diffusion samples (seeds ``seed … seed+K-1``), the picture
        ``upscale --samples K`` writes, instead of one sample (K times the model's work).

    Returns
    -------
    SelfCheck
        PSNR/SSIM of the model and of bicubic, the gain, the LR-consistency, the crop, the maps.
        Limits: see :data:`LIMITS`.
    """
    return selfcheck_scales(scene, [scale], **kwargs)[0]


from .report import finite_json, write_report  # noqa: E402 - re-exported (written there)
