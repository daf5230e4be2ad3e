#!/bin/sh
# Start Mosquitto from the read-only base config, adding password authentication when
# MQTT_USERNAME and MQTT_PASSWORD are both set (the same variables ingest reads), so
# the secret lives only in the environment (.env), never in a committed file.
#
# MOSQUITTO_BASE_CONF and MOSQUITTO_RUN_DIR default to the container's paths; the
# deploy tests point them at a temp dir to run this very script against a real broker.
set -eu

base_conf=${MOSQUITTO_BASE_CONF:-/mosquitto/config/mosquitto.conf}
run_dir=${MOSQUITTO_RUN_DIR:-/mosquitto/run}
conf="$run_dir/mosquitto.conf"

mkdir -p "$run_dir"
chmod 0700 "$run_dir"
cp "$base_conf" "$conf"

if [ -n "${MQTT_USERNAME:-}" ] && [ -n "${MQTT_PASSWORD:-}" ]; then
    passwd_file="$run_dir/passwd"
    rm -f "$passwd_file"
    (umask 077 && touch "$passwd_file")
    mosquitto_passwd -b "$passwd_file" "$MQTT_USERNAME" "$MQTT_PASSWORD"
    if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
        chown -R mosquitto "$run_dir"   # the broker reads it after dropping to that user
    fi
    printf '\nallow_anonymous false\npassword_file %s\n' "$passwd_file" >> "$conf"
    echo "mosquitto: password authentication on for user $MQTT_USERNAME"
elif [ -n "${MQTT_USERNAME:-}${MQTT_PASSWORD:-}" ]; then
    echo "mosquitto: set both MQTT_USERNAME and MQTT_PASSWORD, or neither" >&2
    exit 2
else
    printf '\nallow_anonymous true\n' >> "$conf"
    echo "mosquitto: anonymous access (set MQTT_USERNAME and MQTT_PASSWORD to require a password)"
fi

exec mosquitto -c "$conf"
