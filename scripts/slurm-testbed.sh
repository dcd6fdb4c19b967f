#!/usr/bin/env bash
# slurm-testbed.sh - a one-node Slurm cluster with accounting, on loopback, without systemd.
#
# Usage (as root, on Debian 12):
#   scripts/slurm-testbed.sh install   install slurm-wlm, slurmdbd, munge, mariadb-server
#   scripts/slurm-testbed.sh start     configure and start munged, mariadbd, slurmdbd,
#                                      slurmctld, slurmd (installs first when needed)
#   scripts/slurm-testbed.sh stop      cancel jobs, stop the daemons this script started
#   scripts/slurm-testbed.sh restart   stop, then start
#   scripts/slurm-testbed.sh restart-slurmdbd
#                                      stop and start slurmdbd alone, in the caller's
#                                      environment (TZ sets the hours of its usage rollup)
#   scripts/slurm-testbed.sh status    show each daemon; exit 0 when the cluster is usable
#   scripts/slurm-testbed.sh purge     stop, drop the accounting DB, delete configs, state, logs
#
# Every command is idempotent. Daemons are started with stdin from /dev/null, their
# output in their log and every other inherited descriptor closed, so a piped caller
# (`start | tee`) returns. `stop` signals only the processes that `start` recorded in
# /run/slurm-testbed, after checking /proc/PID/comm; it never kills by name.
#
# Environment (defaults in brackets):
#   SLURM_TESTBED_CLUSTER [testbed]   SLURM_TESTBED_NODE [hostname -s]
#   SLURM_TESTBED_CPUS [8]            SLURM_TESTBED_MEM_MB [8000]
#   SLURM_TESTBED_ACCOUNT [research]  default account of every user
#   SLURM_TESTBED_EXTRA_ACCOUNTS [nlp]  more accounts, each user is associated with all
#   SLURM_TESTBED_USERS [root]        SLURM_TESTBED_DB_PASS [slurmtestbed]
#   SLURM_TESTBED_TIMEOUT [60]        seconds each daemon may take to become ready
# See docs/slurm-testbed.md for what this sets up, timings and known quirks.

set -Eeuo pipefail

PROG=${0##*/}
CLUSTER=${SLURM_TESTBED_CLUSTER:-testbed}
NODE=${SLURM_TESTBED_NODE:-$(hostname -s)}
CPUS=${SLURM_TESTBED_CPUS:-8}
MEM_MB=${SLURM_TESTBED_MEM_MB:-8000}
ACCOUNT=${SLURM_TESTBED_ACCOUNT:-research}
EXTRA_ACCOUNTS=${SLURM_TESTBED_EXTRA_ACCOUNTS-nlp}
USERS=${SLURM_TESTBED_USERS:-root}
DB_PASS=${SLURM_TESTBED_DB_PASS:-slurmtestbed}
TIMEOUT=${SLURM_TESTBED_TIMEOUT:-60}

PACKAGES=(slurm-wlm slurmdbd mariadb-server munge)
COMMANDS=(munged mariadbd mariadb-admin slurmdbd slurmctld slurmd sacctmgr sacct sreport sinfo)

SLURM_ETC=/etc/slurm
SLURM_LIB=/var/lib/slurm
SLURM_LOG=/var/log/slurm
SLURM_RUN=/run/slurm
FAKE_GPU_DIR=$SLURM_LIB/fake-gpu
OWN_DIR=/run/slurm-testbed            # PIDs of the daemons this script started
MARIADB_CNF=/etc/mysql/mariadb.conf.d/99-slurm-testbed.cnf
MARIADB_LOG=/var/log/mysql/slurm-testbed-mariadbd.log
MARIADB_PID=/run/mysqld/mysqld.pid
MARIADB_SOCK=/run/mysqld/mysqld.sock
MUNGE_KEY=/etc/munge/munge.key
MUNGE_LOG=/var/log/munge/munged.log
MUNGE_PID=/run/munge/munged.pid
JOB_DIR=/tmp/slurm-testbed-jobs
DB_NAME=slurm_acct_db
DB_USER=slurm

# name -> pid file, expected /proc/PID/comm, log
declare -A PIDFILE=(
  [munged]=$MUNGE_PID [mariadbd]=$MARIADB_PID [slurmdbd]=$SLURM_RUN/slurmdbd.pid
  [slurmctld]=$SLURM_RUN/slurmctld.pid [slurmd]=$SLURM_RUN/slurmd.pid)
declare -A LOGFILE=(
  [munged]=$MUNGE_LOG [mariadbd]=$MARIADB_LOG [slurmdbd]=$SLURM_LOG/slurmdbd.log
  [slurmctld]=$SLURM_LOG/slurmctld.log [slurmd]=$SLURM_LOG/slurmd.log)
START_ORDER=(munged mariadbd slurmdbd slurmctld slurmd)
STOP_ORDER=(slurmd slurmctld slurmdbd mariadbd munged)

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }
trap 'rc=$?; log "error: command failed (exit $rc) at line $LINENO: $BASH_COMMAND"; exit $rc' ERR

now_s() { date +%s.%N; }
elapsed_since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# Print the last lines of a log, indented, to stderr.
tail_log() {
  local f=$1 n=${2:-25}
  if [[ -s $f ]]; then
    log "last $n lines of $f:"
    tail -n "$n" "$f" | sed 's/^/    /' >&2
  else
    log "($f is empty or missing)"
  fi
}

need_root() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts system daemons); try: sudo $0 $*"
}

# ---------------------------------------------------------------- processes

pid_of() {  # pid_of NAME -> pid from the daemon's own pid file, if alive with the right comm
  local name=$1 f=${PIDFILE[$1]} pid
  [[ -r $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [[ -n $pid ]] && pid_is "$pid" "$name" && echo "$pid"
}

pid_is() {  # pid_is PID NAME: the process exists and /proc/PID/comm is NAME
  local comm
  [[ -r /proc/$1/comm ]] || return 1
  comm=$(<"/proc/$1/comm") || return 1
  [[ $comm == "${2:0:15}" ]]
}

owned_pid() {  # owned_pid NAME -> pid recorded by our start, if still that process
  local f=$OWN_DIR/$1.pid pid
  [[ -r $f ]] || return 1
  pid=$(tr -dc '0-9' <"$f")
  [[ -n $pid ]] && pid_is "$pid" "$1" && echo "$pid"
}

record_owned() { mkdir -p "$OWN_DIR"; echo "$2" >"$OWN_DIR/$1.pid"; }

close_fds() {  # in a subshell: close every descriptor above 2
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    [[ $fd =~ ^[0-9]+$ && $fd -gt 2 ]] && eval "exec $fd>&-" 2>/dev/null || true
  done
}

# spawn_fg LOG CMD...: run a self-daemonizing program; returns when its parent exits.
spawn_fg() {
  local logf=$1; shift
  ( close_fds; exec "$@" </dev/null >>"$logf" 2>&1 )
}

# spawn_bg LOG CMD...: run a program that stays in the foreground, in its own session;
# sets SPAWNED_PID (alive exactly as long as the program).
spawn_bg() {
  local logf=$1; shift
  ( close_fds; exec setsid -w "$@" </dev/null >>"$logf" 2>&1 ) &
  SPAWNED_PID=$!
}

alive() {  # alive PID: the process exists and is not a zombie
  local st
  [[ -r /proc/$1/stat ]] || return 1
  st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ ${st%% *} != Z ]]
}

# wait_ready NAME CHECK...: poll CHECK until it succeeds. Fail early when the daemon
# died: SPAWNED_PID (set by spawn_bg) is gone, or the pid file names a dead process,
# or no pid file appeared within 10 s.
wait_ready() {
  local name=$1; shift
  local t0 now dead=0 pidfile=${PIDFILE[$name]}
  t0=$(date +%s)
  while :; do
    if "$@" >/dev/null 2>&1; then return 0; fi
    now=$(date +%s)
    if [[ -n ${SPAWNED_PID:-} ]]; then
      alive "$SPAWNED_PID" || dead=$((dead + 1))
    elif [[ -e $pidfile ]]; then
      pid_of "$name" >/dev/null || dead=$((dead + 1))
    elif ((now - t0 >= 10)); then
      dead=$((dead + 1))
    fi
    if ((dead >= 4)); then
      tail_log "${LOGFILE[$name]}"
      die "$name exited during start-up (see its log above)"
    fi
    if ((now - t0 >= TIMEOUT)); then
      tail_log "${LOGFILE[$name]}"
      die "$name not ready after ${TIMEOUT}s (check: $*); raise SLURM_TESTBED_TIMEOUT if the machine is slow"
    fi
    sleep 0.25
  done
}

# clear_stale NAME: remove a pid file that names no live process of that name.
clear_stale() { pid_of "$1" >/dev/null || rm -f "${PIDFILE[$1]}"; }

# stop_daemon NAME: SIGTERM the process we started, wait up to 30 s, then SIGKILL.
stop_daemon() {
  local name=$1 pid i
  if ! pid=$(owned_pid "$name"); then
    if pid=$(pid_of "$name"); then
      log "$name (pid $pid) was not started by $PROG; leaving it running"
    fi
    rm -f "$OWN_DIR/$name.pid"
    return 0
  fi
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 120; i++)); do
    pid_is "$pid" "$name" || break
    sleep 0.25
  done
  if pid_is "$pid" "$name"; then
    log "$name (pid $pid) still running after 30 s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$OWN_DIR/$name.pid"
}

# ---------------------------------------------------------------- install

packages_installed() {
  local p st
  for p in "${PACKAGES[@]}"; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || return 1
    [[ $st == "install ok installed" ]] || return 1
  done
  for p in "${COMMANDS[@]}"; do
    command -v "$p" >/dev/null || [[ -x /usr/sbin/$p ]] || return 1
  done
}

cmd_install() {
  need_root install
  command -v apt-get >/dev/null || die "apt-get not found: this script needs Debian 12 (bookworm) or similar"
  if packages_installed; then
    log "packages already installed: ${PACKAGES[*]}"
    return 0
  fi
  local t0 aptlog made_policy=0 rc=0
  t0=$(now_s)
  aptlog=$(mktemp /tmp/slurm-testbed-apt.XXXXXX)
  # Keep package scripts from starting daemons: this script starts them itself.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# written by %s during install; removed afterwards\nexit 101\n' "$PROG" \
      >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  local apt_install=(apt-get install -y --no-install-recommends
                     -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
                     "${PACKAGES[@]}")
  local policy
  policy=$(apt-cache policy slurm-wlm 2>/dev/null || true)
  if [[ ! $policy =~ Candidate:\ [0-9] ]]; then
    log "package lists lack slurm-wlm; running apt-get update"
    apt-get update >>"$aptlog" 2>&1 || rc=$?
  fi
  log "installing ${PACKAGES[*]} (apt log: $aptlog)"
  if ! "${apt_install[@]}" >>"$aptlog" 2>&1; then
    log "apt-get install failed; running apt-get update and trying once more"
    { apt-get update && "${apt_install[@]}"; } >>"$aptlog" 2>&1 || rc=$?
  fi
  [[ $made_policy -eq 1 ]] && rm -f /usr/sbin/policy-rc.d
  if [[ $rc -ne 0 ]] || ! packages_installed; then
    tail_log "$aptlog" 30
    die "could not install ${PACKAGES[*]} (full apt log: $aptlog)"
  fi
  rm -f "$aptlog"
  log "installed in $(elapsed_since "$t0") s: $(dpkg-query -W -f='${Package} ${Version}\n' "${PACKAGES[@]}" | paste -sd, -)"
}

# ---------------------------------------------------------------- configuration

write_if_changed() {  # write_if_changed PATH MODE < content; sets CONFIG_CHANGED=1 on change
  local path=$1 mode=$2 tmp
  tmp=$(mktemp "$path.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  if [[ -f $path ]] && cmp -s "$tmp" "$path"; then
    rm -f "$tmp"
  else
    mv -f "$tmp" "$path"
    CONFIG_CHANGED=1
  fi
}

make_fake_gpus() {
  local i dev
  mkdir -p "$FAKE_GPU_DIR"
  for i in 0 1 2 3 4 5; do
    dev=$FAKE_GPU_DIR/nvidia$i
    [[ -e $dev ]] && continue
    # Slurm drops GPUs without File=; character devices (clones of /dev/null) keep
    # slurmd's log clean. Plain files work too, with a warning per file.
    mknod -m 666 "$dev" c 1 3 2>/dev/null || { touch "$dev"; chmod 666 "$dev"; }
  done
}

write_configs() {
  CONFIG_CHANGED=0
  mkdir -p "$SLURM_ETC" "$SLURM_LIB/slurmctld" "$SLURM_LIB/slurmd" "$SLURM_LOG" "$SLURM_RUN" \
           /etc/mysql/mariadb.conf.d "$JOB_DIR"
  chmod 1777 "$JOB_DIR"
  make_fake_gpus

  write_if_changed "$SLURM_ETC/slurm.conf" 0644 <<EOF
# Written by $PROG: a one-node test cluster on loopback. Do not edit; rerun the script.
ClusterName=$CLUSTER
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$SLURM_LIB/slurmctld
SlurmdSpoolDir=$SLURM_LIB/slurmd
SlurmctldPidFile=${PIDFILE[slurmctld]}
SlurmdPidFile=${PIDFILE[slurmd]}
SlurmctldLogFile=${LOGFILE[slurmctld]}
SlurmdLogFile=${LOGFILE[slurmd]}
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=5
# Every job gets an .extern step, as on clusters that use pam_slurm_adopt.
PrologFlags=Contain
# The node may claim more CPUs and memory than the machine has.
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Without it a job gets the whole node's memory.
DefMemPerCPU=512
ReturnToService=2
# Realistic 6-digit job ids.
FirstJobId=100000
SlurmdTimeout=300
InactiveLimit=0
MinJobAge=300
KillWait=5
OverTimeLimit=0
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu,gres/gpu:titanx,gres/gpu:m40
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
GresTypes=gpu
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$NODE CPUs=$CPUS Boards=1 SocketsPerBoard=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$MEM_MB Gres=gpu:titanx:4,gpu:m40:2 State=UNKNOWN
PartitionName=cpu Nodes=ALL Default=YES MaxTime=7-00:00:00 State=UP
PartitionName=gpu Nodes=ALL Default=NO MaxTime=2-00:00:00 State=UP
EOF

  write_if_changed "$SLURM_ETC/gres.conf" 0644 <<EOF
# Written by $PROG: fake GPUs, each backed by a clone of /dev/null.
AutoDetect=off
NodeName=$NODE Name=gpu Type=titanx File=$FAKE_GPU_DIR/nvidia[0-3]
NodeName=$NODE Name=gpu Type=m40 File=$FAKE_GPU_DIR/nvidia[4-5]
EOF

  write_if_changed "$SLURM_ETC/slurmdbd.conf" 0600 <<EOF
# Written by $PROG.
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
DebugLevel=info
LogFile=${LOGFILE[slurmdbd]}
PidFile=${PIDFILE[slurmdbd]}
StorageType=accounting_storage/mysql
StorageHost=localhost
StoragePort=3306
StorageUser=$DB_USER
StoragePass=$DB_PASS
StorageLoc=$DB_NAME
EOF
  chown root:root "$SLURM_ETC/slurmdbd.conf"

  write_if_changed "$MARIADB_CNF" 0644 <<EOF
# Written by $PROG for slurmdbd.
[mysqld]
bind-address=127.0.0.1
innodb_buffer_pool_size=1024M
innodb_lock_wait_timeout=900
max_allowed_packet=64M
EOF

  if [[ $CONFIG_CHANGED -eq 1 ]] && pid_of slurmctld >/dev/null; then
    log "warning: the configuration changed while slurmctld runs; run '$PROG restart' to apply it"
  fi
}

# ---------------------------------------------------------------- daemons

munge_ok() { munge -n </dev/null | unmunge >/dev/null; }

# start_daemon NAME CHECK: nothing to do when NAME runs and CHECK passes; wait for it
# when it runs but is not ready yet; otherwise spawn it (spawn_NAME) and record its pid
# as ours.
start_daemon() {
  local name=$1 check=$2
  SPAWNED_PID=
  if pid_of "$name" >/dev/null; then
    "$check" >/dev/null 2>&1 || wait_ready "$name" "$check"
    return 0
  fi
  clear_stale "$name"
  "spawn_$name"
  wait_ready "$name" "$check"
  SPAWNED_PID=
  record_owned "$name" "$(pid_of "$name")"
}

# spawn_fg_or_die NAME CMD...: a self-daemonizing start whose parent must exit 0.
spawn_fg_or_die() {
  local name=$1; shift
  if ! spawn_fg "${LOGFILE[$name]}" "$@"; then
    tail_log "${LOGFILE[$name]}"
    die "$name failed to start (see its log above)"
  fi
}

spawn_munged() {
  if [[ ! -s $MUNGE_KEY ]]; then
    log "creating a new munge key"
    mkdir -p /etc/munge
    if command -v mungekey >/dev/null; then
      mungekey --create --keyfile="$MUNGE_KEY" --force
    else
      dd if=/dev/urandom bs=1 count=1024 of="$MUNGE_KEY" status=none
    fi
  fi
  chown munge:munge "$MUNGE_KEY"
  chmod 0400 "$MUNGE_KEY"
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  # munged refuses a log file that it does not own: create it as munge first.
  [[ -e $MUNGE_LOG ]] || install -o munge -g munge -m 0640 /dev/null "$MUNGE_LOG"
  spawn_fg_or_die munged runuser -u munge -- munged
}

mariadb_ok() { mariadb-admin --protocol=socket --socket="$MARIADB_SOCK" ping; }

spawn_mariadbd() {
  install -d -o mysql -g mysql -m 0755 /run/mysqld /var/log/mysql
  [[ -e $MARIADB_LOG ]] || install -o mysql -g adm -m 0640 /dev/null "$MARIADB_LOG"
  if [[ ! -d /var/lib/mysql/mysql ]]; then
    log "initializing the MariaDB data directory"
    install -d -o mysql -g mysql -m 0755 /var/lib/mysql
    if ! mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db \
         --auth-root-authentication-method=socket >>"$MARIADB_LOG" 2>&1; then
      tail_log "$MARIADB_LOG"
      die "mariadb-install-db failed"
    fi
  fi
  spawn_bg "$MARIADB_LOG" mariadbd --user=mysql --pid-file="$MARIADB_PID" --socket="$MARIADB_SOCK"
}

start_mariadbd() {
  # A MariaDB that answers on the socket is used as it is, whoever started it.
  if mariadb_ok >/dev/null 2>&1; then return 0; fi
  start_daemon mariadbd mariadb_ok
}

setup_database() {
  mariadb --protocol=socket --socket="$MARIADB_SOCK" <<EOF
CREATE DATABASE IF NOT EXISTS $DB_NAME;
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'localhost';
FLUSH PRIVILEGES;
EOF
}

slurmdbd_ok() { timeout 10 sacctmgr -n -P show cluster format=cluster; }
spawn_slurmdbd() { spawn_fg_or_die slurmdbd slurmdbd; }

setup_accounting() {
  local acct user
  if ! sacctmgr -n -P show cluster format=cluster | grep -x "$CLUSTER" >/dev/null; then
    sacctmgr -i add cluster "$CLUSTER" >/dev/null
  fi
  for acct in $ACCOUNT $EXTRA_ACCOUNTS; do
    if ! sacctmgr -n -P show account "$acct" format=account | grep -x "$acct" >/dev/null; then
      sacctmgr -i add account "$acct" Cluster="$CLUSTER" Description="$acct" \
        Organization=testbed >/dev/null
    fi
    for user in $USERS; do
      if ! sacctmgr -n -P show assoc where cluster="$CLUSTER" account="$acct" user="$user" \
           format=user | grep -x "$user" >/dev/null; then
        sacctmgr -i add user "$user" Account="$acct" Cluster="$CLUSTER" >/dev/null
      fi
    done
  done
  for user in $USERS; do
    if [[ $(sacctmgr -n -P show user "$user" format=defaultaccount) != "$ACCOUNT" ]]; then
      sacctmgr -i modify user where name="$user" set DefaultAccount="$ACCOUNT" >/dev/null
    fi
  done
}

slurmctld_ok() { scontrol ping | grep 'is UP' >/dev/null; }
spawn_slurmctld() { spawn_fg_or_die slurmctld slurmctld; }

node_state() { sinfo -h -N -n "$NODE" -o %T 2>/dev/null | head -n 1; }

node_usable() {
  case $(node_state) in
    idle|mixed|allocated|completing) return 0 ;;
    *) return 1 ;;
  esac
}

node_ok() {
  case $(node_state) in
    idle|mixed|allocated|completing) return 0 ;;
    *drain*|*inval*|down)
      # ReturnToService=2 does not undo a drain: resume the node once it has registered.
      scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 || true
      return 1 ;;
    *) return 1 ;;
  esac
}

spawn_slurmd() { spawn_fg_or_die slurmd slurmd -N "$NODE"; }

start_slurmd() {
  if ! (start_daemon slurmd node_ok); then
    log "node $NODE is '$(node_state)'; reason: $(sinfo -h -R -n "$NODE" -o %E 2>/dev/null)"
    exit 1
  fi
}

start_munged() { start_daemon munged munge_ok; }
start_slurmdbd() { start_daemon slurmdbd slurmdbd_ok; }
start_slurmctld() { start_daemon slurmctld slurmctld_ok; }

cmd_start() {
  need_root start
  local t0 d t
  t0=$(now_s)
  packages_installed || cmd_install
  write_configs
  for d in "${START_ORDER[@]}"; do
    t=$(now_s)
    "start_$d"
    case $d in
      mariadbd) setup_database ;;
      slurmdbd) setup_accounting ;;
    esac
    log "$d ready ($(elapsed_since "$t") s)"
  done
  log "cluster '$CLUSTER' is up in $(elapsed_since "$t0") s: node $NODE, $CPUS CPUs, ${MEM_MB} MB," \
      "GPUs titanx:4 m40:2, accounts: $ACCOUNT $EXTRA_ACCOUNTS"
}

cancel_jobs() {
  local users u i
  slurmctld_ok 2>/dev/null || return 0
  users=$(squeue -h -o %u 2>/dev/null | sort -u) || return 0
  [[ -n $users ]] || return 0
  for u in $users; do
    log "cancelling the jobs of $u"
    scancel -u "$u" 2>/dev/null || true
  done
  for ((i = 0; i < 120; i++)); do
    [[ -z $(squeue -h -t R,CG,CF,S 2>/dev/null) ]] && return 0
    sleep 0.25
  done
  log "warning: jobs still running or completing after 30 s"
}

cmd_stop() {
  need_root stop
  local t0 d
  t0=$(now_s)
  if owned_pid slurmctld >/dev/null || owned_pid slurmd >/dev/null; then
    cancel_jobs
  fi
  for d in "${STOP_ORDER[@]}"; do
    stop_daemon "$d"
  done
  log "stopped in $(elapsed_since "$t0") s"
}

# Restart slurmdbd alone. It inherits the caller's environment: its TZ decides where its
# hourly usage rollup puts hour boundaries (tests/integration shifts them that way).
# slurmctld keeps running and queues its accounting messages until slurmdbd is back.
cmd_restart_slurmdbd() {
  need_root restart-slurmdbd
  local t0
  t0=$(now_s)
  if pid_of slurmdbd >/dev/null && ! owned_pid slurmdbd >/dev/null; then
    die "slurmdbd (pid $(pid_of slurmdbd)) was not started by $PROG; not restarting it"
  fi
  stop_daemon slurmdbd
  start_slurmdbd
  log "slurmdbd restarted in $(elapsed_since "$t0") s (TZ=${TZ-unset})"
}

cmd_status() {
  local d pid up=0 how
  for d in "${START_ORDER[@]}"; do
    if pid=$(pid_of "$d"); then
      how="not started by $PROG"
      [[ $(owned_pid "$d" 2>/dev/null) == "$pid" ]] && how="started by $PROG"
      printf '%-10s running (pid %s, %s)\n' "$d" "$pid" "$how"
      up=$((up + 1))
    else
      printf '%-10s stopped\n' "$d"
    fi
  done
  if [[ $up -eq ${#START_ORDER[@]} ]] && slurmctld_ok 2>/dev/null && node_usable; then
    sinfo -N -o '%N %P %T %c %m %G' 2>/dev/null || true
    echo "cluster '$CLUSTER' is usable"
    return 0
  fi
  echo "cluster '$CLUSTER' is not usable (run: $0 start)"
  return 3
}

cmd_purge() {
  need_root purge
  local t0 d
  t0=$(now_s)
  if owned_pid slurmctld >/dev/null; then
    cancel_jobs
  fi
  for d in slurmd slurmctld slurmdbd; do
    stop_daemon "$d"
  done
  if command -v mariadbd >/dev/null || [[ -x /usr/sbin/mariadbd ]]; then
    if ! mariadb_ok >/dev/null 2>&1; then
      start_mariadbd
    fi
    log "dropping database $DB_NAME and user $DB_USER"
    mariadb --protocol=socket --socket="$MARIADB_SOCK" \
      -e "DROP DATABASE IF EXISTS $DB_NAME; DROP USER IF EXISTS '$DB_USER'@'localhost';"
  fi
  stop_daemon mariadbd
  stop_daemon munged
  rm -f "$SLURM_ETC/slurm.conf" "$SLURM_ETC/gres.conf" "$SLURM_ETC/slurmdbd.conf" "$MARIADB_CNF"
  rm -rf "$SLURM_LIB/slurmctld" "$SLURM_LIB/slurmd" "$FAKE_GPU_DIR" "$JOB_DIR"
  rm -f "$SLURM_LOG"/*.log "$MARIADB_LOG"
  log "purged in $(elapsed_since "$t0") s (packages, the munge key and MariaDB's system tables stay)"
}

usage() {
  sed -n '2,/^$/{s/^# \{0,1\}//;p}' "$0" | sed '/^$/q'
}

main() {
  local cmd=${1:-}
  case $cmd in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_stop; cmd_start ;;
    restart-slurmdbd) cmd_restart_slurmdbd ;;
    status) cmd_status ;;
    purge) cmd_purge ;;
    -h|--help|help) usage ;;
    "") usage >&2; exit 2 ;;
    *) log "unknown command '$cmd'"; usage >&2; exit 2 ;;
  esac
}

main "$@"
