"""What ``ldcsr upscale`` says of a run: a progress bar per input (:class:`Bar`), at the end a line per
input and the totals (:func:`summary`), and after a batch that stopped early (Ctrl-C, a lost Dask
cluster) how to go on (:func:`stopped_advice`)."""

from __future__ import annotations

import os
import sys

import click

from ..words import counted, shell_word

__all__ = ["Bar", "summary", "stopped_advice", "unreached_failures", "shell_word", "KEEP_OR_OVERWRITE"]

# Where stderr is no terminal (a log file, a pipe: `2> run.log`, `| tee`), every redraw of a bar is kept:
# there it is redrawn at most this often, a sign of life in the log, not ten lines a second.
LOG_INTERVAL = 30.0


def _bar_layout(stream) -> dict:
    """tqdm's settings for a bar on ``stream``: a terminal's width, followed as it changes; 80 x 24 on a
    terminal that says it is 0 x 0 (a pseudo-terminal whose size nobody set, as ``script`` makes under
    a pipe, where tqdm drew no bar at all); else redrawn every :data:`LOG_INTERVAL` s (tqdm's monitor
    thread, which redraws a bar not drawn for ``maxinterval``, 10 s by default, only after a tile slower
    than twice that). A setting the user gave tqdm in its environment (``TQDM_MININTERVAL``,
    ``TQDM_NCOLS``, ...) is theirs: kept."""
    log = {"mininterval": LOG_INTERVAL, "maxinterval": 2 * LOG_INTERVAL}
    try:
        if not stream.isatty():
            layout = log
        else:
            size = os.get_terminal_size(stream.fileno())
            layout = ({"dynamic_ncols": True} if size.columns and size.lines
                      else {"ncols": size.columns or 80, "nrows": size.lines or 24})
    except (AttributeError, OSError, ValueError):  # a stream without a file (a test's)
        layout = log
    return {k: v for k, v in layout.items() if f"TQDM_{k.upper()}" not in os.environ}


class Bar:
    """tqdm progress per file (tiles, rate, ETA) on stderr; silent when quiet. The bar of an input
    that failed ends saying so (:meth:`failed`), not as if it had stopped there. ``first``: called before
    the bar is drawn, as the input's first tile begins (it runs: not skipped, refused nor waited for)."""

    def __init__(self, name: str, quiet: bool, first=None):
        self.name, self.quiet, self.bar, self.first = name, quiet, None, first

    def __call__(self, info) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm.auto import tqdm

            if self.first is not None:
                self.first()

            self.bar = tqdm(total=info.total, desc=self.name, unit="tile", file=sys.stderr, leave=True,
                            **_bar_layout(sys.stderr))
        self.bar.update(info.done - self.bar.n)

    def failed(self) -> None:
        if self.bar is not None:  # shown as the bar closes
            self.bar.set_description_str(f"{self.name} (failed)", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _empty_text(tiles: int, skipped_tiles: int) -> str:
    """`` (3 empty)`` of a result's nodata-only tiles; of one all nodata, the engine's `` (empty: nodata everywhere)``
    (:func:`~ldcsr_core.geo.job.empty_note`, napari's words), not `` (1 empty)``; "" for none."""
    from ..geo.job import all_empty, empty_note

    if not skipped_tiles:
        return ""
    return f" ({empty_note(tiles, skipped_tiles) if all_empty(tiles, skipped_tiles) else f'{skipped_tiles} empty'})"


def summary(results, quiet: bool, total: int | None = None) -> None:
    """A line per input of ``results`` (``(src, dst, status, error, result)``) and the totals;
    ``quiet`` (-q, "only errors"): the failed inputs' lines. ``total``: the inputs of the run, where it
    stopped before it finished them all (the totals then count those not done, so that they add up)."""
    if quiet:
        for src, dst, status, err, _ in results:
            if status == "failed":
                click.echo(f"failed   {src} -> {dst}: {err}", err=True)
        return
    written = sum(1 for r in results if r[2] == "written")
    skipped = sum(1 for r in results if r[2] == "skipped")
    failed = sum(1 for r in results if r[2] == "failed")
    for src, dst, status, err, res in results:
        if res is not None and status == "written":
            (h, w), (H, W) = res.in_shape, res.out_shape
            extra = (f"{w}x{h} -> {W}x{H}, "
                     + (f"the same file as an earlier input: {res.copied_from} copied" if res.copied_from
                        else counted(res.tiles, 'tile') + _empty_text(res.tiles, res.skipped_tiles))
                     + f", {res.seconds:.1f} s, {res.megapixels_per_s:.2f} MP/s"
                     + (f", spread -> {res.spread}" if res.spread else ""))
        elif status == "skipped":
            extra = "complete output already there"
        else:
            extra = err
        click.echo(f"{status:8s} {src} -> {dst}: {extra}", err=True)
    total = max(total or 0, len(results))
    left = f", {total - len(results)} not done" if total > len(results) else ""
    click.echo(f"{counted(total, 'input')}: {written} written, {skipped} skipped, {failed} failed{left}", err=True)


def unreached_failures(results, jobs) -> list[tuple]:
    """The ``results`` lines, ``failed``, of the ``jobs`` (``(src, dst, shape, error)``) that failed their
    checks before the run and that a run stopped early did not reach: failed, not "not done", as a rerun
    would fail them again."""
    done = {r[1] for r in results}
    return [(src, dst, "failed", err, None) for src, dst, _, err in jobs if err and dst not in done]


def stopped_advice(why: str, results, jobs, overwrite: bool) -> str:
    """How to go on after a batch stopped (``why``: ``interrupted``, ...) with ``results`` of its
    ``jobs`` (``(src, dst, shape, error)``) done: the same command again skips the complete outputs, but
    with ``--overwrite`` it would replace them again, so then the inputs not done are named; those that
    failed (in the run, or in their checks before it: :func:`unreached_failures`) are named apart, to be
    given again once what failed is fixed, not as inputs to run as they are."""
    head = f"{why} after {len(results)} of {counted(len(jobs), 'input')}"
    failed = [r[0] for r in results + unreached_failures(results, jobs) if r[2] == "failed"]
    done = {r[1] for r in results}
    left = [src for src, dst, _, err in jobs if dst not in done and not err]
    them = "it" if len(failed) == 1 else "them"
    named = f"{counted(len(failed), 'input')} that failed (above): {' '.join(map(shell_word, failed))}"
    again = "run the command again, with --overwrite, on" if overwrite else "run the same command again (complete " \
        "outputs are skipped)"
    if not left:  # stopped after the last one (as its output was renamed, as the Dask cluster closed)
        if not failed:
            return f"{head}: every input was done"
        return (f"{head}: every input was done but the {named}; once what failed is fixed, {again}"
                + (f" {them}" if overwrite else ""))
    if not overwrite:
        return f"{head}; run the same command again to resume (complete outputs are skipped)"
    return (f"{head}; to go on, run the command again, with --overwrite, on the {counted(len(left), 'input')} "
            f"not done: {' '.join(map(shell_word, left))} (the same command again would replace the outputs "
            "written above again)" + (f"; left out of it, the {named}: add {them} once what failed is fixed"
                                      if failed else ""))


# In a batch, for an output the run may not replace: --overwrite would make every output again.
KEEP_OR_OVERWRITE = ("move it away and run again to keep the batch's complete outputs, which are skipped, "
                     "or use --overwrite, which makes every output of the batch again")
