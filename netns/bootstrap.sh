# shellcheck shell=bash
# Sourced by the README's two commands (netns/demo, tests/run): on a fresh
# Debian machine even make may be missing. The package list itself lives in
# one place, the Makefile's `deps` target.
bootstrap_deps() {
	if [ "$(id -u)" != 0 ]; then
		echo "$0: run as root (it creates network namespaces and loads BPF programs)" >&2
		exit 1
	fi
	if ! command -v make >/dev/null || ! command -v dpkg-query >/dev/null; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make >/dev/null ||
			{ echo "$0: cannot install make" >&2; exit 1; }
	fi
	make -s deps || { echo "$0: installing the build dependencies failed" >&2; exit 1; }
	mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
}
