"""Sizes in every message of the tool in one convention (``files.human_bytes``): powers of two, named as such (KiB,
MiB, GiB, TiB), whole bytes below 1 KiB. Before: powers of two said 'kB' and 'MB' but 'GiB' and 'TiB'; 1 MiB less a
byte was '1024.0 kB'; napari's in-memory limit of 0.01 MB was '0 MB'; ``ldcsr models`` and ``convert`` said MiB
always ('0.3 MiB' for a file of 300 KiB)."""

from __future__ import annotations

import pytest

from ldcsr_core.files import human_bytes


@pytest.mark.parametrize("n, said", [
    (0, "0 bytes"), (1, "1 byte"), (1023, "1023 bytes"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
    (1000 * 2**10, "1000.0 KiB"), (2**20 - 52, "1023.9 KiB"), (2**20 - 1, "1.0 MiB"), (2**20, "1.0 MiB"),
    (2**30 - 1, "1.0 GiB"), (int(2.5 * 2**30), "2.5 GiB"), (2**40 - 1, "1.0 TiB"), (5 * 2**50, "5120.0 TiB")])
def test_sizes_are_said_in_powers_of_two_named_as_such(n, said):
    assert human_bytes(n) == said

