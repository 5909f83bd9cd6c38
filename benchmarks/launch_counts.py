"""How many model launches the engine's plans take on a card (counted, not timed: no GPU needed)::

    python benchmarks/launch_counts.py --batch 64 --mode diffusion

For each case (input side(s) → output side(s)) the shipped model's plan in ``--mode``, then its
windows grouped as the engine groups them on a card taking ``--batch`` windows at once
(:meth:`ldcsr_core.tiling.TileProcessor.groups`), and, for comparison, as neighbours in a row only
(consecutive windows of one geometry, as before 2026-12-05).
"""

from __future__ import annotations

import argparse
import sys

CASES = "512x512:2048x2048,2048x2048:8192x8192,2001x2003:8004x8012,2048x2048:5120x5120,8000x8000:32000x32000"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--mode", default="diffusion", choices=["fast", "diffusion"])
    p.add_argument("--cases", default=CASES, help="IN:OUT pairs, HxW each, comma-separated")
    a = p.parse_args(argv)

    import ldcsr_core
    from ldcsr_core.prefetch import batches
    from ldcsr_core.tiling import TileProcessor
    from ldcsr_core.window_sizing import plan_for_model

    model = ldcsr_core.load_model(device="cpu", dtype="float32")
    print(f"{model.name} {a.mode}, batches of {a.batch}")
    for case in a.cases.split(","):
        (h, w), (H, W) = ([int(v) for v in part.split("x")] for part in case.split(":"))
        plan = plan_for_model(model, (h, w), (H, W), mode=a.mode)
        proc = TileProcessor(model, plan, mode=a.mode, batch=a.batch)
        now = sum(1 for _ in proc.groups(plan.tiles))
        rows_only = sum(1 for _ in batches(plan.tiles, proc.signature, a.batch))
        print(f"{h}×{w} → {H}×{W}: {len(plan.tiles)} windows of {plan.tile_out[0]}², {now} launches "
              f"({rows_only} with neighbours in a row only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
