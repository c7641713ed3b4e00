#!/usr/bin/env bash
# A private one-node Slurm for the scheduler tests (Debian 12's slurm-wlm 22.05 and
# munge, as root, no systemd): its own munged, slurmctld and slurmd, started directly,
# with every file (config, state, logs, pid files, munge key and socket) under STATE_DIR
# and free ports, so it touches nothing of a system Slurm and `SLURM_CONF=STATE_DIR/slurm.conf`
# is all a client needs.
#
#   slurm_local.sh start STATE_DIR   install slurm-wlm and munge if missing, write the
#                                    config, start the daemons, wait until the node is idle
#   slurm_local.sh stop STATE_DIR    stop the daemons by the pids in their pid files
#
# The node advertises 64 CPUs (SlurmdParameters=config_overrides) on however many cores
# exist, so site-shaped requests (-c 32, -n8 -c7) schedule, and 8 fake `gpu` GRES
# (char devices cloned from /dev/null) with feature `gpu`, so `-C gpu` and
# `--gpus-per-task=1` are accepted. No GPU work happens.
set -euo pipefail

cmd=${1:-} state=${2:-}
[[ -n "$cmd" && -n "$state" ]] || { echo "usage: $0 start|stop STATE_DIR" >&2; exit 2; }
fake_cpus=${KBNN_SLURM_CPUS:-64}
fake_gpus=${KBNN_SLURM_GPUS:-8}

log() { echo "[slurm_local] $*"; }
alive() { [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop() {
  # slurmd first (it holds the jobs), munged last (the others authenticate through it).
  local pidfile pid
  for pidfile in "$state/slurmd.pid" "$state/slurmctld.pid" "$state/munged.pid"; do
    alive "$pidfile" || continue
    pid=$(cat "$pidfile")
    log "stopping pid $pid ($(basename "$pidfile" .pid))"
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  done
  # The munge socket lives in a short path of its own (unix socket paths are <= 107 bytes).
  if [[ -s "$state/munge_dir" ]]; then rm -rf "$(cat "$state/munge_dir")"; fi
}

install_packages() {
  local missing=() p
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
  local host cores memory ctld_port=16817 d
  host=$(hostname -s)
  memory=$(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  cores=$(nproc)
  ((fake_cpus > cores)) || fake_cpus=$cores
  # Two adjacent free ports, away from a system Slurm's 6817/6818.
  while ! port_free "$ctld_port" || ! port_free $((ctld_port + 1)); do ctld_port=$((ctld_port + 2)); done

  local gres_types="" node_gres=""
  if ((fake_gpus > 0)); then
    mkdir -p "$state/fakegpu"
    for ((d = 0; d < fake_gpus; d++)); do
      [[ -c "$state/fakegpu/gpu$d" ]] || mknod "$state/fakegpu/gpu$d" c 1 3 || { fake_gpus=0; break; }
    done
  fi
  if ((fake_gpus > 0)); then
    gres_types="GresTypes=gpu"
    node_gres="Gres=gpu:$fake_gpus Features=gpu"
    echo "NodeName=$host Name=gpu File=$state/fakegpu/gpu[0-$((fake_gpus - 1))]" > "$state/gres.conf"
  else
    log "mknod not permitted: no fake GPUs"
    rm -f "$state/gres.conf"
  fi

  local partitions="" default=YES p
  # debug first (the default); batch and regular are the names site scripts ask for.
  for p in debug batch regular; do
    partitions+="PartitionName=$p Nodes=$host Default=$default MaxTime=INFINITE State=UP"$'\n'
    default=NO
  done
  cat > "$state/slurm.conf" <<EOF
# written by tests/scheduler/slurm_local.sh: a one-node test cluster on loopback
ClusterName=kbnnci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$((ctld_port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_dir/munge.socket
$gres_types
# Advertise more CPUs than the machine has; tasks then share the real cores.
SlurmdParameters=config_overrides
# Debian's Open MPI 4.1 talks PMIx, not Slurm's PMI-2: plain srun needs this default.
MpiDefault=pmix
# No cgroup delegation in containers: track processes by their parent links.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
JobRequeue=1
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
StateSaveLocation=$state/ctld_state
SlurmdSpoolDir=$state/slurmd_spool
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
PlugStackConfig=$state/plugstack.conf
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
InactiveLimit=0
KillWait=10
MinJobAge=300
Waittime=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$fake_cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$fake_cpus ThreadsPerCore=1 RealMemory=$memory $node_gres State=UNKNOWN
${partitions%$'\n'}
EOF
  : > "$state/plugstack.conf"
  log "wrote $state/slurm.conf (node $host, $fake_cpus CPUs, $fake_gpus fake GPUs, port $ctld_port)"
}

start_munge() {
  # munged refuses a key or socket directory that others could write or read.
  chmod 0700 "$munge_dir"
  [[ -s "$munge_dir/munge.key" ]] || dd if=/dev/urandom of="$munge_dir/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$munge_dir/munge.key"
  munged --force --socket="$munge_dir/munge.socket" --key-file="$munge_dir/munge.key" \
    --pid-file="$state/munged.pid" --log-file="$state/munged.log" --seed-file="$munge_dir/munged.seed" \
    < /dev/null > /dev/null 2>&1
  for _ in $(seq 25); do [[ -S "$munge_dir/munge.socket" ]] && break; sleep 0.2; done
  munge --socket="$munge_dir/munge.socket" -n | unmunge --socket="$munge_dir/munge.socket" > /dev/null
  log "munged up (pid $(cat "$state/munged.pid"))"
}

start() {
  [[ $(id -u) -eq 0 ]] || { echo "slurm_local: run as root" >&2; exit 1; }
  install_packages
  stop  # a previous run's daemons, if any
  rm -rf "$state"
  mkdir -p "$state/ctld_state" "$state/slurmd_spool"
  munge_dir=$(mktemp -d /tmp/kbnn-munge.XXXXXX)
  echo "$munge_dir" > "$state/munge_dir"
  write_config
  export SLURM_CONF=$state/slurm.conf
  start_munge
  slurmctld < /dev/null > /dev/null 2>&1  # its log: $state/slurmctld.log
  for _ in $(seq 50); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
  slurmd < /dev/null > /dev/null 2>&1  # its log: $state/slurmd.log
  local node_state=""
  for _ in $(seq 100); do
    node_state=$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)
    [[ "$node_state" == idle ]] && break
    sleep 0.2
  done
  if [[ "$node_state" != idle ]]; then
    echo "slurm_local: the node is '$node_state', not idle; the logs say:" >&2
    tail -n 20 "$state/slurmctld.log" "$state/slurmd.log" >&2
    stop
    exit 1
  fi
  sinfo
  log "up; clients use SLURM_CONF=$state/slurm.conf"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop STATE_DIR" >&2; exit 2 ;;
esac
