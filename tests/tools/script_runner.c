/*
 * script_runner.c: a runner that says exactly what its test file tells it
 * to, for the supervisor suite (run via PROVIUM_RUNNER=script_runner).
 *
 * Reads `start` on fd 3, then executes every line of the file that starts
 * with "--! ":
 *   hello                      registered NAME...        started NAME
 *   passed NAME                failed NAME REASON        skipped NAME REASON
 *   chunk MESSAGE              vm NAME CID               vmdown CID
 *   build PATH                 claim MEM CPUS (waits for the answer)
 *   done                       unknown (t = "bogus")     notmap (body = nil)
 *   hexraw HEX (raw bytes)     sleep MS                  exit N
 *   raise SIG (kill itself)    close (closes fd 3, then sleeps)
 * Anything the supervisor does about it is what the suite asserts.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"

#define FD RUNNER_CHANNEL_FD

static msgpack_sbuffer sb;
static msgpack_packer pk;

static void
begin(size_t n, const char *t)
{
	msgpack_sbuffer_clear(&sb);
	msgpack_pack_map(&pk, n + 1);
	mp_kv_str(&pk, "t", t);
}

static void
send_msg(void)
{
	if (frame_write_sbuf(FD, &sb, FRAME_MAX_RUNNER) != FRAME_OK) {
		fprintf(stderr, "script_runner: write failed\n");
		exit(9);
	}
}

static void
empty_log(void)
{
	mp_str(&pk, "log");
	msgpack_pack_array(&pk, 0);
}

static void
run(char *cmd, char *arg)
{
	char *a2 = NULL;

	if (arg && (a2 = strchr(arg, ' ')) != NULL)
		*a2++ = '\0';
	if (!strcmp(cmd, "hello")) {
		begin(2, "hello");
		mp_kv_u64(&pk, "v", 1);
		mp_kv_u64(&pk, "pid", (uint64_t)getpid());
		send_msg();
	} else if (!strcmp(cmd, "registered")) {
		char *names[64], *tok, *save = NULL;
		int n = 0, i;
		if (arg && a2)
			a2[-1] = ' ';
		for (tok = strtok_r(arg, " ", &save); tok && n < 64;
		    tok = strtok_r(NULL, " ", &save))
			names[n++] = tok;
		begin(1, "registered");
		mp_str(&pk, "tests");
		msgpack_pack_array(&pk, (size_t)n);
		for (i = 0; i < n; i++) {
			msgpack_pack_map(&pk, 2);
			mp_kv_str(&pk, "name", names[i]);
			mp_str(&pk, "meta");
			msgpack_pack_map(&pk, 0);
		}
		send_msg();
	} else if (!strcmp(cmd, "started")) {
		begin(1, "test_started");
		mp_kv_str(&pk, "name", arg);
		send_msg();
	} else if (!strcmp(cmd, "passed")) {
		begin(3, "test_passed");
		mp_kv_str(&pk, "name", arg);
		mp_kv_u64(&pk, "duration_ns", 5);
		empty_log();
		send_msg();
	} else if (!strcmp(cmd, "failed")) {
		begin(5, "test_failed");
		mp_kv_str(&pk, "name", arg);
		mp_kv_u64(&pk, "duration_ns", 5);
		mp_kv_str(&pk, "reason", a2 ? a2 : "");
		mp_kv_str(&pk, "console_excerpt", "");
		empty_log();
		send_msg();
	} else if (!strcmp(cmd, "skipped")) {
		begin(3, "test_skipped");
		mp_kv_str(&pk, "name", arg);
		mp_kv_str(&pk, "reason", a2 ? a2 : "");
		empty_log();
		send_msg();
	} else if (!strcmp(cmd, "chunk")) {
		if (a2)
			a2[-1] = ' ';
		begin(1, "chunk_error");
		mp_kv_str(&pk, "message", arg);
		send_msg();
	} else if (!strcmp(cmd, "vm")) {
		begin(5, "vm_spawned");
		mp_kv_str(&pk, "lab", "provium");
		mp_kv_str(&pk, "vm_name", arg);
		mp_kv_str(&pk, "profile", "linux");
		mp_kv_u64(&pk, "memory_bytes", 536870912);
		mp_kv_u64(&pk, "cid", strtoull(a2, NULL, 10));
		send_msg();
	} else if (!strcmp(cmd, "vmdown")) {
		begin(4, "vm_shutdown");
		mp_kv_str(&pk, "lab", "provium");
		mp_kv_str(&pk, "vm_name", "x");
		mp_kv_u64(&pk, "cid", strtoull(arg, NULL, 10));
		mp_kv_u64(&pk, "duration_ns", 7);
		send_msg();
	} else if (!strcmp(cmd, "build")) {
		begin(1, "fixture_build_started");
		mp_kv_str(&pk, "path", arg);
		send_msg();
	} else if (!strcmp(cmd, "claim")) {
		uint8_t *body;
		size_t len;
		begin(3, "claim");
		mp_kv_u64(&pk, "id", 1);
		mp_kv_u64(&pk, "memory_bytes", strtoull(arg, NULL, 10));
		mp_kv_u64(&pk, "cpus", strtoull(a2, NULL, 10));
		send_msg();
		if (frame_read(FD, FRAME_MAX_RUNNER, &body, &len) != FRAME_OK)
			exit(8);
		free(body);
	} else if (!strcmp(cmd, "done")) {
		begin(0, "done");
		send_msg();
	} else if (!strcmp(cmd, "unknown")) {
		begin(0, "bogus");
		send_msg();
	} else if (!strcmp(cmd, "notmap")) {
		(void)frame_write(FD, "\xc0", 1, FRAME_MAX_RUNNER);
	} else if (!strcmp(cmd, "hexraw")) {
		unsigned char buf[256];
		size_t n = 0;
		while (arg[0] && arg[1] && n < sizeof(buf)) {
			unsigned v;
			sscanf(arg, "%2x", &v);
			buf[n++] = (unsigned char)v;
			arg += 2;
		}
		(void)!write(FD, buf, n);
	} else if (!strcmp(cmd, "sleep")) {
		usleep((useconds_t)atoi(arg) * 1000);
	} else if (!strcmp(cmd, "exit")) {
		exit(atoi(arg));
	} else if (!strcmp(cmd, "raise")) {
		kill(getpid(), atoi(arg));
		pause();
	} else if (!strcmp(cmd, "close")) {
		close(FD);
		sleep(60);
	} else {
		fprintf(stderr, "script_runner: unknown command `%s`\n", cmd);
		exit(10);
	}
}

int
main(void)
{
	uint8_t *body;
	size_t len;
	msgpack_unpacked u;
	const msgpack_object *m;
	char *path, line[1024];
	FILE *f;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (frame_read(FD, FRAME_MAX_RUNNER, &body, &len) != FRAME_OK)
		return 11;
	msgpack_unpacked_init(&u);
	if (frame_decode(body, len, &u, &m) != FRAME_OK ||
	    (path = mp_obj_strdup(mp_get(m, "path"))) == NULL)
		return 12;
	msgpack_unpacked_destroy(&u);
	free(body);
	if ((f = fopen(path, "r")) == NULL)
		return 13;
	while (fgets(line, sizeof(line), f)) {
		char *cmd, *arg;
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "--! ", 4) != 0)
			continue;
		cmd = line + 4;
		arg = strchr(cmd, ' ');
		if (arg)
			*arg++ = '\0';
		run(cmd, arg);
	}
	fclose(f);
	free(path);
	msgpack_sbuffer_destroy(&sb);
	return 0;
}
