/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The server's workers: one thread per CPU, each with its own io_uring, all
 * accepting on its own listening socket of a SO_REUSEPORT group (the
 * kernel spreads connections over them) and on the metrics one. What they share is struct server:
 * the kernel path (its maps are the same for every connection), the cache
 * and the access log (which lock themselves), and the connection slots (one
 * per conn_shared entry, whichever worker holds it).
 */
#ifndef WORKER_H
#define WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "kernel_path.h"
#include "server.h"

struct worker;
struct conn;
struct cache;
struct access_log;

/* Listening sockets, by index. */
enum listener { LISTEN_MAIN, LISTEN_METRICS, LISTENERS };

/* How far a stop has gone (SIGTERM or SIGINT: one, then the other). */
enum stop_level { STOP_NONE, STOP_DRAIN, STOP_NOW };

struct server {
	struct server_config *cfg;	/* SIGHUP may change the timeouts */
	int root_fd;
	int *listen_main;		/* one per worker, SO_REUSEPORT */
	int listen_metrics;		/* -1: /metrics on the main port */
	struct kernel_path kp;
	bool kernel;
	struct cache *cache;		/* NULL: the kernel path is off */
	struct access_log *access_log;
	time_t start_time;

	struct conn *conns;		/* max_conns of them, by slot */
	pthread_mutex_t slots_lock;
	uint32_t *free_slots;
	uint32_t nfree_slots;

	struct worker **workers;
	unsigned nworkers;
	unsigned workers_running;	/* atomic */
	int stop;			/* enum stop_level, atomic */
	uint64_t drain_deadline;	/* seconds, monotonic; set before stop */
	bool failed;			/* exit status 1 */
};

/* The connection slots of srv->cfg->max_conns. Returns 0, or -1 logged. */
int conns_init(struct server *srv);
void conns_free(struct server *srv);

/* Worker index of srv, with its ring and buffers ready. NULL: logged. */
struct worker *worker_new(struct server *srv, unsigned index);
/* Serves until the stop has drained this worker's connections, or its
 * ring fails (logged). */
void worker_run(struct worker *w);
/* Makes the worker look at srv->stop now, not at its next tick. */
void worker_wake(struct worker *w);
/* Connections still open when it stopped (cut short). */
uint64_t worker_conns_open(const struct worker *w);
void worker_free(struct worker *w);

#endif /* WORKER_H */
