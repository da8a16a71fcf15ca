# Sourced by ./ratchet: makes this checkout runnable on a fresh machine.
#   bootstrap node  -> Node check, pnpm, workspace install
#   bootstrap all   -> the above plus system packages (redis-server, PyTorch, OpenBLAS)
#   bootstrap test  -> all, plus what the test suite drives (Prometheus, Chromium, ...)
# On Debian/Ubuntu missing packages are installed (as root, or through sudo); elsewhere the
# script says exactly what to install and stops.

PNPM_VERSION=12.4.2
DEBIAN_PACKAGES=(redis-server python3-torch python3-numpy libopenblas0-pthread)
# Real components the test suite drives: Prometheus + promtool (dashboards, alert rules),
# amtool (Alertmanager config), docker-compose v1 (compose validation, no engine), Chromium
# (browser tests), bubblewrap (the volunteer sandbox), systemd-analyze (unit verification).
TEST_DEBIAN_PACKAGES=(prometheus prometheus-alertmanager docker-compose chromium bubblewrap systemd)

say() { printf '[ratchet] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

check_node() {
  command -v node >/dev/null 2>&1 || die "Node.js >= 20.19 is required: https://nodejs.org (or your package manager)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || die "Node.js >= 20.19 is required (found $(node --version))"
  command -v git >/dev/null 2>&1 || die "git is required (Debian/Ubuntu: apt-get install git; macOS: xcode-select --install)"
}

ensure_pnpm() {
  PNPM="$ROOT/.tools/node_modules/.bin/pnpm"
  if [ ! -x "$PNPM" ]; then
    say "installing pnpm $PNPM_VERSION into .tools/"
    npm install --silent --no-audit --no-fund --prefix "$ROOT/.tools" "pnpm@$PNPM_VERSION" >&2 \
      || die "could not install pnpm with npm"
  fi
}

ensure_workspace() {
  local stamp="$ROOT/node_modules/.ratchet-installed"
  if [ ! -f "$stamp" ] || [ "$ROOT/pnpm-lock.yaml" -nt "$stamp" ] || [ "$ROOT/package.json" -nt "$stamp" ]; then
    say "installing the workspace (pnpm install)"
    (cd "$ROOT" && "$PNPM" install --frozen-lockfile --reporter=silent >&2) || die "pnpm install failed"
    touch "$stamp"
  fi
}

missing_debian_packages() {
  local p
  for p in "${DEBIAN_PACKAGES[@]}" "${EXTRA_DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || printf '%s ' "$p"
  done
}

ensure_system_packages() {
  if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    local missing
    missing=$(missing_debian_packages)
    [ -z "$missing" ] && return 0
    local sudo=""
    if [ "$(id -u)" != "0" ]; then
      command -v sudo >/dev/null 2>&1 || die "missing packages: $missing— run as root: apt-get install -y $missing"
      sudo="sudo"
    fi
    say "installing system packages: $missing(PyTorch is ~17x slower on Debian's default BLAS, hence OpenBLAS)"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq >&2 \
      && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2 \
      || die "apt-get install failed for: $missing"
    return 0
  fi
  local problems=()
  command -v redis-server >/dev/null 2>&1 || [ -n "${REDIS_URL:-}" ] \
    || problems+=("redis-server (macOS: brew install redis; other: your package manager, or set REDIS_URL)")
  local py="${RATCHET_PYTHON:-python3}"
  "$py" -c 'import torch' >/dev/null 2>&1 \
    || problems+=("PyTorch for $py (pip install torch, or set RATCHET_PYTHON to an interpreter that has it)")
  if [ "${#EXTRA_DEBIAN_PACKAGES[@]}" -gt 0 ]; then
    local tool
    for tool in prometheus promtool amtool docker-compose chromium bwrap systemd-analyze; do
      command -v "$tool" >/dev/null 2>&1 \
        || problems+=("$tool, which the tests drive (Debian names: ${TEST_DEBIAN_PACKAGES[*]})")
    done
  fi
  if [ "${#problems[@]}" -gt 0 ]; then
    say "this system is not Debian/Ubuntu, and these are missing:"
    for p in "${problems[@]}"; do say "  - $p"; done
    exit 1
  fi
}

bootstrap() {
  check_node
  ensure_pnpm
  ensure_workspace
  EXTRA_DEBIAN_PACKAGES=()
  [ "${1:-node}" = "test" ] && EXTRA_DEBIAN_PACKAGES=("${TEST_DEBIAN_PACKAGES[@]}")
  case "${1:-node}" in all | test) ensure_system_packages ;; esac
  return 0
}
