#!/bin/sh
# Install alertbridge as a systemd service (docs/operations.md, "Deploying"):
#
#   make build && sudo deploy/systemd/install.sh bin/alertbridge
#   sudo systemctl enable --now alertbridge
#
# It installs the binary to /usr/local/bin, creates the alertbridge user
# (systemd-sysusers, or useradd where there is none), /etc/alertbridge with
# the example config file, an empty rules directory and random tokens in
# /etc/alertbridge/secrets, and the unit. It never overwrites a config file,
# a secret or a rule that is there already, so it also upgrades the binary
# and the unit in place. With DESTDIR set it installs below that directory
# and does not talk to systemd (for packaging, and for testing this script).
set -eu

bin=${1:-bin/alertbridge}
here=$(cd "$(dirname "$0")" && pwd)
root=${DESTDIR:-}

if [ ! -x "$bin" ]; then
	echo "install.sh: $bin is not an executable: build it first (make build)" >&2
	exit 2
fi

install -D -m 0755 "$bin" "$root/usr/local/bin/alertbridge"

install -D -m 0644 "$here/alertbridge.sysusers" "$root/etc/sysusers.d/alertbridge.conf"
if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers --root="${root:-/}" "$root/etc/sysusers.d/alertbridge.conf"
elif ! grep -q '^alertbridge:' "$root/etc/passwd" 2>/dev/null; then
	useradd --root "${root:-/}" --system --user-group --home-dir /var/lib/alertbridge \
		--no-create-home --shell /usr/sbin/nologin alertbridge
fi

# The config is root's and readable by the daemon; the secrets only by root
# and the daemon's group. The daemon writes only its state directory, which
# systemd creates (StateDirectory=). The group is looked up in the target's
# /etc/group, so that DESTDIR installs do not need it on this machine.
gid=$(awk -F: '$1 == "alertbridge" {print $3}' "$root/etc/group")
install -d -m 0755 "$root/etc/alertbridge" "$root/etc/alertbridge/rules"
install -d -m 0750 -o 0 -g "$gid" "$root/etc/alertbridge/secrets"

if [ ! -e "$root/etc/alertbridge/alertbridge.yml" ]; then
	install -m 0644 "$here/alertbridge.yml" "$root/etc/alertbridge/alertbridge.yml"
fi
for name in alertmanager.token ops.token; do
	f="$root/etc/alertbridge/secrets/$name"
	if [ ! -e "$f" ]; then
		(umask 0077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$f")
		chgrp "$gid" "$f" && chmod 0640 "$f"
		echo "install.sh: wrote a random token to /etc/alertbridge/secrets/$name"
	fi
done

install -D -m 0644 "$here/alertbridge.service" "$root/etc/systemd/system/alertbridge.service"

if [ -z "$root" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
fi
cat <<'MSG'
install.sh: installed. Next:
  - put rule files in /etc/alertbridge/rules/*.yml (none is fine: the daemon
    starts on the built-in defaults and says so in its log);
  - give Alertmanager the token in /etc/alertbridge/secrets/alertmanager.token;
  - sudo systemctl enable --now alertbridge
  - curl -fsS http://127.0.0.1:9097/-/ready
MSG
