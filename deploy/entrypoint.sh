#!/bin/sh
# Container entrypoint: initialize the peer's home on first start (joining the swarm whose key is in
# /swarm/swarm.key), wait for the bootstrap peer's address when one is named, run the daemon, and
# publish this peer's own address for the others when asked. SIGTERM reaches the daemon, which
# finishes cleanly.
#   P2PBACKUP_OFFER          disk offered (default 10GiB; 0 for a client)
#   P2PBACKUP_API_HOST       API bind address inside the container (default 127.0.0.1)
#   P2PBACKUP_BOOTSTRAP_FILE wait for this file and join the peer whose multiaddr it holds
#   P2PBACKUP_PUBLISH_ADDR   write this peer's multiaddr to this file once it runs
#   P2PBACKUP_PUBLISH_HOST   the host name (or IPv4) others reach it by (default: hostname)
#   P2PBACKUP_PORT, P2PBACKUP_API_PORT, P2PBACKUP_SWARM_DIR  (defaults 7171, 8080, /swarm)
#   P2PBACKUP_APP            the installed package (default: the folder above this script's deploy/)
set -eu
: "${P2PBACKUP_HOME:=/data}"
: "${P2PBACKUP_SWARM_DIR:=/swarm}"
: "${P2PBACKUP_APP:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${P2PBACKUP_PORT:=7171}"
: "${P2PBACKUP_API_PORT:=8080}"
export P2PBACKUP_HOME
cli="node $P2PBACKUP_APP/bin/p2pbackup.js"
key="$P2PBACKUP_SWARM_DIR/swarm.key"

if [ "${1:-}" = "swarm-key" ]; then
  # One-shot: create the shared swarm key unless it exists.
  if [ ! -s "$key" ]; then
    $cli swarm-key > "$key.tmp"
    mv -f "$key.tmp" "$key"
  fi
  exit 0
fi

if [ ! -f "$P2PBACKUP_HOME/config.json" ]; then
  until [ -s "$key" ]; do sleep 0.5; done
  $cli init --swarm-key-file "$key" --listen "/ip4/0.0.0.0/tcp/$P2PBACKUP_PORT" "/ip6/::/tcp/$P2PBACKUP_PORT" --no-mdns \
    --offer "${P2PBACKUP_OFFER:-10GiB}" --api-host "${P2PBACKUP_API_HOST:-127.0.0.1}" --api-port "$P2PBACKUP_API_PORT" >/dev/null
fi

boot=""
if [ -n "${P2PBACKUP_BOOTSTRAP_FILE:-}" ]; then
  until [ -s "$P2PBACKUP_BOOTSTRAP_FILE" ]; do sleep 0.5; done
  boot="--bootstrap $(cat "$P2PBACKUP_BOOTSTRAP_FILE")"
fi

# shellcheck disable=SC2086
# --min-semi-space-size, --max-semi-space-size, --heap-growing-percent: see DAEMON_NODE_FLAGS in src/peer/swarm.ts (fewer full GCs during big backups, a young generation of 4 MiB semi-spaces);
# MALLOC_MMAP_THRESHOLD_, MALLOC_ARENA_MAX: see DAEMON_ENV there (memory freed after a backup goes back to the system).
MALLOC_MMAP_THRESHOLD_=1048576 MALLOC_ARENA_MAX=2 node --min-semi-space-size=4 --max-semi-space-size=4 --heap-growing-percent=100 "$P2PBACKUP_APP/bin/p2pbackup.js" daemon $boot "$@" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid"; exit $?' TERM INT

if [ -n "${P2PBACKUP_PUBLISH_ADDR:-}" ]; then
  until [ -s "$P2PBACKUP_HOME/daemon.json" ]; do sleep 0.5; done
  id=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).peerId)' "$P2PBACKUP_HOME/daemon.json")
  host="${P2PBACKUP_PUBLISH_HOST:-$(hostname)}"
  case "$host" in
    *[!0-9.]*) proto=dns4 ;;
    *) proto=ip4 ;;
  esac
  echo "/$proto/$host/tcp/$P2PBACKUP_PORT/p2p/$id" > "$P2PBACKUP_PUBLISH_ADDR.tmp"
  mv -f "$P2PBACKUP_PUBLISH_ADDR.tmp" "$P2PBACKUP_PUBLISH_ADDR"
fi
wait "$pid"
