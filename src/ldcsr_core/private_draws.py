"""Random initial weights drawn from a private generator (:func:`drawing_from`), never from torch's global one: a
seeded build (``build_model(seed=...)``, the trainer's discriminator) used to seed that global generator, build, and
put it back, so numbers another thread drew from it meanwhile (napari adapts and trains in a worker thread, a user's
script or another plugin draws) were drawn again afterwards, the same numbers. A fresh CPU
``torch.Generator().manual_seed(s)`` gives the stream ``torch.manual_seed(s)`` gives: the same weights, bit for bit.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["drawing_from", "seeded_generator"]

#: torch's functions and tensor methods that draw and take ``generator=`` (nn.init's pass theirs on as a keyword)
_DRAWS = frozenset(
    [getattr(torch.Tensor, name) for name in ("uniform_", "normal_", "bernoulli_", "bernoulli", "random_",
                                              "exponential_", "cauchy_", "log_normal_", "geometric_", "multinomial")]
    + [getattr(torch, name) for name in ("rand", "randn", "randint", "randperm", "normal", "bernoulli", "multinomial",
                                         "poisson", "rand_like", "randn_like", "randint_like")])


class _DrawFrom(TorchFunctionMode):
    """Each draw in its thread (torch's mode stack is per thread) given ``generator`` where it names none."""

    def __init__(self, generator: torch.Generator):
        super().__init__()
        self.generator = generator

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if kwargs.get("generator") is None and (func in _DRAWS or "generator" in kwargs):
            kwargs = {**kwargs, "generator": self.generator}
        return func(*args, **kwargs)


@contextlib.contextmanager
def drawing_from(generator: torch.Generator) -> Iterator[None]:
    """Within it, in this thread only, torch's random draws that name no generator draw from ``generator`` (CPU
    tensors: a CPU one); torch's global generator is neither read nor moved, other threads draw from it as before."""
    with _DrawFrom(generator):
        yield


def seeded_generator(seed: int | None) -> torch.Generator:
    """A CPU generator at ``seed``, the stream ``torch.manual_seed(seed)`` starts; None: a copy of torch's global
    generator as it stands (the draws it would give next, though it stays where it is)."""
    gen = torch.Generator()
    if seed is None:
        return gen.set_state(torch.random.get_rng_state())
    return gen.manual_seed(seed)
