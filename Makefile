# napari-ldcsr: `make run` opens napari with the LDCSR dock widget and the sample scene;
# `make test` runs the whole test suite (under a virtual X display, no screen needed).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
# Pinned CPU build of torch, installed first so pip never pulls an unpinned CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: venv run test clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install $(TORCH)
	$(PIP) install -e ".[test,cluster]"
	touch $@

run: venv
	$(PY) -m napari_ldcsr

# pytest-xvfb starts Xvfb itself (DISPLAY may be unset); Qt uses the xcb platform on it.
test: venv
	env -u QT_QPA_PLATFORM $(PY) -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info
