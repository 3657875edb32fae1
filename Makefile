# The two commands a newcomer needs:
#   make serve   set up (venv, dependencies, database) and start Quorum on SQLite
#   make test    set up and run the whole test suite (what CI runs)
# and one to try it with no model provider at all:
#   make demo    the judge double and Quorum on quorum.demo.yaml
# Ports: make serve PORT=8001; make demo PORT=8001 DOUBLE_PORT=9101.
PYTHON ?= python3
HOST   ?= 127.0.0.1
PORT   ?= 8000
DOUBLE_PORT ?= 9100
VENV   := .venv
BIN    := $(VENV)/bin
CONFIG ?= $(if $(wildcard quorum.yaml),quorum.yaml,quorum.example.yaml)
# pytest workers for `make test` (pytest-xdist; a test file stays on one worker, so its
# module fixtures start once). TEST_WORKERS=0 runs in this process, as plain pytest does.
TEST_WORKERS ?= 2
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: setup setup-embedding serve test lint demo demo-double clean

$(BIN)/quorum: pyproject.toml client/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' -e './client[litellm]'
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
	$(BIN)/quorum serve --config $(CONFIG) --host $(HOST) --port $(PORT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: setup lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# An OpenAI-compatible judge double on 127.0.0.1:$(DOUBLE_PORT), for trying Quorum with no
# provider (test code: run here, never imported by the service).
demo-double: setup
	$(BIN)/python -m tests.doubles.judge_server --port $(DOUBLE_PORT)

# The double in the background, then Quorum on quorum.demo.yaml (its judges point at the
# double) with its own database in .demo/; Ctrl-C stops both.
demo: setup
	@mkdir -p .demo
	@sed 's/127.0.0.1:9100/127.0.0.1:$(DOUBLE_PORT)/' quorum.demo.yaml > .demo/quorum.yaml
	@$(BIN)/python -m tests.doubles.judge_server --port $(DOUBLE_PORT) & double=$$!; \
	trap 'kill $$double 2>/dev/null' EXIT INT TERM; \
	until curl -sf http://127.0.0.1:$(DOUBLE_PORT)/v1/models >/dev/null; do sleep 0.2; done; \
	QUORUM_DATABASE_URL=sqlite:///.demo/quorum.db \
	  $(BIN)/quorum serve --config .demo/quorum.yaml --host $(HOST) --port $(PORT)

clean:
	rm -rf $(VENV) .demo *.egg-info client/*.egg-info .pytest_cache .mypy_cache .ruff_cache
