/* rerun.c: --rerun-failed's state file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "supervisor/rerun.h"

/* mkdir -p of path's parent. */
static void
make_parent(const char *path)
{
	char *d = strdup(path), *p;

	if (d == NULL)
		return;
	for (p = d + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		(void)mkdir(d, 0700);
		*p = '/';
	}
	free(d);
}

char *
rerun_state_path(int create)
{
	const char *env = getenv("PROVIUM_RERUN_STATE");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	char *p = NULL;

	if (env && *env)
		p = strdup(env);
	else if (xdg && *xdg == '/') {
		if (asprintf(&p, "%s/provium/rerun.json", xdg) < 0)
			p = NULL;
	} else if (home && *home == '/') {
		if (asprintf(&p, "%s/.cache/provium/rerun.json", home) < 0)
			p = NULL;
	} else
		p = strdup("/tmp/provium-rerun.json");
	if (p && create)
		make_parent(p);
	return p;
}

/* The message for an unusable state file, malloc'd (NULL on ENOMEM). */
static char *
state_error(const char *path, const char *why)
{
	char *s;

	return asprintf(&s, "--rerun-failed: state `%s`: %s (delete it to start "
	    "over)", path, why) < 0 ? NULL : s;
}

int
rerun_filter(const char *path, struct discover_list *l, char **err)
{
	json_error_t je;
	json_t *root;
	unsigned char *keep;
	size_t i, j, nstate;
	char real[PATH_MAX];

	*err = NULL;
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return 0;
	if ((root = json_load_file(path, 0, &je)) == NULL) {
		*err = state_error(path, je.text);
		return -1;
	}
	if (!json_is_array(root)) {
		json_decref(root);
		*err = state_error(path, "not a JSON array of paths");
		return -1;
	}
	if ((nstate = json_array_size(root)) == 0) {
		json_decref(root);
		return 0;
	}
	if ((keep = calloc(l->n + 1, 1)) == NULL) {
		json_decref(root);
		*err = strdup("out of memory");
		return -1;
	}
	for (i = 0; i < l->n; i++) {
		if (realpath(l->v[i].display, real) == NULL)
			continue;
		for (j = 0; j < nstate; j++) {
			const char *s = json_string_value(json_array_get(root, j));

			if (s && strcmp(s, real) == 0) {
				keep[i] = 1;
				break;
			}
		}
	}
	json_decref(root);
	discover_list_keep(l, keep);
	free(keep);
	return 1;
}

int
rerun_save(const char *path, const struct discover_list *l,
    const unsigned char *failed, char *err, size_t errlen)
{
	json_t *root = json_array();
	char real[PATH_MAX], *tmp = NULL;
	size_t i;
	int rc = -1;

	if (root == NULL || asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0) {
		snprintf(err, errlen, "out of memory");
		json_decref(root);
		return -1;
	}
	for (i = 0; i < l->n; i++) {
		if (!failed[i])
			continue;
		if (realpath(l->v[i].display, real) == NULL)
			snprintf(real, sizeof(real), "%s", l->v[i].display);
		if (json_array_append_new(root, json_string(real)) != 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (json_dump_file(root, tmp, JSON_INDENT(1)) != 0) {
		snprintf(err, errlen, "cannot write `%s`: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot rename `%s` to `%s`: %s", tmp, path,
		    strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		(void)unlink(tmp);
	free(tmp);
	json_decref(root);
	return rc;
}
