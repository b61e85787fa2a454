#!/bin/sh
# Networks between real VMs through the userspace switch (vm/switch.c,
# runner/bridge_lua.c): ping, partitions, latency, drop rate, bandwidth,
# capture read back by tcpdump; once more with every capability dropped
# (no root, no CAP_NET_ADMIN needed); nothing left behind.  Skipped (exit
# 0) when qemu-system-x86_64 or the guest image is missing.
set -eu
root=$(cd ../.. && pwd)
export PROVIUM_GUEST="${PROVIUM_GUEST:-$root/build/guest/current}"
fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== the bridge API without VMs (--vmm local)"
"$PROVIUM" --vmm local --seed 99 api.test.lua || fail "api.test.lua"

if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "SKIP: qemu-system-x86_64 not installed"; exit 0
fi
if [ ! -f "$PROVIUM_GUEST/vmlinux" ]; then
	echo "SKIP: no guest image at $PROVIUM_GUEST (make guest)"; exit 0
fi
[ -f "$PROVIUM_GUEST/modules/virtio_net.ko" ] ||
	fail "guest image $PROVIUM_GUEST has no virtio_net.ko: rebuild it (make guest)"

echo "== ping, partitions, latency"
"$PROVIUM" ping.test.lua || fail "ping.test.lua"

echo "== a VM restored from a snapshot reconnects; partitions hold"
"$PROVIUM" snap.test.lua || fail "snap.test.lua"

echo "== drop rate, bandwidth, isolation, link, capture"
"$PROVIUM" impair.test.lua || fail "impair.test.lua"

# On q35 too (virtio-net-pci; the default here is microvm's virtio-net-device).
echo "== again with no capabilities at all, on q35"
nocaps="setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all --"
$nocaps grep -q '^CapEff:	0000000000000000$' /proc/self/status ||
	fail "setpriv did not drop the capabilities"
PROVIUM_MACHINE=q35 $nocaps "$PROVIUM" ping.test.lua ||
	fail "ping.test.lua without capabilities on q35"

echo "== nothing left behind"
left=$(find "$TMPDIR" -maxdepth 1 -name 'provium-net-*' | head -n 3)
[ -z "$left" ] || fail "bridge directories left: $left"
if pgrep -f "$TMPDIR/provium-net-" >/dev/null; then
	fail "a QEMU on a bridge socket is still running"
fi
echo "ok"
