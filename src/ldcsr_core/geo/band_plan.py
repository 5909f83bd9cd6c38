"""Band plan: which source bands reach the three-channel RGB model, as which colour, in which pass.

* :func:`plan_bands` groups the bands into triplets for the model (``--bands 3,2,1`` picks the first
  one; a lone band is replicated and averaged back; alpha bands are masks, never colours);
* :func:`default_triplet` / :func:`suggest_bands`: the triplet when none is given (colour
  interpretation, the Sentinel-2 rule, else the first three: :func:`is_fallback`);
* :func:`parse_bands` reads ``--bands``;
* :func:`band_names` names each band in words (its description, its colour, else its number).

No rasterio or torch import here (part of :mod:`.radiometry`, which re-exports every name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import InputError
from ..front_end import say
from ..rules import _whole

__all__ = ["ALPHA", "BandPlan", "plan_bands", "PALETTE", "band_holder", "parse_bands", "suggest_bands", "default_triplet",
           "is_fallback", "band_names"]

ALPHA = "alpha"  # rasterio ColorInterp.alpha.name
PALETTE = "its palette"  # plan_bands' holder of a one-band file of colour indices read through its colour table
FIRST_THREE = "the first three"  # default_triplet's last rule: nothing in the file says which bands are R, G, B


@dataclass(frozen=True)
class BandPlan:
    """How the ``count`` source bands travel through the three-channel model.

    ``groups`` are triplets of 0-based band indices, each one model pass; a band may appear several
    times in a group (grayscale replication), and its output is the mean of those channels.
    ``alpha`` holds the 0-based indices of alpha bands: they are masks, upsampled by nearest
    neighbour and never fed to the model.
    """

    count: int
    groups: tuple[tuple[int, int, int], ...]
    alpha: tuple[int, ...] = ()

    @property
    def colour(self) -> tuple[int, ...]:
        """The colour bands the groups carry (0-based, in band order): every band but alpha for a
        whole plan; those of its groups for :meth:`holding`'s."""
        grouped = {b for g in self.groups for b in g}
        return tuple(b for b in range(self.count) if b not in self.alpha and b in grouped)

    def holding(self, bands: Sequence[int]) -> "BandPlan":
        """The plan of the groups that carry any of ``bands`` (0-based), in this plan's order: what
        the model must see to make those bands' pictures (the live lens makes only the bands its
        layer shows, as a Run of the whole raster makes them)."""
        wanted = set(int(b) for b in bands)
        groups = tuple(g for g in self.groups if wanted & set(g))
        return BandPlan(count=self.count, groups=groups, alpha=self.alpha)

    @property
    def channels(self) -> int:
        """Number of model channels per tile (3 per group)."""
        return 3 * len(self.groups)

    def gather(self, bands_hw: np.ndarray) -> np.ndarray:
        """``(count, h, w)`` → ``(h, w, 3·groups)``: the model input, group after group."""
        idx = [b for g in self.groups for b in g]
        return np.moveaxis(bands_hw[idx], 0, -1)

    def _channels(self) -> dict[int, list[int]]:
        """Each band's model channels (0-based band → channel indices over all groups)."""
        chans: dict[int, list[int]] = {}
        for gi, g in enumerate(self.groups):
            for ci, b in enumerate(g):
                chans.setdefault(b, []).append(3 * gi + ci)
        return chans

    def planes(self, channels_hwc: np.ndarray, clip: bool = False) -> list[np.ndarray]:
        """``(h, w, 3·groups)`` → one ``(h, w)`` plane per colour band: a view of its channel, or
        the mean of a replicated band's channels (float32; ``clip``: each clipped to [0, 1] first)."""
        chans = self._channels()

        def mean(c):
            x = channels_hwc[..., c]
            return (np.clip(x, 0.0, 1.0, out=x) if clip else x).mean(axis=-1, dtype=np.float32)

        return [channels_hwc[..., chans[b][0]] if len(chans[b]) == 1 else mean(chans[b]) for b in self.colour]

    def unit_planes(self, channels_hwc: np.ndarray) -> list[np.ndarray]:
        """Model output ``(h, w, 3·groups)`` → one ``(h, w)`` plane per colour band for
        ``Stretch.from_unit(..., clip_unit=True)``: a band's channel as it is (a view; from_unit
        clips it), a replicated band's (a grey image, a short last group) the mean of its channels
        each clipped to ``[0, 1]`` first, as ``ldcsr_core.upscale`` clips — one rule for ``ldcsr
        upscale``, a napari Run and the live lens."""
        return self.planes(channels_hwc, clip=True)

    def band_pictures(self, channels_hwc: np.ndarray) -> np.ndarray:
        """One sample's model output ``(h, w, 3·groups)`` with every channel of a replicated band (a
        grey image, a short last group) set to that band's picture, the mean of its channels each
        clipped to ``[0, 1]`` (:meth:`unit_planes`' rule): the moments of K samples
        (:func:`ldcsr_core.uncertainty.moments`) are then the band's own, whose variance is not
        the mean of its channels' variances. Other channels are left as they are (no copy
        without a replicated band)."""
        reps = [c for c in self._channels().values() if len(c) > 1]
        if not reps:
            return channels_hwc
        out = np.array(channels_hwc, np.float32)
        for c in reps:
            out[..., c] = np.clip(out[..., c], 0.0, 1.0).mean(axis=-1, dtype=np.float32)[..., None]
        return out

    def scatter(self, channels_hwc: np.ndarray) -> np.ndarray:
        """``(h, w, 3·groups)`` → ``(colour bands, h, w)`` float32, averaging replicated bands."""
        h, w = channels_hwc.shape[:2]
        res = np.empty((len(self.colour), h, w), np.float32)
        for k, plane in enumerate(self.planes(channels_hwc)):
            res[k] = plane
        return res


_BAND_SEPARATOR = re.compile(r"\s*,\s*|\s+")  # a comma, or spaces alone, between two band numbers


def parse_bands(text: str | Sequence[int] | None) -> tuple[int, ...] | None:
    """Parse ``"3,2,1"`` (commas or spaces between the numbers: ``"4 3 2"`` is bands 4, 3, 2, not band
    432) or whole numbers (1-based band numbers: a sequence, a 1-d array, one alone) into a tuple;
    ``None``/``""`` stays ``None``; anything else is an :class:`InputError`."""
    if text is None or (isinstance(text, str) and text == ""):
        return None
    bad = InputError(f"{say('bands setting')} must be 1-based band numbers like '3,2,1', got {text!r}")
    if isinstance(text, str):
        try:
            vals = tuple(int(t) for t in _BAND_SEPARATOR.split(text.strip()))
        except ValueError:
            raise bad from None
    else:  # whole numbers, as seed and tile (True was band 1, 2.7 band 2), or one of them alone
        try:
            items = (text,) if _whole(text) else tuple(text)
        except TypeError:  # not a sequence either
            raise bad from None
        if not all(_whole(v) for v in items):
            raise bad
        vals = tuple(int(v) for v in items)
    if len(vals) not in (1, 3):
        raise InputError(f"{say('bands setting')} must name 1 or 3 bands (e.g. '3,2,1'), got {len(vals)}: {text!r}")
    return vals


_S2_NAME = re.compile(r"^\s*B0?([1-9]|1[0-2]|8A)(?![0-9A-Za-z])", re.IGNORECASE)
# Band order of a full Sentinel-2 stack (L1C: 13 bands; L2A without B10: 12).
S2_ORDER = ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")


def suggest_bands(count: int, descriptions: Sequence[str | None] = ()) -> tuple[int, int, int] | None:
    """A natural-colour triplet (1-based) for a Sentinel-2-like stack, else ``None`` (first three).

    The rule, in order:

    1. band descriptions that name Sentinel-2 bands (``B4``, ``B04``, ``B4 red``, ``B04_10m``...)
       and include B4, B3 and B2: those three bands, as R, G, B;
    2. no band descriptions at all, and 12 or 13 bands (a full L2A or L1C stack in band-number
       order, where band 4 is red, 3 green, 2 blue): ``(4, 3, 2)``;
    3. otherwise ``None``: the engine's default, the first three colour bands.
    """
    found: dict[str, int] = {}
    for i, d in enumerate(descriptions or ()):
        m = _S2_NAME.match(d or "")
        if m:
            found.setdefault("B" + m.group(1).upper(), i + 1)
    if all(k in found for k in ("B4", "B3", "B2")):
        return found["B4"], found["B3"], found["B2"]
    if not any(descriptions or ()) and count in (12, 13):
        return 4, 3, 2
    return None


def default_triplet(count: int, colorinterp: Sequence[str] | None = None,
                    descriptions: Sequence[str | None] = ()) -> tuple[tuple[int, ...], str]:
    """The model's RGB triplet (0-based) when none is given, and the rule that chose it — one rule
    for the command line, napari and QGIS:

    1. the colour interpretation names one red, one green and one blue band: those, as R, G, B
       (a file stored blue, green, red is fed as red, green, blue) — unless they are bands 1, 2, 3
       of a stack that rule 2 recognises (GDAL marks the first three bands of any PHOTOMETRIC=RGB
       file so);
    2. :func:`suggest_bands`: a Sentinel-2 stack (band names, or 12/13 unnamed bands): 4, 3, 2;
    3. otherwise the first three colour bands (not alpha)."""
    ci = [str(c).lower() for c in (colorinterp or ["undefined"] * count)]
    if all(ci.count(c) == 1 for c in ("red", "green", "blue")):
        rgb = tuple(ci.index(c) for c in ("red", "green", "blue"))
        if rgb != (0, 1, 2) or count == 3 or not suggest_bands(count, descriptions):
            return rgb, "colour interpretation"
    s2 = suggest_bands(count, descriptions)
    if s2 is not None:
        return tuple(b - 1 for b in s2), "Sentinel-2 rule"
    alpha = {i for i, c in enumerate(ci) if c == ALPHA} if ci.count(ALPHA) < count else set()
    return tuple(b for b in range(count) if b not in alpha)[:3], FIRST_THREE


def is_fallback(rule: str) -> bool:
    """Whether :func:`default_triplet` chose by ``rule`` for want of anything to go on: no colour
    interpretation naming red, green and blue, no Sentinel-2 layout (the first three bands). A front
    end may then default to a triplet of its own (QGIS: the bands the layer is drawn with)."""
    return rule == FIRST_THREE


def band_holder(src) -> str:
    """What has the bands of the dataset ``src`` (``open_raster``'s), in :func:`plan_bands`' words: :data:`PALETTE`
    for a paletted file read through its colour table (its ``palette_expanded``), "the image" for an array (a napari
    layer, in ``/vsimem/``), else "the file"."""
    if getattr(src, "palette_expanded", None):
        return PALETTE
    return "the image" if str(getattr(src, "name", "")).startswith("/vsimem/") else "the file"


def plan_bands(
    count: int, colorinterp: Sequence[str] | None = None, bands: Sequence[int] | None = None,
    descriptions: Sequence[str | None] = (), holder: str = "the file",
) -> BandPlan:
    """Group ``count`` bands into model triplets.

    Parameters
    ----------
    count : number of bands in the source.
    colorinterp : per-band colour interpretation names (``"red"``, ``"alpha"``, ...); alpha bands
        become masks.
    bands : optional 1-based band numbers (one or three) for the first, display/model triplet,
        e.g. ``(3, 2, 1)`` for a BGR-ordered file or ``(4, 3, 2)`` for a false-colour composite.
        None: :func:`default_triplet` (with ``descriptions``, the bands' names).
    holder : what has the bands, in the message for a band it lacks: :func:`band_holder`'s,
        ``"the file"``, ``"the image"`` for an array (a napari layer) that has no file, or
        :data:`PALETTE` for a paletted file read as its colour table's bands.

    Returns
    -------
    BandPlan
        The first group is the chosen triplet (default: :func:`default_triplet`). The other
        colour bands follow in file order, three at a time; a short last group repeats its last
        band. A single-band image is replicated to ``(b, b, b)`` and averaged back.
    """
    if count < 1:
        raise InputError(f"the raster has no bands (count={count})")
    ci = [str(c).lower() for c in (colorinterp or ["undefined"] * count)]
    alpha = tuple(i for i, c in enumerate(ci) if c == ALPHA)
    # A one-band "alpha" file is not a mask of anything: treat it as data.
    if len(alpha) == count:
        alpha = ()
    colour = [b for b in range(count) if b not in alpha]

    if bands is not None:
        bands = parse_bands(bands)
        for b in bands:
            if not 1 <= b <= count:
                has = (f"the file is one band of colour indices, {PALETTE} gives bands" if holder == PALETTE
                       else f"{holder} has bands")
                raise InputError(f"band {b} does not exist: {has} 1..{count}")
            if b - 1 in alpha:
                raise InputError(f"band {b} is an alpha band (a mask), it cannot be a colour band")
        first = [b - 1 for b in bands]
        if len(first) == 1:
            first = first * 3
    else:
        first = list(default_triplet(count, colorinterp, descriptions)[0])
        while len(first) < 3:
            first.append(first[-1])

    groups = [tuple(first)]
    rest = [b for b in colour if b not in first]
    for i in range(0, len(rest), 3):
        g = rest[i : i + 3]
        while len(g) < 3:
            g.append(g[-1])
        groups.append(tuple(g))
    return BandPlan(count=count, groups=tuple(groups), alpha=alpha)  # type: ignore[arg-type]


def band_names(count: int, colorinterp=(), descriptions=()) -> list[str]:
    """Each of ``count`` bands in words: its description, else its colour (``red``, ``alpha``; a rasterio
    ``ColorInterp`` or its name) unless that says none (gray, undefined), else ``band N``. The one rule of
    napari's band layers and its spread layer, and of the spread file's band descriptions."""
    colours = [str(getattr(c, "name", c) or "") for c in (colorinterp or ())]
    descs = list(descriptions or ())
    return [(descs[b] if b < len(descs) and descs[b] else None)
            or (colours[b] if b < len(colours) and colours[b] not in ("", "gray", "undefined") else f"band {b + 1}")
            for b in range(int(count))]
