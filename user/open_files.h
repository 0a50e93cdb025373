/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Small files kept open between requests, one table per worker, as nginx's
 * open_file_cache: answering a path asked for again costs one stat by path
 * (fstatat) instead of openat2(), fstat() and close().
 *
 * Coherence: every use stats the path again, and the kept fd answers only
 * if the path still names the same file, unchanged in status (a rewrite,
 * chmod or chown moves st_ctime): a file unlinked, renamed over or moved
 * away, a symlink or directory swapped above it, are all seen at once, and
 * the path is then opened again (openat2, beneath the root). A stat needs
 * no RESOLVE_BENEATH: it only compares with a file that was opened
 * beneath the root.
 *
 * Only files of up to OPEN_FILES_SIZE_MAX bytes are kept: their bodies are
 * copied while the request is answered, so no response still reads a
 * cached fd when the table closes it.
 */
#ifndef OPEN_FILES_H
#define OPEN_FILES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#define OPEN_FILES_MAX		128	/* entries (open fds) per worker */
#define OPEN_FILES_PATH_MAX	256	/* longer request paths: not kept */
#define OPEN_FILES_SIZE_MAX	16384	/* bytes; CONN_SMALL_BODY */
/* A file nobody asked for in this long is closed: a deleted one does not
 * hold its disk space much longer. */
#define OPEN_FILES_INACTIVE_MS	10000
#define OPEN_FILES_BUCKETS	256	/* a power of two */
#define OPEN_FILES_NONE		UINT16_MAX

/* One open file, under the request path that named it. */
struct open_file {
	char path[OPEN_FILES_PATH_MAX];
	/* what is stat'ed: path beneath the root, with index.html */
	char file[OPEN_FILES_PATH_MAX + 16];
	int fd;				/* -1: the slot is free */
	bool is_index;			/* the path named its directory */
	dev_t dev;			/* the file opened */
	ino_t ino;
	struct timespec ctime;
	uint64_t used_ms;
	uint16_t next;			/* in its bucket */
	uint16_t newer, older;		/* in the use order */
};

struct open_files {
	struct open_file slot[OPEN_FILES_MAX];
	uint16_t bucket[OPEN_FILES_BUCKETS];
	uint16_t newest, oldest;	/* OPEN_FILES_NONE when empty */
	uint16_t free;			/* chained by next */
};

void open_files_init(struct open_files *of);
/* Closes every fd kept. */
void open_files_clear(struct open_files *of);

/* Whether the kept file f may answer for its path, which now names a
 * file whose stat is now. */
bool open_files_fresh(const struct open_file *f, const struct stat *now);

/* The fd kept for path (beneath root_fd), and the file's stat now in *st;
 * -1 if none is kept or the one kept is stale (then it is closed). The fd
 * stays the table's. */
int open_files_get(struct open_files *of, int root_fd, const char *path,
		   struct stat *st, bool *is_index);

/* Keeps fd, the regular file path names (its directory's index.html if
 * is_index; st its stat), for later requests: true if the table now owns
 * fd, false if it was not kept (too large, too long a path) and is still
 * the caller's. */
bool open_files_put(struct open_files *of, const char *path, int fd,
		    const struct stat *st, bool is_index);

/* Once a second: closes the files nobody asked for lately. */
void open_files_expire(struct open_files *of);

#endif /* OPEN_FILES_H */
