// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Connections' slots and memory (conn.h). The slot table is a stack of
 * free ids under one lock: a take or a put is O(1), the lock held for a
 * push or a pop only.
 */
#include <stdlib.h>
#include <unistd.h>

#include "access_log.h"
#include "conn.h"
#include "log.h"

int conn_table_init(struct conn_table *t, uint32_t size)
{
	uint32_t i;

	*t = (struct conn_table){ .size = size };
	t->slots = calloc(size, sizeof(*t->slots));
	t->free_ids = calloc(size, sizeof(*t->free_ids));
	if (!t->slots || !t->free_ids) {
		log_error("connection table: out of memory");
		conn_table_free(t);
		return -1;
	}
	/* lowest id on top: it is the first taken */
	for (i = 0; i < size; i++)
		t->free_ids[i] = size - 1 - i;
	t->nfree = size;
	pthread_mutex_init(&t->lock, NULL);
	return 0;
}

void conn_table_free(struct conn_table *t)
{
	free(t->slots);
	free(t->free_ids);
	t->slots = NULL;
	t->free_ids = NULL;
}

struct conn *conn_table_take(struct conn_table *t)
{
	struct conn *c = NULL;

	pthread_mutex_lock(&t->lock);
	if (t->nfree)
		c = &t->slots[t->free_ids[--t->nfree]];
	pthread_mutex_unlock(&t->lock);
	if (c)
		c->id = (uint32_t)(c - t->slots);
	return c;
}

void conn_table_put(struct conn_table *t, struct conn *c)
{
	pthread_mutex_lock(&t->lock);
	t->free_ids[t->nfree++] = c->id;
	pthread_mutex_unlock(&t->lock);
}

bool conn_alloc(struct conn *c, bool log)
{
	c->in = malloc(CONN_IN_CAP);
	c->out = malloc(CONN_OUT_CAP);
	if (log)
		c->log = calloc(1, sizeof(*c->log));
	return c->in && c->out && (!log || c->log);
}

void conn_release(struct conn *c)
{
	close(c->fd);
	if (c->file_fd >= 0)
		close(c->file_fd);
	free(c->in);
	free(c->out);
	free(c->log);
	c->in = c->out = NULL;
	c->log = NULL;
}
