/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * --error-page and --fallback: files of the document root that answer in
 * place of the built-in pages, as nginx's error_page and try_files. An
 * error page keeps its status ("404=/404.html"); the fallback answers a
 * GET or HEAD for a path that names nothing with a 200 of its file (a
 * single-page app's "/index.html").
 */
#ifndef ERROR_PAGES_H
#define ERROR_PAGES_H

#include <stdbool.h>

#define ERROR_PAGES_MAX		16
#define ERROR_PAGE_PATH_MAX	256	/* with the NUL */

struct error_page {
	int status;			/* 400-599 */
	char path[ERROR_PAGE_PATH_MAX];	/* from the root, starting with '/' */
};

struct error_pages {
	struct error_page v[ERROR_PAGES_MAX];
	unsigned n;
};

/* A path from the root a page may have: starts with '/', no "." or ".."
 * segment, no "//", no control bytes, shorter than ERROR_PAGE_PATH_MAX. */
bool error_page_path_ok(const char *path);

/* Adds "STATUS=PATH" (e.g. "404=/404.html"); a status given again replaces
 * the earlier one. Returns whether text is such a rule and there is room. */
bool error_pages_add(struct error_pages *ep, const char *text);

/* The page for status, or NULL. */
const char *error_page_for(const struct error_pages *ep, int status);

#endif /* ERROR_PAGES_H */
