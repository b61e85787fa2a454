/*
 * bridge.h: the Lua network API (provium:bridge, Bridge, NIC, Capture),
 * prefix bridge_.  A runner extension (runner/exts.c) built on the
 * userspace switch of vm/switch.h: each bridge is one switch thread in the
 * runner, so nothing needs root or CAP_NET_ADMIN.
 *
 * Lua surface (upstream §4.11 names):
 *   provium:bridge(name)            lookup (walks parent labs)
 *   provium:bridge(name, opts)      create; opts: seed=int (drop RNG;
 *                                   default $PROVIUM_SEED, set by
 *                                   provium --seed, else random),
 *                                   subnet="10.a.b.0/24" (default
 *                                   10.77.<n>.0/24, n = bridge number)
 *   lab.<name>                      VM, else bridge
 *   br:attach(vm|name|{...}, ...)   before vm:boot; all-or-nothing
 *   br:detach(vm|name)              link down, leaves members()
 *   br:members()                    attached VM names, attach order
 *   br:partition(a, b)              symmetric; bare names allowed
 *   br:partition{from=, to=}        directional; both attached
 *   br:unpartition(...), br:is_partitioned(...)   same shapes
 *   br:partition_all(), br:restore_all()  (restore_all undoes only that)
 *   br:isolate(vm), br:unisolate(vm), br:is_isolated(vm)
 *   br:add_latency(ms | {from=, to=, ms=})        one-way, per frame
 *   br:drop_rate(pct | {from=, to=, p=})          percent, clamped <= 100
 *   br:bandwidth_limit(bps | {from=, to=, bps=})  bits/s
 *   br:add_directional_latency{...}, br:directional_drop_rate{...}
 *   br:reset()         clears impairments and partitions, keeps isolation
 *   br:latency_ms(), br:drop_rate_pct(), br:bandwidth_bps()  bridge-wide
 *   br:nic(vm), vm:nic(bridge|name) -> NIC
 *   br:capture() -> Capture: bytes() (pcap so far), stop() -> bytes,
 *                   path()
 *   br:name(), br:seed(), br:subnet(), br:close()
 *   nic:counters() -> {rx_bytes, tx_bytes, rx_packets, tx_packets,
 *                      errors, dropped} (guest's view), nic:disconnect(),
 *   nic:reconnect(), nic:ip(), nic:mac(), nic:vm_name(), nic:bridge()
 *
 * Guest side: each attached VM boots with one virtio-net NIC per bridge
 * (vmm_boot_opts.nics, attach order); after the agent answers, vm:boot
 * loads virtio_net from /lib/modules/provium and gives each NIC the
 * static address nic:ip() reports.
 */
#ifndef PROVIUM_BRIDGE_H
#define PROVIUM_BRIDGE_H

#include <lua.h>

#include "runner/runner.h"
#include "vm/vmm.h"

#define BRIDGE_MT     "provium.bridge"
#define BRIDGE_NIC_MT "provium.nic"
#define BRIDGE_CAP_MT "provium.capture"

extern const struct runner_ext bridge_ext;

/*
 * vm:boot hooks (runner/vm_core.c).  bridge_boot_nics fills o->nics for
 * the VM userdata at vm_idx, leaving one userdata (the array) on the
 * stack; raises for the local backend.  bridge_vm_booted configures the
 * guest's NICs through vm:run and raises if that fails.
 */
void bridge_boot_nics(lua_State *L, int vm_idx, struct vmm_boot_opts *o);
void bridge_vm_booted(lua_State *L, int vm_idx);

#endif
