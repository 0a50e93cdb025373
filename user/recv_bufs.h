/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A worker's receive buffers, provided to its io_uring as one buffer group:
 * a recv takes whichever buffer is free when data arrives, so an idle
 * connection holds no receive memory at all.
 */
#ifndef RECV_BUFS_H
#define RECV_BUFS_H

#include <liburing.h>

#include "conn.h"

#define RECV_BUFS	512		/* buffers, a power of two */
#define RECV_BUF_SIZE	CONN_RECV_BUF
#define RECV_GROUP	0		/* the group id recvs select from */

struct recv_bufs {
	struct io_uring_buf_ring *ring;	/* shared with the kernel */
	char *bufs;			/* RECV_BUFS of RECV_BUF_SIZE */
};

/* Registers the buffers with ring, all of them free. Returns 0, or -1 with
 * the reason logged; recv_bufs_free() then cleans up either way. */
int recv_bufs_setup(struct recv_bufs *rb, struct io_uring *ring);

static inline char *recv_bufs_at(const struct recv_bufs *rb, unsigned bid)
{
	return rb->bufs + (size_t)bid * RECV_BUF_SIZE;
}

/* Gives buffer bid, which a completion handed us, back to the kernel. */
void recv_bufs_recycle(struct recv_bufs *rb, unsigned bid);

void recv_bufs_free(struct recv_bufs *rb);

#endif /* RECV_BUFS_H */
