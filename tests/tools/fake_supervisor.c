/*
 * fake_supervisor.c: drives one runner over the runner channel, for the
 * runner's integration suite.
 *
 *   fake_supervisor [opts] RUNNER FILE [DISPLAY]
 *     --include-slow --verbose --tag T --no-tag T --tag-meta K=V
 *     --no-tag-meta K=V --claim-err MSG --reserve-err MSG --timeout SECS
 *     --child-out FILE (runner's stdout+stderr; default: inherited)
 *     --start-v N (version sent in `start`) --close-after N (messages)
 *
 * Starts `RUNNER --runner` with the channel on fd 3, sends `start`, prints
 * every message it receives as one JSON-like line (positive duration_ns
 * printed as DUR, pid as PID, so output is stable), answers claim/reserve,
 * and ends with "exit N" or "signal N".  Exit status 0 unless the channel
 * carried something that is not a frame.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events/frame.h"
#include "events/mp.h"
#include "events/proto.h"

#define MAXOPT 32

struct fopts {
	const char *tag[MAXOPT], *no_tag[MAXOPT], *tag_meta[MAXOPT],
	    *no_tag_meta[MAXOPT];
	int ntag, nno_tag, ntag_meta, nno_tag_meta;
	int include_slow, verbose, timeout, start_v, close_after;
	const char *claim_err, *reserve_err, *child_out;
};

static void
print_str(const char *p, size_t n, int bin)
{
	printf(bin ? "b\"" : "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			printf("\\n");
		else if (c == '\t')
			printf("\\t");
		else if (c < 0x20 || c == 0x7f || (bin && c >= 0x80))
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void
print_obj(const msgpack_object *o, const char *key)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		printf("nil");
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		printf(o->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (key != NULL && strcmp(key, "duration_ns") == 0 &&
		    o->via.u64 > 0)
			printf("DUR");
		else if (key != NULL && strcmp(key, "pid") == 0)
			printf("PID");
		else
			printf("%llu", (unsigned long long)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		printf("%lld", (long long)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		printf("f%.17g", o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		print_str(o->via.str.ptr, o->via.str.size, 0);
		break;
	case MSGPACK_OBJECT_BIN:
		print_str(o->via.bin.ptr, o->via.bin.size, 1);
		break;
	case MSGPACK_OBJECT_ARRAY:
		putchar('[');
		for (uint32_t i = 0; i < o->via.array.size; i++) {
			if (i)
				putchar(',');
			print_obj(&o->via.array.ptr[i], NULL);
		}
		putchar(']');
		break;
	case MSGPACK_OBJECT_MAP:
		putchar('{');
		for (uint32_t i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key;
			char kb[64] = "";

			if (i)
				putchar(',');
			print_obj(k, NULL);
			putchar(':');
			if (k->type == MSGPACK_OBJECT_STR &&
			    k->via.str.size < sizeof kb)
				memcpy(kb, k->via.str.ptr, k->via.str.size);
			print_obj(&o->via.map.ptr[i].val, kb);
		}
		putchar('}');
		break;
	default:
		printf("?");
	}
}

static void
pack_list(msgpack_packer *pk, const char *key, const char *const *v, int n)
{
	mp_str(pk, key);
	msgpack_pack_array(pk, (size_t)n);
	for (int i = 0; i < n; i++)
		mp_str(pk, v[i]);
}

static void
pack_kvs(msgpack_packer *pk, const char *key, const char *const *v, int n)
{
	mp_str(pk, key);
	msgpack_pack_array(pk, (size_t)n);
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(v[i], '=');

		msgpack_pack_map(pk, 2);
		mp_str(pk, "key");
		mp_strn(pk, v[i], eq ? (size_t)(eq - v[i]) : strlen(v[i]));
		mp_kv_str(pk, "value", eq ? eq + 1 : "");
	}
}

static int
send_start(int fd, const struct fopts *o, const char *path,
    const char *display)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 5);
	mp_kv_str(&pk, "t", "start");
	mp_kv_u64(&pk, "v", (uint64_t)o->start_v);
	mp_kv_str(&pk, "path", path);
	mp_kv_str(&pk, "display", display);
	mp_str(&pk, "opts");
	msgpack_pack_map(&pk, 10);
	mp_kv_bool(&pk, "include_slow", o->include_slow);
	pack_list(&pk, "tag", o->tag, o->ntag);
	pack_list(&pk, "no_tag", o->no_tag, o->nno_tag);
	pack_kvs(&pk, "tag_meta", o->tag_meta, o->ntag_meta);
	pack_kvs(&pk, "no_tag_meta", o->no_tag_meta, o->nno_tag_meta);
	mp_kv_str(&pk, "vmm", "local");
	mp_kv_bool(&pk, "verbose", o->verbose);
	mp_kv_nil(&pk, "config");
	mp_kv_str(&pk, "accel", "auto");
	mp_kv_str(&pk, "future_key", "ignored");
	rc = frame_write_sbuf(fd, &sb, FRAME_MAX_RUNNER);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
answer(int fd, const msgpack_object *m, const char *t, const char *err)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint64_t id = 0;
	char name[32];

	mp_get_u64(m, "id", &id);
	snprintf(name, sizeof name, "%s_%s", t, err ? "err" : "ok");
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, err ? 3 : 2);
	mp_kv_str(&pk, "t", name);
	mp_kv_u64(&pk, "id", id);
	if (err)
		mp_kv_str(&pk, "message", err);
	frame_write_sbuf(fd, &sb, FRAME_MAX_RUNNER);
	msgpack_sbuffer_destroy(&sb);
}

#define ADD(list, n) do { if ((n) < MAXOPT && i + 1 < argc) list[(n)++] = argv[++i]; } while (0)

int
main(int argc, char **argv)
{
	struct fopts o = { .timeout = 60, .start_v = 1, .close_after = -1 };
	int sv[2], i, status, bad = 0;
	pid_t pid;
	const char *runner, *path, *display;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--include-slow") == 0) o.include_slow = 1;
		else if (strcmp(a, "--verbose") == 0) o.verbose = 1;
		else if (strcmp(a, "--tag") == 0) ADD(o.tag, o.ntag);
		else if (strcmp(a, "--no-tag") == 0) ADD(o.no_tag, o.nno_tag);
		else if (strcmp(a, "--tag-meta") == 0) ADD(o.tag_meta, o.ntag_meta);
		else if (strcmp(a, "--no-tag-meta") == 0) ADD(o.no_tag_meta, o.nno_tag_meta);
		else if (strcmp(a, "--claim-err") == 0 && i + 1 < argc) o.claim_err = argv[++i];
		else if (strcmp(a, "--reserve-err") == 0 && i + 1 < argc) o.reserve_err = argv[++i];
		else if (strcmp(a, "--child-out") == 0 && i + 1 < argc) o.child_out = argv[++i];
		else if (strcmp(a, "--start-v") == 0 && i + 1 < argc) o.start_v = atoi(argv[++i]);
		else if (strcmp(a, "--close-after") == 0 && i + 1 < argc) o.close_after = atoi(argv[++i]);
		else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) o.timeout = atoi(argv[++i]);
		else {
			fprintf(stderr, "fake_supervisor: unknown option %s\n", a);
			return 2;
		}
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: fake_supervisor [opts] RUNNER FILE [DISPLAY]\n");
		return 2;
	}
	runner = argv[i];
	path = argv[i + 1];
	display = argc - i > 2 ? argv[i + 2] : path;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		perror("socketpair");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(sv[1], RUNNER_CHANNEL_FD) < 0)
			_exit(127);
		if (o.child_out != NULL) {
			int fd = open(o.child_out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
				_exit(127);
			close(fd);
		}
		execl(runner, runner, "--runner", (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(sv[1]);
	if (send_start(sv[0], &o, path, display) != FRAME_OK)
		fprintf(stderr, "fake_supervisor: cannot send start\n");
	for (;;) {
		struct pollfd p = { .fd = sv[0], .events = POLLIN };
		msgpack_unpacked u;
		const msgpack_object *m;
		uint8_t *body;
		size_t len;
		int rc;

		if (poll(&p, 1, o.timeout * 1000) == 0) {
			printf("fake_supervisor: no message for %ds, killing "
			    "the runner\n", o.timeout);
			kill(-pid, SIGKILL);
			bad = 1;
			break;
		}
		rc = frame_read(sv[0], FRAME_MAX_RUNNER, &body, &len);
		if (rc == FRAME_EOF)
			break;
		if (rc != FRAME_OK) {
			printf("frame error: %s\n", frame_strerror(rc));
			bad = 1;
			break;
		}
		msgpack_unpacked_init(&u);
		if (frame_decode(body, len, &u, &m) != FRAME_OK) {
			printf("frame error: malformed body\n");
			bad = 1;
		} else {
			print_obj(m, NULL);
			putchar('\n');
			if (mp_obj_is_str(mp_get(m, "t"), "claim"))
				answer(sv[0], m, "claim", o.claim_err);
			else if (mp_obj_is_str(mp_get(m, "t"), "reserve"))
				answer(sv[0], m, "reserve", o.reserve_err);
		}
		msgpack_unpacked_destroy(&u);
		free(body);
		if (o.close_after >= 0 && --o.close_after < 0) {
			printf("fake_supervisor: closing the channel\n");
			break;
		}
	}
	close(sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		printf("signal %d\n", WTERMSIG(status));
	else
		printf("exit %d\n", WEXITSTATUS(status));
	return bad;
}
