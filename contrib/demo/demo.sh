#!/usr/bin/env bash
# make demo / make demo-stop: a pmond with its config, data and logs under .demo/, listening
# where a plain `pmon3` run by the same user looks (root: the system socket; anyone else: the
# per-user socket, as internal/config resolves it), the sample app, and `pmon3 ls`. So after
# `make demo`, a plain `bin/pmon3 ls` shows the demo.
# - If a pmond already answers there (an installed service, your own pmond), the demo's pmond
#   listens on .demo/pmon3.sock instead, and the script says how to reach it.
# - As root, pmond runs as root, as the service does, and the app as nobody (`exec -u nobody`)
#   when nobody can read this tree (else as root, said on stderr).
# - DEMO_SOCKET names the socket instead (the tests: never the system one).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DEMO=${DEMO_DIR:-$ROOT/.demo}  # make demo passes DEMO_DIR; tests use a temp dir
PIDFILE=$DEMO/pmond.pid
CONF=$DEMO/config.yaml
NODE=${NODE:-node}

pmon3() { PMON3_CONF="$CONF" "$ROOT/bin/pmon3" "$@"; }
alive() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
answers() { pmon3 version 2>/dev/null | grep -q '^pmond [0-9]'; }  # not "pmond not running"

# The socket a plain pmon3 of this user talks to: the one from its default config (no PMON3_CONF).
default_socket() {
  env -u PMON3_CONF "$NODE" -e 'process.stdout.write(require(process.argv[1]).loadConfig().socket_path)' \
    "$ROOT/dist/internal/config/config.js"
}

write_config() {
  printf 'data_dir: "%s"\nlogs_dir: "%s"\nsocket_path: "%s"\n' "$DEMO/data" "$DEMO/logs" "$1" > "$CONF.tmp"
  mv "$CONF.tmp" "$CONF"
}

# The app's user: nobody when we are root and nobody can read the script (and this tree).
app_user=()
if [ "$(id -u)" = 0 ]; then
  if setpriv --reuid=nobody --regid=nogroup --clear-groups -- test -x "$ROOT/contrib/demo/ticker.sh" 2>/dev/null \
    && setpriv --reuid=nobody --regid=nogroup --clear-groups -- test -x "$ROOT" 2>/dev/null; then
    app_user=(-u nobody)
  else
    echo "demo: nobody cannot read $ROOT; the demo app runs as root" >&2
  fi
fi

start() {
  umask 022
  mkdir -p "$DEMO"
  if [ "$(id -u)" = 0 ]; then
    # A root pmond trusts only a config that is root's alone, in a directory that is too
    # (an older demo made .demo nobody's).
    chown root:root "$DEMO" && chmod go-w "$DEMO"
  fi
  if alive; then
    echo "demo: pmond already running (pid $(cat "$PIDFILE"))"
  else
    sock=${DEMO_SOCKET:-$(default_socket)}
    write_config "$sock"
    if answers; then
      echo "demo: a pmond already answers on $sock; the demo's listens on $DEMO/pmon3.sock"
      sock=$DEMO/pmon3.sock
      write_config "$sock"
    fi
    # exec all the way down (subshell → env → node), so $! is pmond's own pid.
    (exec env PMON3_CONF="$CONF" "$ROOT/bin/pmond") < /dev/null > "$DEMO/pmond.out" 2>&1 &
    echo $! > "$PIDFILE"
    for _ in $(seq 1 100); do
      answers && break
      alive || { echo "demo: pmond exited:" >&2; cat "$DEMO/pmond.out" >&2; exit 1; }
      sleep 0.1
    done
    echo "demo: pmond running (pid $(cat "$PIDFILE")) on $sock; data and logs in $DEMO"
  fi
  pmon3 desc demo-app >/dev/null 2>&1 || pmon3 exec "$ROOT/contrib/demo/ticker.sh" --name demo-app "${app_user[@]}" >/dev/null
  pmon3 ls
  echo
  sock=$(sed -n 's/^socket_path: "\(.*\)"$/\1/p' "$CONF")
  if [ "$sock" = "$(default_socket)" ]; then
    echo "demo: try   bin/pmon3 ls   |   bin/pmon3 logf demo-app   |   make demo-stop to end it"
  else
    echo "demo: try   PMON3_CONF=$CONF bin/pmon3 ls   (or bash contrib/demo/demo.sh pmon3 ls)   |   make demo-stop to end it"
  fi
}

stop() {
  if alive; then
    pmon3 drop --force >/dev/null 2>&1 || true
    kill -TERM "$(cat "$PIDFILE")"
    for _ in $(seq 1 100); do alive || break; sleep 0.1; done
    if alive; then echo "demo: pmond did not stop" >&2; exit 1; fi
    echo "demo: pmond stopped"
    # The socket's directory (/var/run/pmon3, $XDG_RUNTIME_DIR/pmon3) if empty now: pmond makes it again.
    sock=$(sed -n 's/^socket_path: "\(.*\)"$/\1/p' "$CONF")
    [ -n "$sock" ] && [ "$(dirname "$sock")" != "$DEMO" ] && rmdir "$(dirname "$sock")" 2>/dev/null || true
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
