"""front_end.speaking: the words a block's messages use, and how the block ends."""

import threading

import pytest

from ldcsr_core.front_end import FRONT_END, NAPARI, speaking


def _spoken_steps():
    with speaking(NAPARI):
        yield FRONT_END.get()
        yield FRONT_END.get()


def test_words_are_the_front_ends_within_the_block_and_restored_after():
    before = FRONT_END.get()
    with speaking(NAPARI):
        assert FRONT_END.get() == NAPARI
    assert FRONT_END.get() == before
    with pytest.raises(ValueError, match="unknown front end"):
        with speaking("emacs"):
            pass


def test_a_speaking_generator_started_on_a_worker_thread_closes_quietly_elsewhere():
    """A napari generator worker speaks napari's words from its worker thread; when it is closed
    (or garbage-collected) from another thread, its block ends there. Before: the ContextVar token
    could not be reset in that other context, so close() raised ValueError ('created in a
    different Context'), printed as 'Exception ignored in: <generator ...>' when collected."""
    gen = _spoken_steps()
    seen = []
    worker = threading.Thread(target=lambda: seen.append(next(gen)))
    worker.start()
    worker.join()
    assert seen == [NAPARI]
    gen.close()  # here, another thread's context
    assert FRONT_END.get() is None  # the worker's words never reached this thread
