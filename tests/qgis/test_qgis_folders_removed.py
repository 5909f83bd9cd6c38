"""The output's folder (and the spread file's) removed while QGIS's run writes them: said in the engine's words, as
``ldcsr upscale`` says them (``ldcsr_core.folder_removed.outputs_removed``). Real QGIS, as in ``test_qgis_outputs.py``
(moved from there, past ~500 lines)."""

from __future__ import annotations

import os
import shutil

import pytest
from qgis_runs import ALG, QgsProcessingException, _Feedback, _params


def test_an_output_folder_removed_during_the_run_is_said_as_the_cli_says_it(qgis_processing, scene, tiny_model_file,
                                                                             tmp_path, monkeypatch):
    """The output's folder removed while the raster is written: before, 'LDCSR: cannot write out/o.tif: its part file
    was removed while it was written (was out deleted or cleaned?)', the engine's older line; now the engine's words,
    which ldcsr upscale says too."""
    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    out = tmp_path / "out"
    out.mkdir()
    write = GeoTiffWriter.write

    def removing(self, *args, **kwargs):
        if out.is_dir():
            shutil.rmtree(out)
        return write(self, *args, **kwargs)

    monkeypatch.setattr(GeoTiffWriter, "write", removing)
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, out / "o.tif", tiny_model_file, MODE=0), feedback=_Feedback())
    assert str(ei.value) == (f"LDCSR: the output folder {out} was removed or renamed during the run; {out / 'o.tif'} was "
                             "not written (make the folder again, or give it its name back, and run again)")



@pytest.mark.parametrize("removed", ["both", "the spread folder"])
def test_the_output_and_spread_folders_removed_during_the_run_are_said_as_the_cli_says_them(
        qgis_processing, scene, tiny_model_file, tmp_path, monkeypatch, removed):
    """OUTPUT out/o.tif and SPREAD maps/s.tif (SAMPLES 2), their folders removed while the rasters are written.
    Before: both gone said 'LDCSR: the output folder out was removed or renamed during the run; out/o.tif was not
    written (…)', maps unsaid; maps alone gone said '…; maps/s.tif was not written (…)', of a run whose o.tif was
    not written either. Now the engine's words for the run, which ldcsr upscale … --spread-out says too."""
    from ldcsr_core.geo.geotiff_writer import GeoTiffWriter

    out, maps = tmp_path / "out", tmp_path / "maps"
    out.mkdir(), maps.mkdir()
    write = GeoTiffWriter.write

    def removing(self, *args, **kwargs):
        if maps.is_dir():
            shutil.rmtree(maps)
            if removed == "both":
                shutil.rmtree(out)
        return write(self, *args, **kwargs)

    monkeypatch.setattr(GeoTiffWriter, "write", removing)
    with pytest.raises(QgsProcessingException) as ei:
        qgis_processing.run(ALG, _params(scene, out / "o.tif", tiny_model_file, MODE=0, SAMPLES=2,
                                         SPREAD=str(maps / "s.tif")), feedback=_Feedback())
    if removed == "both":
        said = (f"the output folders {out} and {maps} were removed or renamed during the run; {out / 'o.tif'} and "
                f"{maps / 's.tif'} were not written (make the folders again, or give them their names back, and run "
                "again)")
    else:
        said = (f"the output folder {maps} was removed or renamed during the run; {maps / 's.tif'} was not written, "
                f"nor {out / 'o.tif'} (make the folder again, or give it its name back, and run again)")
    assert str(ei.value) == f"LDCSR: {said}"
    assert not maps.exists() and (removed == "both") != out.is_dir()
    assert removed == "both" or os.listdir(out) == []
