#!/bin/sh
# Example pmond hook: one line per restart, naming the process, in a log file.
# Installed as /usr/share/pmon3/hooks/on_restart.sh; enable it in /etc/pmond/config/config.yaml:
#
#   on_process_restart_exec: /usr/share/pmon3/hooks/on_restart.sh
#
# pmond runs a hook with the process as JSON in $1 (id, name, pid, status, restarts, user,
# log, last_exit_code, last_signal, ...), or on stdin with hook_payload: stdin, never through
# a shell, with only PATH in its environment, killed after hook_timeout seconds. The JSON is
# data: it goes to jq on stdin and nothing here evaluates it. Needs jq.
set -eu
log=${PMON3_HOOK_LOG:-/var/log/pmond/hooks.log}
if [ $# -gt 0 ]; then json=$1; else json=$(cat); fi
printf '%s' "$json" | jq -r '"\(now | todate) restarted \(.name) (id \(.id), pid \(.pid // "none"), restarts \(.restarts))"' >> "$log"
