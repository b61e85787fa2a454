/* check_evsock.c: fan-out, late-client replay, stalled-client drop, and
 * socket file lifecycle of the --events-socket server. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "events/evconn.h"
#include "events/evsock.h"
#include "events/frame.h"

static char dir[256];
static char logbuf[4096];

static void
capture(void *arg, const char *line)
{
	strncat(logbuf, line, sizeof(logbuf) - strlen(logbuf) - 2);
	strcat(logbuf, "\n");
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "%s/evsock-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	logbuf[0] = '\0';
}

static void
teardown(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Frame i: header + body "frame-<i>" padded to size bytes. */
static size_t
mkframe(uint8_t *buf, unsigned i, size_t size)
{
	memset(buf + 4, 'x', size);
	snprintf((char *)buf + 4, size, "frame-%08u", i);
	frame_header(buf, (uint32_t)size);
	return size + 4;
}

static void
pump_server(struct evsock *s)
{
	struct pollfd pfd[16];
	size_t n = evsock_pollfds(s, pfd, 16);

	if (poll(pfd, n, 0) > 0)
		evsock_handle(s, pfd, n);
}

/* Reads everything available; appends to *acc. */
static void
slurp(int fd, uint8_t *acc, size_t *len, size_t cap)
{
	ssize_t n;

	while (*len < cap && (n = recv(fd, acc + *len, cap - *len, MSG_DONTWAIT)) > 0)
		*len += (size_t)n;
}

/* Checks acc holds frames first..first+count-1 of body size sz. */
static void
assert_frames(const uint8_t *acc, size_t len, unsigned first, unsigned count,
    size_t sz)
{
	uint8_t want[4096];
	unsigned i;

	ck_assert_uint_eq(len, (size_t)count * (sz + 4));
	for (i = 0; i < count; i++) {
		mkframe(want, first + i, sz);
		ck_assert_mem_eq(acc + (size_t)i * (sz + 4), want, sz + 4);
	}
}

START_TEST(test_two_clients_late_client_and_lifecycle)
{
	char path[512], err[256];
	struct evsock *s;
	struct stat st;
	uint8_t f[4096], *a, *b;
	size_t alen = 0, blen = 0, cap = 1 << 20;
	int ca, cb, fd;
	unsigned i;

	/* parent dirs created; a stale socket file is replaced */
	snprintf(path, sizeof(path), "%s/x/y/ev.sock", dir);
	s = evsock_open(path, NULL, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	evsock_close(s);
	ck_assert_int_eq(access(path, F_OK), -1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		strcpy(sa.sun_path, path);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	close(fd);  /* stale: file left behind, nobody listening */
	s = evsock_open(path, NULL, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0600);

	a = malloc(cap);
	b = malloc(cap);
	ca = evconn_open_socket(path, err, sizeof(err));
	ck_assert_int_ge(ca, 0);
	pump_server(s);
	ck_assert_uint_eq(evsock_nclients(s), 1);
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(evsock_publish(s, f, mkframe(f, i, 100)), 0);
		slurp(ca, a, &alen, cap);
	}
	/* late client: gets frames 0..99 first, then live ones */
	cb = evconn_open_socket(path, err, sizeof(err));
	ck_assert_int_ge(cb, 0);
	pump_server(s);
	ck_assert_uint_eq(evsock_nclients(s), 2);
	for (; i < 150; i++) {
		ck_assert_int_eq(evsock_publish(s, f, mkframe(f, i, 100)), 0);
		pump_server(s);
		slurp(ca, a, &alen, cap);
		slurp(cb, b, &blen, cap);
	}
	evsock_drain(s, 1000);
	slurp(ca, a, &alen, cap);
	slurp(cb, b, &blen, cap);
	assert_frames(a, alen, 0, 150, 100);
	assert_frames(b, blen, 0, 150, 100);

	/* a new run: a client connecting now sees only the new run */
	evsock_run_start(s);
	ck_assert_int_eq(evsock_publish(s, f, mkframe(f, 1000, 100)), 0);
	close(cb);
	cb = evconn_open_socket(path, err, sizeof(err));
	pump_server(s);
	evsock_drain(s, 1000);
	blen = 0;
	slurp(cb, b, &blen, cap);
	assert_frames(b, blen, 1000, 1, 100);
	pump_server(s);     /* reaps the first cb */
	ck_assert_uint_eq(evsock_nclients(s), 2);
	ck_assert_str_eq(logbuf, "");

	close(ca);
	close(cb);
	evsock_close(s);
	ck_assert_int_eq(access(path, F_OK), -1);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_stalled_client_is_dropped)
{
	char path[512], err[256], want[600];
	struct evsock_opts o = { .client_max = 64 * 1024, .log = capture };
	struct evsock *s;
	uint8_t f[4096], *a;
	size_t alen = 0, cap = 8 << 20;
	int ca, stuck, sz = 4096;
	unsigned i;

	snprintf(path, sizeof(path), "%s/ev.sock", dir);
	s = evsock_open(path, &o, err, sizeof(err));
	ck_assert_msg(s != NULL, "%s", err);
	a = malloc(cap);
	ca = evconn_open_socket(path, err, sizeof(err));
	stuck = evconn_open_socket(path, err, sizeof(err));
	setsockopt(stuck, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	pump_server(s);
	ck_assert_uint_eq(evsock_nclients(s), 2);
	for (i = 0; i < 1000; i++) {    /* ~1 MB: far past the stuck one's cap */
		ck_assert_int_eq(evsock_publish(s, f, mkframe(f, i, 1000)), 0);
		pump_server(s);
		slurp(ca, a, &alen, cap);
	}
	evsock_drain(s, 1000);
	slurp(ca, a, &alen, cap);
	assert_frames(a, alen, 0, 1000, 1000);
	ck_assert_uint_eq(evsock_nclients(s), 1);
	/* exactly one line, naming the client and the cap */
	ck_assert_ptr_nonnull(strstr(logbuf, "client 2 is "));
	snprintf(want, sizeof(want), "events socket %s: client 2 is ", path);
	ck_assert_int_eq(strncmp(logbuf, want, strlen(want)), 0);
	ck_assert_ptr_nonnull(strstr(logbuf, " bytes behind (cap 65536); disconnected\n"));
	ck_assert_ptr_eq(strchr(logbuf, '\n'), logbuf + strlen(logbuf) - 1);
	close(ca);
	close(stuck);
	evsock_close(s);
	free(a);
}
END_TEST

START_TEST(test_refuses_non_socket)
{
	char path[512], err[256], want[600];
	int fd;

	snprintf(path, sizeof(path), "%s/regular", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_ptr_null(evsock_open(path, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "--events-socket %s: exists and is not a "
	    "socket; refusing to replace it", path);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("evsock");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int nf;

	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_two_clients_late_client_and_lifecycle);
	tcase_add_test(tc, test_stalled_client_is_dropped);
	tcase_add_test(tc, test_refuses_non_socket);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
