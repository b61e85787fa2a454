/*
 * overlay.c: newc cpio writer, the agent overlay and the merged-initrd
 * cache.  No cpio binary at run time.
 */
#include "vm/overlay.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "events/crypto_lazy.h"

#include "vm/profile.h"

#define OVERLAY_MAX_INPUT (1ull << 30)   /* one initrd or agent file */

static const char *const overlay_modules[] = {
	"virtio_ring", "virtio", "virtio_pci_legacy_dev",
	"virtio_pci_modern_dev", "virtio_pci", "virtio_mmio",
	"virtio_console", "qemu_fw_cfg",
	"failover", "net_failover", "virtio_net",   /* NICs (runner/bridge_lua.c) */
};

/* ---- cpio writer ---- */

static int grow(struct cpio *c, size_t need)
{
	if (c->failed)
		return -1;
	if (c->len + need <= c->cap)
		return 0;
	size_t cap = c->cap ? c->cap : 65536;
	while (cap < c->len + need)
		cap *= 2;
	uint8_t *b = realloc(c->buf, cap);
	if (!b) {
		c->failed = 1;
		errno = ENOMEM;
		return -1;
	}
	c->buf = b;
	c->cap = cap;
	return 0;
}

static void pad4(struct cpio *c)
{
	while (c->len & 3)
		c->buf[c->len++] = 0;
}

/* One entry: 110-byte header, name + NUL, pad, data, pad. */
static int entry_dev(struct cpio *c, const char *name, unsigned mode,
    const void *data, size_t len, unsigned rmaj, unsigned rmin)
{
	size_t nlen = strlen(name) + 1;
	if (len > 0xffffffffu) {
		errno = EFBIG;
		return -1;
	}
	if (grow(c, 110 + nlen + 3 + len + 3) < 0)
		return -1;
	char hdr[111];
	snprintf(hdr, sizeof(hdr),
	    "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
	    c->ino++, mode, 0u, 0u, 1u, 0u, (unsigned)len, 0u, 0u, rmaj, rmin,
	    (unsigned)nlen, 0u);
	memcpy(c->buf + c->len, hdr, 110);
	c->len += 110;
	memcpy(c->buf + c->len, name, nlen);
	c->len += nlen;
	pad4(c);
	if (len)
		memcpy(c->buf + c->len, data, len);
	c->len += len;
	pad4(c);
	return 0;
}

static int entry(struct cpio *c, const char *name, unsigned mode,
    const void *data, size_t len)
{
	return entry_dev(c, name, mode, data, len, 0, 0);
}

static const char *strip(const char *p)
{
	while (*p == '/')
		p++;
	return p;
}

static int have_dir(const struct cpio *c, const char *d)
{
	for (size_t i = 0; i < c->ndirs; i++)
		if (strcmp(c->dirs[i], d) == 0)
			return 1;
	return 0;
}

static int parents(struct cpio *c, const char *path)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, path);
	for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		if (*buf && cpio_add_dir(c, buf, 0755) < 0)
			return -1;
		*s = '/';
	}
	return 0;
}

int cpio_add_dir(struct cpio *c, const char *path, unsigned mode)
{
	path = strip(path);
	if (!*path || have_dir(c, path))
		return 0;
	if (parents(c, path) < 0)
		return -1;
	char **d = realloc(c->dirs, (c->ndirs + 1) * sizeof(*d));
	char *dup = strdup(path);
	if (!d || !dup) {
		if (d)
			c->dirs = d;
		free(dup);
		c->failed = 1;
		errno = ENOMEM;
		return -1;
	}
	c->dirs = d;
	d[c->ndirs++] = dup;
	return entry(c, path, S_IFDIR | (mode & 07777), NULL, 0);
}

int cpio_add_file(struct cpio *c, const char *path, unsigned mode,
    const void *data, size_t len)
{
	path = strip(path);
	if (!*path) {
		errno = EINVAL;
		return -1;
	}
	if (parents(c, path) < 0)
		return -1;
	return entry(c, path, S_IFREG | (mode & 07777), data, len);
}

int cpio_add_symlink(struct cpio *c, const char *path, const char *target)
{
	path = strip(path);
	if (parents(c, path) < 0)
		return -1;
	return entry(c, path, S_IFLNK | 0777, target, strlen(target));
}

int cpio_add_chardev(struct cpio *c, const char *path, unsigned mode,
    unsigned major, unsigned minor)
{
	path = strip(path);
	if (parents(c, path) < 0)
		return -1;
	return entry_dev(c, path, S_IFCHR | (mode & 07777), NULL, 0, major,
	    minor);
}

int cpio_finish(struct cpio *c)
{
	if (entry(c, "TRAILER!!!", 0, NULL, 0) < 0 || c->failed)
		return -1;
	return 0;
}

void cpio_release(struct cpio *c)
{
	free(c->buf);
	for (size_t i = 0; i < c->ndirs; i++)
		free(c->dirs[i]);
	free(c->dirs);
	memset(c, 0, sizeof(*c));
}

/* ---- files ---- */

static int slurp(const char *path, uint8_t **buf, size_t *len, char **err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		(void)asprintf(err, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > OVERLAY_MAX_INPUT) {
		(void)asprintf(err, "%s: not a regular file under 1 GiB", path);
		close(fd);
		return -1;
	}
	size_t n = (size_t)st.st_size, got = 0;
	uint8_t *b = malloc(n ? n : 1);
	if (!b) {
		close(fd);
		*err = strdup("out of memory");
		return -1;
	}
	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			(void)asprintf(err, "%s: %s", path,
			    r < 0 ? strerror(errno) : "file shrank while reading");
			free(b);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	*buf = b;
	*len = n;
	return 0;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (strlen(path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(buf, path);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * A directory that already existed must be ours and private: in a shared
 * /tmp another user could have made it first (and put a symlink or a
 * socket of its own in it).  One we own with group/other bits is fixed.
 */
int overlay_private_dir(const char *path, char **err)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		(void)asprintf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
		(void)asprintf(err, "%s: %s; refusing to use it (remove it or "
		    "point TMPDIR elsewhere)", path, !S_ISDIR(st.st_mode) ?
		    "not a directory" : "owned by another user");
		return -1;
	}
	if ((st.st_mode & 077) != 0 && chmod(path, 0700) < 0) {
		(void)asprintf(err, "%s: chmod 0700: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

char *overlay_scratch_path(void)
{
	const char *t = getenv("TMPDIR");
	char *r = NULL;
	if (asprintf(&r, "%s/provium-qemu", t && *t ? t : "/tmp") < 0)
		return NULL;
	return r;
}

char *overlay_scratch_root(char **err)
{
	char *r = overlay_scratch_path();
	if (r == NULL) {
		*err = strdup("out of memory");
		return NULL;
	}
	if (mkdir_p(r, 0700) < 0) {
		(void)asprintf(err, "%s: %s", r, strerror(errno));
		free(r);
		return NULL;
	}
	if (overlay_private_dir(r, err) < 0) {
		free(r);
		return NULL;
	}
	return r;
}

static int is_exec(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(p, X_OK) == 0;
}

char *overlay_find_agent(char **err)
{
	const char *env = getenv("PROVIUM_AGENT");
	if (env && *env) {
		if (is_exec(env))
			return strdup(env);
		(void)asprintf(err, "PROVIUM_AGENT=%s is not an executable file",
		    env);
		return NULL;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		/* build/bin, build/tests[/tools], build/asan/bin, <prefix>/bin */
		static const char *const rel[] = {
			"provium-agent", "../bin/provium-agent",
			"../../bin/provium-agent",
			"../../../build/bin/provium-agent",
			"../libexec/provium/provium-agent",
		};
		for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			char *p = NULL;
			if (asprintf(&p, "%s/%s", exe, rel[i]) < 0)
				break;
			char *r = realpath(p, NULL);
			free(p);
			if (r && is_exec(r))
				return r;
			free(r);
		}
	}
	*err = strdup("provium-agent not found (looked at $PROVIUM_AGENT, "
	    "next to the provium binary and in ../libexec/provium); "
	    "build it with `make bins`");
	return NULL;
}

int overlay_build(const struct profile *p, struct cpio *c, char **err)
{
	uint8_t *b;
	size_t n;
	if (p->agent_overlay_path) {
		if (slurp(p->agent_overlay_path, &b, &n, err) < 0)
			return -1;
		c->buf = b;
		c->len = c->cap = n;
		return 0;
	}
	char *agent = overlay_find_agent(err);
	if (!agent)
		return -1;
	int rc = slurp(agent, &b, &n, err);
	free(agent);
	if (rc < 0)
		return -1;
	rc = cpio_add_file(c, OVERLAY_AGENT_PATH, 0755, b, n);
	free(b);
	/* The kernel opens /dev/console for PID 1 before anything mounts /dev. */
	if (rc < 0 || cpio_add_chardev(c, "/dev/console", 0600, 5, 1) < 0)
		goto oom;
	for (size_t i = 0; p->modules &&
	    i < sizeof(overlay_modules) / sizeof(overlay_modules[0]); i++) {
		char *src = NULL, *dst = NULL;
		if (asprintf(&src, "%s/%s.ko", p->modules, overlay_modules[i]) < 0)
			goto oom;
		if (access(src, F_OK) != 0) {
			/* Built into the kernel, or not needed by it. */
			free(src);
			continue;
		}
		rc = slurp(src, &b, &n, err);
		free(src);
		if (rc < 0)
			return -1;
		if (asprintf(&dst, OVERLAY_MODULE_DIR "/%s.ko",
		    overlay_modules[i]) < 0) {
			free(b);
			goto oom;
		}
		rc = cpio_add_file(c, dst, 0644, b, n);
		free(b);
		free(dst);
		if (rc < 0)
			goto oom;
	}
	if (cpio_finish(c) < 0)
		goto oom;
	return 0;
oom:
	*err = strdup("out of memory building the agent overlay");
	return -1;
}

/*
 * The kernel only looks for an uncompressed cpio at a 4-byte aligned
 * offset (init/initramfs.c), and skips the zero bytes in between.
 */
static size_t align_pad(size_t n)
{
	return (4 - (n & 3)) & 3;
}

static int hash_hex(const uint8_t *a, size_t alen, const uint8_t *b,
    size_t blen, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, a, alen) && EVP_DigestUpdate(ctx, "|", 1) &&
	    EVP_DigestUpdate(ctx, b, blen) &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	for (unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* Writes the pieces to a temp file in dir, then renames it to path. */
static int write_atomic(const char *path, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen, char **err)
{
	char *tmp = NULL;
	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		*err = strdup("out of memory");
		return -1;
	}
	int fd = mkstemp(tmp);
	if (fd < 0) {
		(void)asprintf(err, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	static const uint8_t zeros[4];
	if (write_all(fd, a, alen) < 0 ||
	    write_all(fd, zeros, align_pad(alen)) < 0 ||
	    write_all(fd, b, blen) < 0 || fchmod(fd, 0644) < 0 ||
	    close(fd) < 0) {
		(void)asprintf(err, "%s: %s", tmp, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	if (rename(tmp, path) < 0) {
		(void)asprintf(err, "%s: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int overlay_initrd(const struct profile *p, char **path, char **err)
{
	*path = NULL;
	if (!p->inject_agent) {
		if (p->initrd && *p->initrd && !(*path = strdup(p->initrd))) {
			*err = strdup("out of memory");
			return -1;
		}
		return 0;
	}
	uint8_t *base = NULL;
	size_t blen = 0;
	if (p->initrd && *p->initrd && slurp(p->initrd, &base, &blen, err) < 0)
		return -1;
	struct cpio c = CPIO_INIT;
	char *root = NULL, *dir = NULL;
	int rc = -1;
	if (overlay_build(p, &c, err) < 0)
		goto out;
	char hex[65];
	if (hash_hex(base, blen, c.buf, c.len, hex) < 0) {
		*err = strdup("sha256 failed");
		goto out;
	}
	root = overlay_scratch_root(err);
	if (!root)
		goto out;
	if (asprintf(&dir, "%s/overlay-cache", root) < 0 ||
	    asprintf(path, "%s/%s.cpio", dir, hex) < 0) {
		*err = strdup("out of memory");
		goto out;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		(void)asprintf(err, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (overlay_private_dir(dir, err) < 0)
		goto out;
	if (access(*path, R_OK) == 0 ||
	    write_atomic(*path, base, blen, c.buf, c.len, err) == 0)
		rc = 0;
out:
	if (rc < 0) {
		free(*path);
		*path = NULL;
	}
	free(base);
	free(root);
	free(dir);
	cpio_release(&c);
	return rc;
}

int overlay_with_files(const char *base, const struct vmm_file *files,
    size_t nfiles, const char *out, char **err)
{
	uint8_t *b = NULL;
	size_t blen = 0;
	if (base && slurp(base, &b, &blen, err) < 0)
		return -1;
	struct cpio c = CPIO_INIT;
	for (size_t i = 0; i < nfiles; i++) {
		if (!files[i].path || !*strip(files[i].path)) {
			(void)asprintf(err, "boot file %zu: empty path", i + 1);
			goto fail;
		}
		if (cpio_add_file(&c, files[i].path, files[i].mode ?
		    files[i].mode : 0644, files[i].content, files[i].len) < 0) {
			(void)asprintf(err, "boot file `%s`: %s", files[i].path,
			    strerror(errno));
			goto fail;
		}
	}
	if (cpio_finish(&c) < 0) {
		*err = strdup("out of memory");
		goto fail;
	}
	int rc = write_atomic(out, b, blen, c.buf, c.len, err);
	free(b);
	cpio_release(&c);
	return rc;
fail:
	free(b);
	cpio_release(&c);
	return -1;
}

char *overlay_cmdline(const char *cmdline, char **err)
{
	const char *want = "rdinit=" OVERLAY_AGENT_PATH;
	bool have = false;
	for (const char *s = cmdline; *s;) {
		while (*s == ' ' || *s == '\t')
			s++;
		const char *e = s;
		while (*e && *e != ' ' && *e != '\t')
			e++;
		if (e - s >= 7 && strncmp(s, "rdinit=", 7) == 0) {
			if ((size_t)(e - s) != strlen(want) ||
			    strncmp(s, want, (size_t)(e - s)) != 0) {
				(void)asprintf(err, "the kernel command line already "
				    "has `%.*s`; provium needs `%s` to inject its "
				    "agent (set `inject_agent = false` in the "
				    "profile to boot it unchanged)", (int)(e - s),
				    s, want);
				return NULL;
			}
			have = true;
		}
		s = e;
	}
	char *r = NULL;
	if (have)
		r = strdup(cmdline);
	else if (asprintf(&r, "%s%s%s", cmdline, *cmdline ? " " : "", want) < 0)
		r = NULL;
	if (!r)
		*err = strdup("out of memory");
	return r;
}
