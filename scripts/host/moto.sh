#!/usr/bin/env bash
# A local AWS endpoint (moto_server, through moto_serve.py) for the host tests.
#
#   endpoint=$(scripts/host/moto.sh start WORKDIR)   # prints http://127.0.0.1:PORT
#   eval "$(scripts/host/moto.sh env WORKDIR)"       # exports AWS_ENDPOINT_URL + fake creds
#   scripts/host/moto.sh stop WORKDIR                # by recorded PID; safe to repeat
#
# State goes to WORKDIR/moto.env (MOTO_PID, MOTO_START, MOTO_PORT, MOTO_ENDPOINT) and the
# server's output to WORKDIR/moto.log. stop.sh WORKDIR stops it too.
# moto keeps everything in memory: a restart forgets every secret.
# With INFRAGEN_MOTO_PLUS=1 at start, it runs moto_plus.py instead (see there).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$here/lib.sh"

[ $# -eq 2 ] || host_die "usage: $0 start|stop|env WORKDIR"
cmd=$1
mkdir -p "$2"
work=$(cd "$2" && pwd)
env_file="$work/moto.env"
get() { host_env_get "$env_file" "$1"; }

running() { host_proc_is "$(get MOTO_PID)" "$(get MOTO_START)"; }

case $cmd in
start)
  if running; then
    host_log "moto already running (PID $(get MOTO_PID))"
    get MOTO_ENDPOINT
    exit 0
  fi
  rm -f "$env_file"
  venv=$("$here/venv.sh")
  # moto_serve.py: moto_server with each reply in one write (see there: a reply's head
  # and body written apart made Terraform's SDK retry creates moto had already made).
  # INFRAGEN_MOTO_PLUS=1: moto_plus.py, the same plus the ElastiCache reads moto lacks.
  server=("$venv/bin/python" "$here/moto_serve.py")
  if [ "${INFRAGEN_MOTO_PLUS:-}" = 1 ]; then
    server=("$venv/bin/python" "$here/moto_plus.py")
  fi
  t=$(host_now)
  # The port is free when picked; if moto loses the race for it, it exits: try another.
  for attempt in 1 2 3; do
    port=$(host_free_port)
    # setsid: not in the caller's process group (see boot.sh). The fake credentials keep
    # botocore inside moto from looking for real ones.
    AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
      setsid "${server[@]}" -H 127.0.0.1 -p "$port" \
      </dev/null >>"$work/moto.log" 2>&1 &
    pid=$!
    start=$(host_proc_start "$pid") || { sleep 0.2; continue; }
    host_env_set "$env_file" MOTO_PID "$pid"
    host_env_set "$env_file" MOTO_START "$start"
    host_env_set "$env_file" MOTO_PORT "$port"
    endpoint="http://127.0.0.1:$port"
    # moto answers /moto-api/ once its routes are loaded.
    if python3 "$here/helper.py" wait-http "$endpoint/moto-api/" 30 && running; then
      host_env_set "$env_file" MOTO_ENDPOINT "$endpoint"
      host_log "moto up at $endpoint (PID $pid) in $(host_elapsed "$t") s"
      echo "$endpoint"
      exit 0
    fi
    host_log "moto did not come up on port $port (attempt $attempt):"
    tail -n 5 "$work/moto.log" >&2 || true
    "$0" stop "$work" || true
  done
  host_die "moto_server did not start; see $work/moto.log"
  ;;
stop)
  [ -f "$env_file" ] || exit 0
  pid=$(get MOTO_PID)
  start=$(get MOTO_START)
  if host_proc_is "$pid" "$start"; then
    kill -TERM "$pid" 2>/dev/null || true
    if ! host_wait_gone "$pid" "$start" 10; then
      host_log "moto ignored SIGTERM for 10 s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
      host_wait_gone "$pid" "$start" 5 || host_die "moto PID $pid survives SIGKILL"
    fi
    host_log "moto stopped (PID $pid)"
  fi
  ;;
env)
  running || host_die "moto is not running for $work"
  # The names botocore, boto3, the AWS CLI (2.13+) and amazon.aws all read.
  cat <<EOF
export AWS_ENDPOINT_URL='$(get MOTO_ENDPOINT)'
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_SESSION_TOKEN=testing
export AWS_DEFAULT_REGION=us-east-1
EOF
  ;;
*) host_die "usage: $0 start|stop|env WORKDIR" ;;
esac
