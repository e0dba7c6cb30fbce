#!/usr/bin/env bash
# Make PostgreSQL, Redis, nginx and Chromium available on localhost for the test suite.
# Starts what is installed but stopped; installs Debian packages where missing (root).
set -uo pipefail

log() { printf '[provision] %s\n' "$*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
APT_UPDATED=0
apt_install() {
  if [ $APT_UPDATED = 0 ]; then $SUDO apt-get update -qq >/dev/null 2>&1 || true; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null 2>&1
}

# PostgreSQL
if ! port_open 5432; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    log "installing PostgreSQL"; apt_install postgresql || log "could not install PostgreSQL"
  fi
  if ls /etc/postgresql/*/main >/dev/null 2>&1; then
    v=$(ls /etc/postgresql | head -1)
    log "starting PostgreSQL $v"
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || $SUDO pg_ctlcluster "$v" main start || true
  fi
  for _ in $(seq 1 30); do port_open 5432 && break; sleep 1; done
fi
if port_open 5432; then
  # Tests connect as postgres over TCP without a password.
  if ! psql -h 127.0.0.1 -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf 2>/dev/null | head -1)
    if [ -n "$hba" ]; then
      log "allowing local trust auth for tests in $hba"
      $SUDO sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
      $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main reload 2>/dev/null || true
    fi
  fi
  log "PostgreSQL ready on 5432"
else
  log "PostgreSQL NOT available: its tests will fail (ANXIN_REQUIRE_BACKENDS=1)"
fi

# Redis
if ! port_open 6379; then
  command -v redis-server >/dev/null || { log "installing Redis"; apt_install redis-server || true; }
  if command -v redis-server >/dev/null; then
    log "starting Redis"
    $SUDO mkdir -p /var/lib/redis /var/log/redis
    $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/anxin-test.log
    for _ in $(seq 1 20); do port_open 6379 && break; sleep 0.5; done
  fi
fi
port_open 6379 && log "Redis ready on 6379" || log "Redis NOT available: its tests will fail"

# nginx and openssl for the deployment tests (tests/deploy/test_nginx.py runs nginx as the
# current user with its own prefix; the packaged service is not needed and not started here).
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  log "installing nginx"; apt_install nginx || log "could not install nginx"
fi
command -v openssl >/dev/null || { log "installing openssl"; apt_install openssl || true; }
{ command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; } && log "nginx ready" || log "nginx NOT available: its tests will fail"

# Chromium for the browser tests (Debian's package; no browser download).
if [ ! -x /usr/bin/chromium ]; then
  log "installing Chromium"; apt_install chromium || log "could not install Chromium"
fi
# A CJK font, or Chinese renders as empty boxes in the screenshots.
if ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy\|noto sans cjk"; then
  apt_install fonts-wqy-microhei || log "could not install a CJK font (screenshots only)"
fi
[ -x /usr/bin/chromium ] && log "Chromium ready" || log "Chromium NOT available: browser tests will fail"
exit 0
