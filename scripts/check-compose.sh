#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine: the file parses as Compose (Debian's docker-compose,
# `config` only), and every host file it bind-mounts and the Dockerfile it builds from exist.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v docker-compose >/dev/null 2>&1; then
  echo "docker-compose is not installed (Debian package docker-compose): cannot check docker-compose.yml" >&2
  exit 1
fi
# The file requires these from the environment; placeholders are enough to render it.
resolved=$(JWT_SECRET=placeholder-for-compose-config-check SECRETS_KEY=placeholder docker-compose -f docker-compose.yml config)

missing=0
# Bind mounts render as `- /absolute/host/path:/container/path[:mode]`; named volumes have no leading slash.
while read -r host; do
  if [ ! -e "$host" ]; then echo "docker-compose.yml mounts $host, which does not exist" >&2; missing=1; fi
done < <(printf '%s\n' "$resolved" | sed -n 's#^ *- \(/[^:]*\):.*#\1#p')
if printf '%s\n' "$resolved" | grep -q '^ *build:' && [ ! -f Dockerfile ]; then
  echo "docker-compose.yml builds from ./Dockerfile, which does not exist" >&2
  missing=1
fi
[ "$missing" = 0 ] && echo "docker-compose.yml: valid; every mounted file exists"
exit "$missing"
