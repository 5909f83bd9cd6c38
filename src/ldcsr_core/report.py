"""The self-check's report: its figures (:class:`ldcsr_core.quality.SelfCheck`) as JSON or a small
HTML page, written atomically; :func:`finite_json` for any JSON with infinite figures."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["write_report", "finite_json"]


def write_report(path, results: Sequence, *, scene=None, fmt: str | None = None, overwrite: bool = True) -> None:
    """Write ``results`` atomically (part file renamed into place) as a JSON list of
    :meth:`SelfCheck.to_dict` (``fmt="json"``) or a small HTML page (``fmt="html"``); ``fmt=None``
    picks HTML for a ``.html``/``.htm`` name, else JSON.  Check ``path`` first with
    :func:`ldcsr_core.files.check_report_path`; without ``overwrite`` a file there is kept
    (:class:`OutputExistsError`).  A failed write is one :class:`RasterIOError` (nothing left)."""
    import json

    from .files import atomic_write_bytes, is_html_name

    from .rules import check_flag, check_path

    # before the report is made; rules.check_path: '' (an unset variable) was the current folder
    path, overwrite = check_path(path, "report"), check_flag(overwrite, "overwrite")
    fmt = fmt or ("html" if is_html_name(path) else "json")
    rows = [dict(r.to_dict(), **({"scene": str(scene)} if scene is not None else {})) for r in results]
    text = json.dumps(finite_json(rows), indent=2, allow_nan=False) + "\n" if fmt == "json" else _html(results, scene)
    atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def finite_json(obj):
    """``obj`` with every non-finite float (the PSNR of identical images is inf) as None: JSON has
    no Infinity or NaN, and other tools refuse files that contain them."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_json(v) for v in obj]
    return obj


def _html(results: Sequence, scene) -> str:
    from html import escape

    from .quality import LIMITS
    from .words import scale_typed

    head = ("<tr><th>scale</th><th>PSNR LDCSR</th><th>PSNR bicubic</th><th>gain</th><th>SSIM LDCSR</th>"
            "<th>SSIM bicubic</th><th>LR-consistency LDCSR</th><th>LR-consistency bicubic</th><th>crop</th>"
            "<th>where</th></tr>")
    rows = "".join(
        f"<tr><td>×{scale_typed(r.scale)}</td><td>{r.psnr_model:.2f} dB</td><td>{r.psnr_bicubic:.2f} dB</td>"
        f"<td><b>{escape(r.gain_text())}</b></td><td>{r.ssim_model:.4f}</td><td>{r.ssim_bicubic:.4f}</td>"
        f"<td>{r.lr_psnr_model:.1f} dB</td><td>{r.lr_psnr_bicubic:.1f} dB</td><td>{r.crop} px</td>"
        f"<td>{escape(r.where())}</td></tr>"
        for r in results)
    r0 = results[0]
    caution = "".join(dict.fromkeys(f"<p><b>Caution</b>: {escape(r.caution)}.</p>" for r in results if r.caution))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>LDCSR self-check</title></head><body>"
            f"<h1>LDCSR self-check{(': ' + escape(str(scene))) if scene is not None else ''}</h1>"
            f"<p>Reduced-resolution validation (Wald's protocol, as <code>ldcsr evaluate</code>): the scene is "
            f"degraded by the scale (PIL bicubic), restored by the model and by bicubic, and both are "
            f"compared with the scene. Model {escape(r0.model)} (sha256 {escape(r0.model_sha256[:12])}), "
            f"mode {escape(r0.mode_text())}, seed {r0.seed}, computed in {escape(r0.dtype)} on {escape(r0.device)}"
            f"{(', on ' + escape(r0.picture)) if r0.picture else ''}.</p>{caution}<table border='1'>{head}{rows}</table>"
            f"<p>PSNR, SSIM (1: identical to the scene) and LR-consistency (the result degraded again, compared with "
            f"the scene's coarse copy): higher is better for each, LDCSR's beside bicubic's.</p>"
            f"<p><b>Limits</b>: {escape(LIMITS)}.</p></body></html>\n")
