"""Exponential moving average of trained weights (the diffusion phase's EMA)."""

from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["EMA"]


class EMA:
    """Exponential moving average of a set of modules' floating-point state (decay warms up as
    ``min(decay, (1+n)/(10+n))``). One update is two multi-tensor operations over all the
    floating-point tensors (few kernel launches on a GPU)."""

    def __init__(self, modules: dict[str, nn.Module], decay: float = 0.999):
        self.modules, self.decay, self.updates = modules, decay, 0
        self.shadow = {f"{m}.{k}": v.detach().clone() for m, mod in modules.items()
                       for k, v in mod.state_dict().items()}
        self._pairs = None

    def _lists(self):
        """(live float, shadow float, live other, shadow other) tensors; the live ones alias the
        modules' parameters and buffers (which are updated and loaded in place)."""
        if self._pairs is None:
            lf, sf, lo, so = [], [], [], []
            for m, mod in self.modules.items():
                for k, v in mod.state_dict().items():
                    s = self.shadow[f"{m}.{k}"]
                    (lf if v.is_floating_point() else lo).append(v)
                    (sf if v.is_floating_point() else so).append(s)
            self._pairs = (lf, sf, lo, so)
        return self._pairs

    @torch.no_grad()
    def update(self):
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        self.updates += 1
        live, shadow, live_other, shadow_other = self._lists()
        if shadow:
            torch._foreach_mul_(shadow, d)
            torch._foreach_add_(shadow, live, alpha=1 - d)
        for s, v in zip(shadow_other, live_other):
            s.copy_(v)

    def swap(self):
        """Exchange the live weights and the averages (call twice to restore)."""
        for m, mod in self.modules.items():
            sd = mod.state_dict()
            live = {k: v.detach().clone() for k, v in sd.items()}
            mod.load_state_dict({k: self.shadow[f"{m}.{k}"] for k in sd})
            for k in sd:
                self.shadow[f"{m}.{k}"] = live[k]
        self._pairs = None

    def state_dict(self):
        return {"updates": self.updates, "decay": self.decay, "shadow": self.shadow}

    def load_state_dict(self, sd):
        self.updates, self.decay = sd["updates"], sd["decay"]
        for k, v in sd["shadow"].items():
            self.shadow[k].copy_(v)
