#!/usr/bin/env bash
# `make deploy-check`: build the service images, start docker-compose.yml with podman, act
# as a robot, check the API and /metrics, tear everything down (docs/deploy.md, "The
# container check"). Needs root, podman + runc + debootstrap (Debian's packages; installed
# here when missing) and podman-compose (PyPI, pinned in constraints.txt: the Makefile
# installs it into .venv).
#
# Cached between runs, in podman's storage: the Debian base image (base-image.sh), the
# stand-in image, and the build layers of the service images (a rebuild after a code
# change redoes the pip step only). Nothing else survives a run: the compose project, its
# volumes, the network namespace and the temporary directory are removed on exit, also
# when a step fails or the run is interrupted.
set -euo pipefail
# One brace group, read whole before it runs: editing this file during a run cannot change it.
{
cd "$(dirname "$0")/../.."
REPO=$PWD
CHECK=deploy/check
NAME=${DEPLOY_CHECK_NAME:-tonypi-check}          # compose project, network namespace, image tag
PODMAN_COMPOSE=${PODMAN_COMPOSE:-$REPO/.venv/bin/podman-compose}
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
BROKERS=(mosquitto nats postgres)
ONE_SHOTS=(streams db-roles)
APPS=(ingest ingest-2 projector query)
SERVICES=("${BROKERS[@]}" "${ONE_SHOTS[@]}" "${APPS[@]}")
export CONTAINERS_CONF=$REPO/$CHECK/containers.conf

started=$SECONDS
say() { echo "deploy-check: $*"; }
step() { say "[$((SECONDS - started)) s] $*"; }
fail() { echo "deploy-check: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (a network namespace, and podman as root)"
missing=()
for tool in podman runc debootstrap nsenter; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
    step "installing podman, runc and debootstrap from Debian's packages (missing: ${missing[*]})"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
fi
[ -x "$PODMAN_COMPOSE" ] || fail "$PODMAN_COMPOSE missing: run it through 'make deploy-check'"

netns=/var/run/netns/$NAME
in_netns() { nsenter --net="$netns" "$@"; }
compose() {
    in_netns "$PODMAN_COMPOSE" --project-name "$NAME" --env-file "$work/env" \
        -f docker-compose.yml -f "$CHECK/compose.check.yml" "$@"
}

work=$(mktemp -d "/tmp/$NAME.XXXXXX")
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -e "$netns" ]; then
        if [ "$rc" != 0 ] && [ -f "$work/env" ]; then
            say "logs of the failed run (last 40 lines per service):"
            for service in "${SERVICES[@]}"; do
                echo "----- $service"
                podman ps -a --filter "label=io.podman.compose.project=$NAME" \
                    --filter "label=com.docker.compose.service=$service" --format '{{.Names}} {{.Status}}' || true
                for container in $(podman ps -aq --filter "label=io.podman.compose.project=$NAME" \
                    --filter "label=com.docker.compose.service=$service"); do
                    podman logs --tail 40 "$container" 2>&1 || true
                done
            done
        fi
        if [ -f "$work/env" ] && ! compose down --volumes --timeout 10 >"$work/down.log" 2>&1; then
            say "compose down failed:"; cat "$work/down.log" >&2 || true
        fi
        ip netns delete "$NAME" || true
    fi
    rm -rf "$work"
    step "torn down"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A run that was killed (SIGKILL, machine stop) may have left its stack: containers,
# volumes, the namespace. Remove what is there first (--depend: compose made the services
# depend on the brokers, which podman then refuses to remove before them).
project=(--filter "label=io.podman.compose.project=$NAME")
leftover=$(podman ps -aq "${project[@]}")
volumes=$(podman volume ls -q "${project[@]}")
if [ -n "$leftover$volumes" ] || [ -e "$netns" ]; then
    say "removing what an earlier run left: $(echo $leftover | wc -w) containers, $(echo $volumes | wc -w) volumes"
    [ -z "$leftover" ] || podman rm --force --depend --time 5 $leftover >/dev/null 2>&1 || true
    [ -z "$(podman ps -aq "${project[@]}")" ] || fail "containers of $NAME remain: podman ps -a ${project[*]}"
    [ -z "$volumes" ] || podman volume rm --force $volumes >/dev/null
    [ ! -e "$netns" ] || ip netns delete "$NAME"
fi

step "base image (Debian bookworm with Python 3.11; built once, then cached)"
base=$(bash "$CHECK/base-image.sh")

step "stand-in image for Mosquitto, NATS and PostgreSQL (Debian's packages; cached)"
standins=localhost/$NAME/standins:${base##*:}
podman build --quiet --format docker --network host --build-arg "BASE_IMAGE=$base" \
    -t "$standins" "$CHECK/standins" >"$work/standins.log" 2>&1 \
    || { cat "$work/standins.log" >&2; fail "stand-in image did not build"; }

# pip in the build stage reaches PyPI through this machine's TLS proxy: the host's CA
# bundle is mounted read-only at the path Debian's pip reads; it never enters an image.
ca_bundle=/etc/ssl/certs/ca-certificates.crt
for service in ingest projector query; do
    step "building tonypi/$service:$NAME (deploy/docker/$service.Dockerfile)"
    # A second try only for a download that broke off (pip reaches PyPI); the log of the
    # failed try is shown either way.
    for try in 1 2; do
        podman build --format docker --network host --build-arg "PYTHON_IMAGE=$base" \
            --volume "$ca_bundle:$ca_bundle:ro" \
            -f "deploy/docker/$service.Dockerfile" -t "tonypi/$service:$NAME" . >"$work/build-$service.log" 2>&1 \
            && break
        tail -40 "$work/build-$service.log" >&2
        [ "$try" = 1 ] || fail "image tonypi/$service did not build"
        say "the build of tonypi/$service failed; trying once more"
    done
done

# Every variable the compose file requires (`${VAR:?...}`: its secrets) gets a fresh random
# value for this run, written only to the temporary directory; the rest keep their defaults.
{
    for variable in $(grep -oE '\$\{[A-Z_][A-Z0-9_]*:\?' docker-compose.yml | tr -d '${:?' | sort -u | grep -vx MOSQUITTO_PASSWD); do
        # A letter first: nats-server reads an unquoted `$VAR` in auth.conf as a config token,
        # so a secret that begins with a digit parses as a number and the server refuses to start.
        echo "$variable=s$(openssl rand -hex 24)"
    done
    echo "TONYPI_VERSION=$NAME"
    echo "CHECK_STANDINS_IMAGE=$standins"
    # The probe's robot sends battery and location on the contract's topics without an id,
    # as every robot's firmware does today; the shipped default (answers) would refuse them.
    echo "INGEST_IDLESS_TOPICS=accept"
} >"$work/env"

# Mosquitto's password file, made as an operator makes it (`tonypi mqtt`, docs/deploy.md):
# ingest's login with the run's MQTT_INGEST_PASSWORD, and one robot's for the probe.
"$PYTHON" - "$work" "check_$(openssl rand -hex 4)" <<'PY' || fail "could not make the MQTT password file"
import sys
from pathlib import Path

from tonypi_cli import mqtt_users

work, robot = Path(sys.argv[1]), sys.argv[2]
env = dict(line.split("=", 1) for line in (work / "env").read_text().splitlines())
path = work / "mosquitto.passwd"
mqtt_users.set_password(path, "ingest", env["MQTT_INGEST_PASSWORD"])
password = mqtt_users.add(path, robot)
path.chmod(0o644)  # the broker copies it after dropping root
with open(work / "env", "a") as out:
    out.write(f"MOSQUITTO_PASSWD={path}\nCHECK_ROBOT_ID={robot}\nCHECK_ROBOT_PASSWORD={password}\n")
PY

step "network namespace $NAME: loopback only"
ip netns add "$NAME"
in_netns ip link set lo up

# In three steps, as an operator on podman would: podman-compose 1.6 with podman 4.3 waits on
# no `depends_on` condition (healthy, completed), and a service that requires a finished
# one-shot cannot be started at all. So the brokers first; then each one-shot run to its
# end (retried while its broker is still starting); then the services (compose.check.yml
# drops the one-shots from their depends_on).
step "compose up: ${BROKERS[*]}"
compose up --detach --no-build "${BROKERS[@]}" >"$work/up.log" 2>&1 \
    || { cat "$work/up.log" >&2; fail "compose up (brokers)"; }
for oneshot in "${ONE_SHOTS[@]}"; do
    step "one-shot: $oneshot"
    for attempt in $(seq 1 30); do
        compose run --rm --no-deps "$oneshot" >"$work/$oneshot.log" 2>&1 && break
        [ "$attempt" = 30 ] && { cat "$work/$oneshot.log" >&2; fail "one-shot $oneshot"; }
        sleep 1  # its broker or database is still starting: the step says so and exits 1
    done
done
step "compose up: ${APPS[*]}"
compose up --detach --no-build --no-deps "${APPS[@]}" >>"$work/up.log" 2>&1 \
    || { cat "$work/up.log" >&2; fail "compose up (services)"; }

step "acting as a robot; checking the API and /metrics"
(set -a && . "$work/env" && in_netns "$PYTHON" "$CHECK/probe.py" --ingest-ports 9101 9103) || fail "the stack did not do what a robot and the API expect"

# Podman 4.3 runs health checks from systemd timers, which this machine lacks, and
# podman-compose does not wait on them: run each container's check once, by hand. For the
# TonyPi services that is the image's HEALTHCHECK (kept by --format docker).
step "health checks (the images' HEALTHCHECK and the compose file's)"
for service in nats postgres ingest ingest-2 projector query; do
    for container in $(podman ps -q --filter "label=io.podman.compose.project=$NAME" \
        --filter "label=com.docker.compose.service=$service"); do
        health=$(in_netns podman healthcheck run "$container" 2>&1) && health=${health:-healthy} \
            || fail "$service: health check failed: $health"
        say "  $service: $health"
    done
done

step "passed"
exit 0
}
