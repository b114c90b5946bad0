#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine, for trying the jobs in slurm/ and for the tests.
#
#   sudo bash slurm/local_cluster.sh start    # install (Debian packages) if missing, configure, start
#   sudo bash slurm/local_cluster.sh status   # sinfo
#   sudo bash slurm/local_cluster.sh stop
#
# Runs as root (SlurmUser=root): the daemons must read the munge key and start jobs. The node is
# this machine as `slurmd -C` describes it; one partition, `local`, the default. Jobs that ask for
# GPUs cannot run here (no GRES is configured): CPU recipes only.
# Environment: SLURM_CONF (/etc/slurm/slurm.conf), LOCAL_CLUSTER_TIMEOUT (60 s to wait for the node).
set -euo pipefail

SLURM_CONF=${SLURM_CONF:-/etc/slurm/slurm.conf}
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd
TIMEOUT=${LOCAL_CLUSTER_TIMEOUT:-60}

die() { echo "local_cluster: $*" >&2; exit 1; }

install_packages() {
    local missing=()
    command -v slurmctld >/dev/null || missing+=(slurmctld)
    command -v slurmd >/dev/null || missing+=(slurmd)
    command -v sbatch >/dev/null || missing+=(slurm-client)
    command -v munged >/dev/null || missing+=(munge)
    [[ ${#missing[@]} -eq 0 ]] && return 0
    command -v apt-get >/dev/null || die "slurm is not installed and apt-get is missing: install ${missing[*]} yourself"
    echo "local_cluster: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # The package lists may be stale or absent on a fresh machine: update once if the install fails.
    apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; } \
        || die "apt-get could not install ${missing[*]}"
}

write_config() {
    # `slurmd -C` prints this machine's node line (CPUs, sockets, memory); its second line is uptime.
    local node_line node_name
    node_line=$(slurmd -C | head -n 1)
    node_name=$(sed -E 's/^NodeName=([^ ]+).*/\1/' <<<"$node_line")
    mkdir -p "$(dirname "$SLURM_CONF")" "$STATE_DIR" "$SPOOL_DIR" /var/log/slurm
    cat >"$SLURM_CONF" <<EOF
# Written by slurm/local_cluster.sh: a one-node cluster for local jobs and tests.
ClusterName=raml-local
SlurmctldHost=$node_name
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE_DIR
SlurmdSpoolDir=$SPOOL_DIR
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# Containers without cgroup delegation: track processes by parent pid, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
JobRequeue=1
# Seconds between the TERM at a job's end and the KILL: time for a checkpoint to finish writing.
KillWait=60
# A requeued job waits out the credential lifetime (120 s by default) before it may start again.
AuthInfo=cred_expire=10
MinJobAge=600
$node_line State=UNKNOWN
PartitionName=local Nodes=$node_name Default=YES MaxTime=INFINITE State=UP
EOF
    echo "$node_name"
}

start_munge() {
    if [[ ! -s /etc/munge/munge.key ]]; then
        mkdir -p /etc/munge
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    # munged runs as root here: it refuses a key and warns of logs owned by the package's munge user.
    chown -R root:root /etc/munge /run/munge /var/lib/munge /var/log/munge
    pgrep -x munged >/dev/null || munged --force
}

wait_for_idle() {
    local node=$1 waited=0 state
    while true; do
        state=$(sinfo --noheader --nodes="$node" --format=%T 2>/dev/null || true)
        [[ $state == idle* || $state == mixed* || $state == allocated* ]] && return 0
        # A node left down by an earlier stop comes back with an explicit resume.
        [[ $state == down* || $state == drain* ]] && scontrol update NodeName="$node" State=RESUME 2>/dev/null || true
        ((waited >= TIMEOUT)) && die "node $node not idle after ${TIMEOUT}s (state: ${state:-none}); see /var/log/slurm/"
        sleep 1
        waited=$((waited + 1))
    done
}

start() {
    [[ $(id -u) -eq 0 ]] || die "run as root (the daemons run as SlurmUser=root)"
    install_packages
    local node
    node=$(write_config)
    start_munge
    pgrep -x slurmctld >/dev/null || slurmctld -f "$SLURM_CONF"
    pgrep -x slurmd >/dev/null || slurmd -f "$SLURM_CONF"
    wait_for_idle "$node"
    echo "local_cluster: node $node idle (partition local)"
}

stop() {
    pkill -x slurmd || true
    pkill -x slurmctld || true
    for _ in $(seq 20); do
        pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || break
        sleep 0.5
    done
    echo "local_cluster: stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) sinfo ;;
    *) echo "usage: bash slurm/local_cluster.sh start|stop|status" >&2; exit 2 ;;
esac
