/*
 * switch.c: the userspace Ethernet switch (see switch.h).
 *
 * The thread owns struct sw_core and nothing else touches it; the caller
 * side only holds the control socket.  Frames are copied once into a
 * pending record when they must wait (latency, shaper) and written to a
 * per-port output buffer otherwise; a slow port whose buffer is full
 * loses frames instead of stalling the others, as a real switch would.
 */
#include "vm/switch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/mp.h"
#include "events/xfmt.h"

#define CTL_MAX        65536u
#define MAC_TABLE      1024u
#define MAX_RULES      1024u
#define READS_PER_POLL 8
/* One read takes many frames: QEMU writes them back to back. */
#define IN_CAP         (4 + SW_FRAME_MAX + 65536)

struct port {
	bool used;
	char name[SW_NAME_MAX];
	char path[SW_PATH_MAX];
	uint8_t mac[6];
	int lfd, fd;
	uint32_t gen;              /* bumped on every (dis)connect */
	bool link_up;
	uint8_t *in;               /* IN_CAP while connected */
	size_t in_len;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	uint64_t rng;
	struct sw_counters c;
};

struct rule {
	char from[SW_NAME_MAX], to[SW_NAME_MAX];
	struct sw_rule r;
	uint64_t tat_ns;           /* shaper: theoretical arrival time */
};

struct pending {
	uint64_t due_ns, seq;
	unsigned dst;
	uint32_t gen;
	size_t len;
	uint8_t *data;
};

struct mac_entry {
	uint8_t mac[6];
	bool used;
	unsigned port;
};

struct sw_core {
	char name[SW_NAME_MAX];
	char dir[SW_PATH_MAX];
	uint64_t seed;
	int ctl;
	bool stop;
	struct port ports[SW_MAX_PORTS];
	struct rule *rules;
	size_t nrules;
	struct mac_entry macs[MAC_TABLE];
	struct pending *heap;
	size_t nheap, heap_cap, heap_bytes;
	uint64_t seq;
	int cap_fd;
	uint64_t cap_bytes;
	struct frame_reader ctl_rd;
};

struct sw {
	pthread_t th;
	int ctl;
	char name[SW_NAME_MAX];
	uint64_t seed;
	struct sw_core *core;
	uint8_t *reply;            /* body of the last reply */
};

uint64_t
sw_fnv1a64(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void
sw_default_mac(const char *vm, const char *bridge, unsigned salt,
    uint8_t mac[6])
{
	char buf[2 * SW_NAME_MAX + 16];
	int n;
	uint64_t h;

	if (salt)
		n = snprintf(buf, sizeof buf, "%s-%s#%u", vm, bridge, salt);
	else
		n = snprintf(buf, sizeof buf, "%s-%s", vm, bridge);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	h = sw_fnv1a64(buf, (size_t)n, SW_FNV_OFFSET);
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- ports ---------------------------------------------------------- */

static int
find_port(const struct sw_core *c, const char *name)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (c->ports[i].used && strcmp(c->ports[i].name, name) == 0)
			return (int)i;
	return -1;
}

static bool
mac_in_use(const struct sw_core *c, const uint8_t mac[6])
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (c->ports[i].used && memcmp(c->ports[i].mac, mac, 6) == 0)
			return true;
	return false;
}

static struct mac_entry *mac_slot(struct sw_core *c, const uint8_t mac[6],
    bool create);

/*
 * Open addressing: a hole in a probe chain would hide the entries after
 * it, so the table is rebuilt without the port's entries (disconnects are
 * rare; the table is small).
 */
static void
forget_port_macs(struct sw_core *c, unsigned p)
{
	struct mac_entry old[MAC_TABLE];

	memcpy(old, c->macs, sizeof old);
	memset(c->macs, 0, sizeof c->macs);
	for (unsigned i = 0; i < MAC_TABLE; i++) {
		struct mac_entry *m;

		if (old[i].used && old[i].port != p &&
		    (m = mac_slot(c, old[i].mac, true)))
			*m = old[i];
	}
}

static void
port_disconnect(struct sw_core *c, unsigned p)
{
	struct port *pt = &c->ports[p];

	if (pt->fd >= 0)
		close(pt->fd);
	pt->fd = -1;
	pt->gen++;
	free(pt->in);
	pt->in = NULL;
	pt->in_len = 0;
	pt->out_len = pt->out_off = 0;
	forget_port_macs(c, p);
}

static void
port_free(struct sw_core *c, unsigned p)
{
	struct port *pt = &c->ports[p];

	port_disconnect(c, p);
	if (pt->lfd >= 0) {
		close(pt->lfd);
		unlink(pt->path);
	}
	free(pt->out);
	memset(pt, 0, sizeof *pt);
	pt->lfd = pt->fd = -1;
}

static int
port_add(struct sw_core *c, const char *name, char **err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct port *pt = NULL;
	unsigned idx = 0, salt = 0;
	int n;

	if (!*name || strlen(name) >= SW_NAME_MAX || strcmp(name, SW_WILDCARD) == 0) {
		*err = xfmt("bad port name `%s` (1..%u bytes, not `*`)",
		    name, SW_NAME_MAX - 1);
		return -1;
	}
	if (find_port(c, name) >= 0) {
		*err = xfmt("port `%s` already exists on bridge `%s`", name,
		    c->name);
		return -1;
	}
	for (idx = 0; idx < SW_MAX_PORTS; idx++)
		if (!c->ports[idx].used)
			break;
	if (idx == SW_MAX_PORTS) {
		*err = xfmt("bridge `%s` is full (%u ports)", c->name,
		    SW_MAX_PORTS);
		return -1;
	}
	pt = &c->ports[idx];
	n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s.%u", c->dir,
	    c->name, idx);
	if (n < 0 || (size_t)n >= sizeof sa.sun_path) {
		*err = xfmt("socket path for bridge `%s` is longer than %zu "
		    "bytes (dir `%s`); use a shorter TMPDIR", c->name,
		    sizeof sa.sun_path - 1, c->dir);
		return -1;
	}
	memcpy(pt->path, sa.sun_path, (size_t)n + 1);
	unlink(pt->path);
	pt->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (pt->lfd < 0 || bind(pt->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    listen(pt->lfd, 4) < 0) {
		*err = xfmt("port socket %s: %s", pt->path, strerror(errno));
		if (pt->lfd >= 0)
			close(pt->lfd);
		pt->lfd = -1;
		return -1;
	}
	/* pt is not yet `used`, so mac_in_use() only sees the others. */
	do
		sw_default_mac(name, c->name, salt++, pt->mac);
	while (mac_in_use(c, pt->mac));
	pt->used = true;
	pt->fd = -1;
	pt->link_up = true;
	snprintf(pt->name, sizeof pt->name, "%s", name);
	pt->rng = c->seed ^ sw_fnv1a64(name, strlen(name), SW_FNV_OFFSET);
	memset(&pt->c, 0, sizeof pt->c);
	return (int)idx;
}

/* ---- output --------------------------------------------------------- */

static void
port_flush(struct sw_core *c, unsigned p)
{
	struct port *pt = &c->ports[p];
	ssize_t n;

	while (pt->fd >= 0 && pt->out_off < pt->out_len) {
		n = send(pt->fd, pt->out + pt->out_off, pt->out_len - pt->out_off,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			pt->c.errors++;
			port_disconnect(c, p);
			return;
		}
		pt->out_off += (size_t)n;
	}
	if (pt->out_off == pt->out_len)
		pt->out_off = pt->out_len = 0;
}

/* Queues one frame for port p with QEMU's length prefix, then tries to send. */
static void
port_emit(struct sw_core *c, unsigned p, const uint8_t *data, size_t len)
{
	struct port *pt = &c->ports[p];
	size_t need;

	if (pt->fd < 0 || !pt->link_up)
		return;
	if (pt->out_off > 0 && pt->out_off == pt->out_len)
		pt->out_off = pt->out_len = 0;
	if (pt->out_len - pt->out_off + 4 + len > SW_OUTBUF_MAX) {
		pt->c.dropped++;
		return;
	}
	if (pt->out_off > 0 && pt->out_len + 4 + len > pt->out_cap) {
		memmove(pt->out, pt->out + pt->out_off, pt->out_len - pt->out_off);
		pt->out_len -= pt->out_off;
		pt->out_off = 0;
	}
	need = pt->out_len + 4 + len;
	if (need > pt->out_cap) {
		size_t cap = pt->out_cap ? pt->out_cap : 16384;
		uint8_t *nb;

		while (cap < need)
			cap *= 2;
		if (!(nb = realloc(pt->out, cap))) {
			pt->c.dropped++;
			return;
		}
		pt->out = nb;
		pt->out_cap = cap;
	}
	frame_header(pt->out + pt->out_len, (uint32_t)len);
	memcpy(pt->out + pt->out_len + 4, data, len);
	pt->out_len += 4 + len;
	pt->c.rx_packets++;
	pt->c.rx_bytes += len;
	/* Sent by flush_all() at the end of this poll round, in one go. */
}

static void
flush_all(struct sw_core *c)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (c->ports[i].used && c->ports[i].out_len > c->ports[i].out_off)
			port_flush(c, i);
}

/* ---- delay queue (binary min-heap on (due, seq)) --------------------- */

static bool
pend_before(const struct pending *a, const struct pending *b)
{
	return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static int
heap_push(struct sw_core *c, const struct pending *e)
{
	size_t i;

	if (c->nheap == c->heap_cap) {
		size_t cap = c->heap_cap ? c->heap_cap * 2 : 256;
		struct pending *nh = realloc(c->heap, cap * sizeof *nh);

		if (!nh)
			return -1;
		c->heap = nh;
		c->heap_cap = cap;
	}
	i = c->nheap++;
	c->heap[i] = *e;
	while (i > 0) {
		size_t up = (i - 1) / 2;
		struct pending t;

		if (!pend_before(&c->heap[i], &c->heap[up]))
			break;
		t = c->heap[up];
		c->heap[up] = c->heap[i];
		c->heap[i] = t;
		i = up;
	}
	c->heap_bytes += e->len;
	return 0;
}

static struct pending
heap_pop(struct sw_core *c)
{
	struct pending top = c->heap[0];
	size_t i = 0;

	c->heap[0] = c->heap[--c->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct pending t;

		if (l < c->nheap && pend_before(&c->heap[l], &c->heap[m]))
			m = l;
		if (r < c->nheap && pend_before(&c->heap[r], &c->heap[m]))
			m = r;
		if (m == i)
			break;
		t = c->heap[m];
		c->heap[m] = c->heap[i];
		c->heap[i] = t;
		i = m;
	}
	c->heap_bytes -= top.len;
	return top;
}

static void
heap_run(struct sw_core *c, uint64_t now)
{
	while (c->nheap > 0 && c->heap[0].due_ns <= now) {
		struct pending e = heap_pop(c);

		if (c->ports[e.dst].used && c->ports[e.dst].gen == e.gen)
			port_emit(c, e.dst, e.data, e.len);
		free(e.data);
	}
}

/* ---- rules ---------------------------------------------------------- */

static bool
rule_matches(const struct rule *r, const char *from, const char *to)
{
	return (strcmp(r->from, SW_WILDCARD) == 0 || strcmp(r->from, from) == 0) &&
	    (strcmp(r->to, SW_WILDCARD) == 0 || strcmp(r->to, to) == 0);
}

static struct rule *
rule_find(struct sw_core *c, const char *from, const char *to)
{
	for (size_t i = 0; i < c->nrules; i++)
		if (strcmp(c->rules[i].from, from) == 0 &&
		    strcmp(c->rules[i].to, to) == 0)
			return &c->rules[i];
	return NULL;
}

static int
rule_set(struct sw_core *c, const char *from, const char *to,
    const struct sw_rule *r, char **err)
{
	struct rule *ru = rule_find(c, from, to);
	bool empty = !r->block && !r->latency_us && !r->drop_ppm && !r->bps;

	if (!*from || !*to || strlen(from) >= SW_NAME_MAX ||
	    strlen(to) >= SW_NAME_MAX) {
		*err = xfmt("bad rule endpoints `%s` -> `%s`", from, to);
		return -1;
	}
	if (r->drop_ppm > 1000000) {
		*err = xfmt("drop rate %" PRIu32 " ppm is above 1000000",
		    r->drop_ppm);
		return -1;
	}
	if (empty) {
		if (ru) {
			*ru = c->rules[--c->nrules];
		}
		return 0;
	}
	if (!ru) {
		if (c->nrules == MAX_RULES) {
			*err = xfmt("bridge `%s`: more than %u impairment rules",
			    c->name, MAX_RULES);
			return -1;
		}
		if (!c->rules && !(c->rules = calloc(MAX_RULES, sizeof *c->rules))) {
			*err = xfmt("out of memory");
			return -1;
		}
		ru = &c->rules[c->nrules++];
		memset(ru, 0, sizeof *ru);
		snprintf(ru->from, sizeof ru->from, "%s", from);
		snprintf(ru->to, sizeof ru->to, "%s", to);
	}
	if (ru->r.bps != r->bps)
		ru->tat_ns = 0;
	ru->r = *r;
	return 0;
}

/* ---- forwarding ----------------------------------------------------- */

static void
capture_frame(struct sw_core *c, const uint8_t *data, size_t len)
{
	struct timeval tv;
	uint32_t rec[4];
	struct iovec iov[2];
	ssize_t n;

	if (c->cap_fd < 0)
		return;
	if (c->cap_bytes + sizeof rec + len > SW_CAPTURE_MAX)
		return;
	gettimeofday(&tv, NULL);
	rec[0] = (uint32_t)tv.tv_sec;
	rec[1] = (uint32_t)tv.tv_usec;
	rec[2] = rec[3] = (uint32_t)len;
	iov[0] = (struct iovec){ rec, sizeof rec };
	iov[1] = (struct iovec){ (void *)data, len };
	/* A regular file takes the whole record or fails; never half of it. */
	n = writev(c->cap_fd, iov, 2);
	if (n > 0)
		c->cap_bytes += (uint64_t)n;
}

static void
deliver(struct sw_core *c, unsigned s, unsigned d, const uint8_t *data,
    size_t len, uint64_t now)
{
	struct port *src = &c->ports[s], *dst = &c->ports[d];
	uint32_t lat = 0, drop = 0;
	struct rule *shaper = NULL;
	uint64_t due = now;
	struct pending e;

	if (dst->fd < 0 || !dst->link_up)
		return;
	for (size_t i = 0; i < c->nrules; i++) {
		struct rule *ru = &c->rules[i];

		if (!rule_matches(ru, src->name, dst->name))
			continue;
		if (ru->r.block) {
			src->c.dropped++;
			return;
		}
		if (ru->r.latency_us > lat)
			lat = ru->r.latency_us;
		if (ru->r.drop_ppm > drop)
			drop = ru->r.drop_ppm;
		if (ru->r.bps && (!shaper || ru->r.bps < shaper->r.bps))
			shaper = ru;
	}
	if (drop && splitmix64(&src->rng) % 1000000u < drop) {
		src->c.dropped++;
		return;
	}
	if (shaper) {
		/*
		 * Token bucket as GCRA: tat is when the bucket would be full
		 * again; a frame may leave up to the burst's worth of time
		 * before it.  Only the Ethernet frame counts, as on a wire.
		 */
		uint64_t bps = shaper->r.bps;
		uint64_t tx = (uint64_t)len * 8u * 1000000000ull / bps;
		uint64_t burst = bps / 800 > 1500 ? bps / 800 : 1500;
		uint64_t tau = burst * 8u * 1000000000ull / bps;
		uint64_t tat = shaper->tat_ns > now ? shaper->tat_ns : now;
		uint64_t leave = tat > now + tau ? tat - tau : now;

		if (leave - now > SW_SHAPER_MAX_NS) {
			src->c.dropped++;
			return;
		}
		shaper->tat_ns = tat + tx;
		due = leave;
	}
	due += (uint64_t)lat * 1000u;
	if (due <= now && c->nheap == 0) {
		port_emit(c, d, data, len);
		return;
	}
	if (c->heap_bytes + len > SW_QUEUE_MAX || !(e.data = malloc(len ? len : 1))) {
		src->c.dropped++;
		return;
	}
	memcpy(e.data, data, len);
	e.due_ns = due;
	e.seq = c->seq++;
	e.dst = d;
	e.gen = dst->gen;
	e.len = len;
	if (heap_push(c, &e) < 0) {
		free(e.data);
		src->c.dropped++;
	}
}

static struct mac_entry *
mac_slot(struct sw_core *c, const uint8_t mac[6], bool create)
{
	uint64_t h = sw_fnv1a64(mac, 6, SW_FNV_OFFSET);

	for (unsigned k = 0; k < MAC_TABLE; k++) {
		struct mac_entry *m = &c->macs[(h + k) % MAC_TABLE];

		if (m->used && memcmp(m->mac, mac, 6) == 0)
			return m;
		if (!m->used)
			return create ? m : NULL;
	}
	return NULL;
}

static void
ingress(struct sw_core *c, unsigned s, const uint8_t *data, size_t len)
{
	struct port *src = &c->ports[s];
	struct mac_entry *m;
	uint64_t now = now_ns();

	src->c.tx_packets++;
	src->c.tx_bytes += len;
	capture_frame(c, data, len);
	if (len < 14) {
		src->c.errors++;
		return;
	}
	if (!src->link_up) {
		src->c.dropped++;
		return;
	}
	if (!(data[6] & 1) && (m = mac_slot(c, data + 6, true))) {
		memcpy(m->mac, data + 6, 6);
		m->used = true;
		m->port = s;
	}
	if (!(data[0] & 1) && (m = mac_slot(c, data, false))) {
		if (m->port != s && c->ports[m->port].used)
			deliver(c, s, m->port, data, len, now);
		return;
	}
	for (unsigned d = 0; d < SW_MAX_PORTS; d++)
		if (d != s && c->ports[d].used)
			deliver(c, s, d, data, len, now);
}

static void
port_read(struct sw_core *c, unsigned p)
{
	struct port *pt = &c->ports[p];

	for (int i = 0; i < READS_PER_POLL && pt->fd >= 0; i++) {
		size_t space = IN_CAP - pt->in_len, off = 0;
		ssize_t n = read(pt->fd, pt->in + pt->in_len, space);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (n < 0 || pt->in_len > 0)
				pt->c.errors++;   /* error, or EOF inside a frame */
			port_disconnect(c, p);
			return;
		}
		pt->in_len += (size_t)n;
		while (pt->in_len - off >= 4) {
			const uint8_t *h = pt->in + off;
			uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
			    (uint32_t)h[2] << 8 | h[3];

			if (len > SW_FRAME_MAX) {
				pt->c.errors++;
				port_disconnect(c, p);
				return;
			}
			if (pt->in_len - off - 4 < len)
				break;
			ingress(c, p, h + 4, len);
			off += 4 + (size_t)len;
		}
		memmove(pt->in, pt->in + off, pt->in_len - off);
		pt->in_len -= off;
		if ((size_t)n < space)
			return;   /* drained for now */
	}
}

static void
port_accept(struct sw_core *c, unsigned p)
{
	struct port *pt = &c->ports[p];
	int fd = accept4(pt->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* A new QEMU (restored snapshot, reconnect) replaces the old one. */
	port_disconnect(c, p);
	if (!(pt->in = malloc(IN_CAP))) {
		close(fd);
		return;
	}
	pt->fd = fd;
}

/* ---- capture -------------------------------------------------------- */

static int
capture_start(struct sw_core *c, const char *path, char **err)
{
	/* pcap 2.4 global header, host byte order (readers use the magic). */
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int32_t thiszone;
		uint32_t sigfigs, snaplen, linktype;
	} gh = { 0xa1b2c3d4u, 2, 4, 0, 0, SW_FRAME_MAX, 1 };
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		*err = xfmt("capture file %s: %s", path, strerror(errno));
		return -1;
	}
	if (write(fd, &gh, sizeof gh) != (ssize_t)sizeof gh) {
		*err = xfmt("capture file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (c->cap_fd >= 0)
		close(c->cap_fd);
	c->cap_fd = fd;
	c->cap_bytes = sizeof gh;
	return 0;
}

/* ---- control channel ------------------------------------------------ */

static void
reply_start(msgpack_packer *pk, size_t extra, const char *error)
{
	msgpack_pack_map(pk, 1 + (error ? 1 : 0) + extra);
	mp_kv_bool(pk, "ok", error == NULL);
	if (error)
		mp_kv_str(pk, "error", error);
}

static char *
get_name(const msgpack_object *m, const char *key, char *buf, size_t cap)
{
	const char *s;
	size_t n;

	if (mp_get_str(m, key, &s, &n) < 0 || n == 0 || n >= cap)
		return NULL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return buf;
}

static void
ctl_handle(struct sw_core *c, const msgpack_object *m, msgpack_packer *pk)
{
	char name[SW_NAME_MAX], to[SW_NAME_MAX], *err = NULL;
	bool has_name = get_name(m, "name", name, sizeof name) != NULL;
	int p = has_name ? find_port(c, name) : -1;

	if (mp_obj_is_str(mp_get(m, "op"), "add_port")) {
		if (!has_name) {
			reply_start(pk, 0, "add_port: missing name");
			return;
		}
		if ((p = port_add(c, name, &err)) < 0) {
			reply_start(pk, 0, err ? err : "out of memory");
			free(err);
			return;
		}
		reply_start(pk, 2, NULL);
		mp_kv_str(pk, "path", c->ports[p].path);
		mp_kv_bin(pk, "mac", c->ports[p].mac, 6);
	} else if (mp_obj_is_str(mp_get(m, "op"), "rule")) {
		struct sw_rule r = { 0 };
		uint64_t v;

		if (!get_name(m, "from", name, sizeof name) ||
		    !get_name(m, "to", to, sizeof to)) {
			reply_start(pk, 0, "rule: missing from/to");
			return;
		}
		mp_get_bool(m, "block", &r.block);
		if (mp_get_u64(m, "latency_us", &v) == 0)
			r.latency_us = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		if (mp_get_u64(m, "drop_ppm", &v) == 0)
			r.drop_ppm = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		mp_get_u64(m, "bps", &r.bps);
		if (rule_set(c, name, to, &r, &err) < 0) {
			reply_start(pk, 0, err ? err : "out of memory");
			free(err);
			return;
		}
		reply_start(pk, 0, NULL);
	} else if (mp_obj_is_str(mp_get(m, "op"), "clear_rules")) {
		c->nrules = 0;
		reply_start(pk, 0, NULL);
	} else if (mp_obj_is_str(mp_get(m, "op"), "capture")) {
		char path[4096];

		if (!get_name(m, "path", path, sizeof path)) {
			if (c->cap_fd >= 0)
				close(c->cap_fd);
			c->cap_fd = -1;
			reply_start(pk, 0, NULL);
		} else if (capture_start(c, path, &err) < 0) {
			reply_start(pk, 0, err ? err : "out of memory");
			free(err);
		} else {
			reply_start(pk, 0, NULL);
		}
	} else if (mp_obj_is_str(mp_get(m, "op"), "sync")) {
		reply_start(pk, 0, NULL);
	} else if (mp_obj_is_str(mp_get(m, "op"), "stop")) {
		c->stop = true;
		reply_start(pk, 0, NULL);
	} else if (p < 0) {
		char msg[SW_NAME_MAX + 64];

		snprintf(msg, sizeof msg, "no port `%s` on bridge `%s`",
		    has_name ? name : "", c->name);
		reply_start(pk, 0, msg);
	} else if (mp_obj_is_str(mp_get(m, "op"), "del_port")) {
		port_free(c, (unsigned)p);
		reply_start(pk, 0, NULL);
	} else if (mp_obj_is_str(mp_get(m, "op"), "link")) {
		bool up = true;

		mp_get_bool(m, "up", &up);
		c->ports[p].link_up = up;
		reply_start(pk, 0, NULL);
	} else if (mp_obj_is_str(mp_get(m, "op"), "counters")) {
		const struct sw_counters *k = &c->ports[p].c;

		reply_start(pk, 7, NULL);
		mp_kv_u64(pk, "tx_packets", k->tx_packets);
		mp_kv_u64(pk, "tx_bytes", k->tx_bytes);
		mp_kv_u64(pk, "rx_packets", k->rx_packets);
		mp_kv_u64(pk, "rx_bytes", k->rx_bytes);
		mp_kv_u64(pk, "errors", k->errors);
		mp_kv_u64(pk, "dropped", k->dropped);
		mp_kv_bool(pk, "connected", c->ports[p].fd >= 0);
	} else {
		reply_start(pk, 0, "unknown switch op");
	}
}

static int
ctl_read(struct sw_core *c)
{
	for (;;) {
		int rc = frame_reader_read(&c->ctl_rd, c->ctl);
		uint8_t *body;
		size_t len;
		msgpack_unpacked u;
		const msgpack_object *m;
		msgpack_sbuffer sb;
		msgpack_packer pk;

		if (rc == FRAME_AGAIN)
			return 0;
		if (rc != FRAME_OK)
			return -1;   /* caller gone: stop */
		body = frame_reader_take(&c->ctl_rd, &len);
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_unpacked_init(&u);
		if (frame_decode(body, len, &u, &m) == FRAME_OK)
			ctl_handle(c, m, &pk);
		else
			reply_start(&pk, 0, "malformed switch request");
		msgpack_unpacked_destroy(&u);
		free(body);
		rc = frame_write_sbuf(c->ctl, &sb, CTL_MAX);
		msgpack_sbuffer_destroy(&sb);
		if (rc != FRAME_OK)
			return -1;
	}
}

/* ---- the thread ----------------------------------------------------- */

static void
core_free(struct sw_core *c)
{
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		if (c->ports[i].used)
			port_free(c, i);
	while (c->nheap > 0) {
		struct pending e = heap_pop(c);

		free(e.data);
	}
	free(c->heap);
	free(c->rules);
	if (c->cap_fd >= 0)
		close(c->cap_fd);
	if (c->ctl >= 0)
		close(c->ctl);
	frame_reader_clear(&c->ctl_rd);
	free(c);
}

static void *
sw_thread(void *arg)
{
	struct sw_core *c = arg;
	struct pollfd pfd[1 + 2 * SW_MAX_PORTS];
	int who[1 + 2 * SW_MAX_PORTS];

	while (!c->stop) {
		nfds_t n = 0;
		struct timespec ts, *tsp = NULL;
		uint64_t now;

		pfd[n] = (struct pollfd){ .fd = c->ctl, .events = POLLIN };
		who[n++] = -1;
		for (unsigned i = 0; i < SW_MAX_PORTS; i++) {
			struct port *pt = &c->ports[i];

			if (!pt->used)
				continue;
			pfd[n] = (struct pollfd){ .fd = pt->lfd, .events = POLLIN };
			who[n++] = (int)(i | 0x1000);
			if (pt->fd >= 0) {
				short ev = POLLIN;

				if (pt->out_len > pt->out_off)
					ev |= POLLOUT;
				pfd[n] = (struct pollfd){ .fd = pt->fd, .events = ev };
				who[n++] = (int)i;
			}
		}
		if (c->nheap > 0) {
			uint64_t due = c->heap[0].due_ns, t = now_ns();
			uint64_t wait = due > t ? due - t : 0;

			ts.tv_sec = (time_t)(wait / 1000000000ull);
			ts.tv_nsec = (long)(wait % 1000000000ull);
			tsp = &ts;
		}
		if (ppoll(pfd, n, tsp, NULL) < 0 && errno != EINTR)
			break;
		now = now_ns();
		heap_run(c, now);
		for (nfds_t i = 0; i < n; i++) {
			if (!pfd[i].revents)
				continue;
			if (who[i] == -1) {
				if (ctl_read(c) < 0)
					c->stop = true;
			} else if (who[i] & 0x1000) {
				unsigned p = (unsigned)who[i] & 0xfff;

				if (c->ports[p].used && c->ports[p].lfd == pfd[i].fd)
					port_accept(c, p);
			} else {
				unsigned p = (unsigned)who[i];
				struct port *pt = &c->ports[p];

				/* The control op or a read may have closed it. */
				if (!pt->used || pt->fd != pfd[i].fd)
					continue;
				if (pfd[i].revents & POLLOUT)
					port_flush(c, p);
				if (pt->fd >= 0 && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
					port_read(c, p);
			}
		}
		flush_all(c);
	}
	return NULL;
}

/* ---- caller side ---------------------------------------------------- */

/*
 * Sends the request in sb and waits for the reply.  On success *u holds
 * the decoded reply (destroy it) and *out points at its map.
 */
static int
ctl_call(struct sw *sw, msgpack_sbuffer *sb, msgpack_unpacked *u,
    const msgpack_object **out, char **err)
{
	uint8_t *body = NULL;
	size_t len;
	int rc;
	bool ok = false;

	rc = frame_write_sbuf(sw->ctl, sb, CTL_MAX);
	msgpack_sbuffer_destroy(sb);
	if (rc == FRAME_OK)
		rc = frame_read(sw->ctl, CTL_MAX, &body, &len);
	if (rc != FRAME_OK) {
		*err = xfmt("bridge `%s`: switch thread not answering: %s",
		    sw->name, frame_strerror(rc));
		return -1;
	}
	msgpack_unpacked_init(u);
	/* The decoded reply points into body: keep it until the next call. */
	free(sw->reply);
	sw->reply = body;
	rc = frame_decode(body, len, u, out);
	if (rc != FRAME_OK) {
		msgpack_unpacked_destroy(u);
		*err = xfmt("bridge `%s`: bad switch reply", sw->name);
		return -1;
	}
	mp_get_bool(*out, "ok", &ok);
	if (!ok) {
		const msgpack_object *e = mp_get(*out, "error");

		*err = e ? mp_obj_strdup(e) : NULL;
		if (!*err)
			*err = xfmt("bridge `%s`: switch request failed", sw->name);
		msgpack_unpacked_destroy(u);
		return -1;
	}
	return 0;
}

static void
req_init(msgpack_sbuffer *sb, msgpack_packer *pk, size_t nkeys, const char *op)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(pk, 1 + nkeys);
	mp_kv_str(pk, "op", op);
}

/* Requests whose reply carries nothing but ok. */
static int
ctl_simple(struct sw *sw, msgpack_sbuffer *sb, char **err)
{
	msgpack_unpacked u;
	const msgpack_object *m;

	if (ctl_call(sw, sb, &u, &m, err) < 0)
		return -1;
	msgpack_unpacked_destroy(&u);
	return 0;
}

int
sw_start(const char *name, const char *dir, uint64_t seed, struct sw **out,
    char **err)
{
	struct sw *sw;
	struct sw_core *c;
	int sp[2];
	sigset_t all, old;
	int rc;

	*out = NULL;
	if (!name || !*name || strlen(name) >= SW_NAME_MAX || strchr(name, '/') ||
	    strlen(dir) >= SW_PATH_MAX) {
		*err = xfmt("bad bridge name `%s` or directory", name ? name : "");
		return -1;
	}
	sw = calloc(1, sizeof *sw);
	c = calloc(1, sizeof *c);
	if (!sw || !c) {
		free(sw);
		free(c);
		*err = xfmt("out of memory");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		*err = xfmt("switch control socketpair: %s", strerror(errno));
		free(sw);
		free(c);
		return -1;
	}
	snprintf(sw->name, sizeof sw->name, "%s", name);
	snprintf(c->name, sizeof c->name, "%s", name);
	snprintf(c->dir, sizeof c->dir, "%s", dir);
	sw->seed = c->seed = seed;
	sw->ctl = sp[0];
	c->ctl = sp[1];
	c->cap_fd = -1;
	c->ctl_rd = (struct frame_reader)FRAME_READER_INIT(CTL_MAX);
	fcntl(c->ctl, F_SETFL, fcntl(c->ctl, F_GETFL) | O_NONBLOCK);
	for (unsigned i = 0; i < SW_MAX_PORTS; i++)
		c->ports[i].lfd = c->ports[i].fd = -1;
	sw->core = c;
	/* Signals stay with the caller's signalfd loop, never this thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&sw->th, NULL, sw_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		*err = xfmt("switch thread: %s", strerror(rc));
		close(sw->ctl);
		core_free(c);
		free(sw);
		return -1;
	}
	*out = sw;
	return 0;
}

void
sw_stop(struct sw *sw)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char *err = NULL;

	if (!sw)
		return;
	req_init(&sb, &pk, 0, "stop");
	if (ctl_simple(sw, &sb, &err) < 0)
		free(err);
	/* Closing our end also stops a thread that missed the request. */
	close(sw->ctl);
	pthread_join(sw->th, NULL);
	core_free(sw->core);
	free(sw->reply);
	free(sw);
}

const char *
sw_name(const struct sw *sw)
{
	return sw->name;
}

uint64_t
sw_seed(const struct sw *sw)
{
	return sw->seed;
}

int
sw_add_port(struct sw *sw, const char *vm, char *path, uint8_t mac[6],
    char **err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	const msgpack_object *m;
	const char *s, *mb;
	size_t n, mn;

	req_init(&sb, &pk, 1, "add_port");
	mp_kv_str(&pk, "name", vm);
	if (ctl_call(sw, &sb, &u, &m, err) < 0)
		return -1;
	if (mp_get_str(m, "path", &s, &n) < 0 || n >= SW_PATH_MAX ||
	    mp_get_bin(m, "mac", &mb, &mn) < 0 || mn != 6) {
		msgpack_unpacked_destroy(&u);
		*err = xfmt("bridge `%s`: bad add_port reply", sw->name);
		return -1;
	}
	memcpy(path, s, n);
	path[n] = '\0';
	memcpy(mac, mb, 6);
	msgpack_unpacked_destroy(&u);
	return 0;
}

int
sw_del_port(struct sw *sw, const char *vm, char **err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	req_init(&sb, &pk, 1, "del_port");
	mp_kv_str(&pk, "name", vm);
	return ctl_simple(sw, &sb, err);
}

int
sw_set_link(struct sw *sw, const char *vm, bool up, char **err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	req_init(&sb, &pk, 2, "link");
	mp_kv_str(&pk, "name", vm);
	mp_kv_bool(&pk, "up", up);
	return ctl_simple(sw, &sb, err);
}

int
sw_set_rule(struct sw *sw, const char *from, const char *to,
    const struct sw_rule *r, char **err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	req_init(&sb, &pk, 6, "rule");
	mp_kv_str(&pk, "from", from);
	mp_kv_str(&pk, "to", to);
	mp_kv_bool(&pk, "block", r->block);
	mp_kv_u64(&pk, "latency_us", r->latency_us);
	mp_kv_u64(&pk, "drop_ppm", r->drop_ppm);
	mp_kv_u64(&pk, "bps", r->bps);
	return ctl_simple(sw, &sb, err);
}

int
sw_clear_rules(struct sw *sw, char **err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	req_init(&sb, &pk, 0, "clear_rules");
	return ctl_simple(sw, &sb, err);
}

int
sw_counters(struct sw *sw, const char *vm, struct sw_counters *k, char **err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked u;
	const msgpack_object *m;

	req_init(&sb, &pk, 1, "counters");
	mp_kv_str(&pk, "name", vm);
	if (ctl_call(sw, &sb, &u, &m, err) < 0)
		return -1;
	memset(k, 0, sizeof *k);
	mp_get_u64(m, "tx_packets", &k->tx_packets);
	mp_get_u64(m, "tx_bytes", &k->tx_bytes);
	mp_get_u64(m, "rx_packets", &k->rx_packets);
	mp_get_u64(m, "rx_bytes", &k->rx_bytes);
	mp_get_u64(m, "errors", &k->errors);
	mp_get_u64(m, "dropped", &k->dropped);
	mp_get_bool(m, "connected", &k->connected);
	msgpack_unpacked_destroy(&u);
	return 0;
}

int
sw_capture(struct sw *sw, const char *path, char **err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	req_init(&sb, &pk, path ? 1 : 0, "capture");
	if (path)
		mp_kv_str(&pk, "path", path);
	return ctl_simple(sw, &sb, err);
}

int
sw_sync(struct sw *sw, char **err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	req_init(&sb, &pk, 0, "sync");
	return ctl_simple(sw, &sb, err);
}
