#!/usr/bin/env bash
# Throw-away single-node SLURM cluster on loopback (127.0.0.1), for tests.
#
#   tests/slurm/cluster.sh start  [STATE_DIR]           # prints env lines to eval
#   tests/slurm/cluster.sh status [STATE_DIR]
#   tests/slurm/cluster.sh stop   [--clean] [STATE_DIR]
#
#   eval "$(tests/slurm/cluster.sh start)"   # puts STATE_DIR/bin on PATH
#
# Everything (munge key + socket, slurm.conf, spool, logs, pid files) lives in
# STATE_DIR (default: $HW1_SLURM_STATE or /tmp/hw1-slurm). Only stdout carries
# the `export ...` lines; all chatter goes to stderr.
#
# Why STATE_DIR/bin wrappers: the snakemake slurm job step deletes every
# SLURM_* variable (SLURM_CONF included), so a slurm.conf at a non-default path
# would not be found inside jobs. The wrappers set SLURM_CONF and exec the real
# binary; jobs are submitted with --export=ALL, so PATH (and the wrappers) reach
# the job.
set -euo pipefail

PROG=${0##*/}
log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

ACTION=${1:-}
[ -n "$ACTION" ] || usage
shift
CLEAN=0
STATE_DIR=""
for arg in "$@"; do
    case "$arg" in
        --clean) CLEAN=1 ;;
        -h|--help) usage ;;
        -*) die "unknown option: $arg" ;;
        *) [ -z "$STATE_DIR" ] || die "only one STATE_DIR allowed"; STATE_DIR=$arg ;;
    esac
done
STATE_DIR=${STATE_DIR:-${HW1_SLURM_STATE:-/tmp/hw1-slurm}}
if [ "$ACTION" = start ]; then
    mkdir -p "$STATE_DIR" 2>/dev/null || true
    [ -d "$STATE_DIR" ] || die "cannot use state dir $STATE_DIR"
fi
if [ -d "$STATE_DIR" ]; then
    STATE_DIR=$(cd "$STATE_DIR" && pwd -P)
else
    case "$STATE_DIR" in /*) ;; *) STATE_DIR=$PWD/$STATE_DIR ;; esac
fi
S=$STATE_DIR

CONF=$S/etc/slurm.conf
KEY=$S/etc/munge.key
SOCKDIR=$S/munge
SOCK=$SOCKDIR/munge.socket
RUN=$S/run
LOGD=$S/log
BIN=$S/bin
MARKER=$S/.hw1-slurm-state
START_TIMEOUT=${HW1_SLURM_START_TIMEOUT:-30}
DAEMONS=(munged slurmctld slurmd)

# ----------------------------------------------------------------- helpers ---

# pid recorded for daemon $1, if that process is alive and really ours
# (its command line mentions this state dir: guards against pid reuse).
live_pid() {
    local f=$RUN/$1.pid pid
    [ -s "$f" ] || return 1
    pid=$(cat "$f")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$S/" || return 1
    echo "$pid"
}

all_running() {
    local d
    for d in "${DAEMONS[@]}"; do live_pid "$d" >/dev/null || return 1; done
}

env_lines() {
    printf 'export PATH=%q:"$PATH"\n' "$BIN"
    printf 'export SLURM_CONF=%q\n' "$CONF"
    printf 'export HW1_SLURM_STATE=%q\n' "$S"
}

port_busy() {  # any TCP listener on port $1 (any address)?
    ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

pick_port() {  # pick_port PREFERRED START EXCLUDE
    local p=$1
    if ! port_busy "$p" && [ "$p" != "$3" ]; then echo "$p"; return; fi
    for ((p = $2; p < $2 + 2000; p++)); do
        if [ "$p" != "$3" ] && ! port_busy "$p"; then echo "$p"; return; fi
    done
    die "no free port found near $2"
}

real_bin() {  # path of the real binary $1, skipping our wrappers
    local c
    c=$(PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$BIN" | paste -sd:) \
        command -v "$1" 2>/dev/null) || true
    [ -n "$c" ] || c=/usr/bin/$1
    echo "$c"
}

tails() {
    local f
    for f in "$LOGD"/*; do
        [ -f "$f" ] || continue
        echo "----- tail $f" >&2
        tail -n 25 "$f" >&2 || true
    done
}

# kill the recorded daemon $1 (TERM, then KILL after 15 s); wait for exit
kill_daemon() {
    local d=$1 pid i
    if ! pid=$(live_pid "$d"); then
        rm -f "$RUN/$d.pid"
        return 0
    fi
    log "stopping $d (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        [ -e "/proc/$pid" ] || break
        # reap-less zombie check: a zombie is gone for our purposes
        [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
        sleep 0.1
    done
    if [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
        log "$d (pid $pid) ignored SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
    fi
    rm -f "$RUN/$d.pid"
}

# ------------------------------------------------------------------ install ---

ensure_installed() {
    local missing=0 b
    for b in slurmctld slurmd sbatch squeue sinfo scontrol srun munged munge; do
        [ -x "$(real_bin "$b")" ] || missing=1
    done
    [ "$missing" = 1 ] || return 0
    [ "$(id -u)" = 0 ] || die "slurm/munge missing and not root: apt-get install slurmctld slurmd slurm-client munge"
    local pkgs=(slurmctld slurmd slurm-client munge)
    local apt=(apt-get -y -q -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef
               -o Dpkg::Options::=--force-confold)
    export DEBIAN_FRONTEND=noninteractive
    log "installing ${pkgs[*]} with apt-get"
    if ! apt-cache policy slurmctld 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        "${apt[@]}" update >&2
    fi
    if ! "${apt[@]}" install --no-install-recommends "${pkgs[@]}" >&2; then
        log "install failed; retrying after apt-get update"
        "${apt[@]}" update >&2
        "${apt[@]}" install --no-install-recommends "${pkgs[@]}" >&2
    fi
}

# -------------------------------------------------------------------- start ---

write_config() {
    local ctld_port slurmd_port ncpu mem_mb
    ctld_port=$(pick_port 6817 16817 "")
    slurmd_port=$(pick_port 6818 16917 "$ctld_port")
    ncpu=$(nproc)
    # a bit below physical memory: 95 % of MemTotal (slurmd drains the node
    # if it finds less than RealMemory)
    mem_mb=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.95}' /proc/meminfo)

    cat >"$CONF" <<EOF
# generated by tests/slurm/cluster.sh -- single node, loopback only
ClusterName=hw1test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SOCK
CredType=cred/munge
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MailProg=/bin/true
ReturnToService=2
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=60
SlurmctldPidFile=$RUN/slurmctld.daemon.pid
SlurmdPidFile=$RUN/slurmd.daemon.pid
StateSaveLocation=$S/spool/ctld
SlurmdSpoolDir=$S/spool/slurmd
SlurmctldLogFile=$LOGD/slurmctld.log
SlurmdLogFile=$LOGD/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$ncpu RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    chmod 644 "$CONF"
    log "slurm.conf: $CONF (ctld port $ctld_port, slurmd port $slurmd_port, CPUs=$ncpu, RealMemory=$mem_mb)"
}

write_wrappers() {
    local b real
    mkdir -p "$BIN"
    for b in sbatch squeue scancel sinfo srun sacct scontrol salloc sstat sprio; do
        real=$(real_bin "$b")
        [ -x "$real" ] || continue
        cat >"$BIN/$b" <<EOF
#!/bin/sh
# wrapper generated by tests/slurm/cluster.sh: the snakemake slurm job step
# unsets SLURM_CONF, so pin this cluster's config here.
SLURM_CONF='$CONF'
export SLURM_CONF
exec '$real' "\$@"
EOF
        chmod 755 "$BIN/$b"
    done
}

# spawn daemon $1 in the foreground mode of its own session; record its pid
spawn() {
    local name=$1 pid
    shift
    setsid "$@" </dev/null >>"$LOGD/$name.out" 2>&1 &
    pid=$!
    echo "$pid" >"$RUN/$name.pid"
    sleep 0.3
    if ! live_pid "$name" >/dev/null; then
        # setsid forks when it happens to be a process group leader: fall
        # back to the pid file the daemon writes itself
        sleep 0.5
        cp -f "$RUN/$name.daemon.pid" "$RUN/$name.pid" 2>/dev/null || true
    fi
    if ! pid=$(live_pid "$name"); then
        log "$name exited immediately"
        return 1
    fi
    log "$name started (pid $pid)"
}

wait_for() {  # wait_for DESC CMD...  (polls up to START_TIMEOUT s)
    local desc=$1 i
    shift
    for ((i = 0; i < START_TIMEOUT * 2; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.5
    done
    log "timed out after ${START_TIMEOUT}s waiting for $desc"
    return 1
}

node_idle() {
    local st
    st=$("$BIN/sinfo" -h -N -n localhost -o %T 2>/dev/null) || return 1
    case "$st" in idle|idle\**|mixed|allocated) return 0 ;; *) return 1 ;; esac
}

fail_start() {
    log "cluster did not come up: $*"
    tails
    "$BIN/sinfo" -N -l >&2 2>/dev/null || true
    do_stop_daemons
    die "start failed (logs kept in $LOGD)"
}

do_start() {
    local t0=$SECONDS
    if all_running; then
        log "already running from $S"
        env_lines
        return 0
    fi
    # partial leftovers (e.g. one daemon died): start over cleanly
    do_stop_daemons
    ensure_installed

    [ "${#SOCK}" -le 100 ] || die "state dir path too long for a unix socket: $SOCK"

    mkdir -p "$S/etc" "$SOCKDIR" "$RUN" "$LOGD" "$S/spool/ctld" "$S/spool/slurmd" "$S/lib"
    : >"$MARKER"
    chmod 755 "$S" "$S/etc" "$SOCKDIR" "$RUN" "$LOGD"
    chmod 700 "$S/lib" "$S/spool/ctld" "$S/spool/slurmd"

    if [ ! -s "$KEY" ]; then
        if command -v mungekey >/dev/null 2>&1; then
            mungekey --create --keyfile="$KEY" --force >&2
        else
            dd if=/dev/urandom of="$KEY" bs=1024 count=1 status=none
        fi
    fi
    chmod 600 "$KEY"

    write_config
    write_wrappers

    # munged: own key, own socket; all files in the state dir
    spawn munged "$(real_bin munged)" --foreground \
        --socket="$SOCK" --key-file="$KEY" \
        --pid-file="$RUN/munged.daemon.pid" --log-file="$LOGD/munged.log" \
        --seed-file="$S/lib/munged.seed" \
        || fail_start "munged"
    wait_for "munge socket" sh -c "'$(real_bin munge)' -n -S '$SOCK' | '$(real_bin unmunge)' -S '$SOCK'" \
        || fail_start "munge credential round trip"

    spawn slurmctld "$(real_bin slurmctld)" -D -i -f "$CONF" || fail_start "slurmctld"
    wait_for "slurmctld" "$BIN/scontrol" ping || fail_start "scontrol ping"
    spawn slurmd "$(real_bin slurmd)" -D -N localhost -f "$CONF" || fail_start "slurmd"
    wait_for "node 'localhost' idle" node_idle || fail_start "node not idle"

    log "cluster hw1test up in $((SECONDS - t0))s; state dir $S"
    log "eval the following lines (or: eval \"\$($0 start $S)\"):"
    env_lines
}

# --------------------------------------------------------------------- stop ---

do_stop_daemons() {
    local i
    if live_pid slurmctld >/dev/null && [ -x "$BIN/scancel" ]; then
        # cancel whatever is still queued/running on THIS cluster only
        "$BIN/scancel" --user="$(id -un)" >/dev/null 2>&1 || true
        for ((i = 0; i < 50; i++)); do
            [ -z "$("$BIN/squeue" -h -t PD,R,CG,CF -o %i 2>/dev/null)" ] && break
            sleep 0.2
        done
    fi
    kill_daemon slurmd
    kill_daemon slurmctld
    kill_daemon munged
}

do_stop() {
    [ -e "$MARKER" ] || { log "no cluster state in $S"; return 0; }
    do_stop_daemons
    local d left=0
    for d in "${DAEMONS[@]}"; do
        if live_pid "$d" >/dev/null; then log "$d still alive"; left=1; fi
    done
    [ "$left" = 0 ] || die "some daemons survived"
    if [ "$CLEAN" = 1 ]; then
        rm -rf -- "$S"
        log "stopped; removed $S"
    else
        log "stopped; logs kept in $LOGD (use --clean to delete $S)"
    fi
}

# ------------------------------------------------------------------- status ---

do_status() {
    local d pid rc=0
    for d in "${DAEMONS[@]}"; do
        if pid=$(live_pid "$d"); then echo "$d: running (pid $pid)"; else echo "$d: not running"; rc=1; fi
    done
    if [ "$rc" = 0 ]; then
        "$BIN/sinfo" -N -l || rc=1
        "$BIN/squeue" -l || rc=1
    fi
    return "$rc"
}

case "$ACTION" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    *) usage ;;
esac
