# The virtual environment is created on first use and reused afterwards; it is
# reinstalled only when setup.py changes.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEMO_DATA ?= demo_data
DEMO_OUT ?= runs/demo

.PHONY: venv test demo weights clean

venv: $(STAMP)

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -q tests

demo: $(STAMP)
	$(PY) tools/demo.py --data $(DEMO_DATA) --out $(DEMO_OUT)

weights: $(STAMP)
	$(PY) tools/fetch_weights.py

clean:
	rm -rf $(VENV) $(DEMO_OUT)
