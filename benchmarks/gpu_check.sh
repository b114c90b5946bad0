#!/usr/bin/env bash
# benchmarks/gpu_check.py on the GPU machine: one command, well under 10 minutes.
#
# That machine has no network and lacks trl, datasets, dill and multiprocess, so their wheels
# (benchmarks/gpu_wheels.txt) travel in .whl/, which .git/info/exclude keeps out of git
# (`echo /.whl/ >> .git/info/exclude` once). Download them here, for its Python 3.12:
#
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
#       -d .whl -r benchmarks/gpu_wheels.txt
#
# There, in the repository root, with .whl carried along:
#
#   bash benchmarks/gpu_check.sh [gpu_check.py options, e.g. --size 1.5b]
#
# The project runs from source (PYTHONPATH=src): its pyproject asks for transformers >= 5.18 and the
# image has 5.17, which is enough for what the check uses. The JSON line is the last line of stdout;
# It is also written to $GPU_CHECK_OUT/gpu_check.json (default /tmp/gpu-check), the progress log beside it.
set -euo pipefail
cd "$(dirname "$0")/.."

# A folder named site-packages: dill, which datasets uses for its fingerprints, pickles modules
# found anywhere else by value, as if they were the user's own code.
SITE=/tmp/gpu-check/site-packages
WHEELS="${WHEELS:-.whl}"
if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "$WHEELS"/*.whl
else
    echo "no wheels in $WHEELS/: see the download command at the top of $0" >&2
fi
export PYTHONPATH="$SITE:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1

python3 - >&2 <<'PY'
import importlib.metadata as m
names = ("torch", "transformers", "trl", "datasets", "accelerate", "pyarrow", "fsspec", "huggingface_hub", "tokenizers")
found = []
for name in names:
    try:
        found.append(f"{name} {m.version(name)}")
    except m.PackageNotFoundError:
        found.append(f"{name} missing")
print("[gpu_check.sh] " + ", ".join(found))
PY

OUT_DIR="${GPU_CHECK_OUT:-/tmp/gpu-check}"
mkdir -p "$OUT_DIR"
# The script bounds each phase within --budget_s (420 s by default); the timeout is the backstop.
# Both streams go to files, which come back even when the call is cut short; the end of the log,
# then the JSON line, are printed last, so that the JSON line closes the output.
status=0
timeout 560 python3 benchmarks/gpu_check.py "$@" >"$OUT_DIR/gpu_check.json" 2>"$OUT_DIR/gpu_check.log" || status=$?
grep -v "^{'" "$OUT_DIR/gpu_check.log" | tail -n 40 >&2 || true
echo "[gpu_check.sh] exit status $status" >&2
cat "$OUT_DIR/gpu_check.json"
exit "$status"
