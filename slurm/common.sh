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
