"""``part_files.part_in_text``: the part file a GDAL message names, as the CLI reads it from rasterio's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from ldcsr_core.part_files import part_in_text

PART = ".a_sr.tif.k3j9x2ab.ldcsr-part"


@pytest.mark.parametrize("text, named", [
    # before: '. .a_sr.tif.k3j9x2ab.ldcsr-part', the sentence's full stop taken as the name's start
    (f"Read or write failed. {PART}", PART),
    (f"Read or write failed. {PART}, band 1: IWriteBlock failed", PART),
    (f"Read or write failed. /out/{PART}, band 1", f"/out/{PART}"),
    (f"{PART}: No such file or directory", PART),
    (f"cannot open '/my out/{PART}' for writing", f"/my out/{PART}"),
    ("Read or write failed. /out/.a. b_sr.tif.k3j9x2ab.ldcsr-part, band 1", "/out/.a. b_sr.tif.k3j9x2ab.ldcsr-part"),
    (f"Read or write failed. out{PART}", None),  # no path starts at the dot: no part file named
    ("Read or write failed. /out/a_sr.tif, band 1", None),
])
def test_the_part_file_named_starts_at_a_path_start(text, named):
    assert part_in_text(text) == (Path(named) if named else None)
