// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The access log (access_log.h): one line per response in nginx's combined
 * format, buffered, written under a lock so that workers' lines never mix.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "http_request.h"
#include "log.h"

#define NS_PER_SEC	1000000000LL

/* Shared by the workers: lock keeps each line whole, and f steady while
 * a reopen swaps it. */
struct access_log {
	pthread_mutex_t lock;
	FILE *f;
	bool is_stderr;
};

struct access_log *access_log_open(const char *path)
{
	struct access_log *log = calloc(1, sizeof(*log));

	if (!log) {
		log_error("access log: out of memory");
		return NULL;
	}
	pthread_mutex_init(&log->lock, NULL);
	if (strcmp(path, "-") == 0) {
		log->f = stderr;
		log->is_stderr = true;
	} else {
		log->f = fopen(path, "ae");
		if (!log->f) {
			log_error("access log '%s': %s", path, strerror(errno));
			free(log);
			return NULL;
		}
	}
	return log;
}

/* Copies len bytes of s into dst (of size cap), truncated, NUL-terminated. */
static void access_copy(char *dst, size_t cap, const char *s, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* Length of the first line of buf (not NUL-terminated). */
static size_t line_len(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && buf[i] != '\r' && buf[i] != '\n')
		i++;
	return i;
}

/* Keeps the request line, Referer and User-Agent of these lengths, cut to
 * what e holds: one cut for userspace's entries and the kernel's records. */
static void access_entry_set(struct access_entry *e, const char *line,
			     size_t line_len, const char *referer,
			     size_t referer_len, const char *agent,
			     size_t agent_len)
{
	access_copy(e->request, sizeof(e->request), line, line_len);
	access_copy(e->referer, sizeof(e->referer), referer, referer_len);
	access_copy(e->user_agent, sizeof(e->user_agent), agent, agent_len);
}

void access_entry_note(struct access_entry *e, const char *head, size_t len,
		       const struct http_request *req)
{
	bool ref = req && req->referer, agent = req && req->user_agent;

	access_entry_set(e, head, line_len(head, len),
			 ref ? req->referer : "", ref ? req->referer_len : 0,
			 agent ? req->user_agent : "",
			 agent ? req->user_agent_len : 0);
}

/* An IPv4 client of the dual-stack socket comes as ::ffff:a.b.c.d: it is
 * logged as a.b.c.d, as a server listening on IPv4 would. */
void access_entry_peer(struct access_entry *e, const struct sockaddr *sa)
{
	int family = sa->sa_family;
	const void *addr = NULL;

	if (family == AF_INET) {
		addr = &((const struct sockaddr_in *)sa)->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 =
			&((const struct sockaddr_in6 *)sa)->sin6_addr;

		addr = a6;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			addr = &a6->s6_addr[12];
		}
	}
	if (!addr || !inet_ntop(family, addr, e->peer, sizeof(e->peer)))
		strcpy(e->peer, "-");
}

static int64_t ns_of(const struct timespec *ts)
{
	return ts->tv_sec * NS_PER_SEC + ts->tv_nsec;
}

void access_entry_of_record(struct access_entry *e,
			    const struct fs_log_record *r,
			    const struct timespec *real,
			    const struct timespec *mono, time_t *when)
{
	struct sockaddr_storage peer = {};

	*when = (ns_of(real) - (ns_of(mono) - (int64_t)r->time_ns)) /
		NS_PER_SEC;
	if (r->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&peer;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(r->port);
		memcpy(&s6->sin6_addr, r->addr, sizeof(s6->sin6_addr));
	} else if (r->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&peer;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(r->port);
		memcpy(&s4->sin_addr, r->addr, sizeof(s4->sin_addr));
	}
	access_entry_peer(e, (struct sockaddr *)&peer);
	access_entry_set(e, r->line, r->line_len, r->referer, r->referer_len,
			 r->agent, r->agent_len);
	e->status = r->status;
	e->body_bytes = r->body_bytes;
}

/* Like nginx: '"', '\\' and bytes outside printable ASCII as \xHH, so a
 * client cannot forge log lines or fields. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = *s;

		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			fprintf(f, "\\x%02X", c);
		else
			fputc(c, f);
	}
}

static void put_field(FILE *f, const char *s)
{
	fputc('"', f);
	if (*s)
		put_escaped(f, s);
	else
		fputc('-', f);
	fputc('"', f);
}

void access_log_write(struct access_log *log, const struct access_entry *e,
		      time_t when)
{
	char date[64];
	struct tm tm;

	localtime_r(&when, &tm);
	strftime(date, sizeof(date), "%d/%b/%Y:%H:%M:%S %z", &tm);
	pthread_mutex_lock(&log->lock);
	fprintf(log->f, "%s - - [%s] \"", e->peer[0] ? e->peer : "-", date);
	put_escaped(log->f, e->request);
	fprintf(log->f, "\" %d %llu ", e->status,
		(unsigned long long)e->body_bytes);
	put_field(log->f, e->referer);
	fputc(' ', log->f);
	put_field(log->f, e->user_agent);
	fputc('\n', log->f);
	pthread_mutex_unlock(&log->lock);
}

void access_log_flush(struct access_log *log)
{
	pthread_mutex_lock(&log->lock);
	fflush(log->f);
	pthread_mutex_unlock(&log->lock);
}

void access_log_reopen(struct access_log *log, const char *path)
{
	FILE *f;

	if (log->is_stderr)
		return;
	f = fopen(path, "ae");
	if (!f) {
		log_warn("access log '%s': %s; still writing to the old one",
			 path, strerror(errno));
		return;
	}
	pthread_mutex_lock(&log->lock);
	fclose(log->f);
	log->f = f;
	pthread_mutex_unlock(&log->lock);
}

void access_log_close(struct access_log *log)
{
	if (!log)
		return;
	if (log->is_stderr)
		fflush(log->f);
	else
		fclose(log->f);
	pthread_mutex_destroy(&log->lock);
	free(log);
}
