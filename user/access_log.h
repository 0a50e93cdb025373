/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The access log, in nginx's "combined" format: the lines of the requests
 * userspace answers, and those of kernel_log.c for the kernel's. */
#ifndef ACCESS_LOG_H
#define ACCESS_LOG_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs_maps.h"

struct access_log;
struct http_request;

/* What is kept of a request until its response is out: bounded copies,
 * since the request bytes are gone by then. */
struct access_entry {
	char peer[INET6_ADDRSTRLEN];	/* the client's address, as text */
	char request[FS_LOG_LINE_MAX];	/* request line */
	char referer[FS_LOG_FIELD_MAX];
	char user_agent[FS_LOG_FIELD_MAX];
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

/* Keeps the request line of the len bytes at head, and req's Referer and
 * User-Agent; req is NULL for a request that did not parse. */
void access_entry_note(struct access_entry *e, const char *head, size_t len,
		       const struct http_request *req);

/* The entry of a kernel response's record r, and its time as *when,
 * given the clock pair (realtime, monotonic) it is read at. */
void access_entry_of_record(struct access_entry *e,
			    const struct fs_log_record *r,
			    const struct timespec *real,
			    const struct timespec *mono, time_t *when);

/* Keeps the address of the sockaddr at sa (either family) as text: "-"
 * if it is of neither. */
void access_entry_peer(struct access_entry *e, const struct sockaddr *sa);

#endif /* ACCESS_LOG_H */
