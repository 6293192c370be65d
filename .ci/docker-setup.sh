#!/usr/bin/env bash
# Makes a Docker engine reachable, idempotently: installs docker.io if the
# engine or CLI is missing, starts dockerd if `docker info` fails, and waits
# up to 60 s for it. The engine runs without iptables or the default bridge
# (it works in unprivileged CI sandboxes); containers use --network host or none.
set -euo pipefail

log=${DOCKERD_LOG:-/tmp/dockerd.log}
sudo=""
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then sudo="sudo"; fi

if ! command -v docker >/dev/null || ! command -v dockerd >/dev/null; then
	echo "docker-setup: installing docker.io" >&2
	$sudo apt-get update -qq
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

if docker info >/dev/null 2>&1; then
	echo "docker-setup: engine already reachable" >&2
	exit 0
fi

dockerd_running() {
	if command -v pgrep >/dev/null; then
		pgrep -x dockerd >/dev/null
	else
		[[ -f /var/run/docker.pid ]] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null
	fi
}

# A dockerd that is still shutting down is waited for, then replaced.
started=0
for _ in $(seq 60); do
	if docker info >/dev/null 2>&1; then
		echo "docker-setup: engine ready ($(docker version -f '{{.Server.Version}}' 2>/dev/null))" >&2
		exit 0
	fi
	if [[ $started == 0 ]] && ! dockerd_running; then
		echo "docker-setup: starting dockerd (log: $log)" >&2
		# setsid: the daemon outlives this script and does not get its signals.
		$sudo setsid nohup dockerd --iptables=false --bridge=none >"$log" 2>&1 </dev/null &
		started=1
	fi
	sleep 1
done
echo "docker-setup: engine not reachable after 60 s; last lines of $log:" >&2
tail -n 30 "$log" >&2 || true
exit 1
