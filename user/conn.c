// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Connections' slots and memory (conn.h). The slot table is a stack of
 * free ids under one lock: a take or a put is O(1), the lock held for a
 * push or a pop only.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access_log.h"
#include "conn.h"
#include "tls.h"
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

bool conn_bufs_take(struct conn_pool *pool, struct conn *c)
{
	char *block;

	if (c->in)
		return true;
	block = pool->count ? pool->free[--pool->count]
			    : malloc(CONN_IN_CAP + CONN_OUT_CAP);
	if (!block)
		return false;
	c->in = block;
	c->out = block + CONN_IN_CAP;
	return true;
}

void conn_bufs_give(struct conn_pool *pool, struct conn *c)
{
	if (!c->in)
		return;
	if (pool->count < CONN_POOL_KEEP)
		pool->free[pool->count++] = c->in;
	else
		free(c->in);
	c->in = c->out = NULL;
}

void conn_pool_free(struct conn_pool *pool)
{
	while (pool->count)
		free(pool->free[--pool->count]);
}

bool conn_alloc_log(struct conn *c)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);

	c->log = calloc(1, sizeof(*c->log));
	if (c->log && getpeername(c->fd, (struct sockaddr *)&peer, &len) == 0)
		access_entry_peer(c->log, (struct sockaddr *)&peer);
	return c->log != NULL;
}

void conn_release(struct conn_pool *pool, struct conn *c)
{
	tls_conn_free(c->tls);
	c->tls = NULL;
	close(c->fd);
	if (c->file_fd >= 0)
		close(c->file_fd);
	conn_bufs_give(pool, c);
	free(c->log);
	c->log = NULL;
}
