/* pool.c: see pool.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/xfmt.h"
#include "supervisor/pool.h"
#include "supervisor/size.h"

#define AMOUNT_TEXT 64

struct pool_owner;

struct pool_req {
	struct pool_req *next;
	struct pool_owner *o;           /* outlives its queued requests */
	enum pool_req_kind kind;
	uint64_t owner;
	uint64_t cookie;
	struct resource_amount amount;  /* reported in the grant */
	struct resource_amount take;    /* what the pool gives */
	bool has_claim;                 /* admit: take includes a declared claim */
	struct resource_amount claim;
	/* Times younger requests were granted first (pool_overtaken()):
	 * counted lazily so a sweep over a long queue stays linear. */
	uint64_t swept;         /* overtaken during grant sweeps */
	uint64_t imm_base;      /* p->immediate when it was queued */
	uint64_t mark;          /* sweep-local: grants before it was skipped */
	bool failed;                    /* a verdict on the standing queue */
	char *err;                      /* its message, handed to the caller */
};

struct pool_owner {
	uint64_t id;
	struct resource_amount held;       /* from the pool, claim included */
	struct resource_amount reserved;   /* reserves taken from the pool */
	struct resource_amount claim;      /* pre-reserved or active claim */
	struct resource_amount claim_used; /* boots drawn from the claim */
	bool admitted;
	bool claim_reserved;    /* declared claim held since admit, not claimed */
	bool claim_active;
	bool claimed;           /* the one claim call is spent */
	unsigned queued;
};

struct req_list {
	struct pool_req *head;
	struct pool_req **tail;
};

struct pool {
	struct resource_amount total;
	struct resource_amount available;
	struct pool_owner **owners;     /* each its own allocation */
	size_t nowners, capowners;
	uint64_t immediate;             /* grants made without queueing */
	struct req_list queue;          /* waiting, oldest first */
	struct req_list grants;         /* granted, not yet taken */
	size_t nqueued;
};

/* ---- amounts ---- */

struct resource_amount
pool_amount_add(struct resource_amount a, struct resource_amount b)
{
	struct resource_amount r;

	r.memory_bytes = a.memory_bytes > UINT64_MAX - b.memory_bytes ?
	    UINT64_MAX : a.memory_bytes + b.memory_bytes;
	r.cpus = a.cpus > UINT32_MAX - b.cpus ? UINT32_MAX : a.cpus + b.cpus;
	return r;
}

struct resource_amount
pool_amount_sub(struct resource_amount a, struct resource_amount b)
{
	struct resource_amount r;

	r.memory_bytes = a.memory_bytes > b.memory_bytes ?
	    a.memory_bytes - b.memory_bytes : 0;
	r.cpus = a.cpus > b.cpus ? a.cpus - b.cpus : 0;
	return r;
}

bool
pool_amount_fits(struct resource_amount a, struct resource_amount within)
{
	return a.memory_bytes <= within.memory_bytes && a.cpus <= within.cpus;
}

bool
pool_amount_is_zero(struct resource_amount a)
{
	return a.memory_bytes == 0 && a.cpus == 0;
}

void
pool_amount_format(struct resource_amount a, char *buf, size_t len)
{
	char mem[32];

	size_format(a.memory_bytes, mem, sizeof(mem));
	snprintf(buf, len, "%s/%u cpu%s", mem, a.cpus, a.cpus == 1 ? "" : "s");
}

static struct resource_amount
amount_min(struct resource_amount a, struct resource_amount b)
{
	struct resource_amount r;

	r.memory_bytes = a.memory_bytes < b.memory_bytes ? a.memory_bytes :
	    b.memory_bytes;
	r.cpus = a.cpus < b.cpus ? a.cpus : b.cpus;
	return r;
}

/* ---- messages ---- */

static void
set_err(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
set_err(char **err, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	*err = xfmt_v(fmt, ap);         /* errno ENOMEM if NULL */
	va_end(ap);
}

static enum pool_status
fail_exceeds_total(const struct pool *p, const char *what,
    struct resource_amount amount, char **err)
{
	char a[AMOUNT_TEXT], t[AMOUNT_TEXT];

	pool_amount_format(amount, a, sizeof(a));
	pool_amount_format(p->total, t, sizeof(t));
	set_err(err, "%s requested %s which exceeds pool total %s", what, a, t);
	errno = E2BIG;
	return POOL_FAILED;
}

/* ---- owners and lists ---- */

static struct pool_owner *
owner_find(const struct pool *p, uint64_t id)
{
	for (size_t i = 0; i < p->nowners; i++)
		if (p->owners[i]->id == id)
			return p->owners[i];
	return NULL;
}

static struct pool_owner *
owner_get(struct pool *p, uint64_t id)
{
	struct pool_owner *o = owner_find(p, id);

	if (o != NULL)
		return o;
	if (p->nowners == p->capowners) {
		size_t cap = p->capowners ? p->capowners * 2 : 16;
		struct pool_owner **n = reallocarray(p->owners, cap,
		    sizeof(*n));

		if (n == NULL)
			return NULL;
		p->owners = n;
		p->capowners = cap;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->id = id;
	p->owners[p->nowners++] = o;
	return o;
}

static bool
owner_holds(const struct pool_owner *o)
{
	return o != NULL && !pool_amount_is_zero(o->held);
}

static void
list_init(struct req_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void
list_append(struct req_list *l, struct pool_req *r)
{
	r->next = NULL;
	*l->tail = r;
	l->tail = &r->next;
}

/* Unlinks *pp (a link inside l) and returns the request. */
static struct pool_req *
list_unlink(struct req_list *l, struct pool_req **pp)
{
	struct pool_req *r = *pp;

	*pp = r->next;
	if (l->tail == &r->next)
		l->tail = pp;
	r->next = NULL;
	return r;
}

static void
req_free(struct pool_req *r)
{
	free(r->err);
	free(r);
}

static void
list_free(struct req_list *l)
{
	while (l->head != NULL)
		req_free(list_unlink(l, &l->head));
}

/* ---- granting ---- */

static uint64_t
overtaken(const struct pool *p, const struct pool_req *r)
{
	return r->swept + (p->immediate - r->imm_base);
}

/* A queued request overtaken this often holds back new files (pool.h). */
static bool
barrier_exists(const struct pool *p)
{
	for (const struct pool_req *r = p->queue.head; r; r = r->next)
		if (overtaken(p, r) >= POOL_OVERTAKE_LIMIT)
			return true;
	return false;
}

/* For a request younger than everything queued. */
static bool
may_grant_now(const struct pool *p, const struct pool_owner *o,
    struct resource_amount take)
{
	return pool_amount_fits(take, p->available) &&
	    (owner_holds(o) || !barrier_exists(p));
}

static void
apply_grant(struct pool *p, struct pool_owner *o, const struct pool_req *r)
{
	p->available = pool_amount_sub(p->available, r->take);
	o->held = pool_amount_add(o->held, r->take);
	switch (r->kind) {
	case POOL_REQ_ADMIT:
		o->admitted = true;
		if (r->has_claim) {
			o->claim = r->claim;
			o->claim_reserved = true;
		}
		break;
	case POOL_REQ_CLAIM:
		o->claim = r->amount;
		o->claim_used = (struct resource_amount){ 0, 0 };
		o->claim_reserved = false;
		o->claim_active = true;
		break;
	case POOL_REQ_RESERVE:
		o->reserved = pool_amount_add(o->reserved, r->take);
		break;
	}
}

/* Holds VMs or a claim: some of its resources are already at work. */
static bool
owner_mid_file(const struct pool_owner *o)
{
	return !pool_amount_is_zero(o->reserved) || o->claim_active ||
	    o->claim_reserved;
}

/*
 * One pass over the queue, oldest first.  `granted` counts this pass's
 * grants; a skipped request remembers how many came before it, so at the
 * end it learns how often it was overtaken, and `barrier_at` is the grant
 * count at which the first skipped request reaches the overtake limit.
 */
static void
grant_sweep(struct pool *p, bool mid_file_only)
{
	struct pool_req **pp = &p->queue.head, *r;
	uint64_t granted = 0, barrier_at = UINT64_MAX, ov;

	while ((r = *pp) != NULL) {
		struct pool_owner *o = r->o;

		if ((mid_file_only && !owner_mid_file(o)) ||
		    !pool_amount_fits(r->take, p->available) ||
		    (!owner_holds(o) && granted >= barrier_at)) {
			ov = overtaken(p, r);
			r->mark = granted;
			if (ov >= POOL_OVERTAKE_LIMIT)
				barrier_at = granted;
			else if (granted + POOL_OVERTAKE_LIMIT - ov < barrier_at)
				barrier_at = granted + POOL_OVERTAKE_LIMIT - ov;
			pp = &r->next;
			continue;
		}
		granted++;
		list_unlink(&p->queue, pp);
		p->nqueued--;
		o->queued--;
		apply_grant(p, o, r);
		list_append(&p->grants, r);
	}
	if (granted > 0)
		for (r = p->queue.head; r != NULL; r = r->next)
			r->swept += granted - r->mark;
}

/*
 * Files that already hold VMs or a claim go first: finishing them frees
 * the most, and handing a freed CPU to a file's *first* boot instead can
 * only park one more holder (with hold-and-wait files, a new deadlock
 * verdict each time).  Then everyone else, oldest first.
 */
static void
grant_pass(struct pool *p)
{
	grant_sweep(p, true);
	grant_sweep(p, false);
}

/*
 * The verdict of pool.h: true (with *err) when parking this request would
 * leave every holder parked with nothing parked able to fit.  `queued`:
 * the request is already in the queue (a verdict on the standing queue)
 * rather than about to join it.
 */
static bool
deadlocked(const struct pool *p, const struct pool_owner *self,
    struct resource_amount take, bool queued, char **err)
{
	struct resource_amount held = { 0, 0 };
	char x[AMOUNT_TEXT], t[AMOUNT_TEXT], a[AMOUNT_TEXT], r[AMOUNT_TEXT];
	size_t holders = 0, waiting = queued ? 0 : 1;

	if (self->id == POOL_ANON || !owner_holds(self) ||
	    pool_amount_fits(take, p->available))
		return false;
	for (size_t i = 0; i < p->nowners; i++) {
		const struct pool_owner *o = p->owners[i];

		if (!owner_holds(o))
			continue;
		if (o->id == POOL_ANON || (o != self && o->queued == 0))
			return false;
		holders++;
		held = pool_amount_add(held, o->held);
	}
	for (const struct pool_req *q = p->queue.head; q; q = q->next) {
		if (!pool_amount_fits(q->take, p->available)) {
			waiting++;
			continue;
		}
		/* A holder's request that fits is about to be granted. */
		if (owner_holds(q->o))
			return false;
	}
	pool_amount_format(held, x, sizeof(x));
	pool_amount_format(p->total, t, sizeof(t));
	pool_amount_format(p->available, a, sizeof(a));
	pool_amount_format(take, r, sizeof(r));
	set_err(err, "the pool is deadlocked: %zu file%s hold%s %s of its %s "
	    "and every one of them is waiting for more, while the %s still "
	    "free serves none of the %zu waiting request%s (this one wants "
	    "%s); declare this file's peak with provium:claim so it is "
	    "scheduled whole and no boot waits mid-file",
	    holders, holders == 1 ? "" : "s", holders == 1 ? "s" : "", x, t,
	    a, waiting, waiting == 1 ? "" : "s", r);
	errno = EDEADLK;
	return true;
}

/*
 * A holder leaving (or dropping to nothing) can leave every remaining
 * holder parked with no request arriving to close the cycle: then the
 * youngest parked request of a holder fails, through the grant list, with
 * the same verdict.  Repeats until the standing queue can make progress.
 */
static void
verdict_pass(struct pool *p)
{
	for (;;) {
		struct pool_req **pp, **victim = NULL, *r;
		struct pool_owner *o;
		char *msg = NULL;

		for (pp = &p->queue.head; *pp != NULL; pp = &(*pp)->next)
			if (owner_holds((*pp)->o))
				victim = pp;
		if (victim == NULL)
			return;
		r = *victim;
		o = r->o;
		if (!deadlocked(p, o, r->take, true, &msg))
			return;
		list_unlink(&p->queue, victim);
		p->nqueued--;
		o->queued--;
		if (r->kind == POOL_REQ_CLAIM)
			o->claimed = false;     /* a failed claim is no shot */
		r->failed = true;
		r->err = msg;
		list_append(&p->grants, r);
	}
}

/* After anything that gave resources back. */
static void
settle(struct pool *p)
{
	grant_pass(p);
	verdict_pass(p);
}

/*
 * The common tail of every pool-bound request: grant now, fail on the
 * deadlock verdict, or queue.  r is consumed.
 */
static enum pool_status
submit(struct pool *p, struct pool_owner *o, struct pool_req *r, char **err)
{
	r->o = o;
	if (may_grant_now(p, o, r->take)) {
		p->immediate++;
		apply_grant(p, o, r);
		free(r);
		return POOL_GRANTED;
	}
	if (deadlocked(p, o, r->take, false, err)) {
		free(r);
		return POOL_FAILED;
	}
	r->imm_base = p->immediate;
	list_append(&p->queue, r);
	p->nqueued++;
	o->queued++;
	return POOL_QUEUED;
}

static struct pool_req *
req_new(enum pool_req_kind kind, uint64_t owner, uint64_t cookie,
    struct resource_amount amount, char **err)
{
	struct pool_req *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		if (err != NULL)
			*err = NULL;
		errno = ENOMEM;
		return NULL;
	}
	r->kind = kind;
	r->owner = owner;
	r->cookie = cookie;
	r->amount = amount;
	r->take = amount;
	return r;
}

static struct pool_owner *
owner_or_enomem(struct pool *p, uint64_t owner, char **err)
{
	struct pool_owner *o = owner_get(p, owner);

	if (o == NULL) {
		if (err != NULL)
			*err = NULL;
		errno = ENOMEM;
	}
	return o;
}

/* ---- public ---- */

struct pool *
pool_new(struct resource_amount total)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->total = total;
	p->available = total;
	list_init(&p->queue);
	list_init(&p->grants);
	return p;
}

void
pool_free(struct pool *p)
{
	if (p == NULL)
		return;
	list_free(&p->queue);
	list_free(&p->grants);
	for (size_t i = 0; i < p->nowners; i++)
		free(p->owners[i]);
	free(p->owners);
	free(p);
}

enum pool_status
pool_admit(struct pool *p, uint64_t owner, struct resource_amount overhead,
    const struct resource_amount *declared_claim, const char *what,
    char **err)
{
	struct resource_amount need = overhead;
	struct pool_owner *o;
	struct pool_req *r;
	char label[512], c[AMOUNT_TEXT];

	if (what == NULL)
		what = "file";
	if (declared_claim != NULL)
		need = pool_amount_add(need, *declared_claim);
	if (!pool_amount_fits(need, p->total)) {
		if (declared_claim != NULL) {
			pool_amount_format(*declared_claim, c, sizeof(c));
			snprintf(label, sizeof(label), "%s: runner overhead and "
			    "provium:claim %s", what, c);
		} else {
			snprintf(label, sizeof(label), "%s: runner overhead",
			    what);
		}
		return fail_exceeds_total(p, label, need, err);
	}
	if (owner == POOL_ANON) {
		set_err(err, "%s: pool owner 0 is reserved for anonymous "
		    "holdings", what);
		errno = EINVAL;
		return POOL_FAILED;
	}
	if ((o = owner_or_enomem(p, owner, err)) == NULL)
		return POOL_FAILED;
	if (o->admitted || o->queued > 0) {
		set_err(err, "%s: admitted twice (pool owner %llu)", what,
		    (unsigned long long)owner);
		errno = EINVAL;
		return POOL_FAILED;
	}
	if ((r = req_new(POOL_REQ_ADMIT, owner, 0, need, err)) == NULL)
		return POOL_FAILED;
	if (declared_claim != NULL) {
		r->has_claim = true;
		r->claim = *declared_claim;
	}
	return submit(p, o, r, err);
}

enum pool_status
pool_claim(struct pool *p, uint64_t owner, struct resource_amount amount,
    uint64_t cookie, char **err)
{
	struct resource_amount have, surplus;
	struct pool_owner *o;
	struct pool_req *r;
	enum pool_status st;

	if (owner == POOL_ANON) {
		set_err(err, "provium:claim: pool owner 0 is reserved for "
		    "anonymous holdings");
		errno = EINVAL;
		return POOL_FAILED;
	}
	if ((o = owner_or_enomem(p, owner, err)) == NULL)
		return POOL_FAILED;
	if (o->claimed) {
		set_err(err, "lab claim already held; one-shot per lab");
		errno = EALREADY;
		return POOL_FAILED;
	}
	if (!pool_amount_fits(amount, p->total))
		return fail_exceeds_total(p, "provium:claim", amount, err);
	if ((r = req_new(POOL_REQ_CLAIM, owner, cookie, amount, err)) == NULL)
		return POOL_FAILED;
	if (o->claim_reserved) {
		/* Keep what the declared claim covers, give back the rest and
		 * wait, if at all, only for the difference. */
		have = amount_min(o->claim, amount);
		surplus = pool_amount_sub(o->claim, have);
		o->held = pool_amount_sub(o->held, surplus);
		p->available = pool_amount_add(p->available, surplus);
		o->claim = have;
		r->take = pool_amount_sub(amount, have);
	}
	st = submit(p, o, r, err);
	if (st != POOL_FAILED)
		o->claimed = true;
	settle(p);
	return st;
}

enum pool_status
pool_reserve(struct pool *p, uint64_t owner, struct resource_amount amount,
    uint64_t cookie, const char *what, char **err)
{
	char n[AMOUNT_TEXT], c[AMOUNT_TEXT], u[AMOUNT_TEXT];
	struct resource_amount after;
	struct pool_owner *o;
	struct pool_req *r;

	if (what == NULL)
		what = "reserve";
	if ((o = owner_or_enomem(p, owner, err)) == NULL)
		return POOL_FAILED;
	if (o->claim_active) {
		after = pool_amount_add(o->claim_used, amount);
		if (pool_amount_fits(after, o->claim)) {
			o->claim_used = after;
			return POOL_GRANTED;
		}
		pool_amount_format(amount, n, sizeof(n));
		pool_amount_format(o->claim, c, sizeof(c));
		pool_amount_format(o->claim_used, u, sizeof(u));
		set_err(err, "%s needs %s but the file's claim is %s with %s "
		    "already in use; raise provium:claim to the file's peak",
		    what, n, c, u);
		errno = E2BIG;
		return POOL_FAILED;
	}
	if (!pool_amount_fits(amount, p->total))
		return fail_exceeds_total(p, what, amount, err);
	if ((r = req_new(POOL_REQ_RESERVE, owner, cookie, amount, err)) == NULL)
		return POOL_FAILED;
	return submit(p, o, r, err);
}

int
pool_release(struct pool *p, uint64_t owner, struct resource_amount amount,
    char **err)
{
	struct pool_owner *o = owner_find(p, owner);
	struct resource_amount from_claim, to_pool, zero = { 0, 0 };
	char a[AMOUNT_TEXT], r[AMOUNT_TEXT], c[AMOUNT_TEXT];

	/*
	 * The runner names an amount, not a reservation, so a boot made
	 * before the claim and one drawn from it are indistinguishable.
	 * Fill the claim back first, per axis, and give the rest to the
	 * pool: the totals stay exact either way.
	 */
	if (o != NULL && pool_amount_fits(amount, pool_amount_add(o->reserved,
	    o->claim_active ? o->claim_used : zero))) {
		from_claim = o->claim_active ?
		    amount_min(amount, o->claim_used) : zero;
		to_pool = pool_amount_sub(amount, from_claim);
		o->claim_used = pool_amount_sub(o->claim_used, from_claim);
		if (pool_amount_is_zero(to_pool))
			return 0;
		o->reserved = pool_amount_sub(o->reserved, to_pool);
		o->held = pool_amount_sub(o->held, to_pool);
		p->available = pool_amount_add(p->available, to_pool);
		settle(p);
		return 0;
	}
	pool_amount_format(amount, a, sizeof(a));
	pool_amount_format(o ? o->reserved : (struct resource_amount){ 0, 0 },
	    r, sizeof(r));
	pool_amount_format(o ? o->claim_used : (struct resource_amount){ 0, 0 },
	    c, sizeof(c));
	set_err(err, "release of %s is more than the file reserved (%s from "
	    "the pool, %s from its claim)", a, r, c);
	errno = EINVAL;
	return -1;
}

void
pool_release_all(struct pool *p, uint64_t owner, struct pool_owner_end *end)
{
	struct pool_owner_end e;
	struct pool_owner *o = owner_find(p, owner);
	struct pool_req **pp;

	memset(&e, 0, sizeof(e));
	if (o == NULL)
		goto out;
	for (pp = &p->queue.head; *pp != NULL;) {
		if ((*pp)->owner != owner) {
			pp = &(*pp)->next;
			continue;
		}
		req_free(list_unlink(&p->queue, pp));
		p->nqueued--;
		e.cancelled++;
	}
	for (pp = &p->grants.head; *pp != NULL;) {
		if ((*pp)->owner != owner) {
			pp = &(*pp)->next;
			continue;
		}
		req_free(list_unlink(&p->grants, pp));
		e.untaken++;
	}
	e.had_claim = o->claim_active;
	e.claim = o->claim_active ? o->claim : (struct resource_amount){ 0, 0 };
	e.held = o->held;
	p->available = pool_amount_add(p->available, o->held);
	/* Cannot exceed the total unless a caller released twice; cap it
	 * anyway so pool_state never reports more than exists. */
	p->available = amount_min(p->available, p->total);
	for (size_t i = 0; i < p->nowners; i++)
		if (p->owners[i] == o) {
			p->owners[i] = p->owners[--p->nowners];
			break;
		}
	free(o);
	settle(p);
out:
	if (end != NULL)
		*end = e;
}

int
pool_next_grant(struct pool *p, struct pool_grant *g)
{
	struct pool_req *r;

	if (p->grants.head == NULL)
		return 0;
	r = list_unlink(&p->grants, &p->grants.head);
	g->kind = r->kind;
	g->owner = r->owner;
	g->cookie = r->cookie;
	g->amount = r->amount;
	g->status = r->failed ? POOL_FAILED : POOL_GRANTED;
	g->message = r->err;
	free(r);
	return 1;
}

bool
pool_would_block(const struct pool *p, uint64_t owner,
    struct resource_amount amount)
{
	const struct pool_owner *o = owner_find(p, owner);

	if (o != NULL && o->claim_active)
		return false;   /* answered from the claim, never queued */
	return !may_grant_now(p, o, amount);
}

void
pool_snapshot(const struct pool *p, struct resource_amount *used,
    struct resource_amount *available)
{
	if (used != NULL)
		*used = pool_amount_sub(p->total, p->available);
	if (available != NULL)
		*available = p->available;
}

struct resource_amount
pool_total(const struct pool *p)
{
	return p->total;
}

size_t
pool_pending_count(const struct pool *p)
{
	return p->nqueued;
}

bool
pool_owner_waiting(const struct pool *p, uint64_t owner)
{
	const struct pool_owner *o = owner_find(p, owner);

	return o != NULL && o->queued > 0;
}

struct resource_amount
pool_owner_held(const struct pool *p, uint64_t owner)
{
	const struct pool_owner *o = owner_find(p, owner);

	return o != NULL ? o->held : (struct resource_amount){ 0, 0 };
}

const char *
pool_req_kind_name(enum pool_req_kind k)
{
	switch (k) {
	case POOL_REQ_ADMIT: return "admit";
	case POOL_REQ_CLAIM: return "claim";
	case POOL_REQ_RESERVE: return "reserve";
	}
	return "?";
}

/* ---- totals from the command line ---- */

/* 80 % of MemTotal, or 0 when meminfo has no usable MemTotal line. */
static uint64_t
meminfo_pool_default(const char *path)
{
	unsigned long long kib = 0;
	char line[256];
	FILE *f = fopen(path, "re");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1)
			break;
	fclose(f);
	if (kib == 0 || kib > UINT64_MAX / 1024)
		return 0;
	return (uint64_t)kib * 1024 / 5 * 4;
}

static int
parse_cpus(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

int
pool_total_from_options(const struct pool_options *o,
    struct resource_amount *total, char **notice, char **err)
{
	char buf[256], m[32], ovh[32];
	uint64_t mem;
	uint32_t cpus;
	double oc = 1.0, scaled;
	long online;
	char *end;

	*notice = NULL;
	*err = NULL;
	if (o->mem != NULL) {
		if (size_parse(o->mem, &mem, buf, sizeof(buf)) == -1) {
			set_err(err, "--mem: %s", buf);
			return -1;
		}
	} else {
		mem = meminfo_pool_default(o->meminfo_path ? o->meminfo_path :
		    "/proc/meminfo");
		if (mem == 0)
			mem = POOL_FALLBACK_MEMORY;
	}
	if (mem < POOL_RUNNER_OVERHEAD_BYTES) {
		size_format(mem, m, sizeof(m));
		size_format(POOL_RUNNER_OVERHEAD_BYTES, ovh, sizeof(ovh));
		if (o->mem != NULL)
			set_err(err, "--mem `%s` (%s) leaves no room for the %s "
			    "each file's runner needs", o->mem, m, ovh);
		else
			set_err(err, "80 %% of MemTotal is only %s, less than "
			    "the %s each file's runner needs; pass --mem", m,
			    ovh);
		return -1;
	}
	if (o->cpus != NULL) {
		if (parse_cpus(o->cpus, &cpus) == -1) {
			set_err(err, "--cpus: cannot parse `%s` (expected a "
			    "whole number of CPUs, at least 1)", o->cpus);
			return -1;
		}
	} else {
		online = o->online_cpus > 0 ? o->online_cpus :
		    sysconf(_SC_NPROCESSORS_ONLN);
		cpus = online > 0 && online <= (long)UINT32_MAX ?
		    (uint32_t)online : POOL_FALLBACK_CPUS;
	}
	if (o->cpu_overcommit != NULL) {
		errno = 0;
		oc = strtod(o->cpu_overcommit, &end);
		if (*o->cpu_overcommit == '\0' || *end != '\0' ||
		    errno != 0 || !isfinite(oc)) {
			set_err(err, "--cpu-overcommit: cannot parse `%s` "
			    "(expected a number such as 1.5)", o->cpu_overcommit);
			return -1;
		}
		if (oc < POOL_OVERCOMMIT_MIN || oc > POOL_OVERCOMMIT_MAX) {
			double c = oc < POOL_OVERCOMMIT_MIN ?
			    POOL_OVERCOMMIT_MIN : POOL_OVERCOMMIT_MAX;

			set_err(notice, "--cpu-overcommit %s clamped to %.1f "
			    "(sane range 0.5–8.0)", o->cpu_overcommit, c);
			oc = c;
		}
	}
	scaled = round((double)cpus * oc);
	total->memory_bytes = mem;
	total->cpus = scaled < 1 ? 1 : scaled > (double)UINT32_MAX ?
	    UINT32_MAX : (uint32_t)scaled;
	return 0;
}
