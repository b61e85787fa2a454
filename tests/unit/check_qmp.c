/* check_qmp.c: the QMP client against canned server lines. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vm/qmp.h"

static const char greeting[] =
    "{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n";

/* A socketpair whose server side already holds lines; returns client fd. */
static int canned(const char *lines, int *server)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[1], lines, strlen(lines)), (ssize_t)strlen(lines));
	*server = sv[1];
	return sv[0];
}

/* What the client sent, as one string. */
static char *sent(int server)
{
	static char buf[4096];
	ssize_t n = recv(server, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

START_TEST(session)
{
	int srv;
	int fd = canned(greeting,  &srv);
	const char *rest =
	    "{\"return\": {}, \"id\": 1}\r\n"
	    "{\"timestamp\": {}, \"event\": \"STOP\"}\r\n"
	    "{\"return\": {\"status\": \"paused\", \"running\": false}, \"id\": 2}\r\n"
	    "{\"return\": {}, \"id\": 99}\r\n"
	    "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no migration\"}, \"id\": 3}\r\n";
	ck_assert_int_eq(write(srv, rest, strlen(rest)), (ssize_t)strlen(rest));
	struct qmp *q = NULL;
	char *err = NULL;
	ck_assert_msg(qmp_open(fd, 1.0, &q, &err) == 0, "%s", err);
	ck_assert_str_eq(sent(srv), "{\"execute\":\"qmp_capabilities\",\"id\":1}\n");
	char *st = qmp_status(q, 1.0, &err);
	ck_assert_str_eq(st, "paused");
	free(st);
	ck_assert_str_eq(sent(srv), "{\"execute\":\"query-status\",\"id\":2}\n");
	ck_assert(qmp_event_seen(q, "STOP"));
	ck_assert(!qmp_event_seen(q, "STOP"));
	/* A stray reply (id 99) is skipped; the error maps to -1. */
	ck_assert_int_eq(qmp_execute(q, "migrate",
	    json_pack("{s:s}", "uri", "exec:cat"), 1.0, NULL, &err), -1);
	ck_assert_str_eq(err, "QMP migrate: no migration");
	free(err);
	ck_assert_str_eq(sent(srv),
	    "{\"execute\":\"migrate\",\"id\":3,\"arguments\":{\"uri\":\"exec:cat\"}}\n");
	/* Nothing more: timeout, then the peer goes away. */
	err = NULL;
	ck_assert_int_eq(qmp_execute(q, "stop", NULL, 0.05, NULL, &err), -1);
	ck_assert_str_eq(err, "QMP: QEMU did not answer in time");
	free(err);
	close(srv);
	ck_assert_int_eq(qmp_execute(q, "stop", NULL, 1.0, NULL, &err), -1);
	ck_assert(strcmp(err, "QMP: connection to QEMU closed (QEMU exited?)") == 0 ||
	    strncmp(err, "QMP: write:", 11) == 0);
	free(err);
	qmp_close(q);
}
END_TEST

START_TEST(bad_greeting)
{
	int srv;
	int fd = canned("{\"hello\": 1}\r\n", &srv);
	struct qmp *q = NULL;
	char *err = NULL;
	ck_assert_int_eq(qmp_open(fd, 1.0, &q, &err), -1);
	ck_assert_str_eq(err, "QMP: no greeting from QEMU");
	free(err);
	close(srv);

	fd = canned("not json\n", &srv);
	ck_assert_int_eq(qmp_open(fd, 1.0, &q, &err), -1);
	ck_assert_int_eq(strncmp(err, "QMP: bad JSON from QEMU: ", 25), 0);
	free(err);
	close(srv);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qmp");
	TCase *tc = tcase_create("qmp");
	tcase_add_test(tc, session);
	tcase_add_test(tc, bad_greeting);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
