/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The process as a whole: what its workers share (struct server), and the
 * run from binding the ports to the end of the drain.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "conn.h"
#include "files.h"
#include "kernel_path.h"

struct worker;
struct user_metrics;
struct cache;
struct access_log;
struct kernel_log;
struct tls_server;

/* How far a stop has gone (SIGTERM or SIGINT: one, then the other). */
enum stop_level { STOP_NONE, STOP_DRAIN, STOP_NOW };

/* What the workers share: the kernel path (its maps are the same for every
 * connection), the cache and the access log (which lock themselves), and
 * the connection slots (one per conn_shared entry, whichever worker holds
 * it). */
struct server {
	struct server_config *cfg;	/* SIGHUP may change the timeouts */
	int root_fd;
	/* cfg->nlisten addresses, each with one socket per worker in a
	 * SO_REUSEPORT group: worker i's are [i * nlisten, (i + 1) * nlisten) */
	int *listen_main;
	/* --tls-port's, the same way; NULL without it */
	int *listen_tls;
	struct tls_server *tls;		/* the certificate; NULL: no HTTPS */
	/* --metrics-port on the same addresses, shared by the workers;
	 * -1: /metrics on the main port */
	int listen_metrics[LISTEN_MAX];
	struct kernel_path kp;
	bool kernel;
	struct cache *cache;		/* NULL: the kernel path is off */
	struct files_conf files;	/* of cfg: Cache-Control, variants */
	struct access_log *access_log;
	struct kernel_log *kernel_log;	/* with both the above */
	time_t start_time;
	struct conn_table conns;

	struct worker **workers;
	/* each worker's counters, for /metrics (http_conn.c), which thus
	 * needs nothing of worker.c */
	const struct user_metrics *worker_metrics[WORKERS_MAX];
	unsigned nworkers;
	unsigned workers_running;	/* atomic */
	int stop;			/* enum stop_level, atomic */
	uint64_t drain_deadline;	/* seconds, monotonic; set before stop */
	bool failed;			/* exit status 1 */
};

/* Runs until SIGTERM or SIGINT, then drains for up to shutdown_timeout
 * seconds (a second signal: at once), serving HTTPS with tls (NULL: none),
 * which it then closes. Returns the process exit status. */
int server_run(struct server_config *cfg, struct tls_server *tls);

#endif /* SERVER_H */
