/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Files beneath the document root, and the headers that describe them. */
#ifndef FILES_H
#define FILES_H

#include <stdbool.h>
#include <sys/stat.h>

#include "http_response.h"

/* Opens path (normalised, starting with '/') beneath root_fd. Nothing outside
 * the root can be reached, not even through symlinks; with no_symlinks, no
 * symlink is followed at all. Returns an fd (O_RDONLY) or -errno. */
int files_open(int root_fd, const char *path, bool no_symlinks);

/* The status a failed files_open() is reported with. */
int files_error_status(int err);

/* Fills the headers of a 200 response for a file: Content-Type by name,
 * Content-Length, Last-Modified, ETag (stored in etag), Accept-Ranges. */
void files_head_init(struct http_head *h, struct http_etag *etag,
		     const struct stat *st, const char *name, bool keep_alive);

#endif /* FILES_H */
