#!/usr/bin/env bash
# The virtual board as a board on another host: starts build/bin/virtual-board, exports its
# console with Debian's ser2net as rfc2217://127.0.0.1:<free port> (the way a bench host exports
# a board), writes a serial board profile on that URL, and runs the given command (`make hil`)
# with BOARD naming it. The board and ser2net are stopped when the command ends, whatever the
# outcome; the command's exit status is the script's.
#
#   hil/virtual/rfc2217.sh make hil
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$#" -gt 0 ] || { echo "usage: $0 <command>  (e.g. make hil)" >&2; exit 2; }

bin="${IROHCONF_VIRTUAL_BOARD:-build/bin/virtual-board}"
[ -x "$bin" ] || { echo "$0: $bin is not built (make virtual-board)" >&2; exit 2; }
ser2net=$(command -v ser2net || echo /usr/sbin/ser2net)
[ -x "$ser2net" ] || { echo "$0: ser2net is not installed (apt-get install -y ser2net)" >&2; exit 2; }

work=$(mktemp -d)
board_pid="" ser2net_pid=""
# shellcheck disable=SC2317 # run by the EXIT trap
stop() {
	for pid in $ser2net_pid $board_pid; do
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

# The board names its pty on its first stdout line: "console <path>".
"$bin" --bind 127.0.0.1:0 >"$work/board.out" 2>"$work/board.err" &
board_pid=$!
console=""
for _ in $(seq 150); do
	console=$(sed -n 's/^console //p' "$work/board.out" | head -n 1)
	[ -n "$console" ] && break
	kill -0 "$board_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$console" ]; then
	echo "$0: the virtual board did not name its console within 15 s; its stderr:" >&2
	cat "$work/board.err" >&2
	exit 1
fi

# A free port of 127.0.0.1 (nothing answers on it), then ser2net on it, until it accepts.
port=""
for _ in $(seq 20); do
	p=$((20000 + RANDOM % 20000))
	if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "$0: found no free port on 127.0.0.1" >&2; exit 1; }
# mdns off: nothing is advertised (every packet stays on this machine). kickolduser: the suite
# opens the port again for every pair of peers.
cat >"$work/ser2net.yaml" <<EOF
%YAML 1.1
---
default:
  name: mdns
  value: false

connection: &virtual-board
  accepter: telnet(rfc2217),tcp,127.0.0.1,$port
  connector: serialdev,$console,115200n81,local
  enable: on
  options:
    kickolduser: true
    mdns: false
EOF
"$ser2net" -n -u -c "$work/ser2net.yaml" -P "$work/ser2net.pid" >"$work/ser2net.log" 2>&1 &
ser2net_pid=$!
up=""
for _ in $(seq 100); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then up=1; break; fi
	kill -0 "$ser2net_pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$up" ]; then
	echo "$0: ser2net did not accept on 127.0.0.1:$port within 10 s; its output:" >&2
	cat "$work/ser2net.log" >&2
	exit 1
fi

# A bench host's board as the suite sees it: a serial port on an RFC 2217 URL, no modem lines
# (a pty has none), so it is reset with the firmware's console command.
cat >"$work/virtual-rfc2217.yaml" <<EOF
name: virtual-rfc2217
kind: serial
chip: linux
firmware: irohconf
port: {path: "rfc2217://127.0.0.1:$port"}
reset: console
boot_timeout: 30s
notes: the virtual board's console exported by ser2net (hil/virtual/rfc2217.sh)
EOF
echo "virtual board pid $board_pid, console $console, exported as rfc2217://127.0.0.1:$port" >&2
rc=0
BOARD="$work/virtual-rfc2217.yaml" "$@" || rc=$?
if [ "$rc" -ne 0 ]; then
	echo "$0: exit status $rc; the virtual board's stderr (last lines) and ser2net's output:" >&2
	tail -n 20 "$work/board.err" >&2
	cat "$work/ser2net.log" >&2
fi
exit "$rc"
