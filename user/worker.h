/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The server's workers: one thread per CPU, each with its own io_uring, all
 * accepting on its own listening socket of a SO_REUSEPORT group (the
 * kernel spreads connections over them) and on the metrics one. What they
 * share is struct server (server.h).
 */
#ifndef WORKER_H
#define WORKER_H

#include <stdint.h>

#include "server.h"

struct worker;
struct user_metrics;

/* Worker index of srv, with its ring and buffers ready. NULL: logged. */
struct worker *worker_new(struct server *srv, unsigned index);
/* Serves until the stop has drained this worker's connections, or its
 * ring fails (logged). */
void worker_run(struct worker *w);
/* Makes the worker look at srv->stop now, not at its next tick. */
void worker_wake(struct worker *w);
/* Its counters, which /metrics sums over the workers. */
const struct user_metrics *worker_metrics(const struct worker *w);
/* Connections still open when it stopped (cut short). */
uint64_t worker_conns_open(const struct worker *w);
void worker_free(struct worker *w);

#endif /* WORKER_H */
