/*
 * sup_admit.c: the supervisor's side of admission.  Files are offered to
 * the pool (pool.h) in input order; the PSI gate (psi.h) holds new starts
 * while the host is under pressure; the runners' claim/reserve/release
 * requests are answered from the same pool, now or when a grant comes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/chanmsg.h"
#include "sup_int.h"

uint64_t
sup_owner_of(const struct sup_file *f)
{
	return (uint64_t)f->idx + 1;    /* 0 is POOL_ANON */
}

/* Answers a claim/reserve the pool decided (now or from a grant). */
static void
answer(struct sup *s, struct sup_file *f, enum pool_req_kind k,
    enum pool_status st, uint64_t id, struct resource_amount amount,
    const char *message)
{
	bool claim = k == POOL_REQ_CLAIM;
	uint32_t cid = 0;

	if (st == POOL_GRANTED && claim)
		runfile_claim_granted(&f->rf, amount, &s->out);
	if (st == POOL_GRANTED && !claim) {
		cid = s->next_cid;
		s->next_cid += SUP_CID_BLOCK;
	}
	(void)chanmsg_answer(f->chan, st == POOL_GRANTED ?
	    (claim ? "claim_ok" : "reserve_ok") : (claim ? "claim_err" : "reserve_err"),
	    id, st == POOL_GRANTED ? NULL : message ? message : "out of memory",
	    cid);
}

int
sup_request(void *ctx, struct runfile *rf, enum rf_request req, uint64_t id,
    struct resource_amount amount, const char *what, char *err, size_t errlen)
{
	struct sup *s = ctx;
	struct sup_file *f = (struct sup_file *)rf;   /* rf is f's first member */
	uint64_t owner = sup_owner_of(f);
	enum pool_status st;
	char *perr = NULL;

	switch (req) {
	case RF_REQ_CLAIM:
		st = pool_claim(s->pool, owner, amount, id, &perr);
		if (st != POOL_QUEUED)
			answer(s, f, POOL_REQ_CLAIM, st, id, amount, perr);
		break;
	case RF_REQ_RESERVE:
		st = pool_reserve(s->pool, owner, amount, id, what, &perr);
		if (st != POOL_QUEUED)
			answer(s, f, POOL_REQ_RESERVE, st, id, amount, perr);
		break;
	case RF_REQ_RELEASE:
		if (pool_release(s->pool, owner, amount, &perr) != 0) {
			snprintf(err, errlen, "`release`: %s",
			    perr ? perr : "out of memory");
			free(perr);
			return -1;
		}
		break;
	}
	free(perr);
	return 0;
}

/* What a file reserves to start: runner overhead + its declared claim. */
struct resource_amount
sup_reservation(const struct resource_amount *claim)
{
	struct resource_amount r = { POOL_RUNNER_OVERHEAD_BYTES, 0 };

	return claim ? pool_amount_add(r, *claim) : r;
}

static void
blocked(struct sup *s, const char *path, const char *reason,
    struct resource_amount waiting_for)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_FILE_BLOCKED;
	ev.path = (char *)(uintptr_t)path;
	ev.reason = (char *)(uintptr_t)reason;
	ev.amount = waiting_for;
	sup_emit(s, &ev);
}

/* Admitted: to the start FIFO. */
static void
admitted(struct sup *s, struct sup_file *f)
{
	if (sup_ready_push(s, f) != 0)
		sup_finish(s, f, RF_END_CRASHED, "could not start runner: out of "
		    "memory");
}

/*
 * Offers files to the pool in input order.  The pool queues what does not
 * fit (file_blocked{pool_full}) and hands grants back later; the PSI gate
 * holds the next file while the host is under pressure.  At most
 * SUP_ADMIT_WINDOW files wait in the pool; the rest are not offered yet.
 */
static void
admit_files(struct sup *s)
{
	while (!s->interrupted && s->next < s->n &&
	    s->waiting < SUP_ADMIT_WINDOW &&
	    s->running + ADMITTED(s) < s->max_running) {
		const struct discovered *d = &s->p->files->v[s->next];
		const struct resource_amount *claim =
		    d->scan && d->scan->has_claim ? &d->scan->claim : NULL;
		struct resource_amount overhead = { POOL_RUNNER_OVERHEAD_BYTES, 0 };
		struct sup_file *f;
		char what[600], *err = NULL;

		if (psi_gate_holds(&s->psi, s->running)) {
			if (!s->next_psi_noted)
				blocked(s, d->display, "psi_pressure",
				    sup_reservation(NULL));
			s->next_psi_noted = true;
			return;
		}
		if ((f = sup_file_get(s, s->next)) == NULL)
			return;         /* out of memory: retried, or stuck() */
		f->psi_noted = s->next_psi_noted;
		s->next_psi_noted = false;
		snprintf(what, sizeof(what), "file `%s`", d->display);
		s->next++;
		switch (pool_admit(s->pool, sup_owner_of(f), overhead, claim, what,
		    &err)) {
		case POOL_GRANTED:
			admitted(s, f);
			break;
		case POOL_QUEUED:
			f->queued = true;
			s->waiting++;
			blocked(s, d->display, "pool_full", sup_reservation(claim));
			break;
		case POOL_FAILED:
			sup_finish(s, f, RF_END_NOT_RUN, err ? err : "out of memory");
			break;
		}
		free(err);
	}
}

/* Everything the pool decided since the last call. */
static void
take_grants(struct sup *s)
{
	struct pool_grant g;

	while (pool_next_grant(s->pool, &g) == 1) {
		struct sup_file *f = g.owner - 1 < s->n ? s->fp[g.owner - 1] : NULL;

		if (f == NULL) {        /* ended: its requests were cancelled */
			free(g.message);
			continue;
		}
		if (g.kind == POOL_REQ_ADMIT) {
			if (f->queued) {
				f->queued = false;
				s->waiting--;
			}
			if (g.status == POOL_GRANTED) {
				admitted(s, f);
			} else {
				sup_finish(s, f, RF_END_NOT_RUN, g.message ?
				    g.message : "out of memory");
			}
		} else {
			answer(s, f, g.kind, g.status, g.cookie, g.amount,
			    g.message);
		}
		free(g.message);
	}
}

/* Starts admitted files in the order the pool admitted them, unless PSI
 * holds new starts. */
static void
start_admitted(struct sup *s)
{
	while (ADMITTED(s) > 0 && !s->interrupted) {
		struct sup_file *f = s->ready[s->ready_head];

		if (psi_gate_holds(&s->psi, s->running)) {
			if (!f->psi_noted)
				blocked(s, f->d->display, "psi_pressure",
				    sup_reservation(NULL));
			f->psi_noted = true;
			return;
		}
		s->ready_head++;
		sup_dispatch(s, f);
	}
}

void
sup_pool_state(struct sup *s)
{
	struct event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = EVENT_POOL_STATE;
	pool_snapshot(s->pool, &ev.amount, &ev.amount2);
	sup_emit(s, &ev);
}

/* Until nothing changes: a start that fails frees room for the next. */
void
sup_admit(struct sup *s)
{
	size_t before[4];

	do {
		before[0] = s->next, before[1] = s->completed;
		before[2] = s->running, before[3] = ADMITTED(s);
		admit_files(s);
		take_grants(s);
		start_admitted(s);
	} while (before[0] != s->next || before[1] != s->completed ||
	    before[2] != s->running || before[3] != ADMITTED(s));
}
