/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Files beneath the document root, and the headers that describe them. */
#ifndef FILES_H
#define FILES_H

#include <stdbool.h>
#include <sys/stat.h>

#include "cache_control.h"
#include "http_response.h"

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

#endif /* FILES_H */
