/* render.c: human and JSON renderers over completed files. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "render.h"

/* done[i] once file i is printed: the caller may free its runfile then. */
static const struct runfile emitted;

struct render {
	struct render_opts o;
	size_t n;
	const struct runfile **done;    /* by input index; NULL = not yet,
	                                 * &emitted = printed */
	size_t next;                    /* input-order cursor */
	size_t ncompleted;
	uint64_t passed, failed, skipped, errored;
	bool line_shown;                /* progress line on screen */
	size_t drawn_running, drawn_completed;
	double drawn_at;
};

struct render *
render_new(const struct render_opts *o, size_t nfiles)
{
	struct render *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->o = *o;
	r->n = nfiles;
	r->done = calloc(nfiles ? nfiles : 1, sizeof(*r->done));
	if (r->done == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static void
clear_progress(struct render *r)
{
	if (r->line_shown) {
		fputs("\r\033[K", r->o.out);
		r->line_shown = false;
	}
}

/* Each line of msg, indented. */
static void
indented(FILE *f, const char *indent, const char *msg)
{
	const char *p = msg, *nl;

	do {
		nl = strchr(p, '\n');
		fprintf(f, "%s%.*s\n", indent, nl ? (int)(nl - p) : (int)strlen(p), p);
		p = nl ? nl + 1 : NULL;
	} while (p && *p);
}

/* The guest console excerpt, indented, without the serial port's \r. */
static void
console_lines(FILE *f, const char *s)
{
	const char *nl;
	size_t n;

	while (*s) {
		nl = strchr(s, '\n');
		n = nl ? (size_t)(nl - s) : strlen(s);
		while (n > 0 && s[n - 1] == '\r')
			n--;
		fprintf(f, "        | %.*s\n", (int)n, s);
		s += nl ? (size_t)(nl - s) + 1 : strlen(s);
	}
}

static void
human_file(struct render *r, size_t idx, const struct runfile *rf)
{
	FILE *f = r->o.out;
	bool timed = strcmp(rf->status, EVENT_STATUS_TIMED_OUT) == 0;
	bool ok = strcmp(rf->status, EVENT_STATUS_PASSED) == 0;
	size_t i;

	if (r->o.quiet && ok)
		return;
	if (r->o.stream)
		fprintf(f, "[%zu/%zu] ", r->ncompleted, r->n);
	if (rf->chunk_error && !timed) {
		fprintf(f, "FAIL %s\n", rf->display);
		const char *nl = strchr(rf->chunk_error, '\n');
		fprintf(f, "  chunk_error: %.*s\n", nl ? (int)(nl - rf->chunk_error) :
		    (int)strlen(rf->chunk_error), rf->chunk_error);
		if (nl && nl[1])
			indented(f, "    ", nl + 1);
	} else {
		fprintf(f, "%s %s (%u passed, %u failed, %u skipped)\n",
		    timed ? "TIME" : ok ? "PASS" : "FAIL", rf->display,
		    rf->npassed, rf->nfailed, rf->nskipped);
	}
	(void)idx;
	for (i = 0; i < rf->ntests; i++) {
		const struct rf_test *t = &rf->tests[i];

		if (t->status == RT_FAILED) {
			fprintf(f, "    FAIL %s\n", t->name);
			if (t->message && *t->message)
				indented(f, "        ", t->message);
			if (t->console && *t->console)
				console_lines(f, t->console);
		} else if (r->o.verbose && t->status == RT_PASSED) {
			fprintf(f, "    PASS %s\n", t->name);
		} else if (r->o.verbose && t->status == RT_SKIPPED) {
			fprintf(f, "    SKIP %s (%s)\n", t->name,
			    t->message ? t->message : "");
		}
	}
}

static void
json_file(struct render *r, const struct runfile *rf)
{
	json_t *o = json_object(), *tests = json_array();
	static const char *const st[] = {
		[RT_PENDING] = "failed", [RT_RUNNING] = "failed",
		[RT_PASSED] = "passed", [RT_FAILED] = "failed",
		[RT_SKIPPED] = "skipped",
	};
	size_t i, j;
	char *s;

	for (i = 0; i < rf->ntests; i++) {
		const struct rf_test *t = &rf->tests[i];
		json_t *log = json_array();

		for (j = 0; j < t->nlog; j++)
			json_array_append_new(log, json_string(t->log[j]));
		json_array_append_new(tests, json_pack("{s:s, s:s, s:o, s:o}",
		    "name", t->name, "status", st[t->status],
		    "message", t->message && t->status != RT_PASSED ?
		    json_string(t->message) : json_null(), "log", log));
	}
	json_object_set_new(o, "path", json_string(rf->display));
	json_object_set_new(o, "timeout", json_string(
	    strcmp(rf->status, EVENT_STATUS_TIMED_OUT) ? "in_time" : "timed_out"));
	json_object_set_new(o, "passed",
	    json_boolean(strcmp(rf->status, EVENT_STATUS_PASSED) == 0));
	json_object_set_new(o, "chunk_error", rf->chunk_error ?
	    json_string(rf->chunk_error) : json_null());
	json_object_set_new(o, "tests", tests);
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s)
		fprintf(r->o.out, "%s\n", s);
	free(s);
	json_decref(o);
}

static void
emit_file(struct render *r, size_t idx, const struct runfile *rf)
{
	if (r->o.json)
		json_file(r, rf);
	else
		human_file(r, idx, rf);
}

void
render_file(struct render *r, size_t idx, const struct runfile *rf)
{
	if (idx >= r->n || r->done[idx])
		return;
	r->done[idx] = rf;
	r->ncompleted++;
	r->passed += rf->npassed;
	r->failed += rf->nfailed;
	r->skipped += rf->nskipped;
	if (rf->chunk_error || strcmp(rf->status, EVENT_STATUS_TIMED_OUT) == 0 ||
	    strcmp(rf->status, EVENT_STATUS_CRASHED) == 0)
		r->errored++;
	clear_progress(r);
	if (r->o.stream && !r->o.json) {
		emit_file(r, idx, rf);
		r->done[idx] = &emitted;
	} else {
		while (r->next < r->n && r->done[r->next]) {
			emit_file(r, r->next, r->done[r->next]);
			r->done[r->next++] = &emitted;
		}
	}
	fflush(r->o.out);
}

bool
render_emitted(const struct render *r, size_t idx)
{
	return idx < r->n && r->done[idx] == &emitted;
}

void
render_progress(struct render *r, size_t running, double elapsed)
{
	if (!r->o.progress)
		return;
	/* a terminal needs no more than ~10 redraws a second */
	if (r->line_shown && running == r->drawn_running &&
	    r->ncompleted == r->drawn_completed && elapsed - r->drawn_at < 0.1)
		return;
	r->drawn_running = running;
	r->drawn_completed = r->ncompleted;
	r->drawn_at = elapsed;
	fprintf(r->o.out, "\r\033[K[%02d:%02d] %zu/%zu files · %zu running",
	    (int)elapsed / 60, (int)elapsed % 60, r->ncompleted, r->n, running);
	r->line_shown = true;
	fflush(r->o.out);
}

void
render_finish(struct render *r, double elapsed)
{
	clear_progress(r);
	if (r->o.json) {
		fflush(r->o.out);
		return;
	}
	fprintf(r->o.out, "\n%zu file(s); %llu passed, %llu failed, %llu skipped",
	    r->n, (unsigned long long)r->passed, (unsigned long long)r->failed,
	    (unsigned long long)r->skipped);
	if (r->errored)
		fprintf(r->o.out, ", %llu file(s) errored",
		    (unsigned long long)r->errored);
	fprintf(r->o.out, "; %.2fs\n", elapsed);
	fflush(r->o.out);
}

void
render_no_files(const struct render_opts *o)
{
	if (o->json)
		fputs("{\"type\":\"no_files\",\"message\":\"no *.test.lua files "
		    "found\"}\n", o->out);
	else
		fputs("provium: no *.test.lua files found\n", o->out);
	fflush(o->out);
}

void
render_free(struct render *r)
{
	if (r == NULL)
		return;
	free(r->done);
	free(r);
}
