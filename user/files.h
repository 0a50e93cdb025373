/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Files beneath the document root: opened, read, described by headers, and
 * their precompressed variants. */
#ifndef FILES_H
#define FILES_H

#include <stdbool.h>
#include <sys/stat.h>

#include "cache_control.h"
#include "content_coding.h"
#include "error_pages.h"
#include "http_response.h"

/* How files are answered, from the settings: shared by userspace's answers
 * and the kernel's cache. */
struct files_conf {
	const struct cache_control *cache_control;	/* NULL: none */
	const struct coding_prefs *codings;	/* NULL: no variants */
	const struct error_pages *error_pages;	/* NULL: built-in pages */
	const char *fallback;		/* NULL: a missing path is a 404 */
};

/* Opens path (normalised, starting with '/') beneath root_fd. Nothing outside
 * the root can be reached, not even through symlinks; with no_symlinks, no
 * symlink is followed at all. Returns an fd (O_RDONLY) or -errno. */
int files_open(int root_fd, const char *path, bool no_symlinks);

/* The status a failed files_open() is reported with. */
int files_error_status(int err);

/* Fills the headers of a keep-alive 200 response for the file at path
 * (from the root, "/dir/index.html" or "dir/index.html"): Content-Type by
 * its name, Content-Length, Last-Modified, ETag (stored in etag),
 * Cache-Control by cc's rules (cc may be NULL), Accept-Ranges. Userspace's
 * responses and the kernel's cached ones both start here. */
void files_head_init(struct http_head *h, struct http_etag *etag,
		     const struct stat *st, const char *path,
		     const struct cache_control *cc);

/* Reads the len bytes of the file open as fd (before: its stat) into buf;
 * false if it could not, or if the file changed meanwhile. */
bool files_read_all(int fd, const struct stat *before, char *buf,
		    size_t len);

/*
 * The precompressed variants of the file at path (st: its stat) that may
 * answer for it: regular files named path plus a suffix of one of codings,
 * beneath root_fd, no older than the file (a stale variant is not served).
 * Returns their mask (1 << coding). With fds, each one's fd is left open in
 * fds[coding] and its stat put in sts[coding]; the caller closes them.
 */
unsigned files_variants(int root_fd, const char *path, const struct stat *st,
			const struct coding_prefs *codings,
			int fds[CODING_COUNT], struct stat sts[CODING_COUNT]);

#endif /* FILES_H */
