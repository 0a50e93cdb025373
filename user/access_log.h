/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The access log, in nginx's "combined" format. Only requests userspace
 * answers can be logged: kernel-answered ones are counted in /metrics. */
#ifndef ACCESS_LOG_H
#define ACCESS_LOG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct access_log;

/* What is kept of a request until its response is out: bounded copies,
 * since the request bytes are gone by then. */
struct access_entry {
	struct in_addr peer;
	char request[512];	/* request line */
	char referer[256];
	char user_agent[256];
	int status;
	uint64_t body_bytes;
};

/* path "-" is stderr. Returns NULL with the reason logged. */
struct access_log *access_log_open(const char *path);
void access_log_write(struct access_log *log, const struct access_entry *e,
		      time_t when);
void access_log_flush(struct access_log *log);
/* After a rotation (SIGHUP): writes go to path again, a new file if it
 * was renamed. Opened as the user we run as: logrotate's "create" must
 * give that user the file. Failing that, the old file is kept. */
void access_log_reopen(struct access_log *log, const char *path);
void access_log_close(struct access_log *log);

/* Copies len bytes of s into dst (of size cap), truncated, NUL-terminated. */
void access_copy(char *dst, size_t cap, const char *s, size_t len);

#endif /* ACCESS_LOG_H */
