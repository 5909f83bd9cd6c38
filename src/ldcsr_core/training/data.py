"""Training/evaluation data: HR images from any folder (or a packed archive of them), LR made by
antialiased PIL bicubic; random crops whose content is a function of (seed, key) alone, and a
loader that makes them in worker processes.

Nothing here imports rasterio unless an image cannot be read by PIL (16-bit or float rasters,
GeoTIFFs with ≠ 3 bands, a file with a GDAL mask band): the training path (a packed archive of
PNG/JPEG) runs on machines without it. Reading one image (:func:`load_rgb`) lives in
:mod:`.image_read`.
"""

from __future__ import annotations

import errno
import io
import itertools
import os
import random
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import InputError, RasterIOError, one_line
from ..rules import RASTER_SUFFIXES
from ..words import counted
from .image_read import load_rgb

__all__ = ["IMAGE_SUFFIXES", "ARCHIVE_SUFFIX", "list_images", "check_source", "not_read", "archive_keys", "load_rgb", "load_images",
           "load_named_images", "degrade", "also_trained", "images_identity", "same_images", "source_path",
           "MultiScaleCrops", "StepBatches", "to_tensor", "to_uint8"]

ARCHIVE_SUFFIX = ".npz"

# Every raster upscale reads (rules.RASTER_SUFFIXES: a .jp2, .vrt, .img, .gtiff too) and PIL's .bmp, .webp: one
# reader for them all (image_read.load_rgb); a hidden name is none, as for upscale (macOS's ._a.tif beside a.tif)
IMAGE_SUFFIXES = {".bmp", ".webp", *RASTER_SUFFIXES}


def list_images(folder: str | Path, *, archives: bool = True, skipped: list | None = None) -> list[Path]:
    """All images below ``folder`` (recursive, sorted; links to folders not entered; a link whose
    image is gone kept, reading it says so). A (sub)folder this user may not read is a RasterIOError
    naming it, never skipped. A file there is no folder (exit 5); ``archives``: the caller also takes
    a packed archive (train's DATA and --val; evaluate does not), which the refusal then names.
    A ``.vrt`` that reads an image listed is left out (its pixels would count twice: :func:`reads_listed`);
    ``skipped`` gets each as (vrt, an image it reads), for the caller to say so (:func:`not_read`)."""
    from ..files import check_readable

    folder = Path(folder)
    if folder.is_symlink() and not folder.exists():  # as open_raster says it of a raster
        raise RasterIOError(errno.ENOENT, f"input is a broken link: {folder} -> {os.readlink(folder)} (not found)")
    if not folder.is_dir():
        nor = f" (nor a packed {ARCHIVE_SUFFIX} archive)" if archives else ""
        raise FileNotFoundError(f"not a folder of images{nor}: {folder}"
                                if folder.exists() else f"folder does not exist: {folder}")

    def refuse(e: OSError):  # a folder os.walk cannot list
        check_readable(e.filename)
        raise e

    files = []
    for root, _, names in os.walk(folder, onerror=refuse):
        check_readable(root)  # listed but not entered (no x): its files cannot be opened
        files += [p for p in map(Path(root).joinpath, names) if p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith(".") and (p.is_file() or (p.is_symlink() and not p.exists()))]
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {folder}")
    twice = reads_listed(files)
    if skipped is not None:
        skipped += sorted(twice.items())
    return sorted(f for f in files if f not in twice)


def reads_listed(files: list[Path]) -> dict[Path, Path]:
    """The ``.vrt`` files among ``files`` that read another of them (a mosaic of the folder's tiles), each with
    the first such image: read too, their pixels would be trained on and scored twice. One that cannot be opened
    is none (reading it says what is wrong)."""
    vrts = [f for f in files if f.suffix.lower() == ".vrt"]
    if not vrts:
        return {}
    import warnings

    from ..geo.raster_io import files_read_at

    listed = {os.path.realpath(f): f for f in files}
    twice = {}
    for v in vrts:
        own = os.path.realpath(v)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a source with no georeferencing: read as it is, said nowhere
            sources = files_read_at(v)
        read = [listed[r] for r in (os.path.realpath(p) for p, _ in sources) if r in listed and r != own]
        if read:
            twice[v] = read[0]
    return twice


def not_read(skipped) -> str:
    """Words for the VRTs :func:`list_images` left out (``skipped``: (vrt, an image it reads) pairs)."""
    (vrt, image), more = skipped[0], len(skipped) - 1
    others, it = (f" and {counted(more, 'other VRT')}", "them") if more else ("", "it")
    return (f"not read: {vrt}{others} (it reads {image}, an image read already: its pixels would count twice; "
            f"move {it} out of the folder to silence this)")


def split_source(source) -> tuple[str, str]:
    """A DATA or --val ``source`` as (path, split): only ``ARCHIVE.npz#split`` names a split; any
    other ``#`` is the path's own (a folder ``run#2``, ``run#2/a.npz``), read as given."""
    path, hash_, sel = str(source).rpartition("#")
    if hash_ and path.endswith(ARCHIVE_SUFFIX) and "/" not in sel and os.sep not in sel:
        return path, sel
    return str(source), ""


def check_source(source, split: str = "train") -> list:
    """Before any work (the model, the images): a DATA or --val ``source`` can be read, a packed
    archive (``ARCHIVE.npz[#split]``, of ``split``'s images unless it names one: :func:`archive_keys`)
    or a folder of images (:func:`list_images`). Returns the folder's VRTs left out (``skipped``)."""
    path, sel = split_source(source)
    skipped = []
    if path.endswith(ARCHIVE_SUFFIX) and Path(path).is_file():
        archive_keys(path, sel or split)
    else:
        list_images(path, skipped=skipped)
    return skipped


def archive_keys(path, split: str) -> list[str]:
    """The keys of ``split``'s images in the packed archive ``path``, in order. One unreadable or no
    such archive (cut short) is a RasterIOError naming it; no image of ``split`` a FileNotFoundError."""
    import zipfile

    from ..files import check_readable

    check_readable(path)
    try:
        with np.load(path) as z:
            names = list(z.files)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        why = "it is no zip of arrays" if "pickle" in str(e) else one_line(e)  # not numpy's 'load it unsafely'
        raise RasterIOError(errno.EIO, f"cannot read {path} as a packed archive of images (not one, or cut short or "
                            f"damaged; scripts/gpu_train.py pack makes them): {why}") from None
    keys = sorted((k for k in names if k.startswith(split + "/") and k.split("/")[1].isdigit()),
                  key=lambda k: int(k.split("/")[1]))
    if not keys:
        raise FileNotFoundError(f"no {split!r} images in archive {path}")
    return keys


def load_images(source, split: str = "train") -> list[np.ndarray]:
    """Decoded H×W×3 uint8 images from a folder (recursive) or from a packed archive
    (``scripts/gpu_train.py pack``: a ``.npz`` of encoded images, ``<split>/<i>`` keys). An archive
    may name its split after a ``#``: ``rsscn7.npz#val``."""
    return [a for _, a in load_named_images(source, split)]


def load_named_images(source, split: str = "train") -> list[tuple[str, np.ndarray]]:
    """:func:`load_images` as ``(name, image)`` pairs: a file's path, an archive's ``source[i]``."""
    src = str(source)
    path, sel = split_source(src)
    if path.endswith(ARCHIVE_SUFFIX) and Path(path).is_file():
        import zipfile
        import zlib

        keys, out = archive_keys(path, sel or split), []
        with np.load(path) as z:
            for i, k in enumerate(keys):
                try:
                    with Image.open(io.BytesIO(z[k].tobytes())) as im:
                        out.append((f"{src}[{i}]", np.asarray(im.convert("RGB"))))
                except (OSError, ValueError, SyntaxError, EOFError, zipfile.BadZipFile, zlib.error) as e:  # damaged
                    why = "not an image" if isinstance(e, Image.UnidentifiedImageError) else e  # not a BytesIO's repr
                    raise RasterIOError(f"cannot decode {src}[{i}] ({k} in {path}): {why}") from None
        return out
    return [(str(f), load_rgb(f)) for f in list_images(src)]


def also_trained(train_images, val) -> list[str]:
    """The names of the validation images (``val``: (name, image) pairs) with the same pixels as a
    training image: e.g. DATA is a folder that holds the validation folder (it is searched
    recursively) or a copy of its images. Their validation figures are not on held-out images."""
    import hashlib

    def key(a):
        return a.shape, hashlib.blake2b(np.ascontiguousarray(a).data, digest_size=16).digest()

    shapes = {a.shape for _, a in val}
    trained = {key(a) for a in train_images if a.shape in shapes}
    return [name for name, a in val if key(a) in trained]


def images_identity(images) -> str:
    """``'N images, pixels <digest>'`` (``'1 image, ...'``): the count of ``images`` and a digest of their pixels in
    their order, which (with the seed) a step's batch depends on. A resume on other images (another
    DATA, or one image added, removed or edited) gives another identity; the same images moved
    elsewhere give the same one."""
    import hashlib

    h = hashlib.blake2b(digest_size=8)
    for a in images:
        h.update(repr(a.shape).encode())
        h.update(np.ascontiguousarray(a).data)
    return f"{counted(len(images), 'image')}, pixels {h.hexdigest()}"


def same_images(before, now) -> bool:
    """Whether two :func:`images_identity` texts name the same images: a checkpoint written before
    one image read "1 image" says "1 images, pixels ...", the same identity (its run resumes
    without a change said)."""
    def plain(text):
        return "1 image," + text[len("1 images,"):] if isinstance(text, str) and text.startswith("1 images,") else text
    return plain(before) == plain(now)


def source_path(source) -> str:
    """A DATA or --val source as a path that still names it from another folder: the folder (or
    archive) resolved, an archive's ``#split`` kept."""
    path, sel = split_source(source)
    return str(Path(path).resolve()) + (f"#{sel}" if sel else "")


def to_tensor(a, device):
    """uint8 B×H×W×3 (numpy or torch) → float (B,3,H,W) in [-1,1]; the uint8 batch travels to the
    device (4× fewer bytes), asynchronously when it is pinned. A read-only array (a PIL image's
    ``np.asarray``: validation's LR copies) is copied, so torch has no 'not writable' warning to print."""
    import torch
    t = torch.from_numpy(a if a.flags.writeable else a.copy()) if isinstance(a, np.ndarray) else a
    return t.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def to_uint8(x) -> np.ndarray:
    """float (B,3,H,W) in [-1,1] → uint8 B×H×W×3."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def degrade(hr: np.ndarray, lr_hw: tuple[int, int]) -> np.ndarray:
    """The paper's degradation: PIL (antialiased) bicubic resize of the uint8 HR image (or H×W float32)."""
    return np.asarray(Image.fromarray(hr).resize((lr_hw[1], lr_hw[0]), Image.BICUBIC))


def _names(names: list[str], shown: int = 3) -> str:
    """The first ``shown`` of ``names`` and how many more (for one line of a warning)."""
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


class MultiScaleCrops:
    """Random HR/LR training pairs with one continuous scale per batch (as the official loader).

    LR patches are ``lr_size`` px; the HR crop is ``int(lr_size · s)`` px, so the effective ratio is
    HR/LR. Augmentation: flips and 90° rotations. ``files`` are paths or already decoded images
    (decoded once, kept in memory). :meth:`batch_at` makes the batch of a key (e.g. ``"fast:123"``,
    phase and step) from a random stream of its own, so a batch depends on (seed, key) alone: any
    process can make it, in any order, and a resumed run gets the same batches.
    """

    def __init__(self, files, lr_size: int = 32, scale_range=(1.2, 8.0), seed: int = 0, names=None):
        self.images = [f if isinstance(f, np.ndarray) else load_rgb(f) for f in files]
        self.names = [str(n) for n in names] if names is not None else [
            f if not isinstance(f, np.ndarray) else f"image {i + 1}" for i, f in enumerate(files)]
        self.lr_size = lr_size
        self.scale_range = scale_range
        self.seed = seed
        self.rng = random.Random(seed)
        self._sides = [min(im.shape[:2]) for im in self.images]
        need = int(lr_size * max(scale_range))
        if not self.images or max(self._sides) < need:
            raise InputError(
                f"no training image is at least {need} px on each side (the HR crop for LR patches of "
                f"{lr_size} px at scale {max(scale_range):g}; the largest image has "
                f"{max(self._sides, default=0)} px): use a smaller lr_size or scale range, or larger images")

    def small_note(self) -> str | None:
        """What the images smaller than the largest HR crop miss, or None when every image fits it:
        a batch's crops come only from the images its scale's crop fits, so such an image is used
        at the low scales only, or never (under the crop of the lowest scale)."""
        need, low = int(self.lr_size * max(self.scale_range)), int(self.lr_size * min(self.scale_range))
        small = [(n, side) for n, side in zip(self.names, self._sides) if side < need]
        if not small:
            return None
        never = [n for n, side in small if side < low]
        some = [f"{n} ({side} px)" for n, side in small if side >= low]
        parts = ([f"{len(never)} never (under {low} px, the crop at ×{min(self.scale_range):g}): {_names(never)}"]
                 if never else []) + ([f"{len(some)} only at the scales whose crop fits them: {_names(some)}"]
                                      if some else [])
        one = len(small) == 1
        return (f"{len(small)} of the {counted(len(self.images), 'training image')} {'is' if one else 'are'} smaller "
                f"than the largest HR crop ({need} px: LR patches of {self.lr_size} px at "
                f"×{max(self.scale_range):g}), so {'it is' if one else 'they are'} used "
                f"{'; '.join(parts)}")

    def batch(self, batch_size: int):
        """Returns (lr uint8 B×h×w×3, hr uint8 B×H×W×3) from the sampler's own running stream."""
        return self._draw(self.rng, batch_size)

    def batch_at(self, key: str, batch_size: int):
        """The batch of ``key``: the same (seed, key) always gives the same batch."""
        return self._draw(random.Random(f"{self.seed}:{key}"), batch_size)

    def _draw(self, rng: random.Random, batch_size: int):
        """Crops come only from images large enough."""
        s = rng.uniform(*self.scale_range)
        hr_size = int(self.lr_size * s)
        fits = [i for i, side in enumerate(self._sides) if side >= hr_size]
        lrs, hrs = [], []
        while len(hrs) < batch_size:
            img = self.images[fits[rng.randrange(len(fits))]]
            H, W = img.shape[:2]
            y, x = rng.randrange(H - hr_size + 1), rng.randrange(W - hr_size + 1)
            crop = img[y:y + hr_size, x:x + hr_size]
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            if rng.random() < 0.5:
                crop = crop[::-1]
            if rng.random() < 0.5:
                crop = crop.transpose(1, 0, 2)
            crop = np.ascontiguousarray(crop)
            hrs.append(crop)
            lrs.append(degrade(crop, (self.lr_size, self.lr_size)))
        return np.stack(lrs), np.stack(hrs)


class _StepDataset:
    """Map-style dataset over step numbers: item ``i`` is the batch of ``f"{prefix}:{i}"`` as uint8
    torch tensors (so that the loader can pin them)."""

    def __init__(self, crops: MultiScaleCrops, prefix: str, batch_size: int):
        self.crops, self.prefix, self.batch_size = crops, prefix, batch_size

    def __getitem__(self, i):
        import torch
        lr, hr = self.crops.batch_at(f"{self.prefix}:{i}", self.batch_size)
        return torch.from_numpy(lr), torch.from_numpy(hr)

    def __len__(self):  # steps are numbered without end; the sampler says where to stop
        return 2 ** 62


def _worker_init(_):
    import torch
    torch.set_num_threads(1)


class StepBatches:
    """The batches of steps ``start, start+1, …`` (``stop`` excluded; None: no end) of one phase,
    made ahead by ``workers`` processes (0: in this process) into pinned memory when asked. The
    batch of a step does not depend on the number of workers, nor on where a run was resumed."""

    def __init__(self, crops: MultiScaleCrops, prefix: str, batch_size: int, start: int = 0,
                 stop: int | None = None, workers: int = 0, pin_memory: bool = False, prefetch: int = 4):
        import torch
        from torch.utils.data import DataLoader, Sampler

        class _Steps(Sampler):
            def __iter__(self_):
                return iter(range(start, stop)) if stop is not None else itertools.count(start)

            def __len__(self_):
                return max(0, stop - start) if stop is not None else 2 ** 62

        self.loader = DataLoader(_StepDataset(crops, prefix, batch_size), batch_size=None, sampler=_Steps(),
                                 num_workers=workers, pin_memory=pin_memory and torch.cuda.is_available(),
                                 prefetch_factor=prefetch if workers else None,
                                 worker_init_fn=_worker_init if workers else None)
        self._it = None

    def __iter__(self):
        self._it = iter(self.loader)
        return self._it

    def close(self):
        """Stop the workers (the batches they made ahead are dropped: a resume makes them again)."""
        it, self._it = self._it, None
        if it is not None and hasattr(it, "_shutdown_workers"):
            it._shutdown_workers()
