// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Custom error pages and the fallback file (error_pages.h): the rules as
 * the settings give them, and which page a status gets. */
#include <stdlib.h>
#include <string.h>

#include "error_pages.h"
#include "http_chars.h"

bool error_page_path_ok(const char *path)
{
	size_t n = strlen(path), i;

	if (path[0] != '/' || n >= ERROR_PAGE_PATH_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (http_ctl((unsigned char)path[i]))
			return false;
		if (path[i] != '/')
			continue;
		/* what follows this '/': not empty, ".", or ".." */
		if (path[i + 1] == '/' ||
		    (path[i + 1] == '.' &&
		     (path[i + 2] == '/' || path[i + 2] == '\0' ||
		      (path[i + 2] == '.' &&
		       (path[i + 3] == '/' || path[i + 3] == '\0')))))
			return false;
	}
	return path[n - 1] != '/';
}

bool error_pages_add(struct error_pages *ep, const char *text)
{
	const char *eq = strchr(text, '=');
	struct error_page *slot = NULL;
	int status;
	unsigned i;

	if (!eq || eq - text != 3 || text[0] < '4' || text[0] > '5' ||
	    !http_digit((unsigned char)text[1]) ||
	    !http_digit((unsigned char)text[2]) ||
	    !error_page_path_ok(eq + 1))
		return false;
	status = atoi(text);
	for (i = 0; i < ep->n; i++)
		if (ep->v[i].status == status)
			slot = &ep->v[i];
	if (!slot) {
		if (ep->n == ERROR_PAGES_MAX)
			return false;
		slot = &ep->v[ep->n++];
	}
	slot->status = status;
	strcpy(slot->path, eq + 1);
	return true;
}

const char *error_page_for(const struct error_pages *ep, int status)
{
	unsigned i;

	for (i = 0; ep && i < ep->n; i++)
		if (ep->v[i].status == status)
			return ep->v[i].path;
	return NULL;
}
