#!/usr/bin/env bash
# The Debian package, as an operator gets it: `make deb` builds it with
# dpkg-buildpackage from a copy of the tree, apt installs it, the README's
# demo steps run against the INSTALLED /usr/sbin/shardctl (frames from the
# tree's mqtap), the installed unit verifies, the installed bootstrap example
# runs twice, and the package is purged again, leaving no file behind.
source "$(dirname "$0")/lib.sh"
need_root

NS=sct$$pk
N=200
TMP=$(mktemp -d /tmp/t_package.XXXXXX)
APT=(apt-get -qq -y -o DPkg::Lock::Timeout=120)
defer rm -rf "$TMP"
defer "$TESTBED" down "$NS"
installed_by_us=0
# Only a package this run installed is removed (read at exit time).
purge_ours() {
	if [ $installed_by_us = 1 ]; then
		nsenter --net="/var/run/netns/$NS" /usr/sbin/shardctl teardown >/dev/null 2>&1
		DEBIAN_FRONTEND=noninteractive "${APT[@]}" purge shardctl >/dev/null 2>&1
	fi
}
defer purge_ours

if dpkg-query -W -f='${Status}' shardctl 2>/dev/null | grep -q 'ok installed'; then
	fail "package test" "a shardctl package is already installed; not touching it (dpkg --purge shardctl to run this test)"
	exit 0
fi

# Build tools: dpkg-dev is in every Debian install with build-essential;
# debhelper is only needed here.
missing=()
command -v dpkg-buildpackage >/dev/null || missing+=(dpkg-dev)
command -v dh >/dev/null || missing+=(debhelper)
if [ ${#missing[@]} -gt 0 ]; then
	echo "  installing ${missing[*]} (build tools for the package)"
	apt-get -qq update && DEBIAN_FRONTEND=noninteractive "${APT[@]}" install "${missing[@]}" >/dev/null
fi
command -v dh >/dev/null || { fail "debhelper available" "could not install debhelper"; exit 0; }

# --- build ---------------------------------------------------------------
start=$SECONDS
if ! make -s -C "$TOP" deb DEB_DIR="$TMP/deb" >"$TMP/build.log" 2>&1; then
	fail "make deb" "$(tail -5 "$TMP/build.log" | tr '\n' ' ')"
	exit 0
fi
version=$(cat "$TOP/VERSION")
arch=$(dpkg --print-architecture)
deb=$TMP/deb/shardctl_${version}_${arch}.deb
echo "  built in $((SECONDS - start)) s"
expect_eq "make deb: shardctl_${version}_${arch}.deb" "$([ -f "$deb" ] && echo yes)" yes
expect_eq "the checkout got no build output (debian/ stays clean)" \
	"$(git -C "$TOP" status --porcelain --ignored debian 2>/dev/null)" ""
expect_eq "package version = VERSION" "$(dpkg-deb -f "$deb" Version)" "$version"
expect_match "Depends: libbpf1 (from shlibs)" "$(dpkg-deb -f "$deb" Depends)" "libbpf1"
files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' | sort)
expect_eq "the package's files" "$files" "$(printf '%s\n' /lib/systemd/system/shardctl-watch@.service \
	/lib/systemd/system/shardctl@.service \
	/usr/sbin/shardctl /usr/share/bash-completion/completions/shardctl \
	/usr/share/doc/shardctl/README.md.gz /usr/share/doc/shardctl/changelog.gz \
	/usr/share/doc/shardctl/copyright /usr/share/doc/shardctl/examples/bootstrap.sh \
	/usr/share/doc/shardctl/examples/cloud-init.yaml \
	/usr/share/doc/shardctl/examples/shardctl-textfile.service \
	/usr/share/doc/shardctl/examples/shardctl-textfile.sh \
	/usr/share/doc/shardctl/examples/shardctl-textfile.timer \
	/usr/share/doc/shardctl/examples/shardctl-watch@.service \
	/usr/share/doc/shardctl/examples/shardctl@.service /usr/share/man/man8/shardctl.8.gz | sort)"
expect_match "cloud-init example fetches the file make deb names" \
	"$(cat "$TOP/examples/cloud-init.yaml")" "/shardctl_${version}_${arch}\.deb"

# --- install ------------------------------------------------------------------
installed_by_us=1
expect_rc "apt-get install ./shardctl.deb" 0 env DEBIAN_FRONTEND=noninteractive "${APT[@]}" install "$deb"
SHARDCTL=/usr/sbin/shardctl
libbpf=$(dpkg-query -W -f='${Version}' libbpf1 | sed 's/^[0-9]*://' | cut -d. -f1,2)
expect_match "installed shardctl --version (libbpf $libbpf)" "$(cd / && "$SHARDCTL" --version)" \
	"^shardctl $version \(libbpf $libbpf\)$"
if command -v man >/dev/null; then
	expect_eq "man finds the installed page" "$(man -w shardctl 2>/dev/null)" /usr/share/man/man8/shardctl.8.gz
	expect_match "the installed page renders" "$(MANPAGER=cat MANWIDTH=100 man shardctl 2>/dev/null)" "EXIT STATUS"
else
	skip "man finds and renders the installed page" "man-db is not installed"
fi
expect_match "the installed completion registers" \
	"$(bash -c 'source /usr/share/bash-completion/completions/shardctl && complete -p shardctl')" "-F _shardctl shardctl"
expect_match "the installed completion completes the installed binary's commands" \
	"$(PATH=/usr/sbin:$PATH bash -c 'source /usr/share/bash-completion/completions/shardctl
		COMP_WORDS=(shardctl se); COMP_CWORD=1; _shardctl; echo "${COMPREPLY[*]}"')" "^setup$"
if command -v systemd-analyze >/dev/null; then
	expect_eq "systemd-analyze verify the installed shardctl@eth0.service" \
		"$(systemd-analyze verify shardctl@eth0.service 2>&1)" ""
else
	skip "systemd-analyze verify of the installed unit" "systemd-analyze is not installed"
fi

# --- the README's demo steps with the installed binary ----------------------------
"$TESTBED" up "$NS" --queues 4 || { fail "testbed up" "could not build the testbed"; exit 0; }
before=$(snapshot | grep -v '^/sys/fs/bpf')
cd /
expect_rc "installed: setup --dry-run" 0 sc setup nic0 --dry-run
expect_rc "installed: setup" 0 sc setup nic0 -j
expect_eq "installed: 4 shards, complete" "$(jq -r '"\(.nr_shards) \(.complete)"' <<<"$OUT")" "4 true"
OUT=$("$MQTAP" traffic --ns "$NS" --count $N --flows 8 --rate 20000 -j)
expect_eq "installed: every frame came back out of the TAP" "$(jq -r .received <<<"$OUT")" $((4 * N))
status=$(sc status nic0 -j)
for i in 0 1 2 3; do
	expect_eq "installed: status counts rx queue $i on shard $i" "$(jq -r ".[0].shards[$i].packets" <<<"$status")" $N
done
expect_rc "installed: human status" 0 sc status nic0
expect_match "installed: human status shows the state" "$OUT" "state: complete"
expect_rc "installed: setup again" 0 sc setup nic0 -j
expect_eq "installed: setup again changes nothing" "$(jq -r .changed <<<"$OUT")" false
expect_rc "installed: teardown" 0 sc teardown nic0
expect_eq "installed: nothing set up afterwards" "$(sc status -j)" "[]"
now=$(snapshot | grep -v '^/sys/fs/bpf')
expect_eq "installed: teardown restores the testbed" "$now" "$before"

# The installed example, found through PATH as an operator would run it.
boot() { in_ns env -u SHARDCTL PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/share/doc/shardctl/examples/bootstrap.sh nic0; }
expect_rc "installed bootstrap example: first run" 0 boot
expect_rc "installed bootstrap example: second run" 0 boot
expect_match "installed bootstrap example: second run changes nothing" "$OUT" "already set up, 4 shards"
expect_rc "installed: teardown after the bootstrap" 0 sc teardown
cd "$TOP" || exit 1

# --- purge ---------------------------------------------------------------------
expect_rc "apt-get purge shardctl" 0 env DEBIAN_FRONTEND=noninteractive "${APT[@]}" purge shardctl
installed_by_us=0
left=$(for f in $files; do [ -e "$f" ] && echo "$f"; done)
expect_eq "purge leaves none of the package's files" "$left" ""
expect_eq "dpkg no longer knows shardctl" \
	"$(dpkg-query -W -f='${Status}' shardctl 2>/dev/null | grep -c 'ok installed')" 0
