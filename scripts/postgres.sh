#!/usr/bin/env bash
# A throwaway PostgreSQL (15 or newer, Debian's packages) for tests and benchmarks:
#   scripts/postgres.sh start DIR   initdb + start on a free port of 127.0.0.1; prints the URL
#   scripts/postgres.sh stop DIR    fast shutdown (the folder is left for the caller to delete)
# PostgreSQL refuses to run as root: as root, the cluster is made and run by the `postgres` user.
# Local trust authentication is acceptable here only because the server listens on 127.0.0.1
# and its data folder is a fresh temporary one.
set -euo pipefail
cmd="${1:?usage: postgres.sh start|stop DIR}"
dir="${2:?usage: postgres.sh start|stop DIR}"
bindir="$(pg_config --bindir)"
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
    as_owner "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C --no-instructions >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=1000 -c shared_buffers=256MB" >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  *) echo "usage: postgres.sh start|stop DIR" >&2; exit 2 ;;
esac
