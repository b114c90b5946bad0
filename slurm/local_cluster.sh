#!/usr/bin/env bash
# A real Slurm cluster on this machine, for trying the jobs in slurm/ and for the tests.
#
#   sudo bash slurm/local_cluster.sh start [NODES]  # install (Debian packages) if missing, configure, start
#   sudo bash slurm/local_cluster.sh status         # sinfo
#   sudo bash slurm/local_cluster.sh stop
#
# Runs as root (SlurmUser=root): the daemons must read the munge key and start jobs. With one node
# (the default) the node is this machine as `slurmd -C` describes it. NODES > 1 starts that many
# slurmd daemons on this machine (local-1, local-2, ...: each with every CPU and its share of the
# memory, reached at 127.0.0.1 on its own port), so that multi-node jobs (one launcher per node, a
# vLLM node beside the training nodes) run for real on one machine. One partition, `local`, the
# default. Jobs that ask for GPUs cannot run here (no GRES is configured): CPU recipes only.
# Environment: SLURM_CONF (/etc/slurm/slurm.conf), LOCAL_CLUSTER_TIMEOUT (60 s to wait for a node).
set -euo pipefail

SLURM_CONF=${SLURM_CONF:-/etc/slurm/slurm.conf}
STATE_DIR=/var/spool/slurmctld
SPOOL_DIR=/var/spool/slurmd # one folder per node: /var/spool/slurmd-<node>
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

node_names() {  # COUNT: the names `start COUNT` gives (one node: this machine's own name)
    if (($1 == 1)); then
        slurmd -C | head -n 1 | sed -E 's/^NodeName=([^ ]+).*/\1/'
    else
        seq -f "local-%g" 1 "$1"
    fi
}

node_lines() {  # COUNT
    # `slurmd -C` prints this machine's node line (CPUs, sockets, memory); its second line is uptime.
    local count=$1 this cpus memory port=17000 name
    this=$(slurmd -C | head -n 1)
    if ((count == 1)); then
        echo "$this State=UNKNOWN"
        return
    fi
    cpus=$(grep -oP 'CPUs=\K[0-9]+' <<<"$this")
    memory=$(($(grep -oP 'RealMemory=\K[0-9]+' <<<"$this") / count))
    for name in $(node_names "$count"); do
        port=$((port + 1))
        echo "NodeName=$name NodeHostname=$(hostname) NodeAddr=127.0.0.1 Port=$port CPUs=$cpus RealMemory=$memory State=UNKNOWN"
    done
}

write_config() {  # COUNT
    local count=$1 names name
    names=$(node_names "$count" | paste -sd,)
    mkdir -p "$(dirname "$SLURM_CONF")" "$STATE_DIR" /var/log/slurm
    for name in ${names//,/ }; do mkdir -p "$SPOOL_DIR-$name"; done
    cat >"$SLURM_CONF" <<EOF
# Written by slurm/local_cluster.sh: a cluster on one machine for local jobs and tests.
ClusterName=raml-local
SlurmctldHost=$(hostname)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE_DIR
# %n: each node's own daemon files (several slurmd run on this machine when NODES > 1).
SlurmdSpoolDir=$SPOOL_DIR-%n
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd-%n.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd-%n.log
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
$(node_lines "$count")
PartitionName=local Nodes=$names Default=YES MaxTime=INFINITE State=UP
EOF
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

wait_for_idle() {  # NODE
    local node=$1 waited=0 state
    while true; do
        state=$(sinfo --noheader --nodes="$node" --format=%T 2>/dev/null || true)
        [[ $state == idle* || $state == mixed* || $state == allocated* ]] && return 0
        # A node left down by an earlier stop comes back with an explicit resume.
        if [[ $state == down* || $state == drain* ]]; then
            scontrol update NodeName="$node" State=RESUME 2>/dev/null || true
        fi
        ((waited < TIMEOUT)) || die "node $node not idle after ${TIMEOUT}s (state: ${state:-none}); see /var/log/slurm/"
        sleep 1
        waited=$((waited + 1))
    done
}

start() {  # [COUNT]
    local count=${1:-1} node
    [[ $count =~ ^[1-9][0-9]*$ ]] || die "NODES must be a positive integer, got '$count'"
    [[ $(id -u) -eq 0 ]] || die "run as root (the daemons run as SlurmUser=root)"
    install_packages
    # A running cluster with another set of nodes is restarted with the new configuration.
    if pgrep -x slurmctld >/dev/null && [[ $(sinfo --noheader --format=%D 2>/dev/null) != "$count" ]]; then
        stop >/dev/null
    fi
    write_config "$count"
    start_munge
    pgrep -x slurmctld >/dev/null || slurmctld -f "$SLURM_CONF"
    for node in $(node_names "$count"); do
        pgrep -f "^slurmd -f $SLURM_CONF -N $node\$" >/dev/null || slurmd -f "$SLURM_CONF" -N "$node"
    done
    for node in $(node_names "$count"); do wait_for_idle "$node"; done
    echo "local_cluster: $(node_names "$count" | paste -sd' ') idle (partition local)"
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
    start) start "${2:-1}" ;;
    stop) stop ;;
    status) sinfo ;;
    *) echo "usage: bash slurm/local_cluster.sh start [NODES] | stop | status" >&2; exit 2 ;;
esac
