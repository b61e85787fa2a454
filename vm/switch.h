/*
 * switch.h: a userspace Ethernet switch for networks between VMs.
 *
 * One switch per bridge.  It needs no privilege: each port is a unix
 * stream socket the switch listens on, and a VM's virtio-net NIC connects
 * to it with QEMU's `-netdev stream,server=off,addr.type=unix,addr.path=P`.
 * The wire format on a port is QEMU's: every Ethernet frame is preceded by
 * its length as a 4-byte big-endian integer (no vnet header).
 *
 * The switch learns source MACs, forwards known unicast to one port, and
 * floods broadcast, multicast and unknown unicast to every other port.
 * Between ingress and egress, each frame passes the impairment rules of
 * its (source port, destination port) pair: block (partition/isolation),
 * random drop, a bandwidth shaper and a fixed latency.  Random drops come
 * from one splitmix64 stream per source port, seeded from the switch seed
 * and the port name, so a run with the same seed and the same frame order
 * per port drops the same frames.
 *
 * Threading: sw_start() runs the switch in its own thread (all signals
 * blocked there) with its own poll loop; every other function here is a
 * blocking request/reply over a socketpair control channel whose messages
 * are events/frame.h frames holding msgpack maps ({"op": ...} requests,
 * {"ok": bool, "error"?: str, ...} replies).  One caller thread at a time.
 *
 * Errors: 0 / -1 with *err set to a malloc'd message (caller frees).
 * Nothing here exits.
 */
#ifndef PROVIUM_SWITCH_H
#define PROVIUM_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SW_NAME_MAX      64u          /* port (VM) and bridge name, incl. NUL */
#define SW_MAX_PORTS     64u
#define SW_FRAME_MAX     65536u       /* largest Ethernet frame accepted */
#define SW_QUEUE_MAX     (32u << 20)  /* bytes held in the delay queue */
#define SW_OUTBUF_MAX    (4u << 20)   /* bytes waiting for one slow port */
#define SW_SHAPER_MAX_NS 1000000000ull /* shaper backlog beyond this: drop */
#define SW_CAPTURE_MAX   (256ull << 20)
#define SW_PATH_MAX      108u         /* sun_path */
#define SW_WILDCARD      "*"          /* rule endpoint matching any port */

struct sw;

/*
 * One directed impairment record, stored under (from, to) where either
 * name may be SW_WILDCARD.  A frame from port a to port b obeys every
 * record whose endpoints match: it is blocked if any blocks, waits the
 * largest latency, is dropped with the largest probability, and is shaped
 * by the record with the smallest non-zero bps (whose shaper state is
 * shared by all pairs that record covers, like one link).  The shaper is
 * a token bucket of max(bps/800, 1500) bytes (upstream's htb burst): a
 * frame that would wait more than SW_SHAPER_MAX_NS is dropped instead.
 */
struct sw_rule {
	bool block;
	uint32_t latency_us;
	uint32_t drop_ppm;       /* parts per million, <= 1000000 */
	uint64_t bps;            /* bits per second; 0 = unlimited */
};

/* Per-port counters, from the VM's point of view (tx = sent by the VM). */
struct sw_counters {
	uint64_t tx_packets, tx_bytes;   /* frames the VM sent to the switch */
	uint64_t rx_packets, rx_bytes;   /* frames the switch handed to the VM */
	uint64_t errors;                 /* runt/oversize frames, write errors */
	uint64_t dropped;                /* lost to rules, drop rate, queues */
	bool connected;                  /* a QEMU is connected right now */
};

/*
 * The default NIC MAC for vm on bridge: 52:54:00 followed by the low 24
 * bits (big-endian) of FNV-1a-64 over "<vm>-<bridge>".  With salt > 0 the
 * hash covers "<vm>-<bridge>#<salt>" instead; the switch walks salts until
 * the MAC is unused among its ports, so MACs never collide on one bridge.
 */
void sw_default_mac(const char *vm, const char *bridge, unsigned salt,
    uint8_t mac[6]);
uint64_t sw_fnv1a64(const void *p, size_t n, uint64_t h);
#define SW_FNV_OFFSET 0xcbf29ce484222325ull

/*
 * Starts the switch for bridge `name`.  Port sockets are created in dir
 * (which must exist; paths must fit sun_path) as "<dir>/<name>.<index>".
 */
int sw_start(const char *name, const char *dir, uint64_t seed,
    struct sw **out, char **err);
/* Stops the thread, closes every socket, unlinks the port sockets and
 * frees sw.  Safe on NULL. */
void sw_stop(struct sw *sw);
const char *sw_name(const struct sw *sw);
uint64_t sw_seed(const struct sw *sw);

/*
 * Adds a port for vm: *path (caller buffer of SW_PATH_MAX) receives the
 * socket to hand to QEMU, mac its unique MAC.  A VM has one port per
 * switch ("port `x` already exists on bridge `y`").
 */
int sw_add_port(struct sw *sw, const char *vm, char *path, uint8_t mac[6],
    char **err);
/* Removes the port, closes its connection and unlinks its socket. */
int sw_del_port(struct sw *sw, const char *vm, char **err);
/* Link down: the port neither sends nor receives (the QEMU stays connected). */
int sw_set_link(struct sw *sw, const char *vm, bool up, char **err);
/* Replaces the record under (from, to); an all-zero rule removes it. */
int sw_set_rule(struct sw *sw, const char *from, const char *to,
    const struct sw_rule *r, char **err);
/* Removes every record. */
int sw_clear_rules(struct sw *sw, char **err);
int sw_counters(struct sw *sw, const char *vm, struct sw_counters *c,
    char **err);
/*
 * Starts writing every frame entering the switch to a pcap file at path
 * (created/truncated; LINKTYPE_ETHERNET, microsecond timestamps, each
 * record written whole so the file is readable at any time).  path NULL
 * stops the capture.  At most SW_CAPTURE_MAX bytes are written.
 */
int sw_capture(struct sw *sw, const char *path, char **err);
/*
 * Round trip through the switch thread; when it returns, every frame the
 * switch had read before has been forwarded or queued.  For tests.
 */
int sw_sync(struct sw *sw, char **err);

#endif
