# napari-ldcsr: `make run` opens napari with the LDCSR dock widget and the sample scene;
# `make test` runs the whole test suite (under a virtual X display, no screen needed), then the
# QGIS tests with the Python QGIS uses.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
# Pinned torch, installed first so pip never pulls an unpinned one (from PyPI, Linux gets the CUDA
# build; for the CPU one: make TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu").
TORCH  ?= torch==2.13.0
# QGIS 3.x runs on the system Python (Debian/Ubuntu: apt-get install python3-qgis qgis-providers).
# Its tests use a venv that sees the system packages (qgis, PyQt5) plus this package, no napari.
QGIS_PYTHON ?= /usr/bin/python3
QVENV  := .venv-qgis
QPY    := $(QVENV)/bin/python

.PHONY: venv qgis-venv run test test-main test-qgis qgis-plugin clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PIP) || $(PYTHON) -m venv --clear $(VENV)
	$(PIP) install $(TORCH)
	$(PIP) install -e ".[test,cluster,napari]"
	touch $@

qgis-venv: $(QVENV)/.installed

$(QVENV)/.installed: pyproject.toml
	test -x $(QVENV)/bin/pip || $(QGIS_PYTHON) -m venv --clear --system-site-packages $(QVENV)
	$(QVENV)/bin/pip install $(TORCH)
	$(QVENV)/bin/pip install -e . "pytest>=8"
	touch $@

run: venv
	$(PY) -m napari_ldcsr

test: test-main test-qgis

# pytest-xvfb starts Xvfb itself (DISPLAY may be unset); Qt uses the xcb platform on it. Two
# pytest-xdist workers, each with its own Xvfb and one engine thread (two threads each on two cores
# made the compute-bound tests ~20x slower: 1590 s in all, against 614 s with one): much of a napari
# or Dask test is waiting, so two workers overlap well even on two cores.
test-main: venv
	env -u QT_QPA_PLATFORM LDCSR_THREADS=1 $(PY) -m pytest -q -n 2 --durations=60 --ignore=tests/qgis

# With QGIS present: its venv and tests (offscreen Qt). Without it the tests skip with the reason
# (and fail under CI=true, where QGIS must be installed: see .ci/run).
test-qgis:
	@if $(QGIS_PYTHON) -c "import qgis.core" >/dev/null 2>&1; then \
	    $(MAKE) qgis-venv && QT_QPA_PLATFORM=offscreen $(QPY) -m pytest -q -p no:cacheprovider tests/qgis; \
	else \
	    $(MAKE) venv && $(PY) -m pytest -q -p no:cacheprovider tests/qgis; \
	fi

# The QGIS plugin as a zip for "Plugins > Install from ZIP" (the engine is pip-installed separately).
qgis-plugin:
	mkdir -p dist && rm -f dist/qgis_ldcsr.zip
	git archive --format=zip -o dist/qgis_ldcsr.zip HEAD qgis_ldcsr

clean:
	rm -rf $(VENV) $(QVENV) build dist *.egg-info
