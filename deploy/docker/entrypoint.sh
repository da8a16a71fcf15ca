#!/bin/sh
# Entrypoint of ratchet's images: `ratchet <command> [args]`.
# Secrets come as files (compose secrets, Kubernetes Secret volumes): for each variable V in
# RATCHET_ADMIN_TOKEN, RATCHET_METRICS_TOKEN and RATCHET_TOKEN, a readable file named by
# V_FILE sets V.
set -eu
for var in RATCHET_ADMIN_TOKEN RATCHET_METRICS_TOKEN RATCHET_TOKEN; do
  file=$(eval "printf '%s' \"\${${var}_FILE:-}\"")
  if [ -n "$file" ]; then
    if [ ! -r "$file" ]; then
      echo "ratchet: ${var}_FILE=$file is not readable" >&2
      exit 2
    fi
    value=$(tr -d '\r\n' < "$file")
    export "$var=$value"
  fi
done
# RATCHET_APP_DIR and RATCHET_TSX_LOADER only differ outside the images (the tests run this
# script against a checkout).
app="${RATCHET_APP_DIR:-/app}"
exec node --import "${RATCHET_TSX_LOADER:-/opt/tsx/node_modules/tsx/dist/loader.mjs}" "$app/cli/src/main.ts" "$@"
