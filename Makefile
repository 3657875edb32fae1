# The two commands a newcomer needs:
#   make serve   set up (venv, dependencies, database) and start Quorum on SQLite
#   make test    set up and run the whole test suite (what CI runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= $(if $(wildcard quorum.yaml),quorum.yaml,quorum.example.yaml)
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: setup setup-embedding serve test lint demo-double clean

$(BIN)/quorum: pyproject.toml client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e ./client
	touch $@

setup: $(BIN)/quorum

# The embedding juror's optional extra (docs/jurors.md). A CPU build of torch goes in
# first, so that sentence-transformers does not pull a CUDA build of several GB; this
# machine keeps a CPU wheel of torch 2.13.0 on disk, which `pip install torch==2.13.0`
# takes. Elsewhere: make setup-embedding TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0
setup-embedding: setup
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[embedding]'

serve: setup
	$(BIN)/quorum serve --config $(CONFIG)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: setup lint
	$(BIN)/python -m pytest

# An OpenAI-compatible judge double on 127.0.0.1:9100, for trying Quorum with no provider.
demo-double: setup
	$(BIN)/python -m tests.doubles.judge_server --port 9100

clean:
	rm -rf $(VENV) *.egg-info client/*.egg-info .pytest_cache .mypy_cache .ruff_cache
