/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What to answer a parsed request with: the static-file semantics of the
 * server (methods, index.html, redirects, conditionals, ranges, which error
 * statuses end the connection), decided without a socket. The result is a
 * plan, a response head plus a body that is nothing, a few inline bytes or
 * a range of an open file; the worker carries it out.
 */
#ifndef STATIC_FILE_H
#define STATIC_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "content_coding.h"
#include "files.h"
#include "http_request.h"
#include "http_response.h"

struct open_files;

/* Room for an error page (http_error_body) */
#define STATIC_INLINE_MAX	512

enum static_body {
	STATIC_BODY_NONE,	/* a HEAD, a 304, an empty file, a 416 */
	STATIC_BODY_INLINE,	/* inline[0..inline_len) */
	STATIC_BODY_FILE,	/* fd from file_off, file_len bytes */
};

/*
 * head's pointers (content_type aside) point into the plan itself: a plan
 * is filled and used in place. head.date and head.keep_alive are the
 * sender's: it knows the clock and whether the connection stays open.
 */
struct static_file_plan {
	struct http_head head;
	struct http_etag etag;
	char location[HTTP_PATH_MAX + 2];
	bool close_after;		/* the status ends the connection */
	enum static_body body;
	char inline_body[STATIC_INLINE_MAX];
	size_t inline_len;
	int fd;				/* STATIC_BODY_FILE: the caller's */
	bool fd_kept;			/* unless the open_files table keeps it */
	uint64_t file_off, file_len;
	/*
	 * A whole 200 of file (or of one of its variants) for a GET or HEAD:
	 * what the kernel cache could answer next time. file is what the path names, index.html
	 * included, from the document root ("/dir/index.html"); it is set
	 * for every answer about a file.
	 */
	bool cacheable;
	char file[HTTP_PATH_MAX + 16];
};

/*
 * The answer to req, a request for something beneath root_fd: a file (or
 * its precompressed variant, by Accept-Encoding), a directory's index.html,
 * a redirect, the fallback file for a path that names nothing, or an error
 * (its page from the root if one is set). Everything but GET and HEAD is
 * refused (405 for known methods, 501 for others). fc gives the
 * Cache-Control of a file's 200, 206 and 304, the variants looked for, the
 * error pages and the fallback. of (NULL: none) keeps small files open
 * between requests; a plan's fd may then be its (fd_kept).
 */
void static_file_plan(struct static_file_plan *p, int root_fd,
		      struct open_files *of, const struct http_request *req,
		      const struct files_conf *fc);

/* Which representation of a file answers a request. */
struct static_file_rep {
	const char *path;		/* the file, from the root ("/a/b.css") */
	const struct stat *st;		/* of what is sent */
	bool is_index;			/* reached as a directory's index.html */
	enum content_coding coding;	/* IDENTITY: the file itself, else its
					 * variant, which st then describes */
	bool vary;			/* the file has variants */
};

/*
 * The answer to req with the regular file rep describes: 200, 206, 304, 412
 * or 416, with Content-Encoding and Vary as rep says. Opens nothing: a plan
 * with body STATIC_BODY_FILE still needs its fd set. cc (or NULL) gives the
 * Cache-Control, by the file's own path.
 */
void static_file_decide(struct static_file_plan *p,
			const struct http_request *req,
			const struct static_file_rep *rep,
			const struct cache_control *cc);

/* An error page for status; with head_only, its head alone. allow is the
 * Allow value of a 405, else NULL. */
void static_file_error(struct static_file_plan *p, int status, bool head_only,
		       const char *allow);

/* Whether a response with status ends the connection: the request could
 * not be framed (400, 413, 414, 417, 431) or the server failed (5xx). */
bool static_file_status_closes(int status);

#endif /* STATIC_FILE_H */
