/* junit.c: JUnit XML from run rows. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "events/junit.h"
#include "events/xfmt.h"
#include "events/utf8.h"

struct junit {
	char *path;
	struct evrun run;
};

/* A path junit_save replaces atomically: a regular file, or none yet. */
static int
replaceable(const char *path)
{
	struct stat st;

	return lstat(path, &st) < 0 || S_ISREG(st.st_mode);
}

/* The temporary file beside path that junit_save renames over it. */
static char *
tmp_name(const char *path)
{
	return xfmt("%s.tmp.%d", path, (int)getpid());
}

int
junit_check_path(const char *path, char *err, size_t errlen)
{
	char *d = strdup(path), *tmp = NULL;
	struct stat st;
	int fd, rc = -1;

	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory; give a file name", path);
		goto out;
	}
	if (!replaceable(path)) {
		/* a device, pipe or symlink (/dev/stdout) is written in place */
		if (access(path, W_OK) < 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		else
			rc = 0;
		goto out;
	}
	if (stat(dirname(d), &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: directory %s does not exist", path, d);
		goto out;
	}
	/* The temporary file must be creatable: a read-only directory is
	 * refused now, before the tests run, not after. */
	if ((tmp = tmp_name(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a file in %s: %s", path,
		    d, strerror(errno));
		goto out;
	}
	close(fd);
	unlink(tmp);
	rc = 0;
out:
	free(tmp);
	free(d);
	return rc;
}

struct junit *
junit_open(const char *path, char *err, size_t errlen)
{
	struct junit *j;

	if (junit_check_path(path, err, errlen) < 0)
		return NULL;
	if (!(j = calloc(1, sizeof(*j))) || !(j->path = strdup(path))) {
		free(j);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	evrun_init(&j->run);
	return j;
}

int
junit_feed(struct junit *j, const struct event *ev)
{
	return evrun_feed(&j->run, ev);
}

void
junit_close(struct junit *j)
{
	if (!j)
		return;
	evrun_release(&j->run);
	free(j->path);
	free(j);
}

/* XML 1.0 text: escapes markup, drops what XML cannot carry. */
static void
x(FILE *out, const char *s)
{
	const uint8_t *p = (const uint8_t *)(s ? s : "");
	size_t l;

	while (*p) {
		switch (*p) {
		case '<': fputs("&lt;", out); p++; continue;
		case '>': fputs("&gt;", out); p++; continue;
		case '&': fputs("&amp;", out); p++; continue;
		case '"': fputs("&quot;", out); p++; continue;
		case '\'': fputs("&apos;", out); p++; continue;
		case '\n': case '\t': case '\r':
			fputc(*p++, out);
			continue;
		}
		if (*p < 0x20) {
			fputs("\xef\xbf\xbd", out);
			p++;
		} else if (*p < 0x80) {
			fputc(*p++, out);
		} else if ((l = utf8_seq_len(p, strnlen((const char *)p, 4))) > 0) {
			fwrite(p, 1, l, out);
			p += l;
		} else {
			fputs("\xef\xbf\xbd", out);
			p++;
		}
	}
}

static void
secs(FILE *out, uint64_t ns)
{
	fprintf(out, "%llu.%03llu", (unsigned long long)(ns / 1000000000),
	    (unsigned long long)(ns % 1000000000 / 1000000));
}

static void
stamp(FILE *out, int64_t ts)
{
	time_t t = (time_t)(ts / 1000000000);
	struct tm tm;
	char b[32];

	gmtime_r(&t, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	fputs(b, out);
}

struct tally {
	size_t tests, failures, errors, skipped;
};

/* Why a file has an error testcase, or NULL. */
static const char *
file_error(const struct evrun_file *f, bool interrupted)
{
	if (f->status && (!strcmp(f->status, EVENT_STATUS_CRASHED) ||
	    !strcmp(f->status, EVENT_STATUS_TIMED_OUT)))
		return f->status;
	if (!f->status && f->dispatched_ts)
		return interrupted ? "interrupted" : "incomplete";
	return NULL;
}

static struct tally
tally(const struct evrun *r, const struct evrun_file *f, bool interrupted)
{
	struct tally t = { 0 };
	size_t i;

	for (i = 0; i < f->ntests; i++) {
		const struct evrun_test *x = &r->tests[f->tests[i]];
		t.tests++;
		t.failures += x->result == EVRUN_FAILED;
		t.skipped += x->result == EVRUN_SKIPPED;
		t.errors += x->result == EVRUN_RUNNING;
	}
	if (file_error(f, interrupted))
		t.tests++, t.errors++;
	else if (!f->status && !f->dispatched_ts)
		t.tests++, t.skipped++;
	return t;
}

static void
testcase(FILE *out, const struct evrun_test *t, const char *why)
{
	fputs("    <testcase name=\"", out);
	x(out, t->name);
	fputs("\" classname=\"", out);
	x(out, t->path);
	fputs("\" time=\"", out);
	secs(out, t->duration_ns);
	fputs("\"", out);
	switch (t->result) {
	case EVRUN_PASSED:
		fputs("/>\n", out);
		return;
	case EVRUN_SKIPPED:
		fputs(">\n      <skipped message=\"", out);
		x(out, t->reason);
		fputs("\"/>\n", out);
		break;
	case EVRUN_FAILED:
		fputs(">\n      <failure message=\"", out);
		x(out, t->reason);
		fputs("\" type=\"failure\">", out);
		x(out, t->reason);
		fputs("</failure>\n", out);
		if (t->excerpt && *t->excerpt) {
			fputs("      <system-out>", out);
			x(out, t->excerpt);
			fputs("</system-out>\n", out);
		}
		break;
	case EVRUN_RUNNING:
		fprintf(out, ">\n      <error message=\"test did not finish (file %s)\" "
		    "type=\"%s\"/>\n", why ? why : "incomplete", why ? why : "incomplete");
		break;
	}
	fputs("    </testcase>\n", out);
}

int
junit_render(const struct evrun *r, bool interrupted, FILE *out)
{
	struct tally all = { 0 }, t;
	size_t i, k, nf = evrun_nfiles(r);
	uint64_t total_ns = r->last_ts > r->first_ts ?
	    (uint64_t)(r->last_ts - r->first_ts) : 0;

	for (i = 0; i < nf; i++) {
		t = tally(r, evrun_file(r, i), interrupted);
		all.tests += t.tests;
		all.failures += t.failures;
		all.errors += t.errors;
		all.skipped += t.skipped;
	}
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuites name=\"provium\" tests=\"%zu\" failures=\"%zu\" "
	    "errors=\"%zu\" skipped=\"%zu\" time=\"", all.tests, all.failures,
	    all.errors, all.skipped);
	secs(out, total_ns);
	fputs("\">\n", out);
	for (i = 0; i < nf; i++) {
		const struct evrun_file *f = evrun_file(r, i);
		const char *why = file_error(f, interrupted);
		t = tally(r, f, interrupted);
		fputs("  <testsuite name=\"", out);
		x(out, f->path);
		fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
		    "skipped=\"%zu\" time=\"", t.tests, t.failures, t.errors,
		    t.skipped);
		secs(out, f->duration_ns);
		fputs("\" timestamp=\"", out);
		stamp(out, f->dispatched_ts ? f->dispatched_ts : r->first_ts);
		fputs("\">\n", out);
		for (k = 0; k < f->ntests; k++)
			testcase(out, &r->tests[f->tests[k]], why);
		if (why) {
			fprintf(out, "    <testcase name=\"(file %s)\" classname=\"", why);
			x(out, f->path);
			fputs("\" time=\"", out);
			secs(out, f->duration_ns);
			fprintf(out, "\">\n      <error message=\"file %s", why);
			if (f->status) {
				fputs(" after ", out);
				secs(out, f->duration_ns);
				fputs("s", out);
			}
			fprintf(out, "\" type=\"%s\"/>\n    </testcase>\n", why);
		} else if (!f->status && !f->dispatched_ts) {
			fputs("    <testcase name=\"(file not run)\" classname=\"", out);
			x(out, f->path);
			fprintf(out, "\" time=\"0.000\">\n      <skipped message=\"not "
			    "run: %s\"/>\n    </testcase>\n",
			    interrupted ? "the run was interrupted" : "the run is incomplete");
		}
		fputs("  </testsuite>\n", out);
	}
	fputs("</testsuites>\n", out);
	return ferror(out) ? -1 : 0;
}

/* Renders into f and flushes it (fsync too if sync); 0, or -1 with errno. */
static int
render_to(const struct evrun *r, bool interrupted, FILE *f, bool sync)
{
	int rc = junit_render(r, interrupted, f), e = errno;

	if (rc == 0 && fflush(f) != 0)
		rc = -1, e = errno;
	if (rc == 0 && sync && fsync(fileno(f)) < 0)
		rc = -1, e = errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -1, e = errno;
	errno = e ? e : EIO;
	return rc;
}

/* Into a device, pipe or symlink: no temporary file next to it. */
static int
save_in_place(const struct evrun *r, const char *path, bool interrupted,
    char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	int fd;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (render_to(r, interrupted, f,
	    fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) < 0) {
		snprintf(err, errlen, "%s: writing failed (%s); the XML written "
		    "there is incomplete", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
junit_save(const struct evrun *r, const char *path, bool interrupted,
    char *err, size_t errlen)
{
	const char *what = "creating a temporary file";
	char *tmp;
	FILE *f = NULL;
	int fd;

	if (!replaceable(path))
		return save_in_place(r, path, interrupted, err, errlen);
	if ((tmp = tmp_name(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0 && !(f = fdopen(fd, "w")))
		close(fd);
	if (f) {
		what = "writing";
		if (render_to(r, interrupted, f, true) == 0) {
			what = "rename";
			if (rename(tmp, path) == 0) {
				free(tmp);
				return 0;
			}
		}
	}
	snprintf(err, errlen, "%s: %s failed (%s); %s is unchanged", path, what,
	    strerror(errno), path);
	unlink(tmp);
	free(tmp);
	return -1;
}

int
junit_write(struct junit *j, bool interrupted, char *err, size_t errlen)
{
	return junit_save(&j->run, j->path, interrupted, err, errlen);
}
