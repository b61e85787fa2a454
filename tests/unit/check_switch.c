/*
 * check_switch.c: the userspace switch against fake VMs.
 *
 * Each fake endpoint is a unix stream socket connected to a switch port
 * and speaking QEMU's stream netdev framing (u32 big-endian length, then
 * the Ethernet frame), exactly what `-netdev stream` would send.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vm/switch.h"

static char dir[64];

struct ep {
	int fd;
	char name[16];
	uint8_t mac[6];
	char path[SW_PATH_MAX];
};

static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static uint64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
setup(void)
{
	const char *t = getenv("TMPDIR");

	/* Port paths must fit sun_path. */
	if (!t || !*t || strlen(t) > 40)
		t = "/tmp";
	snprintf(dir, sizeof dir, "%s/ck-switch-XXXXXX", t);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int
dir_entries(bool remove)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL) {
		char p[sizeof dir + sizeof de->d_name + 1];

		if (de->d_name[0] == '.')
			continue;
		n++;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (remove)
			unlink(p);
	}
	closedir(d);
	return n;
}

/* Also after a failed test (its switch may still have sockets here). */
static void
teardown(void)
{
	dir_entries(true);
	rmdir(dir);
}

static struct sw *
start(const char *name, uint64_t seed)
{
	struct sw *sw = NULL;
	char *err = NULL;

	ck_assert_int_eq(sw_start(name, dir, seed, &sw, &err), 0);
	ck_assert_ptr_null(err);
	return sw;
}

/* Waits until the port's connected flag is want; its counters in *c. */
static void
wait_link(struct sw *sw, const char *name, bool want, struct sw_counters *c)
{
	char *err = NULL;

	for (int i = 0; i < 2000; i++) {
		ck_assert_int_eq(sw_counters(sw, name, c, &err), 0);
		if (c->connected == want)
			return;
		usleep(1000);
	}
	ck_abort_msg("port %s never %s", name, want ? "connected" :
	    "disconnected");
}

static void
ep_connect(struct sw *sw, struct ep *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", e->path);
	e->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(e->fd, 0);
	ck_assert_int_eq(connect(e->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	struct sw_counters c;

	wait_link(sw, e->name, true, &c);
}

static void
ep_add(struct sw *sw, struct ep *e, const char *name)
{
	char *err = NULL;

	snprintf(e->name, sizeof e->name, "%s", name);
	ck_assert_int_eq(sw_add_port(sw, name, e->path, e->mac, &err), 0);
	ep_connect(sw, e);
}

static void
send_frame(struct ep *e, const uint8_t dst[6], uint32_t seq, size_t len)
{
	uint8_t buf[4 + 2048];

	ck_assert_uint_le(len, 2048);
	ck_assert_uint_ge(len, 18);
	memset(buf, 0xab, sizeof buf);
	buf[0] = 0;
	buf[1] = 0;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	memcpy(buf + 4, dst, 6);
	memcpy(buf + 10, e->mac, 6);
	buf[16] = 0x88;             /* local experimental ethertype */
	buf[17] = 0xb5;
	memcpy(buf + 4 + 18, &seq, 4);
	ck_assert_int_eq(write(e->fd, buf, 4 + len), (ssize_t)(4 + len));
}

static int
read_full(int fd, uint8_t *p, size_t n, int timeout_ms)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&pf, 1, timeout_ms) <= 0)
			return -1;
		r = read(fd, p + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Next frame on e within timeout_ms: its seq (or -1), source MAC in src. */
static int64_t
recv_frame(struct ep *e, int timeout_ms, uint8_t src[6], size_t *lenp)
{
	uint8_t hdr[4], body[SW_FRAME_MAX];
	uint32_t len, seq;

	if (read_full(e->fd, hdr, 4, timeout_ms) < 0)
		return -1;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	ck_assert_uint_le(len, SW_FRAME_MAX);
	ck_assert_int_eq(read_full(e->fd, body, len, 1000), 0);
	if (src)
		memcpy(src, body + 6, 6);
	if (lenp)
		*lenp = len;
	memcpy(&seq, body + 18, 4);
	return seq;
}

/* Waits until the switch has processed n frames sent by e. */
static void
wait_tx(struct sw *sw, const struct ep *e, uint64_t n)
{
	struct sw_counters c;
	char *err = NULL;

	for (int i = 0; i < 5000; i++) {
		ck_assert_int_eq(sw_counters(sw, e->name, &c, &err), 0);
		if (c.tx_packets >= n)
			return;
		usleep(1000);
	}
	ck_abort_msg("switch saw %llu of %llu frames from %s",
	    (unsigned long long)c.tx_packets, (unsigned long long)n, e->name);
}

static void
expect_none(struct ep *e)
{
	ck_assert_int_eq(recv_frame(e, 50, NULL, NULL), -1);
}

static void
set_rule(struct sw *sw, const char *from, const char *to, struct sw_rule r)
{
	char *err = NULL;

	ck_assert_int_eq(sw_set_rule(sw, from, to, &r, &err), 0);
}

START_TEST(mac_derivation)
{
	uint8_t mac[6], want[6] = { 0x52, 0x54, 0x00, 0xd9, 0x11, 0x1f };

	/* FNV-1a-64("web-lan") = ...d9111f (computed independently in Python). */
	sw_default_mac("web", "lan", 0, mac);
	ck_assert_mem_eq(mac, want, 6);
}
END_TEST

START_TEST(mac_collision_resolved)
{
	struct sw *sw = start("lan", 1);
	char path[SW_PATH_MAX], *err = NULL;
	uint8_t m1[6], m2[6], salted[6];
	uint8_t c1[6] = { 0x52, 0x54, 0x00, 0xb8, 0xd0, 0x8e };
	uint8_t c2[6] = { 0x52, 0x54, 0x00, 0xfc, 0x7f, 0x72 };

	/* vm22659 and vm51684 share the low 24 bits of their hashes on lan. */
	ck_assert_int_eq(sw_add_port(sw, "vm22659", path, m1, &err), 0);
	ck_assert_int_eq(sw_add_port(sw, "vm51684", path, m2, &err), 0);
	ck_assert_mem_eq(m1, c1, 6);
	ck_assert_mem_eq(m2, c2, 6);
	sw_default_mac("vm51684", "lan", 1, salted);
	ck_assert_mem_eq(m2, salted, 6);
	sw_stop(sw);
}
END_TEST

START_TEST(port_errors)
{
	struct sw *sw = start("lan", 1);
	char path[SW_PATH_MAX], *err = NULL;
	uint8_t mac[6];
	struct sw_counters c;
	struct stat st;
	char want[SW_PATH_MAX];
	struct sw_rule r = { .drop_ppm = 1000001 };

	ck_assert_int_eq(sw_add_port(sw, "a", path, mac, &err), 0);
	snprintf(want, sizeof want, "%s/lan.0", dir);
	ck_assert_str_eq(path, want);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(sw_add_port(sw, "a", path, mac, &err), -1);
	ck_assert_str_eq(err, "port `a` already exists on bridge `lan`");
	free(err);
	err = NULL;
	ck_assert_int_eq(sw_counters(sw, "zz", &c, &err), -1);
	ck_assert_str_eq(err, "no port `zz` on bridge `lan`");
	free(err);
	err = NULL;
	ck_assert_int_eq(sw_set_rule(sw, "a", "*", &r, &err), -1);
	ck_assert_str_eq(err, "drop rate 1000001 ppm is above 1000000");
	free(err);
	err = NULL;
	ck_assert_int_eq(sw_add_port(sw, "*", path, mac, &err), -1);
	ck_assert_str_eq(err, "bad port name `*` (1..63 bytes, not `*`)");
	free(err);
	err = NULL;
	ck_assert_int_eq(sw_del_port(sw, "a", &err), 0);
	ck_assert_int_eq(stat(want, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_int_eq(sw_del_port(sw, "a", &err), -1);
	ck_assert_str_eq(err, "no port `a` on bridge `lan`");
	free(err);
	sw_stop(sw);
}
END_TEST

START_TEST(learning_and_flooding)
{
	struct sw *sw = start("lan", 1);
	struct ep a, b, c;
	uint8_t src[6], unknown[6] = { 0x52, 0x54, 0, 1, 2, 3 };
	uint8_t mcast[6] = { 0x33, 0x33, 0, 0, 0, 1 };
	struct sw_counters k;
	char *err = NULL;

	ep_add(sw, &a, "a");
	ep_add(sw, &b, "b");
	ep_add(sw, &c, "c");
	/* Broadcast reaches everyone but the sender. */
	send_frame(&a, BCAST, 1, 60);
	ck_assert_int_eq(recv_frame(&b, 1000, src, NULL), 1);
	ck_assert_mem_eq(src, a.mac, 6);
	ck_assert_int_eq(recv_frame(&c, 1000, NULL, NULL), 1);
	/* a is learned: b's reply goes to a only. */
	send_frame(&b, a.mac, 2, 60);
	ck_assert_int_eq(recv_frame(&a, 1000, src, NULL), 2);
	ck_assert_mem_eq(src, b.mac, 6);
	/* b is learned now too; unknown unicast and multicast flood. */
	send_frame(&a, unknown, 3, 60);
	ck_assert_int_eq(recv_frame(&b, 1000, NULL, NULL), 3);
	ck_assert_int_eq(recv_frame(&c, 1000, NULL, NULL), 3);
	send_frame(&c, mcast, 4, 60);
	ck_assert_int_eq(recv_frame(&a, 1000, NULL, NULL), 4);
	ck_assert_int_eq(recv_frame(&b, 1000, NULL, NULL), 4);
	/* Known unicast a -> b: c sees nothing. */
	send_frame(&a, b.mac, 5, 100);
	ck_assert_int_eq(recv_frame(&b, 1000, NULL, NULL), 5);
	wait_tx(sw, &a, 3);
	expect_none(&c);
	expect_none(&a);
	ck_assert_int_eq(sw_counters(sw, "a", &k, &err), 0);
	ck_assert_uint_eq(k.tx_packets, 3);
	ck_assert_uint_eq(k.tx_bytes, 60 + 60 + 100);
	ck_assert_uint_eq(k.rx_packets, 2);
	ck_assert_uint_eq(k.rx_bytes, 120);
	ck_assert_uint_eq(k.errors, 0);
	ck_assert_uint_eq(k.dropped, 0);
	ck_assert(k.connected);
	ck_assert_int_eq(sw_counters(sw, "c", &k, &err), 0);
	ck_assert_uint_eq(k.rx_packets, 2);
	ck_assert_int_eq(dir_entries(false), 3);
	sw_stop(sw);
	ck_assert_int_eq(dir_entries(false), 0);   /* sockets unlinked */
	close(a.fd);
	close(b.fd);
	close(c.fd);
}
END_TEST

START_TEST(learning_survives_a_neighbour_leaving)
{
	struct sw *sw = start("lan", 1);
	struct ep x, y, c, d;
	uint8_t mx[6] = { 0x52, 0x54, 0, 0, 0, 0 }, my[6];
	uint64_t slot;

	/* Two MACs in the same slot of the switch's 1024-entry table. */
	slot = sw_fnv1a64(mx, 6, SW_FNV_OFFSET) % 1024;
	memcpy(my, mx, 6);
	for (unsigned i = 1; i < 65536; i++) {
		my[4] = (uint8_t)(i >> 8);
		my[5] = (uint8_t)i;
		if (sw_fnv1a64(my, 6, SW_FNV_OFFSET) % 1024 == slot)
			break;
	}
	ck_assert(memcmp(mx, my, 6) != 0);
	ep_add(sw, &y, "y");
	ep_add(sw, &x, "x");
	ep_add(sw, &c, "c");
	ep_add(sw, &d, "d");
	memcpy(y.mac, my, 6);
	memcpy(x.mac, mx, 6);
	send_frame(&y, BCAST, 1, 60);   /* y first: x's entry probes past it */
	wait_tx(sw, &y, 1);
	send_frame(&x, BCAST, 2, 60);
	wait_tx(sw, &x, 1);
	ck_assert_int_eq(recv_frame(&d, 1000, NULL, NULL), 1);
	ck_assert_int_eq(recv_frame(&d, 1000, NULL, NULL), 2);
	ck_assert_int_eq(recv_frame(&c, 1000, NULL, NULL), 1);
	ck_assert_int_eq(recv_frame(&c, 1000, NULL, NULL), 2);
	ck_assert_int_eq(recv_frame(&x, 1000, NULL, NULL), 1);
	close(y.fd);
	{
		struct sw_counters k;

		wait_link(sw, "y", false, &k);
	}
	/* x is still known: c's frame to x reaches x only, no flood to d. */
	send_frame(&c, x.mac, 3, 60);
	ck_assert_int_eq(recv_frame(&x, 1000, NULL, NULL), 3);
	wait_tx(sw, &c, 1);
	expect_none(&d);
	sw_stop(sw);
	close(x.fd);
	close(c.fd);
	close(d.fd);
}
END_TEST

START_TEST(partitions)
{
	struct sw *sw = start("lan", 1);
	struct ep a, b, c;
	struct sw_rule block = { .block = true }, none = { 0 };
	struct sw_counters k;
	char *err = NULL;

	ep_add(sw, &a, "a");
	ep_add(sw, &b, "b");
	ep_add(sw, &c, "c");
	send_frame(&a, BCAST, 0, 60);   /* teach the switch a, b, c */
	send_frame(&b, BCAST, 0, 60);
	send_frame(&c, BCAST, 0, 60);
	wait_tx(sw, &c, 1);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(recv_frame(&a, 1000, NULL, NULL), 0);
		ck_assert_int_eq(recv_frame(&b, 1000, NULL, NULL), 0);
		ck_assert_int_eq(recv_frame(&c, 1000, NULL, NULL), 0);
	}
	/* Symmetric: a and b cannot talk either way; both still reach c. */
	set_rule(sw, "a", "b", block);
	set_rule(sw, "b", "a", block);
	send_frame(&a, b.mac, 1, 60);
	send_frame(&b, a.mac, 2, 60);
	send_frame(&a, BCAST, 3, 60);
	ck_assert_int_eq(recv_frame(&c, 1000, NULL, NULL), 3);
	wait_tx(sw, &b, 2);
	expect_none(&a);
	expect_none(&b);
	ck_assert_int_eq(sw_counters(sw, "a", &k, &err), 0);
	ck_assert_uint_eq(k.dropped, 2);   /* unicast to b, broadcast copy to b */
	/* Directional: only a -> b is cut. */
	set_rule(sw, "b", "a", none);
	send_frame(&a, b.mac, 4, 60);
	send_frame(&b, a.mac, 5, 60);
	ck_assert_int_eq(recv_frame(&a, 1000, NULL, NULL), 5);
	wait_tx(sw, &a, 4);
	expect_none(&b);
	/* Isolation of a: wildcard rules both ways. */
	set_rule(sw, "a", "b", none);
	set_rule(sw, "a", SW_WILDCARD, block);
	set_rule(sw, SW_WILDCARD, "a", block);
	send_frame(&a, BCAST, 6, 60);
	send_frame(&c, a.mac, 7, 60);
	send_frame(&c, b.mac, 8, 60);
	ck_assert_int_eq(recv_frame(&b, 1000, NULL, NULL), 8);
	wait_tx(sw, &a, 5);
	expect_none(&a);
	expect_none(&c);
	ck_assert_int_eq(sw_clear_rules(sw, &err), 0);
	send_frame(&c, a.mac, 9, 60);
	ck_assert_int_eq(recv_frame(&a, 1000, NULL, NULL), 9);
	/* Link down on b: nothing in, nothing out; link up restores. */
	ck_assert_int_eq(sw_set_link(sw, "b", false, &err), 0);
	send_frame(&b, a.mac, 10, 60);
	send_frame(&a, b.mac, 11, 60);
	wait_tx(sw, &a, 6);
	wait_tx(sw, &b, 4);
	expect_none(&a);
	expect_none(&b);
	ck_assert_int_eq(sw_set_link(sw, "b", true, &err), 0);
	send_frame(&a, b.mac, 12, 60);
	ck_assert_int_eq(recv_frame(&b, 1000, NULL, NULL), 12);
	sw_stop(sw);
	close(a.fd);
	close(b.fd);
	close(c.fd);
}
END_TEST

START_TEST(latency)
{
	struct sw *sw = start("lan", 1);
	struct ep a, b;
	uint64_t t0, dt;

	ep_add(sw, &a, "a");
	ep_add(sw, &b, "b");
	set_rule(sw, "a", "b", (struct sw_rule){ .latency_us = 100000 });
	for (uint32_t i = 0; i < 5; i++) {
		t0 = ms_now();
		send_frame(&a, b.mac, i, 60);
		ck_assert_int_eq(recv_frame(&b, 2000, NULL, NULL), (int64_t)i);
		dt = ms_now() - t0;
		ck_assert_uint_ge(dt, 100);
		ck_assert_uint_lt(dt, 120);
	}
	/* The other direction is untouched. */
	t0 = ms_now();
	send_frame(&b, a.mac, 9, 60);
	ck_assert_int_eq(recv_frame(&a, 2000, NULL, NULL), 9);
	ck_assert_uint_lt(ms_now() - t0, 20);
	/* Order survives the delay queue: a burst arrives in order. */
	for (uint32_t i = 10; i < 60; i++)
		send_frame(&a, b.mac, i, 60);
	for (uint32_t i = 10; i < 60; i++)
		ck_assert_int_eq(recv_frame(&b, 2000, NULL, NULL), (int64_t)i);
	sw_stop(sw);
	close(a.fd);
	close(b.fd);
}
END_TEST

/* Sends n frames a -> b through a 30 % drop rule; records which arrived. */
static unsigned
drop_run(uint64_t seed, unsigned n, uint8_t *arrived)
{
	struct sw *sw = start("lan", seed);
	struct ep a, b;
	struct sw_counters k;
	char *err = NULL;
	unsigned got = 0;
	int64_t s;

	ep_add(sw, &a, "a");
	ep_add(sw, &b, "b");
	set_rule(sw, "*", "*", (struct sw_rule){ .drop_ppm = 300000 });
	memset(arrived, 0, n);
	for (uint32_t i = 0; i < n; i++)
		send_frame(&a, b.mac, i, 60);
	wait_tx(sw, &a, n);
	while ((s = recv_frame(&b, 100, NULL, NULL)) >= 0) {
		ck_assert_int_lt(s, n);
		arrived[s] = 1;
		got++;
	}
	ck_assert_int_eq(sw_counters(sw, "a", &k, &err), 0);
	ck_assert_uint_eq(k.dropped + got, n);
	sw_stop(sw);
	close(a.fd);
	close(b.fd);
	return got;
}

START_TEST(drop_rate_seeded)
{
	enum { N = 2000 };
	static uint8_t r1[N], r2[N], r3[N];
	unsigned g1 = drop_run(42, N, r1);
	unsigned g2 = drop_run(42, N, r2);
	unsigned g3 = drop_run(43, N, r3);

	/* 70 % delivered: sd of the count is sqrt(2000 * .3 * .7) = 20.5. */
	ck_assert_uint_ge(g1, 1400 - 82);
	ck_assert_uint_le(g1, 1400 + 82);
	ck_assert_uint_ge(g3, 1400 - 82);
	ck_assert_uint_le(g3, 1400 + 82);
	/* Same seed, same frames lost; another seed loses others. */
	ck_assert_uint_eq(g1, g2);
	ck_assert_mem_eq(r1, r2, N);
	ck_assert(memcmp(r1, r3, N) != 0);
}
END_TEST

START_TEST(bandwidth)
{
	struct sw *sw = start("lan", 1);
	struct ep a, b;
	uint64_t t0, dt;
	size_t len;

	ep_add(sw, &a, "a");
	ep_add(sw, &b, "b");
	/* 8 Mbit/s = 1 MB/s: 300 frames of 1000 bytes take 300 ms, less the
	 * 10 ms burst (bps / 800 bytes) that leaves at once. */
	set_rule(sw, "a", "b", (struct sw_rule){ .bps = 8000000 });
	t0 = ms_now();
	for (uint32_t i = 0; i < 300; i++)
		send_frame(&a, b.mac, i, 1000);
	for (uint32_t i = 0; i < 300; i++) {
		ck_assert_int_eq(recv_frame(&b, 2000, NULL, &len), (int64_t)i);
		ck_assert_uint_eq(len, 1000);
	}
	dt = ms_now() - t0;
	ck_assert_uint_ge(dt, 289);
	ck_assert_uint_le(dt, 335);
	/* Beyond one second of backlog the shaper drops, like a full queue. */
	set_rule(sw, "a", "b", (struct sw_rule){ .bps = 80000 }); /* 10 kB/s */
	for (uint32_t i = 0; i < 40; i++)
		send_frame(&a, b.mac, i, 1000);
	wait_tx(sw, &a, 340);
	{
		struct sw_counters k;
		char *err = NULL;

		ck_assert_int_eq(sw_counters(sw, "a", &k, &err), 0);
		/* 1000 B = 100 ms each, burst 1500 B = 150 ms: frame n would
		 * wait n * 100 - 150 ms, so 0..11 fit in 1 s of backlog. */
		ck_assert_uint_eq(k.dropped, 28);
	}
	sw_stop(sw);
	close(a.fd);
	close(b.fd);
}
END_TEST

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

START_TEST(capture_pcap)
{
	struct sw *sw = start("lan", 1);
	struct ep a, b;
	char path[128], *err = NULL;
	uint8_t buf[8192];
	size_t off;
	ssize_t n;
	int fd, recs = 0;

	ep_add(sw, &a, "a");
	ep_add(sw, &b, "b");
	snprintf(path, sizeof path, "%s/cap.pcap", dir);
	ck_assert_int_eq(sw_capture(sw, path, &err), 0);
	/* One at a time: frames of two ports race into the capture. */
	send_frame(&a, BCAST, 1, 60);
	wait_tx(sw, &a, 1);
	send_frame(&b, a.mac, 2, 200);
	wait_tx(sw, &b, 1);
	send_frame(&a, b.mac, 3, 1514);
	wait_tx(sw, &a, 2);
	ck_assert_int_eq(sw_capture(sw, NULL, &err), 0);
	send_frame(&a, b.mac, 4, 60);   /* after stop: not captured */
	wait_tx(sw, &a, 3);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof buf);
	close(fd);
	ck_assert_int_eq(n, 24 + 3 * 16 + 60 + 200 + 1514);
	ck_assert_uint_eq(rd32(buf), 0xa1b2c3d4u);
	ck_assert_uint_eq(rd32(buf + 16), SW_FRAME_MAX);   /* snaplen */
	ck_assert_uint_eq(rd32(buf + 20), 1);              /* Ethernet */
	for (off = 24; off < (size_t)n; recs++) {
		static const uint32_t want_len[3] = { 60, 200, 1514 };
		static const uint32_t want_seq[3] = { 1, 2, 3 };
		uint32_t incl = rd32(buf + off + 8), seq;

		ck_assert_uint_eq(incl, want_len[recs]);
		ck_assert_uint_eq(rd32(buf + off + 12), want_len[recs]);
		memcpy(&seq, buf + off + 16 + 18, 4);
		ck_assert_uint_eq(seq, want_seq[recs]);
		off += 16 + incl;
	}
	ck_assert_int_eq(recs, 3);
	ck_assert_int_eq(unlink(path), 0);
	sw_stop(sw);
	close(a.fd);
	close(b.fd);
}
END_TEST

START_TEST(reconnect_and_runts)
{
	struct sw *sw = start("lan", 1);
	struct ep a, b;
	struct sw_counters k;
	char *err = NULL;
	uint8_t runt[4 + 10] = { 0, 0, 0, 10 };

	ep_add(sw, &a, "a");
	ep_add(sw, &b, "b");
	/* A runt is counted as an error and goes nowhere. */
	ck_assert_int_eq(write(a.fd, runt, sizeof runt), (ssize_t)sizeof runt);
	wait_tx(sw, &a, 1);
	ck_assert_int_eq(sw_counters(sw, "a", &k, &err), 0);
	ck_assert_uint_eq(k.errors, 1);
	expect_none(&b);
	/* A new QEMU (restored snapshot) connects to the same socket. */
	close(b.fd);
	wait_link(sw, "b", false, &k);
	ep_connect(sw, &b);
	send_frame(&a, BCAST, 7, 60);
	ck_assert_int_eq(recv_frame(&b, 1000, NULL, NULL), 7);
	/* A length beyond SW_FRAME_MAX: counted, and the peer is dropped. */
	{
		uint8_t big[4] = { 0, 1, 0x11, 0x70 };   /* 70000 */

		ck_assert_int_eq(write(b.fd, big, 4), 4);
		wait_link(sw, "b", false, &k);
		ck_assert_uint_eq(k.errors, 1);
	}
	sw_stop(sw);
	close(a.fd);
	close(b.fd);
}
END_TEST

static Suite *
switch_suite(void)
{
	Suite *s = suite_create("switch");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, mac_derivation);
	tcase_add_test(tc, mac_collision_resolved);
	tcase_add_test(tc, port_errors);
	tcase_add_test(tc, learning_and_flooding);
	tcase_add_test(tc, learning_survives_a_neighbour_leaving);
	tcase_add_test(tc, partitions);
	tcase_add_test(tc, latency);
	tcase_add_test(tc, drop_rate_seeded);
	tcase_add_test(tc, bandwidth);
	tcase_add_test(tc, capture_pcap);
	tcase_add_test(tc, reconnect_and_runts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(switch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
