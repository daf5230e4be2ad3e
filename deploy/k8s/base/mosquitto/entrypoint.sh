#!/bin/sh
# Start Mosquitto from the read-only base config, in one of three modes:
# - MOSQUITTO_PASSWORD_FILE names a password file (per-robot credentials and ingest's, made
#   with `tonypi mqtt add-robot` / `add-user`): no anonymous access, and the shipped ACL
#   (acl beside this script, or MOSQUITTO_ACL_FILE) binds each robot to its own topics.
#   The production configuration (docs/security.md).
# - MQTT_USERNAME and MQTT_PASSWORD both set (the same variables ingest reads): one shared
#   user, no per-robot identity; the secret lives only in the environment (.env).
# - neither: anonymous access, for a trusted network only.
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

if [ -n "${MOSQUITTO_PASSWORD_FILE:-}" ]; then
    acl_src=${MOSQUITTO_ACL_FILE:-$(dirname "$0")/acl}
    if [ ! -f "$MOSQUITTO_PASSWORD_FILE" ] || [ ! -s "$MOSQUITTO_PASSWORD_FILE" ] || [ ! -s "$acl_src" ]; then
        echo "mosquitto: MOSQUITTO_PASSWORD_FILE ($MOSQUITTO_PASSWORD_FILE) and the ACL ($acl_src) must be files and not be empty: make the password file with tonypi mqtt add-user / add-robot (docs/deploy.md)" >&2
        exit 2
    fi
    if grep -q REPLACE_ME "$MOSQUITTO_PASSWORD_FILE"; then
        echo "mosquitto: $MOSQUITTO_PASSWORD_FILE is still the placeholder: put the file tonypi mqtt made in the Secret (docs/deploy.md)" >&2
        exit 2
    fi
    # Copies the broker (after dropping root) can read, never written back to the secret.
    (umask 077 && cp "$MOSQUITTO_PASSWORD_FILE" "$run_dir/passwd" && cp "$acl_src" "$run_dir/acl")
    if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
        chown -R mosquitto "$run_dir"
    fi
    printf '\nallow_anonymous false\npassword_file %s\nacl_file %s\n' "$run_dir/passwd" "$run_dir/acl" >> "$conf"
    echo "mosquitto: per-client credentials and ACL on ($(wc -l < "$run_dir/passwd") users)"
elif [ -n "${MQTT_USERNAME:-}" ] && [ -n "${MQTT_PASSWORD:-}" ]; then
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
