# reidtool: the two commands of the README.
#   make demo   set-up, then the main job on the synthetic dataset, ending on the virtual board
#   make test   set-up, then the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# tensorflow-cpu where there is no GPU, tensorflow otherwise.
TF_EXTRA := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo gpu || echo cpu)
# The Python set-up is redone only when pyproject.toml changes.
PY_STAMP := $(VENV)/.setup-$(shell sha1sum pyproject.toml | cut -c1-12)-$(TF_EXTRA)
APT_PACKAGES := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
PYTEST_ARGS ?=
DEMO_DIR ?= experiments_outputs/demo

.PHONY: setup setup-python setup-system demo test clean

setup: setup-system setup-python

setup-python: $(PY_STAMP)

$(PY_STAMP): pyproject.toml
	@echo "== set-up: Python environment in $(VENV) (tensorflow flavour: $(TF_EXTRA))"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,$(TF_EXTRA)]"
	rm -f $(VENV)/.setup-*
	touch $@

setup-system:
	@if command -v arm-none-eabi-gcc >/dev/null && command -v qemu-system-arm >/dev/null \
	    && [ -d /usr/lib/arm-none-eabi/newlib ]; then \
	  echo "== set-up: arm-none-eabi-gcc, newlib and qemu-system-arm present"; \
	else \
	  echo "== set-up: installing $(APT_PACKAGES)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); \
	fi

# The quickstart chain (train, quantize, evaluate on the host, deploy, evaluate on the board)
# on a fresh synthetic set; ends on the float / int8 / on-device table.
demo: setup
	$(VENV)/bin/reidtool make-dataset $(DEMO_DIR)/data --identities 100 --seed 0 --overwrite
	rm -rf $(DEMO_DIR)/run
	DATA_DIR=$(DEMO_DIR)/data $(VENV)/bin/reidtool run configs/quickstart.yaml \
	    hydra.run.dir=$(DEMO_DIR)/run

# pytest's exit code 5 (no tests collected) is a failure here.
test: setup
	@$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests"; exit 1; fi; exit $$rc

clean:
	rm -rf $(VENV) experiments_outputs .pytest_cache
