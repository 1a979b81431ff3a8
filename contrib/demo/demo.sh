#!/usr/bin/env bash
# make demo / make demo-stop: an unprivileged pmond with embedded defaults (per-user
# XDG paths under .demo/), the sample app, and `pmon3 ls`. Run as root, the daemon
# and the CLI run as `nobody`, so the demo never touches the system paths.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DEMO=${DEMO_DIR:-$ROOT/.demo}  # make demo passes DEMO_DIR; tests use a temp dir
PIDFILE=$DEMO/pmond.pid

as_user=()
if [ "$(id -u)" = 0 ]; then
  if setpriv --reuid=nobody --regid=nogroup --clear-groups -- test -r "$ROOT/dist/cmd/pmond/main.js" 2>/dev/null \
    && setpriv --reuid=nobody --regid=nogroup --clear-groups -- test -x "$ROOT/contrib/demo/ticker.sh" 2>/dev/null; then
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
  else
    echo "demo: nobody cannot read $ROOT; running the demo daemon as root with per-user paths under .demo" >&2
  fi
fi

# Embedded defaults, resolved against these XDG variables (no config file).
prefix=("${as_user[@]}" env -u PMON3_CONF -u XDG_RUNTIME_DIR HOME="$DEMO/home"
  XDG_STATE_HOME="$DEMO/state" XDG_CONFIG_HOME="$DEMO/config")
if [ "$(id -u)" = 0 ] && [ ${#as_user[@]} -eq 0 ]; then
  # Root without nobody: per-user defaults need a non-root uid, so name the same paths.
  prefix=(env PMON3_CONF="$DEMO/config.yaml")
fi
pmon3() { "${prefix[@]}" "$ROOT/bin/pmon3" "$@"; }

alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

start() {
  mkdir -p "$DEMO/home" "$DEMO/state" "$DEMO/config"
  [ ${#as_user[@]} -gt 0 ] && chown -R nobody:nogroup "$DEMO"
  printf 'data_dir: %s\nlogs_dir: %s\nsocket_path: %s\n' "$DEMO/state/pmon3" "$DEMO/state/pmon3/logs" "$DEMO/state/pmon3/pmon3.sock" > "$DEMO/config.yaml"
  if alive; then
    echo "demo: pmond already running (pid $(cat "$PIDFILE"))"
  else
    # exec all the way down (subshell → setpriv → env → node), so $! is pmond's own pid.
    (exec "${prefix[@]}" "$ROOT/bin/pmond") < /dev/null > "$DEMO/pmond.out" 2>&1 &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 100); do
      pmon3 version 2>/dev/null | grep -q '^pmond [0-9]' && break  # not "pmond not running"
      alive || { echo "demo: pmond exited:" >&2; cat "$DEMO/pmond.out" >&2; exit 1; }
      sleep 0.1
    done
    echo "demo: pmond running (pid $(cat "$PIDFILE")), log in $DEMO/pmond.out"
  fi
  pmon3 desc demo-app >/dev/null 2>&1 || pmon3 exec "$ROOT/contrib/demo/ticker.sh" --name demo-app >/dev/null
  pmon3 ls
  echo
  echo "demo: try   bash contrib/demo/demo.sh pmon3 logf demo-app   |   make demo-stop to end it"
}

stop() {
  if alive; then
    pmon3 drop --force >/dev/null 2>&1 || true
    kill -TERM "$(cat "$PIDFILE")"
    for _ in $(seq 1 100); do alive || break; sleep 0.1; done
    if alive; then echo "demo: pmond did not stop" >&2; exit 1; fi
    echo "demo: pmond stopped"
  else
    echo "demo: not running"
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  pmon3) shift; pmon3 "$@" ;;
  *) echo "usage: demo.sh start|stop|pmon3 ARGS..." >&2; exit 2 ;;
esac
