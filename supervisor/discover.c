/* discover.c: recursive *.test.lua discovery and the static scan. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events/xfmt.h"
#include "discover.h"

#define TEST_SUFFIX ".test.lua"
/* A test file bigger than this is not scanned (it still runs). */
#define SCAN_MAX_BYTES (16u * 1024 * 1024)

static int
has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

char *
discover_display_path(const char *path, const char *cwd)
{
	size_t cl = cwd ? strlen(cwd) : 0;
	char *out, *o;
	const char *p = path;

	if (cwd && path[0] == '/' && cl > 1 && strncmp(path, cwd, cl) == 0 &&
	    path[cl] == '/')
		p = path + cl + 1;
	if ((out = malloc(strlen(p) + 1)) == NULL)
		return NULL;
	o = out;
	while (*p) {
		/* drop "./" components and repeated slashes */
		if ((o == out || o[-1] == '/') && p[0] == '.' &&
		    (p[1] == '/' || p[1] == '\0') && !(o == out && p[1] == '\0')) {
			p += p[1] ? 2 : 1;
			continue;
		}
		if (*p == '/' && o > out && o[-1] == '/') {
			p++;
			continue;
		}
		*o++ = *p++;
	}
	if (o > out + 1 && o[-1] == '/')
		o--;
	*o = '\0';
	return out;
}

struct walk {
	struct discover_list *l;
	size_t cap;
	const char *filter;
	const char *cwd;
	size_t root_len;        /* strlen of the directory being walked */
	char **err;
};

/* Arena chunks: paths are never freed one by one, only with the list. */
#define CHUNK_BYTES (64u * 1024)

struct discover_chunk {
	struct discover_chunk *next;
	size_t used, cap;
	char data[];
};

static char *
arena_strdup(struct discover_list *l, const char *s)
{
	size_t n = strlen(s) + 1;
	struct discover_chunk *c = l->arena;
	char *out;

	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > CHUNK_BYTES ? n : CHUNK_BYTES;

		if ((c = malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		c->next = l->arena;
		c->used = 0;
		c->cap = cap;
		l->arena = c;
	}
	out = memcpy(c->data + c->used, s, n);
	c->used += n;
	return out;
}

static int
add_file(struct walk *w, const char *path, const char *rel)
{
	struct discovered *d;
	char *display, *r;
	int keep;

	if (w->filter) {
		if ((r = discover_display_path(rel, NULL)) == NULL)
			goto oom;
		keep = strstr(r, w->filter) != NULL;
		free(r);
		if (!keep)
			return 0;
	}
	if (w->l->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		d = realloc(w->l->v, cap * sizeof(*d));
		if (d == NULL)
			goto oom;
		w->l->v = d;
		w->cap = cap;
	}
	d = &w->l->v[w->l->n];
	memset(d, 0, sizeof(*d));
	if ((display = discover_display_path(path, w->cwd)) == NULL)
		goto oom;
	d->display = arena_strdup(w->l, display);
	free(display);
	if (d->display == NULL)
		goto oom;
	w->l->n++;
	return 0;
oom:
	*w->err = xfmt("out of memory");
	return -1;
}

/*
 * dir is the path as the user will see it, below the root being walked
 * (w->root_len); an entry's path relative to that root (what --filter
 * matches) is its path past the root and a slash.
 */
static int
walk_dir(struct walk *w, const char *dir)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		*w->err = xfmt("%s: %s", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		char *p;
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = xfmt("%s/%s", dir, e->d_name);
		if (p == NULL) {
			*w->err = xfmt("out of memory");
			rc = -1;
		} else if (lstat(p, &st) != 0) {
			if (errno != ENOENT) {  /* vanished while walking: fine */
				*w->err = xfmt("%s: %s", p, strerror(errno));
				rc = -1;
			}
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk_dir(w, p);
		} else if (S_ISREG(st.st_mode) && has_suffix(e->d_name, TEST_SUFFIX)) {
			rc = add_file(w, p, p + w->root_len + 1);
		}
		free(p);
	}
	if (rc == 0 && errno != 0) {
		*w->err = xfmt("%s: %s", dir, strerror(errno));
		rc = -1;
	}
	closedir(d);
	return rc;
}

static int
cmp_display(const void *a, const void *b)
{
	const struct discovered *x = a, *y = b;

	return strcmp(x->display, y->display);
}

static void
scan_free(struct scan_result *r)
{
	if (r != NULL) {
		scan_result_clear(r);
		free(r);
	}
}

static int
scan_one(struct discovered *d, char **err)
{
	struct scan_result res;
	int fd;
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;

	/*
	 * A file that cannot be read (permissions, vanished) is still run:
	 * its runner fails it with a chunk_error naming the reason, and the
	 * other files are not affected.  Nothing to scan, so no VMs either.
	 */
	if ((fd = open(d->display, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return 0;
	}
	if ((size_t)st.st_size > SCAN_MAX_BYTES) {
		close(fd);
		d->uses_vms = true;         /* unknown: keep preflight */
		return 0;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		*err = xfmt("out of memory");
		return -1;
	}
	while (got < (size_t)st.st_size &&
	    ((n = read(fd, buf + got, (size_t)st.st_size - got)) > 0 ||
	    (n < 0 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	close(fd);
	memset(&res, 0, sizeof(res));
	if (scan_source(buf, got, &res) != 0) {
		free(buf);
		*err = xfmt("out of memory");
		return -1;
	}
	free(buf);
	d->uses_vms = res.uses_vms;
	if (res.nfixture_refs == 0 && !res.has_claim) {
		scan_result_clear(&res);
		return 0;
	}
	if ((d->scan = malloc(sizeof(*d->scan))) == NULL) {
		scan_result_clear(&res);
		*err = xfmt("out of memory");
		return -1;
	}
	*d->scan = res;
	return 0;
}

int
discover_run(const char *const *paths, size_t npaths, const char *filter,
    struct discover_list *out, char **err)
{
	static const char *const dot[] = { "." };
	struct walk w = { .l = out, .filter = filter, .err = err };
	char cwd[4096];
	size_t i, j;

	memset(out, 0, sizeof(*out));
	*err = NULL;
	if (getcwd(cwd, sizeof(cwd)) != NULL)
		w.cwd = cwd;
	if (npaths == 0) {
		paths = dot;
		npaths = 1;
	}
	for (i = 0; i < npaths; i++) {
		struct stat st;

		if (stat(paths[i], &st) != 0) {
			*err = xfmt("%s: %s", paths[i], strerror(errno));
			goto fail;
		}
		if (S_ISDIR(st.st_mode)) {
			w.root_len = strlen(paths[i]);
			if (walk_dir(&w, paths[i]) != 0)
				goto fail;
		} else if (!has_suffix(paths[i], TEST_SUFFIX)) {
			*err = xfmt("%s: not a test file (a file argument must end "
			    "in " TEST_SUFFIX ")", paths[i]);
			goto fail;
		} else if (add_file(&w, paths[i], paths[i]) != 0) {
			goto fail;
		}
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), cmp_display);
	for (i = j = 0; i < out->n; i++) {
		if (j > 0 && strcmp(out->v[j - 1].display, out->v[i].display) == 0)
			continue;
		out->v[j++] = out->v[i];
	}
	out->n = j;
	for (i = 0; i < out->n; i++)
		if (scan_one(&out->v[i], err) != 0)
			goto fail;
	return 0;
fail:
	discover_list_clear(out);
	return -1;
}

void
discover_list_clear(struct discover_list *l)
{
	struct discover_chunk *c, *next;
	size_t i;

	for (i = 0; i < l->n; i++)
		scan_free(l->v[i].scan);
	free(l->v);
	for (c = l->arena; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	memset(l, 0, sizeof(*l));
}

void
discover_list_keep(struct discover_list *l, const unsigned char *keep)
{
	size_t i, j;

	for (i = j = 0; i < l->n; i++) {
		if (keep[i])
			l->v[j++] = l->v[i];
		else
			scan_free(l->v[i].scan);
	}
	l->n = j;
}
