// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mixload: an HTTP/1.1 keep-alive load generator for tools/bench that sends
 * a mix of requests, HEAD requests among them. It exists because wrk cannot:
 * after a HEAD, wrk waits for the body that the response's Content-Length
 * announces, and the connection stalls until it times out.
 *
 *   mixload [-t THREADS] -c CONNS (-d SECONDS | -n TOTAL) [--latency]
 *           URL REQUEST_FILE
 *
 * URL (http://HOST:PORT/..., HOST an IPv4 literal, a bracketed IPv6 literal
 * or a name) gives only the server's address. REQUEST_FILE holds up to 64
 * raw requests, one after another, each ending with its blank line, without
 * bodies. Connection k starts at request k mod N and takes the next one
 * after each response, so that the mix is interleaved across connections;
 * one request at a time per connection, no pipelining. -d runs for SECONDS,
 * -n until exactly TOTAL responses have arrived. The output has wrk's shapes
 * (tools/bench parses it as wrk's), plus a last line counting the responses
 * by status ("Statuses: 200 600, 304 400") to check the mix.
 *
 * Build: gcc -std=gnu11 -O2 -Wall -Wextra -pthread tools/mixload.c -o mixload
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUESTS	64
#define MAX_CONNS	1000000
#define RBUF_SIZE	(64 * 1024)
#define MAX_EVENTS	256
#define NS_PER_US	1000LL
#define NS_PER_MS	1000000LL
#define NS_PER_SEC	1000000000LL
#define TIMEOUT_NS	(2 * NS_PER_SEC)
/* After a failed connect: a server that is down must not make us spin. */
#define RETRY_NS	(10 * NS_PER_MS)
/* How often timeouts and retries are looked for; also epoll_wait's timeout. */
#define TICK_MS		10
#define NSTATUS		1000

/*
 * Latency histogram in microseconds: exact below 2^HIST_EXACT_BITS µs
 * (~1 ms), then each power of two split into HIST_SUB buckets (< 1 % wide)
 * up to 2^(HIST_MAX_EXP + 1) µs (~16 s); longer latencies land in the last.
 */
#define HIST_EXACT_BITS	10
#define HIST_EXACT	(1u << HIST_EXACT_BITS)
#define HIST_SUB_BITS	7
#define HIST_SUB	(1u << HIST_SUB_BITS)
#define HIST_MAX_EXP	23
#define HIST_BUCKETS	(HIST_EXACT + (HIST_MAX_EXP + 1 - HIST_EXACT_BITS) * HIST_SUB)

/* Error kinds, in the order of wrk's "Socket errors" line. */
enum err_kind { ERR_CONNECT, ERR_READ, ERR_WRITE, ERR_TIMEOUT, ERR_KINDS };

static const char *const err_context[ERR_KINDS] = {
	"connect to", "read from", "write to", "wait for",
};

struct request {
	const char *data;
	size_t len;
	bool is_head;	/* its response has no body, whatever it announces */
};

/* What the command line and the request file ask for; read-only once the
 * workers run. */
struct job {
	int threads, conns;
	int64_t duration_ns;	/* -d, or 0 */
	uint64_t total;		/* -n, or 0 */
	bool latency;
	const char *url;
	char peer[300];		/* HOST:PORT, for messages */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	struct request reqs[MAX_REQUESTS];
	unsigned nreqs;
};

/* What the workers share while they run. */
struct shared {
	atomic_bool stop;
	atomic_uint_fast64_t claimed;	/* -n: responses taken, all workers */
	atomic_bool reported[ERR_KINDS];
	int64_t stop_ns;	/* written once, by whoever stops the run */
};

struct stats {
	uint64_t responses, bytes, non_2xx_3xx;
	uint64_t errors[ERR_KINDS];
	uint64_t status[NSTATUS];
	uint64_t latency[HIST_BUCKETS];
};

/* The framing of a response, from its head. */
struct response {
	int status;
	bool keep_alive;
	uint64_t body_len;
};

enum conn_state {
	CONN_RETRY_WAIT,	/* closed after a failed connect, until deadline */
	CONN_CONNECTING,
	CONN_SENDING,		/* the request partly written: waits for EPOLLOUT */
	CONN_HEAD,		/* the request written: reads the response head */
	CONN_BODY,
};

struct conn {
	int fd;
	enum conn_state state;
	uint32_t events;	/* epoll interest */
	bool reused;		/* has had a complete response */
	unsigned req;		/* index in job->reqs */
	size_t sent;
	int64_t start_ns;	/* the request's first send */
	int64_t deadline;	/* of the connect, the response, or the retry */
	size_t rlen;		/* CONN_HEAD: bytes in buf */
	size_t scan;		/* CONN_HEAD: buf[0..scan) has no head end */
	uint64_t body_left;	/* CONN_BODY */
	struct response resp;
	char buf[RBUF_SIZE];
};

struct worker {
	pthread_t thread;
	const struct job *job;
	struct shared *shared;
	int epfd;
	int nconns;
	struct conn *conns;
	struct stats stats;
};

static void __attribute__((format(printf, 1, 2))) usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "mixload: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: mixload [-t THREADS] -c CONNS "
		"(-d SECONDS | -n TOTAL) [--latency] URL REQUEST_FILE\n");
	exit(2);
}

/* For what cannot fail but through a bug or an exhausted system. */
static void die(const char *what)
{
	fprintf(stderr, "mixload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

/* ---- Response parsing: pure functions of the head's bytes ---- */

static bool is_ows(char ch)
{
	return ch == ' ' || ch == '\t';
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static void trim_ows(const char **s, const char **e)
{
	while (*s < *e && is_ows(**s))
		(*s)++;
	while (*e > *s && is_ows((*e)[-1]))
		(*e)--;
}

/* s..e is name, ignoring case */
static bool token_is(const char *s, const char *e, const char *name)
{
	size_t n = strlen(name);

	return (size_t)(e - s) == n && strncasecmp(s, name, n) == 0;
}

/* What the fields that frame a response say. */
struct fields {
	bool has_length, transfer_encoding, close, keep_alive;
	uint64_t length;
};

static const char *parse_length(const char *s, const char *e,
				struct fields *f)
{
	uint64_t v = 0;

	if (s == e)
		return "empty Content-Length";
	for (; s < e; s++) {
		if (!is_digit(*s))
			return "malformed Content-Length";
		if (v > (UINT64_MAX - 9) / 10)
			return "Content-Length too large";
		v = v * 10 + (uint64_t)(*s - '0');
	}
	/* RFC 9112 6.3: differing lengths make the framing unknowable */
	if (f->has_length && f->length != v)
		return "conflicting Content-Length fields";
	f->has_length = true;
	f->length = v;
	return NULL;
}

static void parse_connection(const char *s, const char *e, struct fields *f)
{
	while (s < e) {
		const char *comma = memchr(s, ',', (size_t)(e - s));
		const char *ts = s, *te = comma ? comma : e;

		trim_ows(&ts, &te);
		if (token_is(ts, te, "close"))
			f->close = true;
		else if (token_is(ts, te, "keep-alive"))
			f->keep_alive = true;
		s = comma ? comma + 1 : e;
	}
}

/* One header field line, s..e without its CRLF. */
static const char *parse_field(const char *s, const char *e, struct fields *f)
{
	const char *colon = memchr(s, ':', (size_t)(e - s));
	const char *v, *ve = e;

	if (!colon)
		return "header field without a colon";
	v = colon + 1;
	trim_ows(&v, &ve);
	if (token_is(s, colon, "content-length"))
		return parse_length(v, ve, f);
	if (token_is(s, colon, "connection"))
		parse_connection(v, ve, f);
	else if (token_is(s, colon, "transfer-encoding"))
		f->transfer_encoding = true;
	return NULL;
}

/* "HTTP/1.x SSS[ reason]", s..e without its CRLF. */
static const char *parse_status_line(const char *s, const char *e,
				     int *status, bool *http10)
{
	if (e - s < 12 || memcmp(s, "HTTP/1.", 7) != 0 || !is_digit(s[7]) ||
	    s[8] != ' ' || !is_digit(s[9]) || !is_digit(s[10]) ||
	    !is_digit(s[11]) || (e - s > 12 && s[12] != ' '))
		return "malformed status line";
	*http10 = s[7] == '0';
	*status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	return NULL;
}

/*
 * How a response is framed and whether its connection stays open, from its
 * head (the status line through the blank line) and whether the request was
 * a HEAD. Returns NULL, or what makes the response unusable.
 */
static const char *parse_response(const char *head, size_t len,
				  bool head_request, struct response *r)
{
	const char *end = head + len, *s = head, *eol;
	struct fields f = { 0 };
	bool http10 = false, no_body;
	const char *why = NULL;

	for (bool first = true; !why; first = false, s = eol + 1) {
		const char *e;

		eol = memchr(s, '\n', (size_t)(end - s));
		if (!eol)
			return "unterminated response head";
		e = eol > s && eol[-1] == '\r' ? eol - 1 : eol;
		if (first)
			why = parse_status_line(s, e, &r->status, &http10);
		else if (e == s)
			break;
		else
			why = parse_field(s, e, &f);
	}
	if (why)
		return why;
	/* RFC 9112 6.3: these have no body whatever their fields say */
	no_body = head_request || r->status < 200 || r->status == 204 ||
		  r->status == 304;
	if (!no_body && f.transfer_encoding)
		return "Transfer-Encoding is not supported";
	if (!no_body && !f.has_length)
		return "response without Content-Length";
	r->body_len = no_body ? 0 : f.length;
	r->keep_alive = !f.close && (!http10 || f.keep_alive);
	return NULL;
}

/* ---- Latency histogram ---- */

static unsigned hist_bucket(uint64_t us)
{
	unsigned e;

	if (us < HIST_EXACT)
		return (unsigned)us;
	e = 63u - (unsigned)__builtin_clzll(us);
	if (e > HIST_MAX_EXP)
		return HIST_BUCKETS - 1;
	return HIST_EXACT + (e - HIST_EXACT_BITS) * HIST_SUB +
	       (unsigned)((us >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* The middle of bucket i, in µs. */
static double hist_value(unsigned i)
{
	unsigned e, sub;
	uint64_t width;

	if (i < HIST_EXACT)
		return i;
	e = HIST_EXACT_BITS + (i - HIST_EXACT) / HIST_SUB;
	sub = (i - HIST_EXACT) % HIST_SUB;
	width = 1ull << (e - HIST_SUB_BITS);
	return (double)((1ull << e) + sub * width) + (double)(width - 1) / 2;
}

static double hist_percentile(const uint64_t *hist, uint64_t count,
			      unsigned percent)
{
	uint64_t target = (count * percent + 99) / 100, seen = 0;

	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen && seen >= target)
			return hist_value(i);
	}
	return 0;
}

/* ---- Connections ---- */

/* The first error of each kind is told, with its cause; the rest counted. */
static void report_once(struct worker *w, enum err_kind kind, const char *why)
{
	if (!atomic_exchange(&w->shared->reported[kind], true))
		fprintf(stderr, "mixload: %s %s: %s\n", err_context[kind],
			w->job->peer, why);
}

static void stop_run(struct shared *s)
{
	s->stop_ns = mono_ns();
	atomic_store(&s->stop, true);
}

static bool stopping(const struct worker *w)
{
	return atomic_load_explicit(&w->shared->stop, memory_order_relaxed);
}

static void conn_want(struct worker *w, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events == events)
		return;
	if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl");
	c->events = events;
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void conn_open(struct worker *w, struct conn *c);

/* Counts the error, closes, and connects again: at once, or after
 * RETRY_NS when connecting failed. The request that failed is passed over,
 * so that one the server cannot answer does not stall the mix. */
static void conn_fail(struct worker *w, struct conn *c, enum err_kind kind,
		      const char *why)
{
	w->stats.errors[kind]++;
	report_once(w, kind, why);
	conn_close(c);
	if (kind == ERR_CONNECT) {
		c->state = CONN_RETRY_WAIT;
		c->deadline = mono_ns() + RETRY_NS;
		return;
	}
	c->req = (c->req + 1) % w->job->nreqs;
	conn_open(w, c);
}

static void conn_open(struct worker *w, struct conn *c)
{
	const struct job *job = w->job;
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	int one = 1;

	c->reused = false;
	c->fd = socket(job->addr.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (c->fd < 0) {
		conn_fail(w, c, ERR_CONNECT, strerror(errno));
		return;
	}
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    (connect(c->fd, (const struct sockaddr *)&job->addr,
		     job->addrlen) < 0 && errno != EINPROGRESS)) {
		conn_fail(w, c, ERR_CONNECT, strerror(errno));
		return;
	}
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
		die("epoll_ctl");
	c->events = EPOLLOUT;
	c->state = CONN_CONNECTING;
	c->deadline = mono_ns() + TIMEOUT_NS;
}

static void conn_send(struct worker *w, struct conn *c)
{
	const struct request *r = &w->job->reqs[c->req];

	while (c->sent < r->len) {
		ssize_t n = send(c->fd, r->data + c->sent, r->len - c->sent,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			conn_want(w, c, EPOLLOUT);
			return;
		}
		if (n < 0) {
			conn_fail(w, c, ERR_WRITE, strerror(errno));
			return;
		}
		c->sent += (size_t)n;
	}
	c->state = CONN_HEAD;
	c->rlen = c->scan = 0;
	conn_want(w, c, EPOLLIN);
}

static void request_start(struct worker *w, struct conn *c, int64_t now)
{
	c->state = CONN_SENDING;
	c->sent = 0;
	c->start_ns = now;
	c->deadline = now + TIMEOUT_NS;
	conn_send(w, c);
}

static void conn_connected(struct worker *w, struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		conn_fail(w, c, ERR_CONNECT, strerror(err));
		return;
	}
	request_start(w, c, mono_ns());
}

/* With -n, whether this response is one of the TOTAL; the last one stops
 * the run. */
static bool claim_response(struct worker *w)
{
	uint64_t n;

	if (!w->job->total)
		return true;
	n = atomic_fetch_add_explicit(&w->shared->claimed, 1,
				      memory_order_relaxed);
	if (n + 1 == w->job->total)
		stop_run(w->shared);
	return n < w->job->total;
}

static void record_response(struct stats *st, int status, int64_t ns)
{
	st->responses++;
	st->status[status]++;
	if (status < 200 || status >= 400)
		st->non_2xx_3xx++;
	st->latency[hist_bucket((uint64_t)(ns / NS_PER_US))]++;
}

static void response_done(struct worker *w, struct conn *c)
{
	int64_t now = mono_ns();

	if (!claim_response(w))
		return;
	record_response(&w->stats, c->resp.status, now - c->start_ns);
	c->req = (c->req + 1) % w->job->nreqs;
	if (stopping(w))
		return;
	if (!c->resp.keep_alive) {
		conn_close(c);
		conn_open(w, c);
		return;
	}
	c->reused = true;
	request_start(w, c, now);
}

/* Looks for the head's end in what has arrived, from where the last look
 * stopped. Returns whether more of the response is to be read. */
static bool head_received(struct worker *w, struct conn *c)
{
	size_t from = c->scan > 3 ? c->scan - 3 : 0, head_len, have;
	const char *end = memmem(c->buf + from, c->rlen - from, "\r\n\r\n", 4);
	const char *why;

	if (!end) {
		c->scan = c->rlen;
		if (c->rlen < sizeof(c->buf))
			return true;
		conn_fail(w, c, ERR_READ, "response head over 64 KiB");
		return false;
	}
	head_len = (size_t)(end + 4 - c->buf);
	why = parse_response(c->buf, head_len, w->job->reqs[c->req].is_head,
			     &c->resp);
	have = c->rlen - head_len;
	if (!why && have > c->resp.body_len)
		why = "bytes after the response";
	if (why) {
		conn_fail(w, c, ERR_READ, why);
		return false;
	}
	c->body_left = c->resp.body_len - have;
	if (!c->body_left) {
		response_done(w, c);
		return false;
	}
	c->state = CONN_BODY;
	return true;
}

/* n bytes have arrived. Returns whether more of the response is to be
 * read. */
static bool conn_received(struct worker *w, struct conn *c, size_t n)
{
	if (c->state == CONN_HEAD) {
		c->rlen += n;
		return head_received(w, c);
	}
	if (n > c->body_left) {
		conn_fail(w, c, ERR_READ, "bytes after the response");
		return false;
	}
	c->body_left -= n;
	if (c->body_left)
		return true;
	response_done(w, c);
	return false;
}

static void conn_eof(struct worker *w, struct conn *c)
{
	/* A keep-alive connection the server closed before our request
	 * reached it (idle timeout, request limit): not the server's fault,
	 * so no error; the request goes again on a new connection. */
	if (c->state == CONN_HEAD && c->rlen == 0 && c->reused) {
		conn_close(c);
		conn_open(w, c);
		return;
	}
	conn_fail(w, c, ERR_READ, "connection closed mid-response");
}

static void conn_read(struct worker *w, struct conn *c)
{
	for (;;) {
		bool in_head = c->state == CONN_HEAD;
		/* The head is kept to be parsed; the body only counted. */
		ssize_t n = read(c->fd, in_head ? c->buf + c->rlen : c->buf,
				 in_head ? sizeof(c->buf) - c->rlen
					 : sizeof(c->buf));

		if (n > 0) {
			w->stats.bytes += (uint64_t)n;
			if (!conn_received(w, c, (size_t)n))
				return;
		} else if (n == 0) {
			conn_eof(w, c);
			return;
		} else if (errno != EINTR) {
			if (errno != EAGAIN)
				conn_fail(w, c, ERR_READ, strerror(errno));
			return;
		}
	}
}

static void conn_event(struct worker *w, struct conn *c)
{
	switch (c->state) {
	case CONN_CONNECTING:
		conn_connected(w, c);
		break;
	case CONN_SENDING:
		conn_send(w, c);
		break;
	case CONN_HEAD:
	case CONN_BODY:
		conn_read(w, c);
		break;
	case CONN_RETRY_WAIT:	/* no socket: no events */
		break;
	}
}

/* Retries whose wait is over, and what has waited too long. */
static void check_deadlines(struct worker *w, int64_t now)
{
	for (int i = 0; i < w->nconns; i++) {
		struct conn *c = &w->conns[i];

		if (now < c->deadline)
			continue;
		if (c->state == CONN_RETRY_WAIT)
			conn_open(w, c);
		else if (c->state == CONN_CONNECTING)
			conn_fail(w, c, ERR_CONNECT, strerror(ETIMEDOUT));
		else
			conn_fail(w, c, ERR_TIMEOUT,
				  "no complete response within 2 s");
	}
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	struct epoll_event events[MAX_EVENTS];
	int64_t next_tick = mono_ns() + TICK_MS * NS_PER_MS;

	for (int i = 0; i < w->nconns; i++)
		conn_open(w, &w->conns[i]);
	while (!stopping(w)) {
		int64_t now;
		int n = epoll_wait(w->epfd, events, MAX_EVENTS, TICK_MS);

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++)
			conn_event(w, events[i].data.ptr);
		now = mono_ns();
		if (now >= next_tick) {
			check_deadlines(w, now);
			next_tick = now + TICK_MS * NS_PER_MS;
		}
	}
	for (int i = 0; i < w->nconns; i++)
		conn_close(&w->conns[i]);
	close(w->epfd);
	return NULL;
}

/* ---- Setup ---- */

static long parse_count(int opt, const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max)
		usage("-%c %s: not a number from 1 to %ld", opt, s, max);
	return v;
}

static int64_t parse_seconds(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	/* also refuses NaN; a year is more than any benchmark wants */
	if (end == s || *end || !(v > 0 && v <= 366 * 86400.0))
		usage("-d %s: not a number of seconds", s);
	return (int64_t)(v * NS_PER_SEC);
}

static void parse_args(int argc, char **argv, struct job *job)
{
	static const struct option longopts[] = {
		{ "latency", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	opterr = 0;
	job->threads = 1;
	while ((opt = getopt_long(argc, argv, "t:c:d:n:", longopts,
				  NULL)) != -1) {
		switch (opt) {
		case 't':
			job->threads = (int)parse_count(opt, optarg, MAX_CONNS);
			break;
		case 'c':
			job->conns = (int)parse_count(opt, optarg, MAX_CONNS);
			break;
		case 'd':
			job->duration_ns = parse_seconds(optarg);
			break;
		case 'n':
			job->total = (uint64_t)parse_count(opt, optarg, LONG_MAX);
			break;
		case 'L':
			job->latency = true;
			break;
		default:
			usage("%s: unknown option or missing value",
			      argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		usage("needs URL and REQUEST_FILE");
	if (!job->conns || job->threads > job->conns)
		usage("needs -c CONNS, at least THREADS");
	if (!job->duration_ns == !job->total)
		usage("needs exactly one of -d and -n");
	job->url = argv[optind];
}

/* The whole file, NUL-terminated for messages' sake; exits on failure. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (!f || !buf) {
		fprintf(stderr, "mixload: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	for (;;) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
		if (!buf)
			die("read request file");
	}
	if (ferror(f)) {
		fprintf(stderr, "mixload: %s: read error\n", path);
		exit(2);
	}
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* Splits the file at each blank line; the requests point into it. */
static void load_requests(const char *path, struct job *job)
{
	size_t len;
	const char *data = read_file(path, &len), *p = data, *end = data + len;

	while (p < end) {
		const char *e = memmem(p, (size_t)(end - p), "\r\n\r\n", 4);
		struct request *r;

		if (!e) {
			fprintf(stderr, "mixload: %s: %zu bytes after the last "
				"request are not a request ending with "
				"\\r\\n\\r\\n\n", path, (size_t)(end - p));
			exit(2);
		}
		if (job->nreqs == MAX_REQUESTS) {
			fprintf(stderr, "mixload: %s: more than %d requests\n",
				path, MAX_REQUESTS);
			exit(2);
		}
		r = &job->reqs[job->nreqs++];
		r->data = p;
		r->len = (size_t)(e + 4 - p);
		r->is_head = r->len > 5 && memcmp(p, "HEAD ", 5) == 0;
		p = e + 4;
	}
	if (!job->nreqs) {
		fprintf(stderr, "mixload: %s: no requests\n", path);
		exit(2);
	}
}

/* HOST and PORT of http://HOST[:PORT][/...], HOST maybe [IPv6]; job->peer
 * names the server in messages. */
static void parse_url(struct job *job, char *host, size_t hsize, char *port,
		      size_t psize)
{
	const char *auth, *aend, *h, *hend, *p;
	size_t plen;

	if (strncmp(job->url, "http://", 7) != 0)
		usage("URL must begin with http://");
	auth = job->url + 7;
	aend = auth + strcspn(auth, "/");
	h = auth + (*auth == '[');
	hend = memchr(h, *auth == '[' ? ']' : ':', (size_t)(aend - h));
	if (!hend && *auth == '[')
		usage("URL: IPv6 address without ]");
	if (!hend)
		hend = aend;
	p = hend + (*auth == '[');
	plen = p == aend ? 0 : (size_t)(aend - p - 1);
	if ((p != aend && (*p != ':' || !plen)) || plen >= psize ||
	    hend == h || (size_t)(hend - h) >= hsize)
		usage("URL: not http://HOST[:PORT][/...]");
	if (plen)
		snprintf(port, psize, "%.*s", (int)plen, p + 1);
	else
		snprintf(port, psize, "80");
	snprintf(host, hsize, "%.*s", (int)(hend - h), h);
	snprintf(job->peer, sizeof(job->peer), "%.*s:%s", (int)(p - auth),
		 auth, port);
}

static void resolve(struct job *job)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV }, *ai;
	char host[256], port[8];
	int err;

	parse_url(job, host, sizeof(host), port, sizeof(port));
	err = getaddrinfo(host, port, &hints, &ai);
	if (err) {
		fprintf(stderr, "mixload: resolve %s: %s\n", job->peer,
			gai_strerror(err));
		exit(1);
	}
	memcpy(&job->addr, ai->ai_addr, ai->ai_addrlen);
	job->addrlen = ai->ai_addrlen;
	freeaddrinfo(ai);
}

/* Connections split as evenly as possible; connection k (of all) starts
 * at request k mod N. */
static struct worker *start_workers(const struct job *job,
				    struct shared *shared)
{
	struct worker *workers = calloc((size_t)job->threads, sizeof(*workers));
	int k = 0;

	if (!workers)
		die("calloc");
	for (int t = 0; t < job->threads; t++) {
		struct worker *w = &workers[t];

		w->job = job;
		w->shared = shared;
		w->nconns = job->conns / job->threads +
			    (t < job->conns % job->threads);
		w->conns = calloc((size_t)w->nconns, sizeof(*w->conns));
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (!w->conns || w->epfd < 0)
			die("worker setup");
		for (int i = 0; i < w->nconns; i++, k++) {
			w->conns[i].fd = -1;
			w->conns[i].req = (unsigned)k % job->nreqs;
		}
		errno = pthread_create(&w->thread, NULL, worker_run, w);
		if (errno)
			die("pthread_create");
	}
	return workers;
}

static void wait_until(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / NS_PER_SEC,
			       .tv_nsec = ns % NS_PER_SEC };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	       EINTR)
		;
}

static void merge_stats(struct stats *sum, const struct stats *st)
{
	sum->responses += st->responses;
	sum->bytes += st->bytes;
	sum->non_2xx_3xx += st->non_2xx_3xx;
	for (int i = 0; i < ERR_KINDS; i++)
		sum->errors[i] += st->errors[i];
	for (int i = 0; i < NSTATUS; i++)
		sum->status[i] += st->status[i];
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		sum->latency[i] += st->latency[i];
}

/* ---- Report, in wrk's shapes ---- */

static const char *format_time(char *buf, size_t size, double us)
{
	if (us < 1000)
		snprintf(buf, size, "%.2fus", us);
	else if (us < 1e6)
		snprintf(buf, size, "%.2fms", us / 1e3);
	else
		snprintf(buf, size, "%.2fs", us / 1e6);
	return buf;
}

static const char *format_binary(char *buf, size_t size, double n)
{
	static const char *const units[] = { "", "K", "M", "G", "T" };
	unsigned i = 0;

	while (n >= 1024 && i < sizeof(units) / sizeof(units[0]) - 1) {
		n /= 1024;
		i++;
	}
	snprintf(buf, size, "%.2f%s", n, units[i]);
	return buf;
}

static void print_header(const struct job *job)
{
	if (job->duration_ns)
		printf("Running %gs test @ %s\n",
		       (double)job->duration_ns / NS_PER_SEC, job->url);
	else
		printf("Running %" PRIu64 " requests test @ %s\n", job->total,
		       job->url);
	printf("  %d threads and %d connections\n", job->threads, job->conns);
	fflush(stdout);
}

static void print_latency(const struct stats *st)
{
	static const unsigned percents[] = { 50, 75, 90, 99 };
	char buf[32];

	printf("  Latency Distribution\n");
	for (unsigned i = 0; i < sizeof(percents) / sizeof(percents[0]); i++)
		printf("%7u%%  %s\n", percents[i],
		       format_time(buf, sizeof(buf),
				   hist_percentile(st->latency, st->responses,
						   percents[i])));
}

static void print_report(const struct job *job, const struct stats *st,
			 int64_t elapsed_ns)
{
	double secs = (double)elapsed_ns / NS_PER_SEC;
	const uint64_t *e = st->errors;
	const char *sep = " ";
	char t[32], b[32];

	if (job->latency)
		print_latency(st);
	printf("  %" PRIu64 " requests in %s, %sB read\n", st->responses,
	       format_time(t, sizeof(t), (double)elapsed_ns / NS_PER_US),
	       format_binary(b, sizeof(b), (double)st->bytes));
	if (e[ERR_CONNECT] || e[ERR_READ] || e[ERR_WRITE] || e[ERR_TIMEOUT])
		printf("  Socket errors: connect %" PRIu64 ", read %" PRIu64
		       ", write %" PRIu64 ", timeout %" PRIu64 "\n",
		       e[ERR_CONNECT], e[ERR_READ], e[ERR_WRITE],
		       e[ERR_TIMEOUT]);
	if (st->non_2xx_3xx)
		printf("  Non-2xx or 3xx responses: %" PRIu64 "\n",
		       st->non_2xx_3xx);
	printf("Requests/sec: %9.2f\n", (double)st->responses / secs);
	printf("Transfer/sec: %10sB\n",
	       format_binary(b, sizeof(b), (double)st->bytes / secs));
	printf("Statuses:");
	for (int i = 0; i < NSTATUS; i++) {
		if (st->status[i]) {
			printf("%s%d %" PRIu64, sep, i, st->status[i]);
			sep = ", ";
		}
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	static struct job job;
	static struct shared shared;
	static struct stats sum;
	struct worker *workers;
	int64_t start_ns;

	parse_args(argc, argv, &job);
	resolve(&job);
	load_requests(argv[optind + 1], &job);
	print_header(&job);
	start_ns = mono_ns();
	workers = start_workers(&job, &shared);
	if (job.duration_ns) {
		wait_until(start_ns + job.duration_ns);
		stop_run(&shared);
	}
	for (int t = 0; t < job.threads; t++) {
		errno = pthread_join(workers[t].thread, NULL);
		if (errno)
			die("pthread_join");
		merge_stats(&sum, &workers[t].stats);
		free(workers[t].conns);
	}
	free(workers);
	print_report(&job, &sum, shared.stop_ns - start_ns);
	return sum.responses ? 0 : 1;
}
