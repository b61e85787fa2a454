/* lsp.c: `provium lsp-setup` (lsp.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "supervisor/lsp.h"

static const char luarc[] =
"{\n"
"  \"$schema\": \"https://raw.githubusercontent.com/LuaLS/vscode-lua/master/setting/schema.json\",\n"
"  \"runtime.version\": \"Lua 5.4\",\n"
"  \"workspace.library\": [\".provium-meta\"],\n"
"  \"workspace.checkThirdParty\": false,\n"
"  \"diagnostics.globals\": [\"provium\", \"test\", \"todo\", \"wait_until\", \"json\"]\n"
"}\n";

static const char usage[] =
"usage: provium lsp-setup [DIR] [--force]\n"
"Writes DIR/.provium-meta/types.lua (LuaLS stubs of the test API) and\n"
"DIR/.luarc.json (DIR defaults to the current directory); --force replaces\n"
"an existing .luarc.json.\n";

/* Writes data to path via path.tmp + rename. */
static int
write_atomic(const char *path, const char *data, char *err, size_t errlen)
{
	char tmp[4200];
	size_t len = strlen(data), off = 0;
	ssize_t n;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	while (off < len && ((n = write(fd, data + off, len - off)) > 0 ||
	    (n < 0 && errno == EINTR)))
		if (n > 0)
			off += (size_t)n;
	if (off < len || close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (off < len)
			close(fd);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
lsp_setup_main(int argc, char **argv)
{
	const char *dir = NULL;
	char meta[4096], types[4200], rc[4200], err[4400];
	struct stat st;
	int force = 0, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = 1;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (argv[i][0] == '-' || dir != NULL) {
			fputs(usage, stderr);
			return 2;
		} else
			dir = argv[i];
	}
	if (dir == NULL)
		dir = ".";
	if (stat(dir, &st) != 0) {
		fprintf(stderr, "provium lsp-setup: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "provium lsp-setup: %s: not a directory\n", dir);
		return 1;
	}
	snprintf(meta, sizeof(meta), "%s/.provium-meta", dir);
	snprintf(types, sizeof(types), "%s/types.lua", meta);
	snprintf(rc, sizeof(rc), "%s/.luarc.json", dir);
	if (!force && access(rc, F_OK) == 0) {
		fprintf(stderr, "provium lsp-setup: %s exists; not overwriting it "
		    "(pass --force to replace it).\nAdd these settings to it:\n%s",
		    rc, luarc);
		return 1;
	}
	if (mkdir(meta, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "provium lsp-setup: %s: %s\n", meta, strerror(errno));
		return 1;
	}
	if (write_atomic(types, lsp_types_lua, err, sizeof(err)) != 0 ||
	    write_atomic(rc, luarc, err, sizeof(err)) != 0) {
		fprintf(stderr, "provium lsp-setup: %s\n", err);
		return 1;
	}
	printf("wrote %s\nwrote %s\n", types, rc);
	return 0;
}
