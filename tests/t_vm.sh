#!/usr/bin/env bash
# The suite on the kernel users boot: Debian bookworm's stock kernel (6.1)
# under QEMU with a 4-queue virtio-net NIC runs tests/vm/guest.sh, every
# command against a real driver (see that file).
source "$(dirname "$0")/lib.sh"
need_root
vm_pass "guest pass" guest.sh
