#!/usr/bin/env bash
# examples/shardctl@.service run by systemd as PID 1: the 6.1 guest boots
# systemd into a target of the harness's own (so none of the host's enabled
# services start), with udev and the unit enabled for eth0, then runs
# tests/vm/systemd.sh as a oneshot service after it.
source "$(dirname "$0")/lib.sh"
need_root
vm_pass "systemd pass" systemd.sh --systemd
