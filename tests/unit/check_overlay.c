/* check_overlay.c: newc writer, rdinit handling, merged-initrd cache. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm/overlay.h"
#include "vm/profile.h"

struct ent {
	char name[256];
	unsigned mode, rmaj, rmin;
	size_t size;
	const uint8_t *data;
};

static unsigned hex8(const uint8_t *p)
{
	char b[9];
	memcpy(b, p, 8);
	b[8] = 0;
	return (unsigned)strtoul(b, NULL, 16);
}

/* Parses a newc archive at buf; returns the entry count (trailer excluded). */
static size_t parse(const uint8_t *buf, size_t len, struct ent *e, size_t max)
{
	size_t off = 0, n = 0;
	while (off + 110 <= len) {
		ck_assert_int_eq(off % 4, 0);
		ck_assert_int_eq(memcmp(buf + off, "070701", 6), 0);
		unsigned mode = hex8(buf + off + 14);
		size_t fsize = hex8(buf + off + 54);
		unsigned rmaj = hex8(buf + off + 78), rmin = hex8(buf + off + 86);
		size_t nsize = hex8(buf + off + 94);
		const char *name = (const char *)buf + off + 110;
		ck_assert_int_eq(name[nsize - 1], 0);
		size_t d = (off + 110 + nsize + 3) & ~(size_t)3;
		if (strcmp(name, "TRAILER!!!") == 0)
			return n;
		ck_assert_uint_lt(n, max);
		snprintf(e[n].name, sizeof(e[n].name), "%s", name);
		e[n].mode = mode;
		e[n].size = fsize;
		e[n].rmaj = rmaj;
		e[n].rmin = rmin;
		e[n].data = buf + d;
		n++;
		off = (d + fsize + 3) & ~(size_t)3;
	}
	ck_abort_msg("no trailer");
	return 0;
}

START_TEST(cpio_layout)
{
	struct cpio c = CPIO_INIT;
	ck_assert_int_eq(cpio_add_file(&c, "/etc/provium/x.conf", 0640, "hello", 5), 0);
	ck_assert_int_eq(cpio_add_file(&c, "etc/y", 0, "", 0), 0);
	ck_assert_int_eq(cpio_add_chardev(&c, "/dev/console", 0600, 5, 1), 0);
	ck_assert_int_eq(cpio_add_symlink(&c, "/bin/sh", "busybox"), 0);
	ck_assert_int_eq(cpio_finish(&c), 0);
	ck_assert_int_eq(c.len % 4, 0);
	struct ent e[16];
	size_t n = parse(c.buf, c.len, e, 16);
	ck_assert_uint_eq(n, 8);
	ck_assert_str_eq(e[0].name, "etc");
	ck_assert_uint_eq(e[0].mode, 040755);
	ck_assert_str_eq(e[1].name, "etc/provium");
	ck_assert_str_eq(e[2].name, "etc/provium/x.conf");
	ck_assert_uint_eq(e[2].mode, 0100640);
	ck_assert_uint_eq(e[2].size, 5);
	ck_assert_int_eq(memcmp(e[2].data, "hello", 5), 0);
	ck_assert_str_eq(e[3].name, "etc/y");   /* etc not repeated */
	ck_assert_uint_eq(e[3].mode, 0100000);
	ck_assert_str_eq(e[4].name, "dev");
	ck_assert_str_eq(e[5].name, "dev/console");
	ck_assert_uint_eq(e[5].mode, 020600);
	ck_assert_uint_eq(e[5].rmaj, 5);
	ck_assert_uint_eq(e[5].rmin, 1);
	ck_assert_str_eq(e[7].name, "bin/sh");
	ck_assert_uint_eq(e[7].mode, 0120777);
	ck_assert_int_eq(memcmp(e[7].data, "busybox", 7), 0);
	cpio_release(&c);

	ck_assert_int_eq(cpio_add_file(&c, "/", 0644, "", 0), -1);
	cpio_release(&c);
}
END_TEST

START_TEST(cmdline)
{
	char *err = NULL;
	char *s = overlay_cmdline("console=ttyS0", &err);
	ck_assert_str_eq(s, "console=ttyS0 rdinit=/sbin/provium-agent");
	free(s);
	s = overlay_cmdline("", &err);
	ck_assert_str_eq(s, "rdinit=/sbin/provium-agent");
	free(s);
	s = overlay_cmdline("a rdinit=/sbin/provium-agent b", &err);
	ck_assert_str_eq(s, "a rdinit=/sbin/provium-agent b");
	free(s);
	s = overlay_cmdline("quiet rdinit=/init x", &err);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(err, "the kernel command line already has `rdinit=/init`; "
	    "provium needs `rdinit=/sbin/provium-agent` to inject its agent "
	    "(set `inject_agent = false` in the profile to boot it unchanged)");
	free(err);
	/* Not a prefix match. */
	s = overlay_cmdline("xrdinit=/x", &err);
	ck_assert_str_eq(s, "xrdinit=/x rdinit=/sbin/provium-agent");
	free(s);
}
END_TEST

static char dir[] = "/tmp/check_overlay.XXXXXX";

static char *put(const char *name, const void *data, size_t len)
{
	char *p = NULL;
	(void)asprintf(&p, "%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	fwrite(data, 1, len, f);
	fclose(f);
	chmod(p, 0755);
	return p;
}

static uint8_t *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	ck_assert_ptr_nonnull(f);
	static uint8_t buf[1 << 20];
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

START_TEST(merged_initrd)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	setenv("TMPDIR", dir, 1);
	char *agent = put("agent", "AGENTBIN", 8);
	setenv("PROVIUM_AGENT", agent, 1);
	char *initrd = put("initrd", "BASE-INITRD", 11);   /* 11: needs 1 pad byte */
	char *mods = NULL;
	(void)asprintf(&mods, "%s/mods", dir);
	mkdir(mods, 0755);
	char *ko = NULL;
	(void)asprintf(&ko, "%s/virtio_console.ko", mods);
	FILE *f = fopen(ko, "w");
	fputs("KO", f);
	fclose(f);

	struct profile p = { .name = "t", .initrd = initrd, .modules = mods,
		.inject_agent = true };
	char *path = NULL, *err = NULL;
	ck_assert_msg(overlay_initrd(&p, &path, &err) == 0, "%s", err);
	char *prefix = NULL;
	(void)asprintf(&prefix, "%s/provium-qemu/overlay-cache/", dir);
	ck_assert_int_eq(strncmp(path, prefix, strlen(prefix)), 0);
	size_t len;
	uint8_t *b = slurp(path, &len);
	ck_assert_int_eq(memcmp(b, "BASE-INITRD\0", 12), 0);
	struct ent e[16];
	size_t n = parse(b + 12, len - 12, e, 16);
	ck_assert_uint_eq(n, 8);
	ck_assert_str_eq(e[1].name, "sbin/provium-agent");
	ck_assert_uint_eq(e[1].mode, 0100755);
	ck_assert_int_eq(memcmp(e[1].data, "AGENTBIN", 8), 0);
	ck_assert_str_eq(e[3].name, "dev/console");
	ck_assert_str_eq(e[7].name, "lib/modules/provium/virtio_console.ko");

	/* Same inputs: same cache entry; the original is untouched. */
	char *again = NULL;
	ck_assert_int_eq(overlay_initrd(&p, &again, &err), 0);
	ck_assert_str_eq(again, path);
	free(again);
	b = slurp(initrd, &len);
	ck_assert_uint_eq(len, 11);

	/* A different agent: a different entry. */
	free(put("agent", "AGENTBIN2", 9));
	ck_assert_int_eq(overlay_initrd(&p, &again, &err), 0);
	ck_assert_str_ne(again, path);
	free(again);

	/* Boot files on top. */
	struct vmm_file files[] = {
		{ .path = "/etc/motd", .content = "hi", .len = 2 },
		{ .path = "/bin/run", .content = "x", .len = 1, .mode = 0700 },
	};
	char *out = NULL;
	(void)asprintf(&out, "%s/with-files", dir);
	ck_assert_int_eq(overlay_with_files(path, files, 2, out, &err), 0);
	size_t plen;
	slurp(path, &plen);
	b = slurp(out, &len);
	ck_assert_uint_eq(plen % 4, 0);
	n = parse(b + plen, len - plen, e, 16);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(e[1].name, "etc/motd");
	ck_assert_uint_eq(e[1].mode, 0100644);
	ck_assert_uint_eq(e[3].mode, 0100700);
	struct vmm_file bad = { .path = "/", .content = "", .len = 0 };
	ck_assert_int_eq(overlay_with_files(path, &bad, 1, out, &err), -1);
	ck_assert_str_eq(err, "boot file 1: empty path");
	free(err);

	/* inject_agent = false: the profile's initrd as it is. */
	p.inject_agent = false;
	ck_assert_int_eq(overlay_initrd(&p, &again, &err), 0);
	ck_assert_str_eq(again, initrd);
	free(again);

	/* No agent anywhere. */
	p.inject_agent = true;
	setenv("PROVIUM_AGENT", "/nonexistent/agent", 1);
	ck_assert_int_eq(overlay_initrd(&p, &again, &err), -1);
	ck_assert_str_eq(err, "PROVIUM_AGENT=/nonexistent/agent is not an executable file");
	free(err);

	char *cmd = NULL;
	(void)asprintf(&cmd, "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(path);
	free(out);
	free(prefix);
	free(ko);
	free(mods);
	free(agent);
	free(initrd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("overlay");
	TCase *tc = tcase_create("overlay");
	tcase_add_test(tc, cpio_layout);
	tcase_add_test(tc, cmdline);
	tcase_add_test(tc, merged_initrd);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
