/*
 * agent_bench: round-trip cost of the agent protocol against doing the same
 * work directly.  Usage: agent_bench AGENT_BINARY [SCRATCH_DIR]
 * Prints one line per measurement and the ratios (agent / direct).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"

#define RUNS 300
#define BIG (64u << 20)
#define REPS 3

static int agent_fd = -1;
static uint64_t next_id = 1;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "agent_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Sends {id, kind, data} (data packed by the caller into sb after the
 * header) and waits for the reply with that id; checks outcome ok. */
static void
roundtrip(msgpack_sbuffer *sb, const char *kind)
{
	uint8_t *body;
	size_t len;
	msgpack_unpacked u;
	const msgpack_object *m;

	if (frame_write(agent_fd, sb->data, sb->size, FRAME_MAX_AGENT) != 0)
		die("frame_write");
	if (frame_read(agent_fd, FRAME_MAX_AGENT, &body, &len) != FRAME_OK)
		die("frame_read");
	msgpack_unpacked_init(&u);
	if (frame_decode(body, len, &u, &m) != FRAME_OK ||
	    (strcmp(kind, "hello") != 0 && !mp_obj_is_str(mp_get(
	    mp_get(m, "data"), "outcome"), "ok"))) {
		fprintf(stderr, "agent_bench: %s failed\n", kind);
		exit(1);
	}
	msgpack_unpacked_destroy(&u);
	free(body);
}

static msgpack_packer *
begin(msgpack_sbuffer *sb, msgpack_packer *pk, const char *kind, uint32_t n)
{
	msgpack_sbuffer_clear(sb);
	msgpack_pack_map(pk, 3);
	mp_kv_u64(pk, "id", next_id++);
	mp_kv_str(pk, "kind", kind);
	mp_str(pk, "data");
	msgpack_pack_map(pk, n);
	return pk;
}

static pid_t
start_agent(const char *path)
{
	int sv[2];
	pid_t pid;
	char fdarg[16];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		die("socketpair");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		fcntl(sv[1], F_SETFD, 0);
		snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
		execl(path, "provium-agent", "--fd", fdarg, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	agent_fd = sv[0];
	return pid;
}

int
main(int argc, char **argv)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char path[512];
	uint8_t *data;
	double t, agent_run, direct_run, agent_io = 1e9, direct_io = 1e9;
	pid_t apid;
	int i, st;

	if (argc < 2) {
		fprintf(stderr, "usage: agent_bench AGENT_BINARY [DIR]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/agent_bench.%d",
	    argc > 2 ? argv[2] : "/tmp", (int)getpid());
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	apid = start_agent(argv[1]);
	mp_kv_u64(begin(&sb, &pk, "hello", 1), "protocol_version",
	    PROTOCOL_VERSION);
	roundtrip(&sb, "hello");

	begin(&sb, &pk, "exec", 1);
	mp_kv_str(&pk, "cmd", "true");
	t = now_s();
	for (i = 0; i < RUNS; i++) {
		/* the id changes nothing in the cost; reuse the frame */
		roundtrip(&sb, "exec");
	}
	agent_run = (now_s() - t) / RUNS;

	t = now_s();
	for (i = 0; i < RUNS; i++) {
		pid_t p = fork();

		if (p == 0) {
			execlp("true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(p, &st, 0);
	}
	direct_run = (now_s() - t) / RUNS;

	/* Allocated only now: a big heap would slow the fork above. */
	data = malloc(BIG);
	for (i = 0; i < (int)BIG; i++)
		data[i] = (uint8_t)(i * 131);

	for (i = 0; i < REPS; i++) {
		double a;

		t = now_s();
		begin(&sb, &pk, "write_file", 2);
		mp_kv_str(&pk, "path", path);
		mp_kv_bin(&pk, "data", data, BIG);
		roundtrip(&sb, "write_file");
		mp_kv_str(begin(&sb, &pk, "read_file", 1), "path", path);
		roundtrip(&sb, "read_file");
		a = now_s() - t;
		if (a < agent_io)
			agent_io = a;
	}
	for (i = 0; i < REPS; i++) {
		int fd;
		size_t off = 0;
		ssize_t n;
		double a;

		t = now_s();
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		while (off < BIG && (n = write(fd, data + off, BIG - off)) > 0)
			off += (size_t)n;
		close(fd);
		fd = open(path, O_RDONLY);
		off = 0;
		while ((n = read(fd, data + off, BIG - off)) > 0)
			off += (size_t)n;
		close(fd);
		a = now_s() - t;
		if (a < direct_io)
			direct_io = a;
	}
	unlink(path);
	close(agent_fd);
	waitpid(apid, &st, 0);
	printf("agent exec(true) round trip: %8.1f us   fork+exec true: "
	    "%8.1f us   ratio %.2f\n", agent_run * 1e6, direct_run * 1e6,
	    agent_run / direct_run);
	printf("agent 64 MiB write_file+read_file: %7.1f ms   plain write+"
	    "read: %7.1f ms   ratio %.2f\n", agent_io * 1e3, direct_io * 1e3,
	    agent_io / direct_io);
	msgpack_sbuffer_destroy(&sb);
	free(data);
	return 0;
}
