/*
 * profile.c: provium.toml -> struct profile_config, the built-in `linux`
 * profile, {out} expansion, and the build hooks.
 */
#include "vm/profile.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "supervisor/size.h"
#include "vm/spawn.h"
#include "vm/toml.h"

/* Cuts the generic Debian kernel's slowest initcalls under TCG (qemu-facts §1). */
#define LINUX_CMDLINE "console=ttyS0 quiet panic=-1 cryptomgr.notests " \
	"mitigations=off rodata=off " \
	"initcall_blacklist=init_kprobe_trace,crypto_kdf108_init"

static bool is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static char *exe_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return strdup(".");
	buf[n] = 0;
	char *slash = strrchr(buf, '/');
	if (slash)
		*slash = 0;
	return strdup(buf);
}

char *profile_guest_dir(void)
{
	const char *env = getenv("PROVIUM_GUEST");
	if (env && *env)
		return strdup(env);
	char *ed = exe_dir();
	if (!ed)
		return NULL;
	/* build/bin, build/tests[/tools], build/asan/bin, <prefix>/bin. */
	static const char *const rel[] = {
		"../guest/current", "../../guest/current",
		"../../build/guest/current", "../../../guest/current",
		"../../../build/guest/current",
		"../share/provium/guest",
	};
	char *found = NULL;
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]) && !found; i++) {
		char *p = NULL;
		if (asprintf(&p, "%s/%s", ed, rel[i]) < 0)
			break;
		char *r = realpath(p, NULL);
		free(p);
		if (r && is_dir(r))
			found = r;
		else
			free(r);
	}
	if (!found)
		(void)asprintf(&found, "%s/../guest/current", ed);
	free(ed);
	return found;
}

static void profile_clear(struct profile *p)
{
	free(p->name);
	free(p->kernel);
	free(p->initrd);
	free(p->cmdline);
	free(p->cmdline_file);
	free(p->modules);
	free(p->agent_overlay_path);
	free(p->build);
	free(p->build_out);
	free(p->dir);
	memset(p, 0, sizeof(*p));
}

void profile_config_free(struct profile_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nprofiles; i++)
		profile_clear(&c->profiles[i]);
	free(c->profiles);
	for (size_t i = 0; i < c->nroots; i++)
		free(c->roots[i]);
	free(c->roots);
	free(c->cache_dir);
	free(c->path);
	free(c);
}

const struct profile *profile_find(const struct profile_config *c,
    const char *name)
{
	for (size_t i = 0; c && i < c->nprofiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	return NULL;
}

/* Replaces every "{out}" in s by out; malloc'd. */
static char *expand_out(const char *s, const char *out)
{
	size_t olen = strlen(out), n = 0;
	for (const char *p = s; (p = strstr(p, "{out}")); p += 5)
		n++;
	char *r = malloc(strlen(s) + n * olen + 1), *w = r;
	if (!r)
		return NULL;
	while (*s) {
		if (strncmp(s, "{out}", 5) == 0) {
			memcpy(w, out, olen);
			w += olen;
			s += 5;
		} else {
			*w++ = *s++;
		}
	}
	*w = 0;
	return r;
}

/* Relative to dir unless absolute or empty; malloc'd. */
static char *resolve(const char *dir, const char *p)
{
	char *r = NULL;
	if (*p == '/' || *p == 0 || !dir)
		return strdup(p);
	if (asprintf(&r, "%s/%s", dir, p) < 0)
		return NULL;
	return r;
}

struct ctx {
	const char *file;
	char *err;
};

static int type_err(struct ctx *c, const struct toml_value *v,
    const char *key, const char *want)
{
	(void)asprintf(&c->err, "%s:%d: key `%s`: expected %s, got %s",
	    c->file, v->line, key, want, toml_type_name(v->type));
	return -1;
}

/* Optional string member of tab; 0 = absent or ok, -1 = wrong type. */
static int get_str(struct ctx *c, const struct toml_value *tab,
    const char *prefix, const char *key, const char **out)
{
	const struct toml_value *v = toml_get(tab, key);
	*out = NULL;
	if (!v)
		return 0;
	if (v->type != TOML_STRING) {
		char full[256];
		snprintf(full, sizeof(full), "%s.%s", prefix, key);
		return type_err(c, v, full, "a string");
	}
	*out = v->u.s;
	return 0;
}

static int fill_profile(struct ctx *c, struct profile *p, const char *name,
    const struct toml_value *tab, const char *dir)
{
	char prefix[200], full[256];
	snprintf(prefix, sizeof(prefix), "profiles.%s", name);
	const char *kernel, *initrd, *cmdline, *cmdline_file, *modules,
	    *overlay, *build, *build_out;
	if (get_str(c, tab, prefix, "kernel", &kernel) ||
	    get_str(c, tab, prefix, "initrd", &initrd) ||
	    get_str(c, tab, prefix, "cmdline", &cmdline) ||
	    get_str(c, tab, prefix, "cmdline_file", &cmdline_file) ||
	    get_str(c, tab, prefix, "modules", &modules) ||
	    get_str(c, tab, prefix, "agent_overlay_path", &overlay) ||
	    get_str(c, tab, prefix, "build", &build) ||
	    get_str(c, tab, prefix, "build_out", &build_out))
		return -1;
	p->line = tab->line;
	p->inject_agent = true;
	p->agent_boot_timeout = PROFILE_DEFAULT_BOOT_TIMEOUT;
	const struct toml_value *v = toml_get(tab, "inject_agent");
	if (v) {
		if (v->type != TOML_BOOL) {
			snprintf(full, sizeof(full), "%s.inject_agent", prefix);
			return type_err(c, v, full, "a boolean");
		}
		p->inject_agent = v->u.b;
	}
	v = toml_get(tab, "agent_boot_timeout");
	if (v) {
		double t = v->type == TOML_INT ? (double)v->u.i :
		    v->type == TOML_FLOAT ? v->u.f : -1;
		if (v->type != TOML_INT && v->type != TOML_FLOAT) {
			snprintf(full, sizeof(full), "%s.agent_boot_timeout",
			    prefix);
			return type_err(c, v, full, "a number of seconds");
		}
		if (!(t > 0) || !isfinite(t)) {
			(void)asprintf(&c->err, "%s:%d: key `%s.agent_boot_timeout`: "
			    "must be a positive number of seconds", c->file,
			    v->line, prefix);
			return -1;
		}
		p->agent_boot_timeout = t;
	}
	if (!kernel) {
		(void)asprintf(&c->err, "%s:%d: key `%s.kernel`: missing "
		    "(every profile needs a kernel)", c->file, tab->line, prefix);
		return -1;
	}
	if (!initrd) {
		(void)asprintf(&c->err, "%s:%d: key `%s.initrd`: missing "
		    "(use \"\" for no initrd)", c->file, tab->line, prefix);
		return -1;
	}
	if ((!cmdline || !*cmdline) && !cmdline_file) {
		(void)asprintf(&c->err, "%s:%d: profile `%s` has empty cmdline "
		    "and no `cmdline_file`; set at least one", c->file,
		    tab->line, name);
		return -1;
	}
	p->name = strdup(name);
	p->dir = strdup(dir);
	if (build_out) {
		p->build_out = resolve(dir, build_out);
	} else {
		(void)asprintf(&p->build_out, "%s/.provium/build/%s", dir, name);
	}
	if (!p->name || !p->dir || !p->build_out)
		goto oom;
	/* {out} first, then relative paths (so "{out}/x" stays absolute). */
#define EXPAND_PATH(field, src) do { \
		if (src) { \
			char *e_ = expand_out(src, p->build_out); \
			p->field = e_ ? resolve(dir, e_) : NULL; \
			free(e_); \
			if (!p->field) \
				goto oom; \
		} \
	} while (0)
	EXPAND_PATH(kernel, kernel);
	EXPAND_PATH(initrd, initrd);
	EXPAND_PATH(cmdline_file, cmdline_file);
	EXPAND_PATH(modules, modules);
	EXPAND_PATH(agent_overlay_path, overlay);
#undef EXPAND_PATH
	p->cmdline = expand_out(cmdline ? cmdline : "", p->build_out);
	if (!p->cmdline)
		goto oom;
	if (build && !(p->build = expand_out(build, p->build_out)))
		goto oom;
	if (!p->modules) {
		/* The guest image layout: modules/ beside the kernel. */
		char *m = NULL;
		const char *slash = strrchr(p->kernel, '/');
		if (slash && asprintf(&m, "%.*s/modules",
		    (int)(slash - p->kernel), p->kernel) >= 0) {
			if (is_dir(m))
				p->modules = m;
			else
				free(m);
		}
	}
	return 0;
oom:
	c->err = strdup("out of memory");
	return -1;
}

static int builtin_linux(struct profile *p)
{
	char *g = profile_guest_dir();
	if (!g)
		return -1;
	p->name = strdup("linux");
	(void)asprintf(&p->kernel, "%s/vmlinux", g);
	(void)asprintf(&p->initrd, "%s/initrd.cpio", g);
	(void)asprintf(&p->modules, "%s/modules", g);
	p->cmdline = strdup(LINUX_CMDLINE);
	p->inject_agent = true;
	p->agent_boot_timeout = PROFILE_DEFAULT_BOOT_TIMEOUT;
	p->build_out = strdup(g);
	p->dir = g;
	p->builtin = true;
	if (!p->name || !p->kernel || !p->initrd || !p->modules ||
	    !p->cmdline || !p->build_out)
		return -1;
	return 0;
}

static int add_profile(struct profile_config *cfg, struct profile *p)
{
	struct profile *v = realloc(cfg->profiles,
	    (cfg->nprofiles + 1) * sizeof(*v));
	if (!v)
		return -1;
	cfg->profiles = v;
	v[cfg->nprofiles++] = *p;
	return 0;
}

static int parse_provium(struct ctx *c, struct profile_config *cfg,
    const struct toml_value *tab, const char *dir)
{
	const struct toml_value *v = toml_get(tab, "roots");
	if (v) {
		if (v->type != TOML_ARRAY)
			return type_err(c, v, "provium.roots", "an array of strings");
		cfg->roots = calloc(v->n + 1, sizeof(char *));
		if (!cfg->roots)
			return -1;
		for (size_t i = 0; i < v->n; i++) {
			if (v->items[i]->type != TOML_STRING)
				return type_err(c, v->items[i], "provium.roots",
				    "an array of strings");
			cfg->roots[i] = resolve(dir, v->items[i]->u.s);
			if (!cfg->roots[i])
				return -1;
			cfg->nroots++;
		}
	}
	const char *cd;
	if (get_str(c, tab, "provium", "cache_dir", &cd))
		return -1;
	if (cd && !(cfg->cache_dir = resolve(dir, cd)))
		return -1;
	v = toml_get(tab, "cache_max_size");
	if (v) {
		if (v->type == TOML_INT && v->u.i > 0) {
			cfg->cache_max_size = (uint64_t)v->u.i;
		} else if (v->type == TOML_STRING) {
			/* The same parser as --mem. */
			char e[160];
			if (size_parse(v->u.s, &cfg->cache_max_size, e,
			    sizeof(e)) < 0) {
				(void)asprintf(&c->err, "%s:%d: key "
				    "`provium.cache_max_size`: %s", c->file,
				    v->line, e);
				return -1;
			}
		} else {
			return type_err(c, v, "provium.cache_max_size",
			    "a size such as \"20G\"");
		}
	}
	return 0;
}

int profile_config_parse(const char *text, size_t len, const char *filename,
    const char *dir, struct profile_config **out, char **err)
{
	*out = NULL;
	*err = NULL;
	struct profile_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		*err = strdup("out of memory");
		return -1;
	}
	cfg->cache_max_size = PROFILE_DEFAULT_CACHE_MAX;
	struct ctx c = { .file = filename };
	struct toml_value *root = NULL;
	if (text) {
		root = toml_parse(text, len, filename, &c.err);
		if (!root)
			goto fail;
		cfg->path = strdup(filename);
	}
	const struct toml_value *pv = toml_get(root, "provium");
	if (pv && pv->type != TOML_TABLE) {
		type_err(&c, pv, "provium", "a table");
		goto fail;
	}
	if (pv && parse_provium(&c, cfg, pv, dir) < 0)
		goto fail;
	const struct toml_value *profs = toml_get(root, "profiles");
	if (profs && profs->type != TOML_TABLE) {
		type_err(&c, profs, "profiles", "a table");
		goto fail;
	}
	for (size_t i = 0; profs && i < profs->n; i++) {
		const struct toml_value *t = profs->items[i];
		char key[200];
		snprintf(key, sizeof(key), "profiles.%s", profs->keys[i]);
		if (t->type != TOML_TABLE) {
			type_err(&c, t, key, "a table");
			goto fail;
		}
		struct profile p = { 0 };
		if (fill_profile(&c, &p, profs->keys[i], t, dir) < 0 ||
		    add_profile(cfg, &p) < 0) {
			profile_clear(&p);
			goto fail;
		}
	}
	if (!profile_find(cfg, "linux")) {
		struct profile p = { 0 };
		if (builtin_linux(&p) < 0 || add_profile(cfg, &p) < 0) {
			profile_clear(&p);
			goto fail;
		}
	}
	toml_free(root);
	*out = cfg;
	return 0;
fail:
	toml_free(root);
	profile_config_free(cfg);
	*err = c.err ? c.err : strdup("out of memory");
	return -1;
}

int profile_config_load(const char *path, struct profile_config **out,
    char **err)
{
	if (!path) {
		if (access("provium.toml", F_OK) != 0)
			return profile_config_parse(NULL, 0, "(built-in)", NULL,
			    out, err);
		path = "provium.toml";
	}
	size_t n;
	char *buf = toml_read_file(path, &n, err);
	if (!buf) {
		char *e = NULL;
		(void)asprintf(&e, "%s (check --config)", *err);
		free(*err);
		*err = e;
		return -1;
	}
	char *abs = realpath(path, NULL);
	char *dir = abs ? strdup(abs) : strdup(".");
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash)
		*(slash == dir ? slash + 1 : slash) = 0;
	int rc = profile_config_parse(buf, n, path, dir, out, err);
	free(abs);
	free(dir);
	free(buf);
	return rc;
}

char *profile_cmdline(const struct profile *p, char **err)
{
	char *base = NULL;
	if (p->cmdline_file) {
		FILE *f = fopen(p->cmdline_file, "r");
		if (!f) {
			(void)asprintf(err, "profile `%s`: cmdline_file `%s`: %s",
			    p->name, p->cmdline_file, strerror(errno));
			return NULL;
		}
		char buf[8192];
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		base = malloc(n + 1);
		if (!base)
			goto oom;
		/* Collapse whitespace runs (newlines in the file) to one space. */
		size_t w = 0;
		for (size_t i = 0; i < n; i++) {
			if (isspace((unsigned char)buf[i])) {
				if (w && base[w - 1] != ' ')
					base[w++] = ' ';
			} else {
				base[w++] = buf[i];
			}
		}
		while (w && base[w - 1] == ' ')
			w--;
		base[w] = 0;
	}
	char *r = NULL;
	if (asprintf(&r, "%s%s%s", base ? base : "",
	    base && *base && *p->cmdline ? " " : "", p->cmdline) < 0)
		r = NULL;
	free(base);
	if (!r)
		goto oom;
	return r;
oom:
	*err = strdup("out of memory");
	return NULL;
}

static int check_one(const struct profile *p, const char *field,
    const char *path, char **err)
{
	if (!path || !*path || access(path, R_OK) == 0)
		return 0;
	(void)asprintf(err, "missing path `%s` (profile `%s` field `%s`)%s",
	    path, p->name, field, p->builtin ?
	    "; build the guest image with `make guest`" : "");
	return -1;
}

int profile_check_paths(const struct profile *p, char **err)
{
	if (check_one(p, "kernel", p->kernel, err) ||
	    check_one(p, "initrd", p->initrd, err) ||
	    check_one(p, "cmdline_file", p->cmdline_file, err) ||
	    check_one(p, "agent_overlay_path", p->agent_overlay_path, err))
		return -1;
	return 0;
}

static int mkdir_p(const char *path)
{
	char *d = strdup(path);
	if (!d)
		return -1;
	for (char *s = d + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(d, 0755) < 0 && errno != EEXIST) {
			free(d);
			return -1;
		}
		*s = '/';
	}
	int rc = mkdir(d, 0755) < 0 && errno != EEXIST ? -1 : 0;
	free(d);
	return rc;
}

int profile_run_builds(const struct profile_config *c, const char *only,
    char **err)
{
	for (size_t i = 0; i < c->nprofiles; i++) {
		const struct profile *p = &c->profiles[i];
		if (!p->build || (only && strcmp(only, p->name) != 0))
			continue;
		if (mkdir_p(p->build_out) < 0) {
			(void)asprintf(err, "profile `%s`: build_out `%s`: %s",
			    p->name, p->build_out, strerror(errno));
			return -1;
		}
		char *argv[] = { "sh", "-c", p->build, NULL };
		struct spawn_opts o = SPAWN_OPTS_INIT;
		o.cwd = p->dir;
		o.fds[0] = (struct spawn_fd){ 2, 1 };
		o.nfds = 1;
		o.keep_fds = true;   /* e.g. a make jobserver for the build */
		char *e = NULL;
		if (spawn_run(argv, &o, &e) < 0) {
			(void)asprintf(err, "profile `%s`: build command `%s` "
			    "failed: %s", p->name, p->build, e ? e : "?");
			free(e);
			return -1;
		}
	}
	return 0;
}
