/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Counters of the userspace server, and their Prometheus text exposition
 * together with the kernel path's per-CPU counters and the cache's figures.
 * Requests the kernel answers never reach userspace: they are counted only
 * in the kernel's stats map, which is read when /metrics is asked for.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "fs_maps.h"

enum metrics_method { METRICS_GET, METRICS_HEAD, METRICS_OTHER, METRICS_METHODS };

/* Things that went wrong but cost no client a correct response (or, for a
 * file that shrank, cost only that response), by kind. */
enum metrics_fault {
	FAULT_CONN_LIMIT,	/* accepted beyond --max-connections: closed */
	FAULT_SOCKHASH_INSERT,	/* not in sock_hash: userspace serves it all */
	FAULT_FILE_SHRANK,	/* a body ended early: connection closed */
	FAULT_RING_FULL,	/* no free SQE: submitted early to make room */
	FAULT_OVERRUN,		/* too many requests unanswered: closed */
	METRICS_FAULTS,
};

/* HTTPS connections that never got to a request, by why. */
enum metrics_tls_failure {
	TLS_FAIL_HANDSHAKE,	/* a protocol error, or the client left */
	TLS_FAIL_PLAIN_HTTP,	/* plain HTTP to the HTTPS port: a 400 */
	TLS_FAIL_TIMEOUT,	/* no handshake within --header-timeout */
	METRICS_TLS_FAILURES,
};

/* All uint64_t: /metrics sums workers' counters field by field. */
struct user_metrics {
	uint64_t responses[METRICS_METHODS][5];	/* by status class 1xx-5xx */
	uint64_t rx_bytes;
	uint64_t tx_bytes;
	uint64_t conns_opened;
	uint64_t conns_active;
	uint64_t faults[METRICS_FAULTS];
	uint64_t tls_handshakes;	/* completed */
	uint64_t tls_kernel_sends;	/* of those, with kTLS sends */
	uint64_t tls_failures[METRICS_TLS_FAILURES];
};

struct cache_stats {
	uint64_t entries;
	uint64_t bytes;
	uint64_t admissions;
	uint64_t evictions;
	uint64_t invalidations;
	uint64_t full;		/* admissions refused for want of room */
	uint64_t invalidation_ns;	/* CPU time on inotify events */
};

/* A worker's counters are written by that worker only and read by any
 * worker answering /metrics: relaxed atomic loads and stores make both
 * exact, and cost no more than plain ones. n may wrap, to subtract. */
static inline void metrics_add(uint64_t *counter, uint64_t n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

static inline void metrics_count_response(struct user_metrics *m,
					  enum metrics_method method,
					  int status)
{
	if (status >= 100 && status < 600)
		metrics_add(&m->responses[method][status / 100 - 1], 1);
}

#define METRICS_PATH	"/metrics"

/* Writes the exposition into buf: the counters of workers[0..nworkers)
 * summed, and their connections one by one. kernel and cache are NULL when
 * the kernel path is off. Returns the length, or 0 if cap is too small. */
size_t metrics_render(char *buf, size_t cap,
		      const struct user_metrics *const *workers,
		      unsigned nworkers, const struct fs_stats *kernel,
		      const struct cache_stats *cache, time_t start_time);

#endif /* METRICS_H */
