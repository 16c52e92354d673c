# Shared by scripts/demo, scripts/test and .ci/run: a virtual environment with Voronka installed from a
# freshly built wheel. Source it from the repository root; it defines functions and changes nothing itself.
#
# Environment: PYTHON (default python3, 3.11 or newer), VENV (default .venv), CI (true: missing services fail).

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TIMINGS="${VORONKA_TIMINGS:-}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
warn() { printf '\033[33mwarning: %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror: %s\033[0m\n' "$*" >&2; exit 1; }
in_ci() { case "${CI:-}" in 1 | true | TRUE | yes) return 0 ;; *) return 1 ;; esac; }

# phase NAME COMMAND...: run a step, print its wall time, and append "NAME<TAB>seconds" to $VORONKA_TIMINGS.
# The step runs in a subshell with `set -e` outside any `&&`/`||` list, where bash would ignore -e.
phase() {
    local name="$1" start end seconds status errexit=0
    shift
    say "$name"
    start=$(date +%s.%N)
    [[ $- == *e* ]] && errexit=1
    set +e
    (
        set -e
        "$@"
    )
    status=$?
    [ "$errexit" = 1 ] && set -e
    end=$(date +%s.%N)
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    say "$name: ${seconds} s$([ "$status" = 0 ] || echo " (failed, status $status)")"
    if [ -n "$TIMINGS" ]; then printf '%s\t%s\n' "$name" "$seconds" >>"$TIMINGS"; fi
    return "$status"
}

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }

apt_get_install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ensure_commands PACKAGE:COMMAND...: install the Debian packages whose command is missing (as root with
# apt); otherwise say what is missing: the tests that need it skip (or fail under CI).
ensure_commands() {
    local missing=() spec
    for spec in "$@"; do
        command -v "${spec#*:}" >/dev/null 2>&1 || missing+=("${spec%%:*}")
    done
    [ "${#missing[@]}" = 0 ] && return 0
    if ! can_apt; then
        if in_ci; then die "missing ${missing[*]} and no apt-get as root to install them (CI=true)"; fi
        warn "missing ${missing[*]}; install them (apt-get install ${missing[*]}) or the tests that need them skip"
        return 0
    fi
    say "apt-get install ${missing[*]}"
    apt_get_install "${missing[@]}"
}

check_python() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found; install Python 3.11 or set PYTHON=/path/to/python3.11"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "Voronka needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)"
}

make_venv() {
    check_python
    if [ ! -x "$VENV/bin/python" ]; then
        if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
            rm -rf "$VENV"
            # Debian ships venv's pip separately.
            can_apt || die "$PYTHON cannot create a virtual environment; install python3-venv"
            apt_get_install python3-venv
            "$PYTHON" -m venv "$VENV"
        fi
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip build
}

# build_wheel: dist/voronka-*.whl from this tree; setup.py's build step runs `npm ci` for htmx.
build_wheel() {
    command -v npm >/dev/null 2>&1 || die "npm is needed to build Voronka (it fetches htmx); install Node.js 20"
    rm -rf build dist
    "$VENV/bin/python" -m build --wheel --outdir dist . >build-wheel.log 2>&1 || {
        tail -n 40 build-wheel.log >&2
        die "the wheel did not build; the full log is in build-wheel.log"
    }
    rm -f build-wheel.log
    ls dist/voronka-*.whl >/dev/null
}

# install_wheel [EXTRA]: install the wheel just built (replacing any earlier Voronka in the venv).
install_wheel() {
    local wheel extra="${1:-}"
    wheel=$(ls dist/voronka-*.whl)
    "$VENV/bin/python" -m pip uninstall --quiet --yes voronka >/dev/null 2>&1 || true
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${wheel}${extra:+[$extra]}"
}

# ensure_postgres: start the local cluster if it is down; under CI a PostgreSQL that stays down fails.
ensure_postgres() {
    local url_host=127.0.0.1 port=5432
    if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h "$url_host" -p "$port"; then return 0; fi
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        local version
        for version in $(ls /etc/postgresql); do
            pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
        done
        for _ in $(seq 1 30); do
            pg_isready -q -h "$url_host" -p "$port" && return 0
            sleep 1
        done
    fi
    if in_ci; then die "PostgreSQL is not running at $url_host:$port (CI=true: a missing service fails)"; fi
    warn "PostgreSQL is not running at $url_host:$port; the PostgreSQL half of the tests will skip"
}
