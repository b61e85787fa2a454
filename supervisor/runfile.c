/* runfile.c: the per-file state machine over runner reports. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "events/mp.h"
#include "runfile.h"

#define POISONED "failed-due-to-poisoned-state"
/* Caps on what a runner may make us hold (the frame cap bounds bytes). */
#define RF_MAX_TESTS  100000
#define RF_MAX_OPEN   4096

#define S(x) (1u << (x))
#define LIVE (S(RF_HELLO) | S(RF_READY) | S(RF_IN_TEST))

struct hctx {
	struct runfile *rf;
	const msgpack_object *m;
	int64_t now;
	const struct rf_out *out;
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 2, 3)))
perr(struct hctx *h, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(h->err, h->errlen, f, ap);
	va_end(ap);
	return -1;
}

/* Field getters that turn a missing/mistyped field into a protocol error. */
static int
need_str(struct hctx *h, const char *key, char **out)
{
	const msgpack_object *o = mp_get(h->m, key);

	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return perr(h, "message needs a string `%s`", key);
	if ((*out = mp_obj_strdup(o)) == NULL)
		return perr(h, "out of memory");
	return 0;
}

static int
need_u64(struct hctx *h, const char *key, uint64_t *v)
{
	if (mp_get_u64(h->m, key, v) != 0)
		return perr(h, "message needs an unsigned integer `%s`", key);
	return 0;
}

static void
emit(struct hctx *h, struct event *ev)
{
	ev->path = ev->path ? ev->path : (char *)(uintptr_t)h->rf->display;
	h->out->emit(h->out->ctx, ev);
}

static struct rf_test *
find_test(struct runfile *rf, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < rf->ntests; i++)
		if (strlen(rf->tests[i].name) == n &&
		    memcmp(rf->tests[i].name, name, n) == 0)
			return &rf->tests[i];
	return NULL;
}

static void
test_event(struct runfile *rf, struct rf_test *t, enum event_kind k,
    struct event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = k;
	ev->path = (char *)(uintptr_t)rf->display;
	ev->name = t->name;
	ev->meta = t->meta;
}

/* ---- handlers ---- */

static int
h_hello(struct hctx *h)
{
	uint64_t v;

	if (need_u64(h, "v", &v))
		return -1;
	if (v != 1)
		return perr(h, "runner speaks channel version %llu, supervisor 1",
		    (unsigned long long)v);
	h->rf->state = RF_HELLO;
	return 0;
}

static int
h_registered(struct hctx *h)
{
	struct runfile *rf = h->rf;
	const msgpack_object *a = mp_get(h->m, "tests");
	uint32_t i;

	if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY)
		return perr(h, "`registered` needs an array `tests`");
	if (a->via.array.size > RF_MAX_TESTS)
		return perr(h, "`registered` lists %u tests (max %u)",
		    a->via.array.size, RF_MAX_TESTS);
	rf->tests = calloc(a->via.array.size ? a->via.array.size : 1,
	    sizeof(*rf->tests));
	if (rf->tests == NULL)
		return perr(h, "out of memory");
	for (i = 0; i < a->via.array.size; i++) {
		const msgpack_object *e = &a->via.array.ptr[i];
		const msgpack_object *n = mp_get(e, "name"), *m = mp_get(e, "meta");
		struct rf_test *t = &rf->tests[i];

		if (n == NULL || n->type != MSGPACK_OBJECT_STR)
			return perr(h, "`registered` test %u has no string `name`", i);
		if (find_test(rf, n->via.str.ptr, n->via.str.size) != NULL)
			return perr(h, "`registered` lists test `%.*s` twice",
			    (int)n->via.str.size, n->via.str.ptr);
		if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
			return perr(h, "`registered` test `%.*s` has no map `meta`",
			    (int)n->via.str.size, n->via.str.ptr);
		if ((t->name = mp_obj_strdup(n)) == NULL)
			return perr(h, "out of memory");
		rf->ntests = i + 1;
		if (meta_from_msgpack(m, &t->meta) != 0)
			return perr(h, "`registered` test `%s`: meta is no MetaMap",
			    t->name);
	}
	rf->state = RF_READY;
	return 0;
}

static int
h_chunk_error(struct hctx *h)
{
	if (h->rf->chunk_error != NULL)
		return perr(h, "second `chunk_error`");
	return need_str(h, "message", &h->rf->chunk_error);
}

static int
h_test_started(struct hctx *h)
{
	struct runfile *rf = h->rf;
	const char *n;
	size_t len;
	struct rf_test *t;
	struct event ev;

	if (mp_get_str(h->m, "name", &n, &len) != 0)
		return perr(h, "`test_started` needs a string `name`");
	if ((t = find_test(rf, n, len)) == NULL)
		return perr(h, "`test_started` for unregistered test `%.*s`",
		    (int)len, n);
	if (t->status != RT_PENDING)
		return perr(h, "`test_started` for `%s` twice", t->name);
	t->status = RT_RUNNING;
	rf->cur = (size_t)(t - rf->tests);
	rf->state = RF_IN_TEST;
	rf->test_started = h->now;
	test_event(rf, t, EVENT_TEST_STARTED, &ev);
	emit(h, &ev);
	return 0;
}

static int
take_log(struct hctx *h, struct rf_test *t)
{
	const msgpack_object *a = mp_get(h->m, "log");
	uint32_t i;

	if (a == NULL)
		return perr(h, "test result needs an array `log`");
	if (a->type != MSGPACK_OBJECT_ARRAY)
		return perr(h, "`log` must be an array of strings");
	size_t bytes = 0;

	if (a->via.array.size == 0)
		return 0;
	for (i = 0; i < a->via.array.size; i++) {
		if (a->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
			return perr(h, "`log` must be an array of strings");
		bytes += a->via.array.ptr[i].via.str.size + sizeof(char *);
	}
	if (h->rf->log_kept + bytes > RF_LOG_KEEP_MAX) {
		if ((t->log = calloc(1, sizeof(char *))) == NULL ||
		    (t->log[0] = strdup(RF_LOG_DROPPED)) == NULL)
			return perr(h, "out of memory");
		t->nlog = 1;
		return 0;
	}
	if ((t->log = calloc(a->via.array.size, sizeof(char *))) == NULL)
		return perr(h, "out of memory");
	for (i = 0; i < a->via.array.size; i++) {
		if ((t->log[i] = mp_obj_strdup(&a->via.array.ptr[i])) == NULL)
			return perr(h, "out of memory");
		t->nlog = i + 1;
	}
	h->rf->log_kept += bytes;
	return 0;
}

/* Common part of test_passed/failed/skipped: the name must be the running test. */
static struct rf_test *
current(struct hctx *h, const char *what)
{
	struct runfile *rf = h->rf;
	struct rf_test *t = &rf->tests[rf->cur];
	const char *n;
	size_t len;

	if (mp_get_str(h->m, "name", &n, &len) != 0) {
		perr(h, "`%s` needs a string `name`", what);
		return NULL;
	}
	if (strlen(t->name) != len || memcmp(t->name, n, len) != 0) {
		perr(h, "`%s` for `%.*s` while `%s` runs", what, (int)len, n,
		    t->name);
		return NULL;
	}
	return t;
}

static int
h_test_passed(struct hctx *h)
{
	struct rf_test *t = current(h, "test_passed");
	struct event ev;
	uint64_t d;

	if (t == NULL || need_u64(h, "duration_ns", &d) || take_log(h, t))
		return -1;
	t->status = RT_PASSED;
	h->rf->npassed++;
	h->rf->state = RF_READY;
	test_event(h->rf, t, EVENT_TEST_PASSED, &ev);
	ev.duration_ns = d;
	emit(h, &ev);
	return 0;
}

static int
h_test_failed(struct hctx *h)
{
	struct rf_test *t = current(h, "test_failed");
	char *console = NULL;
	struct event ev;
	uint64_t d;

	if (t == NULL || need_u64(h, "duration_ns", &d) ||
	    need_str(h, "reason", &t->message) ||
	    need_str(h, "console_excerpt", &console) || take_log(h, t)) {
		free(console);
		return -1;
	}
	t->status = RT_FAILED;
	h->rf->nfailed++;
	h->rf->state = RF_READY;
	test_event(h->rf, t, EVENT_TEST_FAILED, &ev);
	ev.duration_ns = d;
	ev.reason = t->message;
	ev.console_excerpt = console;
	emit(h, &ev);
	free(t->console);
	t->console = console;       /* shown under the failure */
	return 0;
}

static int
h_test_skipped(struct hctx *h)
{
	struct rf_test *t = current(h, "test_skipped");
	struct event ev;

	if (t == NULL || need_str(h, "reason", &t->message) || take_log(h, t))
		return -1;
	t->status = RT_SKIPPED;
	h->rf->nskipped++;
	h->rf->state = RF_READY;
	test_event(h->rf, t, EVENT_TEST_SKIPPED, &ev);
	ev.reason = t->message;
	emit(h, &ev);
	return 0;
}

static int
h_vm_spawned(struct hctx *h)
{
	struct runfile *rf = h->rf;
	char *name = NULL, *profile = NULL;
	uint64_t mem, cid;
	struct rf_vm *v;
	struct event ev;
	size_t i;

	if (need_u64(h, "memory_bytes", &mem) || need_u64(h, "cid", &cid))
		return -1;
	if (cid > UINT32_MAX)
		return perr(h, "`vm_spawned` cid %llu out of range",
		    (unsigned long long)cid);
	for (i = 0; i < rf->nvms; i++)
		if (rf->vms[i].cid == cid)
			return perr(h, "`vm_spawned` reuses open cid %llu",
			    (unsigned long long)cid);
	if (rf->nvms >= RF_MAX_OPEN)
		return perr(h, "too many open VMs");
	if (need_str(h, "vm_name", &name) || need_str(h, "profile", &profile)) {
		free(name);
		return -1;
	}
	v = realloc(rf->vms, (rf->nvms + 1) * sizeof(*v));
	if (v == NULL) {
		free(name);
		free(profile);
		return perr(h, "out of memory");
	}
	rf->vms = v;
	rf->vms[rf->nvms++] = (struct rf_vm){ (uint32_t)cid, name, h->now };
	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_VM_SPAWNED;
	ev.name = name;
	ev.profile = profile;
	ev.memory_bytes = mem;
	ev.cid = (uint32_t)cid;
	emit(h, &ev);
	free(profile);
	return 0;
}

static void
vm_shutdown_event(struct hctx *h, size_t i, uint64_t dur)
{
	struct runfile *rf = h->rf;
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_VM_SHUTDOWN;
	ev.name = rf->vms[i].vm_name;
	ev.duration_ns = dur;
	emit(h, &ev);
	free(rf->vms[i].vm_name);
	rf->vms[i] = rf->vms[--rf->nvms];
}

static int
h_vm_shutdown(struct hctx *h)
{
	struct runfile *rf = h->rf;
	uint64_t cid, dur;
	size_t i;

	if (need_u64(h, "cid", &cid) || need_u64(h, "duration_ns", &dur))
		return -1;
	for (i = 0; i < rf->nvms; i++)
		if (rf->vms[i].cid == cid)
			break;
	if (i == rf->nvms)
		return perr(h, "`vm_shutdown` for cid %llu, which is not running",
		    (unsigned long long)cid);
	vm_shutdown_event(h, i, dur);
	return 0;
}

static ssize_t
find_build(struct runfile *rf, const char *p)
{
	size_t i;

	for (i = 0; i < rf->nbuilds; i++)
		if (strcmp(rf->builds[i].path, p) == 0)
			return (ssize_t)i;
	return -1;
}

/* fixture_build_started and _waiting both open a build that _done closes. */
static int
open_build(struct hctx *h, enum event_kind k)
{
	struct runfile *rf = h->rf;
	char *p = NULL, *held = NULL;
	struct rf_build *b;
	struct event ev;

	if (need_str(h, "path", &p))
		return -1;
	if (k == EVENT_FIXTURE_BUILD_WAITING && need_str(h, "held_by_file", &held)) {
		free(p);
		return -1;
	}
	if (find_build(rf, p) >= 0) {
		perr(h, "`%s` for `%s`, already building", event_kind_name(k), p);
		free(p);
		free(held);
		return -1;
	}
	b = rf->nbuilds < RF_MAX_OPEN ?
	    realloc(rf->builds, (rf->nbuilds + 1) * sizeof(*b)) : NULL;
	if (b == NULL) {
		free(p);
		free(held);
		return perr(h, "too many open fixture builds");
	}
	rf->builds = b;
	rf->builds[rf->nbuilds++] = (struct rf_build){ p, h->now };
	memset(&ev, 0, sizeof(ev));
	ev.kind = k;
	ev.path = p;
	ev.held_by_file = held;
	emit(h, &ev);
	free(held);
	return 0;
}

static int
h_build_started(struct hctx *h)
{
	return open_build(h, EVENT_FIXTURE_BUILD_STARTED);
}

static int
h_build_waiting(struct hctx *h)
{
	return open_build(h, EVENT_FIXTURE_BUILD_WAITING);
}

static void
build_done_event(struct hctx *h, size_t i, uint64_t dur, uint64_t bytes)
{
	struct runfile *rf = h->rf;
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_FIXTURE_BUILD_DONE;
	ev.path = rf->builds[i].path;
	ev.duration_ns = dur;
	ev.snapshot_bytes = bytes;
	emit(h, &ev);
	free(rf->builds[i].path);
	rf->builds[i] = rf->builds[--rf->nbuilds];
}

static int
h_build_done(struct hctx *h)
{
	const char *p;
	size_t n;
	uint64_t dur, bytes;
	ssize_t i;
	char *ps;

	if (mp_get_str(h->m, "path", &p, &n) != 0)
		return perr(h, "`fixture_build_done` needs a string `path`");
	if (need_u64(h, "duration_ns", &dur) || need_u64(h, "snapshot_bytes", &bytes))
		return -1;
	if ((ps = strndup(p, n)) == NULL)
		return perr(h, "out of memory");
	i = find_build(h->rf, ps);
	if (i < 0) {
		perr(h, "`fixture_build_done` for `%s`, which is not building", ps);
		free(ps);
		return -1;
	}
	free(ps);
	build_done_event(h, (size_t)i, dur, bytes);
	return 0;
}

static int
h_cache_hit(struct hctx *h)
{
	struct event ev;
	char *p;

	if (need_str(h, "path", &p))
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_FIXTURE_CACHE_HIT;
	ev.path = p;
	emit(h, &ev);
	free(p);
	return 0;
}

static int
get_amount(struct hctx *h, struct resource_amount *a)
{
	uint64_t cpus;

	if (need_u64(h, "memory_bytes", &a->memory_bytes) ||
	    need_u64(h, "cpus", &cpus))
		return -1;
	if (cpus > UINT32_MAX)
		return perr(h, "cpus %llu out of range", (unsigned long long)cpus);
	a->cpus = (uint32_t)cpus;
	return 0;
}

static int
request(struct hctx *h, enum rf_request r)
{
	struct resource_amount a;
	uint64_t id = 0;
	const char *what = NULL;
	size_t wn;
	char *w = NULL;
	int rc;

	if (r != RF_REQ_RELEASE && need_u64(h, "id", &id))
		return -1;
	if (get_amount(h, &a))
		return -1;
	if (r == RF_REQ_CLAIM && h->rf->claimed)
		return perr(h, "second `claim` (a file claims once)");
	if (r == RF_REQ_RESERVE) {
		if (mp_get_str(h->m, "what", &what, &wn) != 0)
			return perr(h, "`reserve` needs a string `what`");
		if ((w = strndup(what, wn)) == NULL)
			return perr(h, "out of memory");
	}
	/* -1: the request itself breaks the protocol (e.g. over-release);
	 * a dead runner is not an error here, it shows up as EOF. */
	rc = h->out->request(h->out->ctx, h->rf, r, id, a, w, h->err, h->errlen);
	free(w);
	return rc;
}

static int
h_claim(struct hctx *h)
{
	return request(h, RF_REQ_CLAIM);
}

static int
h_reserve(struct hctx *h)
{
	return request(h, RF_REQ_RESERVE);
}

static int
h_release(struct hctx *h)
{
	return request(h, RF_REQ_RELEASE);
}

static int
h_done(struct hctx *h)
{
	struct runfile *rf = h->rf;
	size_t i;

	if (rf->chunk_error == NULL) {
		if (rf->state == RF_HELLO)
			return perr(h, "`done` before `registered`");
		for (i = 0; i < rf->ntests; i++)
			if (rf->tests[i].status == RT_PENDING)
				return perr(h, "`done` but test `%s` never ran",
				    rf->tests[i].name);
	}
	rf->state = RF_DONE;
	return 0;
}

struct rf_msg {
	const char *t;
	unsigned states;        /* S(state) bits in which it is allowed */
	int (*fn)(struct hctx *);
};

static const struct rf_msg rf_msgs[] = {
	{ "hello", S(RF_SPAWNED), h_hello },
	{ "registered", S(RF_HELLO), h_registered },
	{ "chunk_error", S(RF_HELLO) | S(RF_READY), h_chunk_error },
	{ "test_started", S(RF_READY), h_test_started },
	{ "test_passed", S(RF_IN_TEST), h_test_passed },
	{ "test_failed", S(RF_IN_TEST), h_test_failed },
	{ "test_skipped", S(RF_IN_TEST), h_test_skipped },
	{ "vm_spawned", LIVE, h_vm_spawned },
	{ "vm_shutdown", LIVE, h_vm_shutdown },
	{ "fixture_build_started", LIVE, h_build_started },
	{ "fixture_build_waiting", LIVE, h_build_waiting },
	{ "fixture_build_done", LIVE, h_build_done },
	{ "fixture_cache_hit", LIVE, h_cache_hit },
	{ "claim", LIVE, h_claim },
	{ "reserve", LIVE, h_reserve },
	{ "release", LIVE, h_release },
	{ "done", S(RF_HELLO) | S(RF_READY), h_done },
};

static const char *const state_names[RF_STATE_COUNT] = {
	"not started", "before hello", "before registered", "between tests",
	"in a test", "after done", "completed",
};

int
runfile_handle(struct runfile *rf, const msgpack_object *msg, int64_t now,
    const struct rf_out *out, char *err, size_t errlen)
{
	struct hctx h = { rf, msg, now, out, err, errlen };
	const char *t;
	size_t n, i;

	if (mp_get_str(msg, "t", &t, &n) != 0)
		return perr(&h, "message without a string `t`");
	for (i = 0; i < sizeof(rf_msgs) / sizeof(rf_msgs[0]); i++) {
		if (strlen(rf_msgs[i].t) != n || memcmp(rf_msgs[i].t, t, n) != 0)
			continue;
		if (!(rf_msgs[i].states & S(rf->state)))
			return perr(&h, "`%s` not allowed %s", rf_msgs[i].t,
			    state_names[rf->state]);
		return rf_msgs[i].fn(&h);
	}
	return perr(&h, "unknown message `%.*s`", (int)(n > 64 ? 64 : n), t);
}

void
runfile_init(struct runfile *rf, const char *display)
{
	memset(rf, 0, sizeof(*rf));
	rf->display = display;
	rf->state = RF_PENDING;
}

void
runfile_dispatched(struct runfile *rf, int64_t now)
{
	rf->state = RF_SPAWNED;
	rf->started = now;
}

void
runfile_claim_granted(struct runfile *rf, struct resource_amount amount,
    const struct rf_out *out)
{
	struct event ev;

	rf->claimed = true;
	rf->claim = amount;
	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_CLAIM_ACQUIRED;
	ev.path = (char *)(uintptr_t)rf->display;
	ev.amount = amount;
	out->emit(out->ctx, &ev);
}

static void
fail_test(struct hctx *h, struct rf_test *t, const char *reason, uint64_t dur)
{
	struct event ev;

	free(t->message);
	t->message = strdup(reason);
	t->status = RT_FAILED;
	h->rf->nfailed++;
	test_event(h->rf, t, EVENT_TEST_FAILED, &ev);
	ev.duration_ns = dur;
	ev.reason = t->message ? t->message : (char *)(uintptr_t)reason;
	emit(h, &ev);
}

void
runfile_finish(struct runfile *rf, enum rf_end end, const char *cause,
    int64_t now, const struct rf_out *out)
{
	struct hctx h = { rf, NULL, now, out, NULL, 0 };
	struct event ev;
	char *poison = NULL;
	bool carried = false;   /* a test's failure names the cause */
	size_t i;

	if (rf->state == RF_COMPLETED)
		return;
	if (end == RF_END_EXITED)
		cause = rf->chunk_error ? rf->chunk_error : "runner exited";
	if (rf->state == RF_IN_TEST) {
		fail_test(&h, &rf->tests[rf->cur], cause,
		    (uint64_t)(now - rf->test_started));
		carried = true;
	}
	for (i = 0; i < rf->ntests; i++) {
		struct rf_test *t = &rf->tests[i];

		if (t->status != RT_PENDING)
			continue;
		if (poison == NULL && asprintf(&poison, POISONED " (%s)", cause) < 0)
			poison = NULL;
		test_event(rf, t, EVENT_TEST_STARTED, &ev);
		emit(&h, &ev);
		t->status = RT_RUNNING;
		fail_test(&h, t, poison ? poison : POISONED, 0);
		carried = true;
	}
	free(poison);
	while (rf->nvms > 0)
		vm_shutdown_event(&h, rf->nvms - 1,
		    (uint64_t)(now - rf->vms[rf->nvms - 1].started));
	while (rf->nbuilds > 0)
		build_done_event(&h, rf->nbuilds - 1,
		    (uint64_t)(now - rf->builds[rf->nbuilds - 1].started), 0);
	if (rf->claimed) {
		memset(&ev, 0, sizeof(ev));
		ev.kind = EVENT_CLAIM_RELEASED;
		ev.amount = rf->claim;
		emit(&h, &ev);
		rf->claimed = false;
	}
	switch (end) {
	case RF_END_EXITED:
		rf->status = rf->chunk_error ? EVENT_STATUS_CRASHED :
		    rf->nfailed ? EVENT_STATUS_FAILED : EVENT_STATUS_PASSED;
		break;
	case RF_END_TIMED_OUT:
		rf->status = EVENT_STATUS_TIMED_OUT;
		break;
	case RF_END_CRASHED:
	case RF_END_NOT_RUN:
		rf->status = EVENT_STATUS_CRASHED;
		if (rf->chunk_error == NULL && !carried)
			rf->chunk_error = strdup(cause);
		break;
	}
	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_FILE_COMPLETED;
	ev.status = (char *)(uintptr_t)rf->status;
	ev.duration_ns = rf->state == RF_PENDING ? 0 : (uint64_t)(now - rf->started);
	emit(&h, &ev);
	rf->state = RF_COMPLETED;
}

void
runfile_describe_wait(int st, bool got_done, char *buf, size_t len)
{
	if (WIFSIGNALED(st)) {
		const char *abbr = sigabbrev_np(WTERMSIG(st));
		if (abbr)
			snprintf(buf, len, "runner crashed: killed by SIG%s", abbr);
		else
			snprintf(buf, len, "runner crashed: killed by signal %d",
			    WTERMSIG(st));
	} else if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
		snprintf(buf, len, "runner crashed: exited with status %d",
		    WEXITSTATUS(st));
	} else if (!got_done) {
		snprintf(buf, len, "runner crashed: exited with status 0 "
		    "before `done`");
	} else {
		snprintf(buf, len, "runner exited");
	}
}

static void
drop_tests(struct runfile *rf)
{
	size_t i, j;

	for (i = 0; i < rf->ntests; i++) {
		free(rf->tests[i].name);
		meta_clear(&rf->tests[i].meta);
		free(rf->tests[i].message);
		free(rf->tests[i].console);
		for (j = 0; j < rf->tests[i].nlog; j++)
			free(rf->tests[i].log[j]);
		free(rf->tests[i].log);
	}
	free(rf->tests);
	rf->tests = NULL;
	rf->ntests = 0;
}

void
runfile_clear(struct runfile *rf)
{
	size_t i;

	drop_tests(rf);
	for (i = 0; i < rf->nvms; i++)
		free(rf->vms[i].vm_name);
	free(rf->vms);
	for (i = 0; i < rf->nbuilds; i++)
		free(rf->builds[i].path);
	free(rf->builds);
	free(rf->chunk_error);
	memset(rf, 0, sizeof(*rf));
}
