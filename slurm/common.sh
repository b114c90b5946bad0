# Sourced by the job scripts in slurm/: the repository root, the Python environment, errors.
# Jobs are submitted from the repository root (sbatch copies the script elsewhere, so the root is
# the submission folder, not the script's). Environment: $RAML_VENV, else ./.venv, else the active one.

die() { echo "$(basename "${JOB_SCRIPT:-slurm job}"): error: $*" >&2; exit 1; }

cd "${SLURM_SUBMIT_DIR:-.}"
[[ -f slurm/common.sh ]] || die "submit from the repository root (no slurm/common.sh in $PWD)"
if [[ -n ${RAML_VENV:-} ]]; then
    source "$RAML_VENV/bin/activate"
elif [[ -f .venv/bin/activate ]]; then
    source .venv/bin/activate
fi
command -v raml >/dev/null || die "raml not found: install the project (make install) or set RAML_VENV"

node_address() {  # NODE: the address Slurm reaches a node at (NodeAddr; the node name on most clusters)
    scontrol show node "$1" | grep -oP 'NodeAddr=\K\S+'
}

wait_for_server() {  # URL TIMEOUT_SECONDS PID: until the URL answers, the server's process dies, or time runs out
    local url=$1 timeout=${2%.*} pid=$3 start=$SECONDS
    until curl --silent --fail --output /dev/null "$url"; do
        kill -0 "$pid" 2>/dev/null || die "the server exited before answering $url (see its output above)"
        ((SECONDS - start < timeout)) || die "no answer from $url after ${timeout}s"
        sleep 1
    done
    echo "== server ready after $((SECONDS - start))s: $url"
}
