/* summary.c: the human digest of one run. */
#include <stdlib.h>
#include <string.h>

#include "events/summary.h"

static void
dur(FILE *out, uint64_t ns)
{
	if (ns >= 60ull * 1000000000)
		fprintf(out, "%llum%04.1fs", (unsigned long long)(ns / 60000000000ull),
		    (double)(ns % 60000000000ull) / 1e9);
	else if (ns >= 1000000000)
		fprintf(out, "%.2fs", (double)ns / 1e9);
	else
		fprintf(out, "%.1fms", (double)ns / 1e6);
}

static void
bytes(FILE *out, uint64_t b)
{
	if (b >= 1ull << 30)
		fprintf(out, "%.1f GiB", (double)b / (double)(1ull << 30));
	else if (b >= 1ull << 20)
		fprintf(out, "%.1f MiB", (double)b / (double)(1ull << 20));
	else
		fprintf(out, "%llu B", (unsigned long long)b);
}

static int
by_file_dur(const void *a, const void *b)
{
	const struct evrun_file *x = *(struct evrun_file *const *)a;
	const struct evrun_file *y = *(struct evrun_file *const *)b;

	if (x->duration_ns != y->duration_ns)
		return x->duration_ns < y->duration_ns ? 1 : -1;
	return strcmp(x->path, y->path);
}

static int
by_blocked(const void *a, const void *b, void *run)
{
	uint64_t x = evrun_blocked_ns(run, *(struct evrun_file *const *)a);
	uint64_t y = evrun_blocked_ns(run, *(struct evrun_file *const *)b);

	return x == y ? 0 : x < y ? 1 : -1;
}

static int
by_test_dur(const void *a, const void *b)
{
	const struct evrun_test *x = *(struct evrun_test *const *)a;
	const struct evrun_test *y = *(struct evrun_test *const *)b;

	if (x->duration_ns != y->duration_ns)
		return x->duration_ns < y->duration_ns ? 1 : -1;
	return strcmp(x->name, y->name);
}

static const char *
result_name(enum evrun_result r)
{
	static const char *n[] = { "running", "passed", "failed", "skipped" };

	return n[r];
}

int
summary_print(const struct evrun *r, FILE *out)
{
	size_t nf = evrun_nfiles(r), i, n, ninc, built = 0, hits = 0, waits = 0;
	struct evrun_file **files = calloc(nf + 1, sizeof(*files));
	struct evrun_test **tests = calloc(r->ntests + 1, sizeof(*tests));
	const char **inc;
	uint64_t uptime = 0, buildtime = 0;

	if (!files || !tests) {
		free(files);
		free(tests);
		return -1;
	}
	ninc = check_incomplete(&r->chk, &inc);
	fprintf(out, "run: %s; %llu frames over ", ninc ? "INCOMPLETE" : "complete",
	    (unsigned long long)r->frames);
	dur(out, (uint64_t)(r->last_ts - r->first_ts));
	fprintf(out, "\n  files: %zu discovered, %zu completed\n"
	    "  tests: %llu passed, %llu failed, %llu skipped\n", nf, nf - ninc,
	    (unsigned long long)r->passed, (unsigned long long)r->failed,
	    (unsigned long long)r->skipped);
	for (i = 0; i < ninc; i++)
		fprintf(out, "  never completed: %s\n", inc[i]);

	for (i = 0; i < nf; i++)
		files[i] = evrun_file(r, i);
	fputs("\nfailed, crashed and timed-out files:\n", out);
	for (i = n = 0; i < nf; i++) {
		if (!files[i]->status || !strcmp(files[i]->status, "passed"))
			continue;
		fprintf(out, "  %-9s %s (", files[i]->status, files[i]->path);
		dur(out, files[i]->duration_ns);
		fputs(")\n", out);
		n++;
	}
	if (n == 0)
		fputs("  none\n", out);

	qsort(files, nf, sizeof(*files), by_file_dur);
	fputs("\nslowest files:\n", out);
	for (i = 0; i < nf && i < SUMMARY_TOP; i++) {
		if (!files[i]->status)
			continue;
		fputs("  ", out);
		dur(out, files[i]->duration_ns);
		fprintf(out, "  %s (%s)\n", files[i]->path, files[i]->status);
	}

	for (i = n = 0; i < r->ntests; i++)
		if (r->tests[i].result != EVRUN_RUNNING)
			tests[n++] = &r->tests[i];
	qsort(tests, n, sizeof(*tests), by_test_dur);
	fputs("\nslowest tests:\n", out);
	for (i = 0; i < n && i < SUMMARY_TOP; i++) {
		fputs("  ", out);
		dur(out, tests[i]->duration_ns);
		fprintf(out, "  %s :: %s (%s)\n", tests[i]->path, tests[i]->name,
		    result_name(tests[i]->result));
	}
	if (n == 0)
		fputs("  none\n", out);

	qsort_r(files, nf, sizeof(*files), by_blocked, (void *)r);
	fputs("\nblocked before dispatch:\n", out);
	for (i = n = 0; i < nf; i++) {
		if (!files[i]->first_blocked_ts)
			continue;
		fputs("  ", out);
		dur(out, evrun_blocked_ns(r, files[i]));
		fprintf(out, "  %s (%s)%s\n", files[i]->path, files[i]->block_reasons,
		    files[i]->dispatched_ts ? "" : " -- never dispatched");
		n++;
	}
	if (n == 0)
		fputs("  none\n", out);

	for (i = 0; i < r->nfix; i++) {
		built += r->fix[i].kind == EVRUN_BUILT;
		hits += r->fix[i].kind == EVRUN_CACHE_HIT;
		waits += r->fix[i].kind == EVRUN_WAITED;
		if (r->fix[i].kind == EVRUN_BUILT)
			buildtime += r->fix[i].duration_ns;
	}
	fprintf(out, "\nfixtures: %zu built (", built);
	dur(out, buildtime);
	fprintf(out, "), %zu restored from cache, %zu waits on a peer's build\n",
	    hits, waits);
	for (i = 0; i < r->nfix; i++) {
		const struct evrun_fixture *x = &r->fix[i];
		if (x->kind == EVRUN_BUILT) {
			fprintf(out, "  built   %s ", x->path);
			if (x->done_ts) {
				dur(out, x->duration_ns);
				fputs(", snapshot ", out);
				bytes(out, x->snapshot_bytes);
			} else {
				fputs("never finished", out);
			}
		} else if (x->kind == EVRUN_CACHE_HIT) {
			fprintf(out, "  cached  %s", x->path);
		} else {
			fprintf(out, "  waited  %s on %s", x->path, x->held_by);
			if (x->done_ts) {
				fputs(" for ", out);
				dur(out, x->duration_ns);
			}
		}
		fputc('\n', out);
	}

	for (i = 0; i < r->nvms; i++)
		uptime += r->vms[i].uptime_ns;
	fprintf(out, "\nVMs: %zu booted, total uptime ", r->nvms);
	dur(out, uptime);
	fputc('\n', out);
	for (i = 0; i < r->nvms; i++) {
		const struct evrun_vm *v = &r->vms[i];
		fprintf(out, "  %s/%s (%s, ", v->file, v->name, v->profile);
		bytes(out, v->memory_bytes);
		fprintf(out, ", cid %u): ", v->cid);
		if (v->shutdown_ts)
			dur(out, v->uptime_ns);
		else
			fputs("never shut down", out);
		fputc('\n', out);
	}
	free(files);
	free(tests);
	return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
