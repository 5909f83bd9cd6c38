"""What the QGIS tests share: real QGIS with Processing and our provider (skipped with the reason
without QGIS, an error with ``CI=true``), and running the algorithm as ``processing.run`` or as
the Processing dialog does. Imported by the ``test_qgis_*`` modules (the fixtures are in
``conftest.py``, the input rasters in :mod:`qgis_scenes`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

try:
    # the test modules import these from here, after this skip
    from qgis.core import (  # noqa: F401
        QgsApplication,
        QgsProcessingException,
        QgsProcessingFeedback,
        QgsRasterLayer,
    )
except ImportError as exc:  # pragma: no cover - depends on the machine
    _msg = (f"QGIS is not importable here ({exc}): install python3-qgis and qgis-providers and "
            "run `make test-qgis` (it uses the system Python that QGIS is built for)")
    if os.environ.get("CI", "").lower() == "true":
        raise RuntimeError(_msg + " — required on CI") from None
    pytest.skip(_msg, allow_module_level=True)

from qgis_scenes import TRANSFORM, UTM33, _field, _write  # noqa: E402, F401 - for the test modules

ALG = "ldcsr:superresolution"


def _params(src, out, model, **kw):
    p = {"INPUT": str(src), "SCALE": 2.5, "MODE": 1, "SEED": 0, "MODEL": str(model), "TILE": 0,
         "OUTPUT": str(out)}
    p.update(kw)
    return p


class _Feedback(QgsProcessingFeedback):
    """A feedback that also keeps each error and warning reported to it (``errors``, ``warnings``)."""

    def __init__(self):
        super().__init__()
        self.errors = []
        self.warnings = []

    def pushWarning(self, warning):  # noqa: N802 - QGIS's name
        self.warnings.append(warning)
        super().pushWarning(warning)

    def reportError(self, error, fatalError=False):  # noqa: N802, N803 - QGIS's names
        self.errors.append(error)
        super().reportError(error, fatalError)


def _run_as_the_dialog_does(params, feedback=None, *, wait=True, context=None, load=False):
    """Run the algorithm as the Processing dialog does: a ``QgsProcessingAlgRunnerTask`` in QGIS's
    task manager (a background thread; the task logs a failed run's exception to the feedback), with
    ``context`` (default: one without a project, as a plugin may make it); with ``load``, the layers
    to load on completion then loaded as the dialog's ``finish`` loads them (``handleAlgorithmResults``).
    ``(ok, feedback)``; with ``wait=False`` a function that waits (``timeout`` s at most) and returns that."""
    import time

    from qgis.core import QgsProcessingAlgRunnerTask, QgsProcessingContext

    feedback = feedback or _Feedback()
    context = context or QgsProcessingContext()
    alg = QgsApplication.processingRegistry().createAlgorithmById(ALG)
    task = QgsProcessingAlgRunnerTask(alg, params, context, feedback)  # prepares the run (main thread)
    done = []
    if task.isCanceled():  # its prepareAlgorithm failed: the dialog ends the run there ('Execution failed')
        done.append(False)
    else:
        def executed(ok, results):
            if load:
                from processing.gui.Postprocessing import handleAlgorithmResults

                handleAlgorithmResults(alg, context, feedback, False, results)
            done.append(ok)

        task.executed.connect(executed)
        QgsApplication.taskManager().addTask(task)

    def result(timeout=300):
        deadline = time.monotonic() + timeout
        while not done and time.monotonic() < deadline:
            QgsApplication.processEvents()
            time.sleep(0.01)
        assert done, f"the task did not end within {timeout} s"
        _keep = (alg, context)  # noqa: F841 - alive until the task has ended
        return done[0], feedback

    return result() if wait else result


def _as_the_batch_dialog_runs(rows):
    """``(oks, feedback)`` of ``rows`` (parameters) run as ``BatchAlgorithmDialog.runAlgorithm`` runs them, with
    its feedback (its ``BatchFeedback``, the rows as steps)."""
    from processing.gui.BatchAlgorithmDialog import BatchFeedback
    from qgis.core import QgsProcessingContext, QgsProject

    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    feedback = _Feedback()
    steps = BatchFeedback(len(rows), feedback)
    oks = []
    for i, params in enumerate(rows):
        steps.setCurrentStep(i)
        context = QgsProcessingContext()  # a new one for each row (dataobjects.createContext)
        context.setProject(QgsProject.instance())
        oks.append(alg.run(params, context, steps)[1])
    return oks, feedback


def _leftovers(folder: Path, name: str):
    return [p.name for p in folder.iterdir() if p.name.startswith(f".{name}.")]
