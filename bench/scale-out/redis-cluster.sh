#!/usr/bin/env bash
# A throwaway 3-master Redis Cluster for the scale-out bench, from Debian's redis-server:
#   redis-cluster.sh start DIR P1 P2 P3   (each port P and P+10000 free) — prints nothing, exits 0 when cluster_state:ok
#   redis-cluster.sh stop DIR
# Like the tests' fixture, nothing is kept on disk (appendonly no, save "").
set -euo pipefail
cmd=$1 dir=$2
shift 2
case $cmd in
  start)
    mkdir -p "$dir"
    for port in "$@"; do
      redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
        --cluster-config-file "$dir/nodes-$port.conf" --cluster-node-timeout 2000 \
        --dir "$dir" --dbfilename "dump-$port.rdb" --appendonly no --save '' \
        --daemonize yes --pidfile "$dir/redis-$port.pid" --logfile "$dir/redis-$port.log"
    done
    for port in "$@"; do
      for _ in $(seq 100); do
        [[ $(redis-cli -p "$port" PING 2>/dev/null) == PONG ]] && break
        sleep 0.1
      done
    done
    hosts=()
    for port in "$@"; do hosts+=("127.0.0.1:$port"); done
    redis-cli --cluster create "${hosts[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log"
    for port in "$@"; do
      for _ in $(seq 200); do
        redis-cli -p "$port" CLUSTER INFO | grep -q 'cluster_state:ok' && break
        sleep 0.1
      done
    done
    ;;
  stop)
    for pidfile in "$dir"/redis-*.pid; do
      [[ -e $pidfile ]] && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
    done
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start DIR P1 P2 P3 | stop DIR" >&2
    exit 2
    ;;
esac
