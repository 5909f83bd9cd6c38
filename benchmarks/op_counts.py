"""How many PyTorch operator calls one window of the official architecture makes on the device
path, counted on the CPU (a card is launch-bound when these are many and small)::

    python benchmarks/op_counts.py --side 512          # 512 → 2048 ×4, diffusion (~4 min on 2 cores)

The official default architecture (random weights) runs one ``super_resolve`` with the CUDA
layout (NCHW), once with the decoder MLP's CPU bands (:data:`~ldcsr_core.models.upsampler_windows.
BAND_BYTES`, what CUDA used before 2026-12-04) and once with the device bands
(``DEVICE_BAND_BYTES``); every ATen call is counted with a ``TorchDispatchMode`` (an upper bound on
kernel launches: views launch none).  Issue 22's H200 profile of 512 → 2048 counted 2 682 ``addmm``.
"""

from __future__ import annotations

import argparse
import collections
import sys


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--side", type=int, default=128, help="LR side (output ×4)")
    p.add_argument("--mode", default="diffusion", choices=["fast", "diffusion"])
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)

    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    import ldcsr_core
    from ldcsr_core.config import official_default_config
    from ldcsr_core.models import upsampler_windows as uw

    class Count(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.calls = collections.Counter()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.calls[str(func.overloadpacket)] += 1
            return func(*args, **(kwargs or {}))

    torch.set_num_threads(a.threads)
    model = ldcsr_core.build_model(official_default_config(), seed=0).eval().use_channels_last(False)
    lr = torch.rand(1, 3, a.side, a.side, generator=torch.Generator().manual_seed(0)) * 2 - 1
    cpu_bands = uw.BAND_BYTES
    for name, band in (("CPU bands (8 MB)", cpu_bands), ("device bands (256 MB)", uw.DEVICE_BAND_BYTES)):
        uw.BAND_BYTES = band  # on this CPU device the decoder reads BAND_BYTES
        try:
            with torch.no_grad(), Count() as count:
                model.super_resolve(lr, (4 * a.side, 4 * a.side), mode=a.mode,
                                    generator=torch.Generator().manual_seed(0))
        finally:
            uw.BAND_BYTES = cpu_bands
        c = count.calls
        print(f"{a.side} → {4 * a.side} {a.mode}, NCHW, {name}: {sum(c.values())} operator calls, "
              f"addmm {c['aten.addmm']}, convolutions {c['aten.conv2d'] + c['aten.convolution']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
