// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Prometheus text exposition of the userspace counters, the kernel path's
 * per-CPU stats and the cache figures (metrics.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

#ifndef FILESERVER_VERSION
#define FILESERVER_VERSION "unknown"
#endif

struct out {
	char *buf;
	size_t cap, len;
	bool overflow;
};

static void put(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->overflow = true;
	else
		o->len += n;
}

static void family(struct out *o, const char *name, const char *type,
		   const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one sample. */
static void single(struct out *o, const char *name, const char *type,
		   const char *help, uint64_t value)
{
	family(o, name, type, help);
	put(o, "%s %llu\n", name, (unsigned long long)value);
}

static const char *const method_names[METRICS_METHODS] = { "GET", "HEAD",
							   "other" };

static void requests(struct out *o, const struct user_metrics *u,
		     const struct fs_stats *k)
{
	uint64_t total = 0;
	int m, c;

	family(o, "fileserver_requests_total", "counter",
	       "Responses sent, by who answered, method and status class.");
	if (k) {
		uint64_t get_nm = k->kernel_not_modified -
				  k->kernel_head_not_modified;
		const struct {
			const char *method, *code;
			uint64_t n;
		} kern[] = {
			{ "GET", "2xx", k->kernel_hits - k->kernel_head_hits -
					get_nm },
			{ "HEAD", "2xx", k->kernel_head_hits -
					 k->kernel_head_not_modified },
			{ "GET", "3xx", get_nm },
			{ "HEAD", "3xx", k->kernel_head_not_modified },
		};

		for (c = 0; c < (int)(sizeof(kern) / sizeof(kern[0])); c++)
			put(o, "fileserver_requests_total{path=\"kernel\","
			       "method=\"%s\",code=\"%s\"} %llu\n",
			    kern[c].method, kern[c].code,
			    (unsigned long long)kern[c].n);
	}
	for (m = 0; m < METRICS_METHODS; m++)
		for (c = 0; c < 5; c++) {
			total += u->responses[m][c];
			if (u->responses[m][c])
				put(o, "fileserver_requests_total{path=\"userspace\","
				       "method=\"%s\",code=\"%dxx\"} %llu\n",
				    method_names[m], c + 1,
				    (unsigned long long)u->responses[m][c]);
		}
	single(o, "fileserver_kernel_responses_total", "counter",
	       "Responses built by the eBPF kernel path.",
	       k ? k->kernel_hits : 0);
	single(o, "fileserver_user_responses_total", "counter",
	       "Responses sent by the userspace server.",
	       total);
}

/* A counter split by who did the work; kernel is NULL when the kernel path
 * is off. A family's samples must stay together. */
static void by_path(struct out *o, const char *name, const char *help,
		    uint64_t user, const __u64 *kernel)
{
	family(o, name, "counter", help);
	put(o, "%s{path=\"userspace\"} %llu\n", name, (unsigned long long)user);
	if (kernel)
		put(o, "%s{path=\"kernel\"} %llu\n", name,
		    (unsigned long long)*kernel);
}

static void bytes(struct out *o, const struct user_metrics *u,
		  const struct fs_stats *k)
{
	by_path(o, "fileserver_received_bytes_total",
		"Request bytes received, by who read them.", u->rx_bytes,
		k ? &k->kernel_rx_bytes : NULL);
	by_path(o, "fileserver_sent_bytes_total",
		"Response bytes sent, by who built them.", u->tx_bytes,
		k ? &k->kernel_bytes : NULL);
}

struct reason {
	const char *name;
	size_t off;	/* of its 64-bit counter in the struct read */
};

/* A counter family with one sample per reason (label), read from base. */
static void by_reason(struct out *o, const char *name, const char *label,
		      const char *help, const struct reason *r, size_t n,
		      const void *base)
{
	size_t i;

	family(o, name, "counter", help);
	for (i = 0; i < n; i++)
		put(o, "%s{%s=\"%s\"} %llu\n", name, label, r[i].name,
		    (unsigned long long)*(const uint64_t *)((const char *)base +
							      r[i].off));
}

static void faults(struct out *o, const struct user_metrics *u)
{
#define FAULT(name, kind) \
	{ name, offsetof(struct user_metrics, faults) + kind * sizeof(uint64_t) }
	static const struct reason kinds[] = {
		FAULT("connection_limit", FAULT_CONN_LIMIT),
		FAULT("sockhash_insert", FAULT_SOCKHASH_INSERT),
		FAULT("file_shrank", FAULT_FILE_SHRANK),
		FAULT("ring_full", FAULT_RING_FULL),
		FAULT("request_overrun", FAULT_OVERRUN),
	};
#undef FAULT

	by_reason(o, "fileserver_faults_total", "kind",
		  "Faults the server handled, by kind.",
		  kinds, sizeof(kinds) / sizeof(kinds[0]), u);
}

static void tls(struct out *o, const struct user_metrics *u)
{
#define TLS_FAIL(name, kind) { name, offsetof(struct user_metrics, \
	tls_failures) + kind * sizeof(uint64_t) }
	static const struct reason kinds[] = {
		TLS_FAIL("handshake", TLS_FAIL_HANDSHAKE),
		TLS_FAIL("plain_http", TLS_FAIL_PLAIN_HTTP),
		TLS_FAIL("timeout", TLS_FAIL_TIMEOUT),
	};
#undef TLS_FAIL

	single(o, "fileserver_tls_handshakes_total", "counter",
	       "HTTPS handshakes completed.", u->tls_handshakes);
	single(o, "fileserver_tls_ktls_total", "counter",
	       "HTTPS connections whose sends the kernel encrypts (kTLS).",
	       u->tls_kernel_sends);
	by_reason(o, "fileserver_tls_failures_total", "reason",
		  "HTTPS connections closed before a request, by why.",
		  kinds, sizeof(kinds) / sizeof(kinds[0]), u);
}

static void kernel_reasons(struct out *o, const struct fs_stats *k)
{
	static const struct reason passes[] = {
		{ "not_cacheable", offsetof(struct fs_stats, pass_not_cacheable) },
		{ "cache_miss", offsetof(struct fs_stats, pass_cache_miss) },
		{ "conn_busy", offsetof(struct fs_stats, pass_conn_busy) },
		{ "unframed", offsetof(struct fs_stats, pass_unframed) },
		{ "queue_full", offsetof(struct fs_stats, pass_queue_full) },
		{ "conditional", offsetof(struct fs_stats, pass_conditional) },
		{ "no_conn", offsetof(struct fs_stats, pass_no_conn) },
	}, fallbacks[] = {
		{ "stale", offsetof(struct fs_stats, fallback_stale) },
		{ "resize", offsetof(struct fs_stats, fallback_resize) },
		{ "busy", offsetof(struct fs_stats, fallback_busy) },
	};

	by_reason(o, "fileserver_kernel_passes_total", "reason",
		  "Requests the kernel path passed to userspace, by reason.",
		  passes, sizeof(passes) / sizeof(passes[0]), k);
	by_reason(o, "fileserver_kernel_fallbacks_total", "reason",
		  "Kernel responses handed back to userspace, by reason.",
		  fallbacks, sizeof(fallbacks) / sizeof(fallbacks[0]), k);
	single(o, "fileserver_kernel_split_requests_total", "counter",
	       "Redirected requests that reached the sk_msg stage in pieces.",
	       k->split_requests);
	single(o, "fileserver_kernel_direct_passes_total", "counter",
	       "Requests passed to userspace with SK_PASS, not through the "
	       "backlog.",
	       k->user_direct);
	single(o, "fileserver_kernel_overrun_drops_total", "counter",
	       "Requests dropped on connections owing too many answers.",
	       k->drop_overrun);
	single(o, "fileserver_access_log_lost_total", "counter",
	       "Kernel-answered requests without an access log line: the "
	       "kernel's ring was full (--access-log-buffer).",
	       k->log_lost);
}

static void cache(struct out *o, const struct cache_stats *cs)
{
	single(o, "fileserver_cache_entries", "gauge",
	       "Responses in the kernel cache.",
	       cs->entries);
	single(o, "fileserver_cache_bytes", "gauge",
	       "Memory held by kernel-cached responses.",
	       cs->bytes);
	single(o, "fileserver_cache_admissions_total", "counter",
	       "Responses put in the kernel cache.",
	       cs->admissions);
	single(o, "fileserver_cache_evictions_total", "counter",
	       "Responses evicted to stay within --cache-size.",
	       cs->evictions);
	single(o, "fileserver_cache_invalidations_total", "counter",
	       "Responses dropped because their file changed.",
	       cs->invalidations);
	single(o, "fileserver_cache_full_total", "counter",
	       "Admissions refused: no room even after evicting (evicted "
	       "memory is reused after a 2 s quarantine).",
	       cs->full);
	family(o, "fileserver_cache_invalidation_seconds_total", "counter",
	       "CPU time spent on inotify events (invalidation).");
	put(o, "fileserver_cache_invalidation_seconds_total %llu.%09llu\n",
	    (unsigned long long)(cs->invalidation_ns / 1000000000),
	    (unsigned long long)(cs->invalidation_ns % 1000000000));
}

/* total += what workers[0..n) have counted so far */
static void sum_workers(struct user_metrics *total,
			const struct user_metrics *const *workers, unsigned n)
{
	uint64_t *sum = (uint64_t *)total;
	size_t f;
	unsigned i;

	memset(total, 0, sizeof(*total));
	for (i = 0; i < n; i++)
		for (f = 0; f < sizeof(*total) / sizeof(uint64_t); f++)
			sum[f] += __atomic_load_n((const uint64_t *)workers[i] + f,
						  __ATOMIC_RELAXED);
}

/* How evenly the listeners' connections spread over the workers. */
static void per_worker(struct out *o, const struct user_metrics *const *workers,
		       unsigned n)
{
	const char *name = "fileserver_worker_connections_opened_total";
	unsigned i;

	family(o, name, "counter", "Connections accepted, by worker thread.");
	for (i = 0; i < n; i++)
		put(o, "%s{worker=\"%u\"} %llu\n", name, i,
		    (unsigned long long)__atomic_load_n(&workers[i]->conns_opened,
							 __ATOMIC_RELAXED));
}

size_t metrics_render(char *buf, size_t cap,
		      const struct user_metrics *const *workers,
		      unsigned nworkers, const struct fs_stats *kernel,
		      const struct cache_stats *cs, time_t start_time)
{
	static const struct cache_stats no_cache;
	struct out o = { .buf = buf, .cap = cap };
	struct user_metrics sum, *user = &sum;

	sum_workers(&sum, workers, nworkers);

	family(&o, "fileserver_build_info", "gauge",
	       "Version, and whether the eBPF kernel path is on.");
	put(&o, "fileserver_build_info{version=\"%s\",kernel_path=\"%s\"} 1\n",
	    FILESERVER_VERSION, kernel ? "on" : "off");
	single(&o, "fileserver_start_time_seconds", "gauge",
	       "Start time of the server since the Unix epoch.", start_time);
	requests(&o, user, kernel);
	bytes(&o, user, kernel);
	single(&o, "fileserver_connections_opened_total", "counter",
	       "Connections accepted.", user->conns_opened);
	single(&o, "fileserver_connections_active", "gauge",
	       "Connections open now.", user->conns_active);
	per_worker(&o, workers, nworkers);
	faults(&o, user);
	tls(&o, user);
	cache(&o, cs ? cs : &no_cache);
	if (kernel)
		kernel_reasons(&o, kernel);
	return o.overflow ? 0 : o.len;
}
