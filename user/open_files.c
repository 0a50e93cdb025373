// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Small files kept open between requests (open_files.h): a hash of request
 * paths over a fixed array of slots, the least recently used slot reused
 * when all are taken. One table per worker, so no locks.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "open_files.h"

/* Only the idle sweep reads it: the coarse clock (a tick's precision)
 * costs less per request. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a: paths are short, and the table is small. */
static uint16_t bucket_of(const char *path)
{
	uint32_t h = 2166136261u;

	while (*path)
		h = (h ^ (unsigned char)*path++) * 16777619u;
	return h & (OPEN_FILES_BUCKETS - 1);
}

void open_files_init(struct open_files *of)
{
	uint16_t i;

	memset(of, 0, sizeof(*of));
	for (i = 0; i < OPEN_FILES_BUCKETS; i++)
		of->bucket[i] = OPEN_FILES_NONE;
	for (i = 0; i < OPEN_FILES_MAX; i++) {
		of->slot[i].fd = -1;
		of->slot[i].next = i + 1 < OPEN_FILES_MAX ? i + 1 :
							   OPEN_FILES_NONE;
	}
	of->newest = of->oldest = OPEN_FILES_NONE;
}

bool open_files_fresh(const struct open_file *f, const struct stat *now)
{
	return now->st_dev == f->dev && now->st_ino == f->ino &&
	       now->st_ctim.tv_sec == f->ctime.tv_sec &&
	       now->st_ctim.tv_nsec == f->ctime.tv_nsec &&
	       S_ISREG(now->st_mode) && now->st_size <= OPEN_FILES_SIZE_MAX;
}

/* ---- the use order: newest first ------------------------------------ */

static void order_unlink(struct open_files *of, uint16_t i)
{
	struct open_file *f = &of->slot[i];

	if (f->newer != OPEN_FILES_NONE)
		of->slot[f->newer].older = f->older;
	else
		of->newest = f->older;
	if (f->older != OPEN_FILES_NONE)
		of->slot[f->older].newer = f->newer;
	else
		of->oldest = f->newer;
}

static void order_push(struct open_files *of, uint16_t i)
{
	struct open_file *f = &of->slot[i];

	f->newer = OPEN_FILES_NONE;
	f->older = of->newest;
	if (of->newest != OPEN_FILES_NONE)
		of->slot[of->newest].newer = i;
	else
		of->oldest = i;
	of->newest = i;
}

/* ---- slots ----------------------------------------------------------- */

/* Closes slot i's file and frees the slot. */
static void drop(struct open_files *of, uint16_t i)
{
	struct open_file *f = &of->slot[i];
	uint16_t *link = &of->bucket[bucket_of(f->path)];

	while (*link != i)
		link = &of->slot[*link].next;
	*link = f->next;
	order_unlink(of, i);
	close(f->fd);
	f->fd = -1;
	f->next = of->free;
	of->free = i;
}

static uint16_t find(const struct open_files *of, const char *path)
{
	uint16_t i = of->bucket[bucket_of(path)];

	while (i != OPEN_FILES_NONE && strcmp(of->slot[i].path, path) != 0)
		i = of->slot[i].next;
	return i;
}

int open_files_get(struct open_files *of, int root_fd, const char *path,
		   struct stat *st, bool *is_index)
{
	uint16_t i = find(of, path);
	struct open_file *f;

	if (i == OPEN_FILES_NONE)
		return -1;
	f = &of->slot[i];
	if (fstatat(root_fd, f->file, st, 0) || !open_files_fresh(f, st)) {
		drop(of, i);
		return -1;
	}
	f->used_ms = now_ms();
	order_unlink(of, i);
	order_push(of, i);
	*is_index = f->is_index;
	return f->fd;
}

bool open_files_put(struct open_files *of, const char *path, int fd,
		    const struct stat *st, bool is_index)
{
	const char *rel = path + strspn(path, "/");
	size_t len = strlen(path);
	struct open_file *f;
	uint16_t i, b;

	if (len >= OPEN_FILES_PATH_MAX || !S_ISREG(st->st_mode) ||
	    st->st_size > OPEN_FILES_SIZE_MAX)
		return false;
	i = find(of, path);
	if (i != OPEN_FILES_NONE)
		drop(of, i);
	if (of->free == OPEN_FILES_NONE)
		drop(of, of->oldest);
	i = of->free;
	f = &of->slot[i];
	of->free = f->next;
	memcpy(f->path, path, len + 1);
	/* "/" is the root's index: "./index.html" */
	snprintf(f->file, sizeof(f->file), "%s%s", *rel ? rel : "./",
		 is_index ? "index.html" : "");
	f->fd = fd;
	f->is_index = is_index;
	f->dev = st->st_dev;
	f->ino = st->st_ino;
	f->ctime = st->st_ctim;
	f->used_ms = now_ms();
	b = bucket_of(path);
	f->next = of->bucket[b];
	of->bucket[b] = i;
	order_push(of, i);
	return true;
}

void open_files_expire(struct open_files *of)
{
	uint64_t now = now_ms();

	while (of->oldest != OPEN_FILES_NONE &&
	       now - of->slot[of->oldest].used_ms >= OPEN_FILES_INACTIVE_MS)
		drop(of, of->oldest);
}

void open_files_clear(struct open_files *of)
{
	while (of->oldest != OPEN_FILES_NONE)
		drop(of, of->oldest);
}
