"""The ``ldcsr selfcheck`` command that ends an upscale note that a run is untested: the command to paste, at the
run's scale as ``-s`` takes it (a target resolution's: the shortest decimal that makes the run's size)."""

from __future__ import annotations

import math

__all__ = ["check_windows", "selfcheck_measure", "shortest_scale"]


def selfcheck_measure(scene, scale, options=(), *, batch: bool = False, on_scene: bool = False) -> str:
    """The end of a note that a run is untested, as a command to paste: ``ldcsr selfcheck 'my scene.tif' -s 2
    measures it`` (``on_scene``: "... on the scene"); ``scale``: the run's, as typed (text: :func:`~ldcsr_core.words.scale_typed`'s, :func:`shortest_scale`'s)
    or a number (said ``:g``), or its ``(sy, sx)``: axes that differ are said to be no scale selfcheck measures (it
    scores one scale on both axes alike), instead of a command that would measure another; ``options``: the run's
    that selfcheck takes too (``("-m", "my.safetensors")``), each quoted. ``batch``: the command is an example, of
    ``scene``, the first input the note concerns (one whose name starts with ``-`` given as ``./-b.tif``,
    :func:`~ldcsr_core.words.shell_word`, not read as options)."""
    import shlex

    import numpy as np

    from .words import scale_said, shell_word

    said = [scale_said(v) for v in np.ravel(np.asarray(scale, dtype=object))]
    if len(set(said)) > 1:  # (sy, sx)
        where = f" of that input ({shell_word(scene)})" if batch else ""
        return (f"ldcsr selfcheck cannot measure it{where}: it scores one scale on both axes alike, not ×{said[1]} x, "
                f"×{said[0]} y")
    command = " ".join(["ldcsr selfcheck", shell_word(scene), f"-s {said[0]}", *map(shlex.quote, map(str, options))])
    if batch:
        return f"e.g. {command} measures it on that input"
    return f"{command} measures it{' on the scene' if on_scene else ''}"


def shortest_scale(in_shape, out_shape, near: float | None = None, *, checked: bool = False) -> str | None:
    """The shortest decimal scale that makes ``out_shape`` of ``in_shape`` under
    :func:`~ldcsr_core.rules.output_shape`'s rounding (a target resolution's ×3.33333 of 48 px: "3.33"), of its length
    the nearest ``near`` (the scale asked; default the output's); None where no one scale makes both axes (their scales
    differ). ``checked``: also one that ``ldcsr selfcheck`` of a scene of ``in_shape`` checks as at ``near``
    (:func:`check_windows`: ×4.28, not ×4.29, of a 60 px scene at ×4.2857, whose copy is 14 px, not 13), so that its
    pasted command measures the run's scale; else ``near`` whole (:func:`~ldcsr_core.words.scale_typed`)."""
    (h, w), (H, W) = in_shape, out_shape
    exact = (H / h + W / w) / 2 if near is None else near
    if checked and (round(h * exact), round(w * exact)) == (H, W):
        # the scales that make out_shape, and those checked alike, are each a span around exact: of each length, the
        # two nearest it are the only ones that may be in both
        windows = check_windows(in_shape, exact)
        for digits in range(16):
            unit = 10 ** digits
            for n in sorted((math.floor(exact * unit), math.ceil(exact * unit)), key=lambda n: abs(n / unit - exact)):
                if (round(h * (n / unit)), round(w * (n / unit))) == (H, W) and check_windows(in_shape, n / unit) == windows:
                    return f"{n / unit:.{digits}f}"
        from .words import scale_typed

        return scale_typed(exact)
    for digits in range(10):
        unit = 10 ** digits
        lo = math.floor(max((H - 0.5) / h, (W - 0.5) / w) * unit)
        fits = [n for n in range(lo, math.ceil(min((H + 0.5) / h, (W + 0.5) / w) * unit) + 1)
                if (round(h * (n / unit)), round(w * (n / unit))) == (H, W)]
        if fits:
            return f"{min(fits, key=lambda n: abs(n / unit - exact)) / unit:.{digits}f}"
    return None


def check_windows(scene_shape, scale) -> tuple:
    """What of ``ldcsr selfcheck``'s check of a scene of ``scene_shape`` (its windows as by default: the whole scene,
    or its sampled windows) its ``scale`` decides: each window's degraded copy and scored border, and the least side
    it checks; two scales alike here give the same figures."""
    from .quality import MAX_PIXELS, SAMPLE_SIZE, SAMPLES
    from .quality_scoring import min_side
    from .scene_windows import _boxes
    from .training.evaluate import lr_shape
    from .training.metrics import crop_width

    _, boxes = _boxes(scene_shape, None, MAX_PIXELS, SAMPLES, SAMPLE_SIZE)
    return min_side(scale), tuple((lr_shape(b[2:], scale), crop_width(b[2:], scale)) for b in boxes)
