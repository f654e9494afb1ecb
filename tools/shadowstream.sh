#!/usr/bin/env bash
# shadowstream: runs the standard pipeline as two supervised groups of stages,
#   realtime:  ss-capture | ss-buffer                     (PostgreSQL -> Redis)
#   archiver:  ss-buffer read --group G | ss-archive      (Redis -> Kafka)
# each wired with a data FIFO and an acknowledgement FIFO (docs/CONTRACTS.md), so a stage that dies is restarted with its
# partner and the pair resumes from what was acknowledged: nothing lost, nothing twice.
set -uo pipefail

VERSION=0.1.0
PROG=shadowstream

usage() {
  cat <<'EOF'
Run the ShadowStream pipeline: capture -> Redis (real time) and Redis -> Kafka (archiver), supervised.
Usage: shadowstream [OPTIONS] COMMAND

Commands:
  up                          Start the pipeline in the background (or in the foreground with --foreground)
  down                        Stop it gracefully, in order: capture, buffer, reader, archive
  restart                     down, then up
  status                      Stages, pids, uptime, restarts, and the pipeline's lag (exit 3 when down)
  logs [STAGE]                Recent log lines (STAGE: supervisor, capture, buffer, reader, archive,
                              checkpoint)
  drain                       Archive what the Redis stream holds to Kafka once, acknowledged end to end, and
                              exit (for cron; a run killed midway loses nothing: the next one completes it)
  checkpoint                  Archive a checkpoint of the published tables now, beside the running pipeline;
                              the supervisor also takes one every CHECKPOINT_EVERY (default 24h)
  recover                     With the pipeline down, after its replication slot was lost (capture stopped
                              with 66): archive what the Redis stream holds, make a new slot and archive a
                              checkpoint from it, the archive stating the gap; then up goes on
  remove                      With the pipeline down: drop its replication slot (which keeps WAL on the
                              source until dropped) and its publication if ss-capture created it, and the
                              state directory; the Redis stream and the Kafka archive keep their data

Options:
  -h,--help                   Print this help message and exit
  -c,--config FILE            Configuration file (default: $SHADOWSTREAM_CONF, ./shadowstream.conf,
                              /etc/shadowstream/shadowstream.conf)
  --foreground                With up: supervise in the foreground (for systemd)
  -f,--follow                 With logs: keep printing new lines (as tail -F)
  --lines N                   With logs: how many recent lines (default 20)
  --json                      With status: the lag sample as JSON
  -V,--version                Display program version information and exit
EOF
}

die() { # die CODE MESSAGE
  echo "$PROG: $2" >&2
  exit "$1"
}

# --- configuration --------------------------------------------------------------------------------------------
# shadowstream.conf is KEY=value lines (shell-style: '#' comments, optional quotes), read as data, never executed.
# The environment wins over the file, so one-off overrides need no edit.
# The keys are lib/core/conf.h's kKeys (stamped here by the Makefile; tests/check-docs keeps this copy equal).
CONF_KEYS="STATE_DIR PG_CONNINFO SLOT PUBLICATION TABLES SOURCE REDIS_URL KAFKA_BROKERS TOPIC ARCHIVER_GROUP CAPTURE_OPTS BUFFER_OPTS READER_OPTS ARCHIVE_OPTS BACKOFF_MAX STOP_TIMEOUT HEALTHY_AFTER CHECKPOINT_EVERY CHECKPOINT_OPTS METRICS_DIR"

load_config() {
  local file=$1 line key value n=0
  if [ -z "$file" ]; then
    for f in "${SHADOWSTREAM_CONF:-}" ./shadowstream.conf /etc/shadowstream/shadowstream.conf; do
      [ -n "$f" ] && [ -f "$f" ] && file=$f && break
    done
  fi
  CONF_FILE=$file
  if [ -n "$file" ]; then
    [ -r "$file" ] || die 66 "cannot read configuration file $file"
    while IFS= read -r line || [ -n "$line" ]; do
      n=$((n + 1))
      line=${line%$'\r'}
      line="${line#"${line%%[![:space:]]*}"}"
      case $line in '' | '#'*) continue ;; esac
      [[ $line =~ ^([A-Z_][A-Z0-9_]*)=(.*)$ ]] || die 78 "$file:$n: expected KEY=value, got: $line"
      key=${BASH_REMATCH[1]}
      value=${BASH_REMATCH[2]}
      case " $CONF_KEYS " in *" $key "*) ;; *) die 78 "$file:$n: unknown key $key (see shadowstream(1))" ;; esac
      if [[ $value =~ ^\"(.*)\"$ ]] || [[ $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
      [ -z "${!key+x}" ] && printf -v "$key" '%s' "$value" && export "${key?}"
    done <"$file"
  fi
  : "${STATE_DIR:=${XDG_RUNTIME_DIR:-/tmp}/shadowstream-$(id -u)}"
  : "${PG_CONNINFO:=}" "${SLOT:=shadowstream}" "${PUBLICATION:=shadowstream}" "${TABLES:=}"
  : "${SOURCE:=${PGDATABASE:-${PG_DATABASE:-postgres}}}"
  : "${TOPIC:=shadowstream.archive}" "${ARCHIVER_GROUP:=archiver}"
  : "${CAPTURE_OPTS:=}" "${BUFFER_OPTS:=}" "${READER_OPTS:=}" "${ARCHIVE_OPTS:=}"
  : "${BACKOFF_MAX:=30}" "${STOP_TIMEOUT:=30}" "${HEALTHY_AFTER:=60}"
  : "${CHECKPOINT_EVERY:=24h}" "${CHECKPOINT_OPTS:=}" "${METRICS_DIR:=}"
  case $CHECKPOINT_EVERY in
  off | 0) CHECKPOINT_SECONDS=0 ;;
  *)
    [[ $CHECKPOINT_EVERY =~ ^([0-9]+)(s|m|h|d)?$ ]] ||
      die 78 "CHECKPOINT_EVERY takes a duration like 24h, 90m or 7d (or off), got \"$CHECKPOINT_EVERY\""
    local n=${BASH_REMATCH[1]} mult=1
    case ${BASH_REMATCH[2]} in m) mult=60 ;; h) mult=3600 ;; d) mult=86400 ;; esac
    CHECKPOINT_SECONDS=$((10#$n * mult))
    ;;
  esac
  [[ $BACKOFF_MAX =~ ^[0-9]+$ && $STOP_TIMEOUT =~ ^[0-9]+$ && $HEALTHY_AFTER =~ ^[0-9]+$ ]] ||
    die 78 "BACKOFF_MAX, STOP_TIMEOUT and HEALTHY_AFTER are whole seconds"
  export REDIS_URL KAFKA_BROKERS 2>/dev/null || true
  # The stages' metrics carry source="$SOURCE": two pipelines on one host never write the same series.
  export SS_METRICS_SOURCE=${SS_METRICS_SOURCE:-$SOURCE}
  LOG_DIR=$STATE_DIR/log
  PIDFILE=$STATE_DIR/supervisor.pid
  STAGES=$STATE_DIR/stages
  SLOT_MARK=$STATE_DIR/slot-made # ss-capture --slot-mark: once the slot was made, a missing one is a lost one
  FAILED=$STATE_DIR/failed # "stage status last-line" of a stage that failed permanently (66, 77, 78)
}

# --- supervisor -----------------------------------------------------------------------------------------------
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $*" >>"$LOG_DIR/supervisor.log"; }

declare -A PID STARTED RESTARTS FAILS GROUP_OF

write_stages() {
  local s tmp=$STAGES.tmp
  : >"$tmp"
  for s in capture buffer reader archive; do
    echo "$s ${PID[$s]:-0} ${STARTED[$s]:-0} ${RESTARTS[${GROUP_OF[$s]}]:-0}" >>"$tmp"
  done
  mv "$tmp" "$STAGES"
}

# Checked once, before anything starts: a stage that cannot write its file exits 78, which would stop the pipeline.
check_metrics_dir() {
  [ -n "$METRICS_DIR" ] || return 0
  [[ $METRICS_DIR$SOURCE =~ ^[A-Za-z0-9/._@+-]+$ ]] ||
    die 78 "METRICS_DIR and SOURCE may hold only letters, digits and / . _ @ + - (the stages get them as flags)"
  mkdir -p "$METRICS_DIR" 2>/dev/null || die 78 "METRICS_DIR $METRICS_DIR cannot be created"
  local probe="$METRICS_DIR/.shadowstream-$SOURCE.probe"
  { : >"$probe" && rm -f "$probe"; } 2>/dev/null || die 78 "METRICS_DIR $METRICS_DIR is not writable by $(id -un)"
}

# --metrics-file for a stage when METRICS_DIR is set: one node_exporter textfile per source and stage.
metrics_flag() { # metrics_flag STAGE
  [ -n "$METRICS_DIR" ] && printf '%s\n' "--metrics-file=$METRICS_DIR/shadowstream-$SOURCE-$1.prom"
}

# The stages' command lines, one place each (the pipeline, the checkpointer and drain add what differs): each sets
# ARGV, for the caller to run in the foreground or as a job of its own whose $! is the tool itself.
capture_argv() { # capture_argv ARGS...
  ARGV=(ss-capture ${PG_CONNINFO:+--dbname "$PG_CONNINFO"} --slot "$SLOT" --publication "$PUBLICATION"
    --source-name "$SOURCE")
  local t
  for t in $TABLES; do ARGV+=(--table "$t"); done
  ARGV+=("$@")
}
archive_argv() { ARGV=(ss-archive --topic "$TOPIC" "$@"); }                                # archive_argv ARGS...
reader_argv() { ARGV=(ss-buffer read --source "$SOURCE" --group "$ARCHIVER_GROUP" "$@"); } # reader_argv ARGS...

start_group() { # start_group realtime|archiver: the downstream stage first, so the FIFOs have a reader
  local g=$1 d=$STATE_DIR/$1 now
  rm -rf "$d"
  mkdir -p "$d"
  mkfifo "$d/data" "$d/ack"
  now=$(date +%s)
  local ARGV
  # (Unquoted: the *_OPTS settings are lists of flags, split on spaces as documented.)
  # shellcheck disable=SC2086
  if [ "$g" = realtime ]; then
    ss-buffer --no-passthrough --ack "$d/ack" $(metrics_flag buffer) $BUFFER_OPTS <"$d/data" 2>>"$LOG_DIR/buffer.log" &
    PID[buffer]=$!
    capture_argv --ack-from "$d/ack" --slot-mark "$SLOT_MARK" $(metrics_flag capture) $CAPTURE_OPTS
    "${ARGV[@]}" >"$d/data" 2>>"$LOG_DIR/capture.log" &
    PID[capture]=$!
    STARTED[buffer]=$now STARTED[capture]=$now
  else
    archive_argv --ack "$d/ack" $(metrics_flag archive) $ARCHIVE_OPTS
    "${ARGV[@]}" <"$d/data" 2>>"$LOG_DIR/archive.log" &
    PID[archive]=$!
    reader_argv --ack-from "$d/ack" $(metrics_flag reader) $READER_OPTS
    "${ARGV[@]}" >"$d/data" 2>>"$LOG_DIR/reader.log" &
    PID[reader]=$!
    STARTED[archive]=$now STARTED[reader]=$now
  fi
  log "started $g: $(group_stages "$g" | while read -r s; do printf '%s=%s ' "$s" "${PID[$s]}"; done)"
  write_stages
}

# One checkpoint, archived beside the running pipeline: its own connections, a temporary slot and its own
# transactional id (ss-archive picks shadowstream-checkpoint-SOURCE), so the capture and the archiver go on.
run_checkpoint() {
  local ARGV capture
  # shellcheck disable=SC2086
  capture_argv --checkpoint $CHECKPOINT_OPTS
  capture=("${ARGV[@]}")
  # shellcheck disable=SC2086
  archive_argv $ARCHIVE_OPTS
  "${capture[@]}" | "${ARGV[@]}"
}

# Every CHECKPOINT_EVERY after the last checkpoint it took (kept across restarts in STATE_DIR/last-checkpoint; the
# initial snapshot counts as the first). A failed one is tried again after a tenth of the interval.
checkpointer() {
  local last due waiter=0
  # On TERM: stop what runs now (a wait, or the checkpoint pipeline in its own process group), then exit.
  trap '((waiter)) && kill -TERM -- "-$waiter" "$waiter" 2>/dev/null; exit 0' TERM
  [ -s "$STATE_DIR/last-checkpoint" ] || date +%s >"$STATE_DIR/last-checkpoint"
  while :; do
    last=$(cat "$STATE_DIR/last-checkpoint" 2>/dev/null || date +%s)
    due=$((last + CHECKPOINT_SECONDS - $(date +%s)))
    if ((due > 0)); then
      sleep "$due" &
      waiter=$!
      wait "$waiter"
      waiter=0
      continue
    fi
    log "checkpoint: starting"
    export PG_CONNINFO SLOT PUBLICATION SOURCE TABLES TOPIC ARCHIVE_OPTS CHECKPOINT_OPTS
    setsid -w bash -o pipefail -c "$(declare -f run_checkpoint capture_argv archive_argv); run_checkpoint" </dev/null \
      2>>"$LOG_DIR/checkpoint.log" &
    waiter=$!
    if wait "$waiter"; then
      waiter=0
      date +%s >"$STATE_DIR/last-checkpoint"
      log "checkpoint: archived"
    else
      waiter=0
      log "checkpoint: failed: $(last_words checkpoint)"
      sleep $((CHECKPOINT_SECONDS / 10 + 1)) &
      waiter=$!
      wait "$waiter"
      waiter=0
    fi
  done
}

group_stages() { if [ "$1" = realtime ]; then printf 'capture\nbuffer\n'; else printf 'reader\narchive\n'; fi; }

stop_pid() { # stop_pid PID: SIGTERM, then SIGKILL after STOP_TIMEOUT seconds
  local p=$1 i
  [ -n "$p" ] && [ "$p" != 0 ] || return 0
  if ! kill -TERM "$p" 2>/dev/null; then
    wait "$p" 2>/dev/null # already gone: reap it here, not in the main loop
    return 0
  fi
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$p" 2>/dev/null; then
    log "pid $p did not stop within ${STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "$p" 2>/dev/null
  fi
  wait "$p" 2>/dev/null
}

# In order: the producer of each pair first, so its consumer drains the pipe, stores, acknowledges and exits on EOF.
stop_group() {
  local g=$1 s
  for s in $(group_stages "$g"); do stop_pid "${PID[$s]:-}"; done
  for s in $(group_stages "$g"); do PID[$s]=0; done
}

describe_exit() {
  if (($1 > 128)); then echo "was killed by SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"; else echo "exited with status $1"; fi
}

last_words() { tail -n 1 "$LOG_DIR/$1.log" 2>/dev/null | cut -c1-300; }

supervise() {
  mkdir -p "$LOG_DIR" || die 73 "cannot create $LOG_DIR"
  echo $$ >"$PIDFILE"
  GROUP_OF=([capture]=realtime [buffer]=realtime [reader]=archiver [archive]=archiver)
  RESTARTS=([realtime]=0 [archiver]=0)
  FAILS=([realtime]=0 [archiver]=0)
  local stopping=0
  trap 'stopping=1' TERM INT
  log "supervisor $$ up (state in $STATE_DIR)"
  start_group realtime
  start_group archiver
  local checkpointer_pid=0
  if ((CHECKPOINT_SECONDS > 0)); then
    checkpointer </dev/null &
    checkpointer_pid=$!
  fi
  local dead st s g other delay pst words
  while :; do
    dead=""
    wait -n -p dead 2>/dev/null # bash's own "line N: PID Killed ..." notice is not a line for the log
    st=$?
    if ((stopping)); then
      log "stopping: capture, buffer, reader, archive"
      ((checkpointer_pid)) && stop_pid "$checkpointer_pid"
      stop_group realtime
      stop_group archiver
      jobs -p | xargs -r kill 2>/dev/null # the placeholder sleep, if any
      log "supervisor $$ down"
      rm -f "$PIDFILE"
      write_stages
      exit 0
    fi
    [ -n "$dead" ] || continue
    s=""
    for g in capture buffer reader archive; do [ "${PID[$g]:-}" = "$dead" ] && s=$g; done
    [ -n "$s" ] || continue # a helper (sleep) of ours
    g=${GROUP_OF[$s]}
    words=$(last_words "$s")
    log "$s (pid $dead) $(describe_exit "$st")${words:+: $words}"
    # Its partner holds the other end of both FIFOs: the pair restarts together and resumes from the acks.
    for other in $(group_stages "$g"); do
      [ "$other" = "$s" ] && continue
      if kill -0 "${PID[$other]}" 2>/dev/null; then
        stop_pid "${PID[$other]}"
      else
        wait "${PID[$other]}" 2>/dev/null
        pst=$?
        log "$other (pid ${PID[$other]}) $(describe_exit $pst): $(last_words "$other")"
        # wait -n reports the older of two dead jobs first: the partner may be the one that failed for good.
        if ((pst == 66 || pst == 77 || pst == 78)); then
          s=$other
          st=$pst
        fi
      fi
    done
    # Refused credentials (77), configuration (78) and a slot gone from the source (66: a restart would start a new
    # one past the lost changes) are not outages: a restart would fail the same way, or worse. The group stays down,
    # `status` names it, and `shadowstream restart` tries again once it is fixed.
    if ((st == 66 || st == 77 || st == 78)); then
      echo "$s $st $(last_words "$s")" >>"$FAILED"
      log "$s failed permanently (status $st): not restarting $g until the configuration is fixed (shadowstream restart)"
      for other in $(group_stages "$g"); do PID[$other]=0; done
      write_stages
      # Something must remain to wait for, or `wait -n` would return at once, for ever.
      if ! jobs -r | grep -q .; then
        sleep 2147483647 &
      fi
      continue
    fi
    if (($(date +%s) - ${STARTED[$s]:-0} >= HEALTHY_AFTER)); then FAILS[$g]=0; fi
    FAILS[$g]=$((FAILS[$g] + 1))
    delay=$((1 << (FAILS[$g] - 1 < 5 ? FAILS[$g] - 1 : 5)))
    ((delay > BACKOFF_MAX)) && delay=$BACKOFF_MAX
    RESTARTS[$g]=$((RESTARTS[$g] + 1))
    log "restarting $g in ${delay}s (restart ${RESTARTS[$g]})"
    sleep "$delay" &
    wait $! 2>/dev/null
    ((stopping)) && continue
    start_group "$g"
  done
}

# --- commands -------------------------------------------------------------------------------------------------
running_pid() {
  local p
  p=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

cmd_up() {
  local p
  if p=$(running_pid); then die 75 "already running (supervisor pid $p); 'shadowstream down' first"; fi
  for t in ss-capture ss-buffer ss-archive; do
    command -v "$t" >/dev/null || die 69 "$t not found on PATH"
  done
  mkdir -p "$LOG_DIR" || die 73 "cannot create $LOG_DIR"
  check_metrics_dir
  rm -f "$FAILED"
  if ((FOREGROUND)); then
    supervise
  fi
  setsid "$0" ${CONFIG:+--config "$CONFIG"} _supervise </dev/null >>"$LOG_DIR/supervisor.log" 2>&1 &
  local i
  for ((i = 0; i < 100; i++)); do
    if p=$(running_pid) && [ -s "$STAGES" ]; then break; fi
    sleep 0.1
  done
  ((i < 100)) || die 70 "the supervisor did not start; see $LOG_DIR/supervisor.log"
  # A refused password or a source without wal_level=logical ends a stage within moments: say so here, rather than
  # report a pipeline that is not running.
  for ((i = 0; i < 20; i++)); do
    if [ -s "$FAILED" ]; then
      local stage st words
      read -r stage st words <"$FAILED"
      echo "shadowstream up: supervisor pid $p, but $stage failed (status $st) and is not restarted: $words" >&2
      return "$st"
    fi
    sleep 0.1
  done
  echo "shadowstream up: supervisor pid $p; logs in $LOG_DIR"
}

cmd_down() {
  local p i
  p=$(running_pid) || {
    echo "shadowstream is not running"
    return 0
  }
  kill -TERM "$p"
  for ((i = 0; i < (STOP_TIMEOUT * 4 + 10) * 10; i++)); do
    kill -0 "$p" 2>/dev/null || {
      echo "shadowstream down"
      return 0
    }
    sleep 0.1
  done
  die 75 "the supervisor (pid $p) is still stopping; see $LOG_DIR/supervisor.log"
}

human_age() {
  local s=$1
  if ((s >= 86400)); then
    printf '%dd%02dh' $((s / 86400)) $((s % 86400 / 3600))
  elif ((s >= 3600)); then
    printf '%dh%02dm' $((s / 3600)) $((s % 3600 / 60))
  else printf '%dm%02ds' $((s / 60)) $((s % 60)); fi
}

cmd_status() {
  local p now name pid started restarts state
  now=$(date +%s)
  if p=$(running_pid); then
    echo "supervisor  pid $p  up $(human_age $((now - $(stat -c %Y "$PIDFILE"))))  state $STATE_DIR"
  else
    echo "supervisor  not running"
  fi
  if [ -s "$STAGES" ]; then
    while read -r name pid started restarts; do
      if [ "$pid" != 0 ] && kill -0 "$pid" 2>/dev/null; then
        state="running  pid $pid  up $(human_age $((now - started)))"
      else state="stopped"; fi
      printf '%-10s  %s  restarts %s\n' "$name" "$state" "$restarts"
    done <"$STAGES"
  fi
  local args=(pipeline --once --slot "$SLOT" --publication "$PUBLICATION" --source "$SOURCE" --topic "$TOPIC")
  [ -n "$PG_CONNINFO" ] && args+=(--dbname "$PG_CONNINFO")
  [ -n "$CONF_FILE" ] && args+=(-c "$CONF_FILE") # the file read here, not one ss-progress would find itself
  if ((JSON)); then args+=(--json); else args+=(--text); fi
  command -v ss-progress >/dev/null && ss-progress "${args[@]}" 2>/dev/null
  [ -n "$p" ] || return 3 # LSB: not running
  if [ -s "$FAILED" ]; then
    local stage st words
    while read -r stage st words; do
      echo "FAILED      $stage exited with status $st and is not restarted: $words"
    done <"$FAILED"
    return 1 # LSB: program is dead (part of it)
  fi
}

cmd_logs() {
  local stage=${1:-} files=()
  if [ -n "$stage" ]; then
    case $stage in supervisor | capture | buffer | reader | archive | checkpoint) ;; *) die 64 "no stage $stage" ;; esac
    files=("$LOG_DIR/$stage.log")
  else
    for s in supervisor capture buffer reader archive checkpoint; do [ -f "$LOG_DIR/$s.log" ] && files+=("$LOG_DIR/$s.log"); done
  fi
  ((${#files[@]})) || die 66 "no logs in $LOG_DIR yet"
  if ((FOLLOW)); then exec tail -n "$LINES" -F "${files[@]}"; fi
  tail -n "$LINES" "${files[@]}"
}

cmd_checkpoint() {
  local t
  for t in ss-capture ss-archive; do command -v "$t" >/dev/null || die 69 "$t not found on PATH"; done
  mkdir -p "$LOG_DIR" || die 73 "cannot create $LOG_DIR"
  run_checkpoint || die $? "checkpoint failed (see above)"
  date +%s >"$STATE_DIR/last-checkpoint"
  echo "$PROG: a checkpoint of $SOURCE is archived in $TOPIC (ss-archive checkpoints -t $TOPIC lists it)"
}

# One acknowledged run of the archiver pair (the cron mode): the reader XACKs only what ss-archive acknowledged as
# committed to Kafka, so entries of a run that dies stay pending and the next run delivers them again.
# After the slot was lost (capture stopped with 66): with the pipeline down, archive what the Redis stream holds, then
# a new slot and a checkpoint from it that the archive marks as following the gap. `up` goes on from the new slot.
cmd_recover() {
  local t ARGV capture
  running_pid >/dev/null && die 75 "the pipeline is running: shadowstream down first"
  for t in ss-capture ss-buffer ss-archive; do command -v "$t" >/dev/null || die 69 "$t not found on PATH"; done
  mkdir -p "$LOG_DIR" || die 73 "cannot create $LOG_DIR"
  (cmd_drain) || die $? "recover: archiving what the Redis stream holds failed (see above); no slot was made"
  # shellcheck disable=SC2086
  capture_argv --recover --slot-mark "$SLOT_MARK" $CHECKPOINT_OPTS
  capture=("${ARGV[@]}")
  # shellcheck disable=SC2086
  archive_argv $ARCHIVE_OPTS
  "${capture[@]}" | "${ARGV[@]}"
  local st=$?
  if ((st)); then
    # The checkpoint may not be archived whole: until a recover ends well, the capture refuses to start.
    [ -f "$SLOT_MARK" ] && echo recovering >>"$SLOT_MARK"
    die "$st" "recover failed (see above); run it again"
  fi
  date +%s >"$STATE_DIR/last-checkpoint"
  rm -f "$FAILED"
  echo "$PROG: recovered $SOURCE: a new slot $SLOT and a checkpoint archived in $TOPIC after the gap (ss-archive checkpoints -t $TOPIC shows it); shadowstream up goes on from there"
}

cmd_remove() {
  running_pid >/dev/null && die 75 "the pipeline is running: shadowstream down first"
  command -v ss-capture >/dev/null || die 69 "ss-capture not found on PATH"
  # shellcheck disable=SC2086
  ss-capture ${PG_CONNINFO:+--dbname "$PG_CONNINFO"} --slot "$SLOT" --publication "$PUBLICATION" --drop-slot ||
    exit $?
  rm -rf "$STATE_DIR"
  echo "$PROG: removed slot $SLOT (and publication $PUBLICATION if ss-capture created it) and $STATE_DIR; the Redis stream and the Kafka archive keep their data"
}

cmd_drain() {
  local t d apid rst ast
  for t in ss-buffer ss-archive; do command -v "$t" >/dev/null || die 69 "$t not found on PATH"; done
  d=$(mktemp -d "${TMPDIR:-/tmp}/shadowstream-drain.XXXXXX") || die 73 "cannot create a temporary directory"
  trap 'rm -rf "$d"' EXIT
  mkfifo "$d/data" "$d/ack" || die 73 "cannot create FIFOs in $d"
  local ARGV
  # shellcheck disable=SC2086
  archive_argv --ack "$d/ack" $ARCHIVE_OPTS
  "${ARGV[@]}" <"$d/data" &
  apid=$!
  # shellcheck disable=SC2086
  reader_argv --until-idle --ack-from "$d/ack" $READER_OPTS
  "${ARGV[@]}" >"$d/data"
  rst=$?
  wait "$apid"
  ast=$?
  ((ast == 0)) || exit "$ast"
  ((rst == 0)) && echo "$PROG: what the Redis stream of $SOURCE held is archived in $TOPIC"
  exit "$rst"
}

CONFIG="" FOREGROUND=0 FOLLOW=0 LINES=20 JSON=0
args=()
while (($#)); do
  case $1 in
  -h | --help)
    usage
    exit 0
    ;;
  -V | --version)
    echo "$PROG $VERSION"
    exit 0
    ;;
  -c | --config)
    [ $# -ge 2 ] || die 64 "$1 needs a file"
    CONFIG=$2
    shift
    ;;
  --config=*) CONFIG=${1#*=} ;;
  --foreground) FOREGROUND=1 ;;
  --follow | -f) FOLLOW=1 ;;
  --json) JSON=1 ;;
  --lines)
    [[ ${2:-} =~ ^[0-9]+$ ]] || die 64 "--lines needs a number"
    LINES=$2
    shift
    ;;
  -*) die 64 "unknown option $1 (see --help)" ;;
  *) args+=("$1") ;;
  esac
  shift
done
((${#args[@]})) || {
  usage >&2
  exit 64
}
load_config "$CONFIG"
case ${args[0]} in
up) cmd_up ;;
down) cmd_down ;;
restart) cmd_down && cmd_up ;;
status) cmd_status ;;
logs) cmd_logs "${args[1]:-}" ;;
drain) cmd_drain ;;
checkpoint) cmd_checkpoint ;;
recover) cmd_recover ;;
remove) cmd_remove ;;
_supervise) supervise ;;
*) die 64 "unknown command ${args[0]} (up, down, restart, status, logs, drain, checkpoint, recover, remove)" ;;
esac
