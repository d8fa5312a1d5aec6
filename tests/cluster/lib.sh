# shellcheck shell=bash
# tests/cluster/lib.sh: what up, restart-apiserver and down share. Needs DIR
# and TTL set, and a `die` function.

# start NAME CMD...: runs CMD under timeout in the background, logs to
# DIR/logs/NAME.log (appending, so a restart keeps the history), records the
# PID of `timeout` (which passes SIGTERM on) in DIR/NAME.pid and the command
# line, NUL-separated, in DIR/NAME.args (restart-apiserver reuses it).
start() {
	local name=$1
	shift
	printf '%s\0' "$@" >"$DIR/$name.args"
	nohup timeout -k 10 "$TTL" "$@" >>"$DIR/logs/$name.log" 2>&1 </dev/null &
	echo "$!" >"$DIR/$name.pid"
}

alive() { kill -0 "$(cat "$DIR/$1.pid" 2>/dev/null)" 2>/dev/null; }

# wait_for NAME SECONDS CMD...: polls CMD until it succeeds, while NAME lives.
wait_for() {
	local name=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		alive "$name" || die "$name exited during start-up"
		sleep 0.1
	done
	die "$name not ready after ${secs}s"
}

# stop NAME [SECONDS]: TERM the recorded `timeout`, wait up to SECONDS
# (default 10), then KILL it and its child.
stop() {
	local f="$DIR/$1.pid" pid i grace=${2:-10}
	[[ -s $f ]] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < grace * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			pkill -KILL -P "$pid" 2>/dev/null || true
			kill -KILL "$pid" 2>/dev/null || true
			echo "cluster: $1 (pid $pid) needed SIGKILL after ${grace}s" >&2
		fi
	fi
	rm -f "$f"
}
