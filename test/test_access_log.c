// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Access log entries: a kernel response's record (fields cut where the
 * classifier says, as kern/fileserver.bpf.c's log_begin() does) gives the
 * same line as userspace's entry for the same request, time aside; peers
 * and times of records are read right.
 */
#include <arpa/inet.h>
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "access_log.h"
#include "http_classify.h"
#include "http_request.h"

/* What fs_respond's log_copy() keeps of len bytes at off: at most cap - 1. */
static __u16 kernel_copy(char *dst, size_t cap, const char *head, __u32 off,
			 __u32 len)
{
	if (len > cap - 1)
		len = cap - 1;
	memcpy(dst, head + off, len);
	return len;
}

/* The record the kernel makes of head, answered by a 200 of body bytes. */
static void kernel_record(const char *head, struct fs_log_record *r,
			  __u32 body)
{
	struct http_scan s;

	http_classify(&s, (const __u8 *)head, strlen(head));
	ck_assert_msg(s.out.cacheable, "not a kernel request: %s", head);
	memset(r, 0, sizeof(*r));
	r->family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", r->addr);
	r->status = 200;
	r->body_bytes = body;
	r->line_len = kernel_copy(r->line, sizeof(r->line), head, 0,
				  s.out.line_len);
	r->referer_len = kernel_copy(r->referer, sizeof(r->referer), head,
				     s.out.referer_off, s.out.referer_len);
	r->agent_len = kernel_copy(r->agent, sizeof(r->agent), head,
				   s.out.agent_off, s.out.agent_len);
}

/* The line access_log_write() makes of e at when. */
static char *line_of(const struct access_entry *e, time_t when)
{
	char path[] = "/tmp/test_access_log.XXXXXX";
	struct access_log *log;
	static char buf[4096];
	FILE *f;
	size_t n;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	log = access_log_open(path);
	ck_assert_ptr_nonnull(log);
	access_log_write(log, e, when);
	access_log_close(log);
	f = fdopen(fd, "r");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	return buf;
}

/* userspace's entry of head, from the same peer, status and bytes */
static void user_entry(const char *head, struct access_entry *e, __u32 body)
{
	struct http_request req;
	struct sockaddr_in peer = { .sin_family = AF_INET };
	int status = 0;

	ck_assert_int_eq(http_parse_request(head, strlen(head), &req, &status),
			 HTTP_PARSE_DONE);
	memset(e, 0, sizeof(*e));
	inet_pton(AF_INET, "192.0.2.7", &peer.sin_addr);
	access_entry_peer(e, (struct sockaddr *)&peer);
	access_entry_note(e, head, req.head_len, &req);
	e->status = 200;
	e->body_bytes = body;
}

static void assert_same_line(const char *head)
{
	struct timespec real = { .tv_sec = 1700000000 }, mono = { 0 };
	struct access_entry user, kern;
	struct fs_log_record r;
	char want[4096];
	time_t when;

	user_entry(head, &user, 1234);
	kernel_record(head, &r, 1234);
	access_entry_of_record(&kern, &r, &real, &mono, &when);
	ck_assert_int_eq(when, 1700000000);
	snprintf(want, sizeof(want), "%s", line_of(&user, when));
	ck_assert_str_eq(line_of(&kern, when), want);
}

START_TEST(kernel_line_is_userspace_line)
{
	char agent[400], head[1024];

	assert_same_line("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_same_line("GET /a.txt?q=\"x\" HTTP/1.1\r\nHost: x\r\n"
			 "Referer: http://r.example/p\r\n"
			 "User-Agent: Mozilla/5.0 (X11) \"q\"\r\n\r\n");
	/* OWS around values, empty values, the first of two kept */
	assert_same_line("HEAD /a HTTP/1.1\r\nuser-agent:  \t spaced \t \r\n"
			 "REFERER:\r\nHost: x\r\nUser-Agent: second\r\n"
			 "Referer: second\r\n\r\n");
	/* bytes past ASCII, escaped in both */
	assert_same_line("GET /a HTTP/1.1\r\nHost: x\r\n"
			 "User-Agent: caf\xc3\xa9\r\n\r\n");
	/* cut at the same byte when longer than an entry holds */
	memset(agent, 'a', sizeof(agent) - 1);
	agent[sizeof(agent) - 1] = '\0';
	snprintf(head, sizeof(head), "GET /a HTTP/1.0\r\nHost: x\r\n"
		 "Connection: keep-alive\r\nUser-Agent: %s\r\n"
		 "Referer: %s\r\n\r\n", agent, agent);
	assert_same_line(head);
}
END_TEST

START_TEST(record_peer_families)
{
	struct timespec real = { .tv_sec = 100 }, mono = { .tv_sec = 10 };
	struct access_entry e;
	struct fs_log_record r = { .family = AF_INET6, .status = 200 };
	time_t when;

	inet_pton(AF_INET6, "2001:db8::1", r.addr);
	access_entry_of_record(&e, &r, &real, &mono, &when);
	ck_assert_str_eq(e.peer, "2001:db8::1");
	/* an IPv4 client of the dual-stack socket, as nginx on IPv4 logs it */
	inet_pton(AF_INET6, "::ffff:10.1.2.3", r.addr);
	access_entry_of_record(&e, &r, &real, &mono, &when);
	ck_assert_str_eq(e.peer, "10.1.2.3");
	memset(r.addr, 0, sizeof(r.addr));
	r.family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", r.addr);
	access_entry_of_record(&e, &r, &real, &mono, &when);
	ck_assert_str_eq(e.peer, "127.0.0.1");
	r.family = 0;
	access_entry_of_record(&e, &r, &real, &mono, &when);
	ck_assert_str_eq(e.peer, "-");
}
END_TEST

START_TEST(record_time_from_monotonic)
{
	struct timespec real = { .tv_sec = 1000, .tv_nsec = 200000000 };
	struct timespec mono = { .tv_sec = 50 };
	struct fs_log_record r = { .family = AF_INET };
	struct access_entry e;
	time_t when;

	/* built 0.5 s before the drain: 999.7 s real time */
	r.time_ns = 49500000000ULL;
	access_entry_of_record(&e, &r, &real, &mono, &when);
	ck_assert_int_eq(when, 999);
	r.time_ns = 50000000000ULL;
	access_entry_of_record(&e, &r, &real, &mono, &when);
	ck_assert_int_eq(when, 1000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("access_log");
	TCase *tc = tcase_create("entries");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, kernel_line_is_userspace_line);
	tcase_add_test(tc, record_peer_families);
	tcase_add_test(tc, record_time_from_monotonic);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
