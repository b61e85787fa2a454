/* sysops.c: raw syscalls, the clock, RNG reseed, ping, poweroff. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "events/mp.h"

#define SYS_MAXBUFS 64

/* From <linux/random.h>, which musl-gcc cannot see. */
#define AGENT_RNDADDENTROPY 0x40085203
#define AGENT_RNDRESEEDCRNG 0x5207      /* _IO('R', 0x07), Linux >= 4.17 */

static void
op_syscall(struct agent *a, struct req *r, struct args *g)
{
	const msgpack_object *av = arg_get(g, "args");
	const msgpack_object *bv = arg_get(g, "bufs");
	const msgpack_object *pv = arg_get(g, "ptrs");
	const msgpack_object *nv = arg_get(g, "nested");
	long args[6] = { 0 };
	uint8_t *bufs[SYS_MAXBUFS] = { 0 };
	size_t lens[SYS_MAXBUFS] = { 0 };
	uint32_t nb = 0, i;
	int64_t nr = arg_i64(g, "nr", 0, true);
	msgpack_packer *pk;
	long ret;
	int err;

	if (av != NULL && av->type != MSGPACK_OBJECT_ARRAY)
		args_bad(g, "field `args` must be an array of integers");
	for (i = 0; !g->bad && av != NULL && i < av->via.array.size && i < 6;
	    i++) {
		int64_t v;
		uint64_t u;

		if (mp_obj_i64(&av->via.array.ptr[i], &v) == 0)
			args[i] = (long)v;
		else if (mp_obj_u64(&av->via.array.ptr[i], &u) == 0)
			args[i] = (long)u;
		else
			args_bad(g, "args[%u] must be an integer", i + 1);
	}
	if (bv != NULL && (bv->type != MSGPACK_OBJECT_ARRAY ||
	    bv->via.array.size > SYS_MAXBUFS))
		args_bad(g, "field `bufs` must be an array of at most %d "
		    "byte strings", SYS_MAXBUFS);
	else if (bv != NULL)
		nb = bv->via.array.size;
	if (!g->bad && nb != (pv == NULL || pv->type != MSGPACK_OBJECT_ARRAY ?
	    0 : pv->via.array.size))
		args_bad(g, "`ptrs` must have one arg index per buffer");
	for (i = 0; !g->bad && i < nb; i++) {
		const msgpack_object *b = &bv->via.array.ptr[i];
		uint64_t idx;

		if (b->type != MSGPACK_OBJECT_BIN &&
		    b->type != MSGPACK_OBJECT_STR) {
			args_bad(g, "bufs[%u] must be bytes", i + 1);
			break;
		}
		lens[i] = b->type == MSGPACK_OBJECT_BIN ? b->via.bin.size :
		    b->via.str.size;
		bufs[i] = calloc(1, lens[i] + 8);
		memcpy(bufs[i], b->type == MSGPACK_OBJECT_BIN ?
		    b->via.bin.ptr : b->via.str.ptr, lens[i]);
		if (mp_obj_u64(&pv->via.array.ptr[i], &idx) != 0 || idx >= 6) {
			args_bad(g, "ptrs[%u] must be an arg index 0..5", i + 1);
			break;
		}
		args[idx] = (long)(uintptr_t)bufs[i];
	}
	if (!g->bad && nv != NULL && nv->type != MSGPACK_OBJECT_ARRAY)
		args_bad(g, "field `nested` must be an array");
	for (i = 0; !g->bad && nv != NULL && i < nv->via.array.size; i++) {
		const msgpack_object *e = &nv->via.array.ptr[i];
		uint64_t par, ch, off;
		uintptr_t addr;

		if (mp_get_u64(e, "parent", &par) || mp_get_u64(e, "child",
		    &ch) || mp_get_u64(e, "offset", &off) || par >= nb ||
		    ch >= nb || off + sizeof(addr) > lens[par]) {
			args_bad(g, "nested[%u] needs parent/child buffer "
			    "indexes and an offset that fits 8 bytes", i + 1);
			break;
		}
		addr = (uintptr_t)bufs[ch];
		memcpy(bufs[par] + off, &addr, sizeof(addr));
	}
	if (args_reject(a, r, g))
		goto out;
	errno = 0;
	ret = syscall((long)nr, args[0], args[1], args[2], args[3], args[4],
	    args[5]);
	err = ret == -1 ? errno : 0;
	pk = req_ok_begin(a, r);
	msgpack_pack_map(pk, 3);
	mp_kv_i64(pk, "ret", ret);
	mp_kv_i64(pk, "errno", err);
	mp_str(pk, "out_bufs");
	msgpack_pack_array(pk, nb);
	for (i = 0; i < nb; i++)
		mp_bin(pk, bufs[i], lens[i]);
	req_finish(a, r);
out:
	for (i = 0; i < SYS_MAXBUFS; i++)
		free(bufs[i]);
}

static int64_t
clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
set_realtime(int64_t ns)
{
	struct timespec ts;

	ts.tv_sec = ns / 1000000000;
	ts.tv_nsec = ns % 1000000000;
	if (ts.tv_nsec < 0) {
		ts.tv_nsec += 1000000000;
		ts.tv_sec--;
	}
	return clock_settime(CLOCK_REALTIME, &ts);
}

static void
op_reseed(struct agent *a, struct req *r, struct args *g)
{
	const char *p;
	size_t n;
	int fd;

	arg_bin(g, "seed", &p, &n, true);
	if (!g->bad && n > 4096)
		args_bad(g, "seed is over 4096 bytes");
	if (args_reject(a, r, g))
		return;
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		req_oserr(a, r, errno, "/dev/urandom");
		return;
	}
	/* Crediting entropy needs root; the plain write still mixes. */
	if (geteuid() == 0) {
		struct {
			int entropy_count, buf_size;
			uint8_t data[4096];
		} e;

		e.entropy_count = (int)(n * 8);
		e.buf_size = (int)n;
		memcpy(e.data, p, n);
		ioctl(fd, AGENT_RNDADDENTROPY, &e);
	}
	if (write(fd, p, n) != (ssize_t)n) {
		req_oserr(a, r, errno, "/dev/urandom");
		close(fd);
		return;
	}
	/* Clones of one snapshot share the CRNG key until the kernel's next
	 * scheduled reseed: rekey it now from the pool holding the new bytes
	 * (root only; best effort, as above). */
	if (geteuid() == 0)
		ioctl(fd, AGENT_RNDRESEEDCRNG);
	close(fd);
	req_ok_nil(a, r);
}

void
sys_op(struct agent *a, struct req *r, const msgpack_object *d)
{
	struct args g;
	msgpack_packer *pk;
	const char *k = r->kind;

	args_init(&g, d, k);
	if (strcmp(k, "syscall") == 0) {
		op_syscall(a, r, &g);
	} else if (strcmp(k, "get_time") == 0) {
		pk = req_ok_begin(a, r);
		msgpack_pack_map(pk, 2);
		mp_kv_i64(pk, "realtime_ns", clock_ns(CLOCK_REALTIME));
		mp_kv_i64(pk, "monotonic_ns", clock_ns(CLOCK_MONOTONIC));
		req_finish(a, r);
	} else if (strcmp(k, "set_time") == 0) {
		int64_t ns = arg_i64(&g, "realtime_ns", 0, true);

		if (args_reject(a, r, &g))
			return;
		if (set_realtime(ns) != 0)
			req_oserr(a, r, errno, "CLOCK_REALTIME");
		else
			req_ok_nil(a, r);
	} else if (strcmp(k, "advance_clock") == 0) {
		int64_t delta = arg_i64(&g, "delta_ns", 0, true), ns;

		if (args_reject(a, r, &g))
			return;
		ns = clock_ns(CLOCK_REALTIME) + delta;
		if (set_realtime(ns) != 0) {
			req_oserr(a, r, errno, "CLOCK_REALTIME");
		} else {
			pk = req_ok_begin(a, r);
			msgpack_pack_map(pk, 1);
			mp_kv_i64(pk, "realtime_ns", ns);
			req_finish(a, r);
		}
	} else if (strcmp(k, "reseed") == 0) {
		op_reseed(a, r, &g);
	} else if (strcmp(k, "ping") == 0) {
		pk = req_ok_begin(a, r);
		msgpack_pack_map(pk, 1);
		mp_kv_i64(pk, "uptime_ns", clock_ns(CLOCK_BOOTTIME));
		req_finish(a, r);
	} else {                /* poweroff */
		req_ok_nil(a, r);
		a->poweroff = true;
		a->quit = true;
		a->exit_code = 0;
	}
	args_free(&g);
}
