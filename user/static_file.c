// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Static-file semantics (static_file.h): which file a path names, and which
 * status, headers and bytes answer a request for it. RFC 9110's order of
 * evaluation for conditionals (13.2.2) and its single-range rules (14), with
 * nginx's choices where the RFC leaves one: an ignored Range gives a 200, a
 * directory without index.html is 403, a directory without its slash 301.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "http_date.h"
#include "mime.h"
#include "open_files.h"
#include "static_file.h"

bool static_file_status_closes(int status)
{
	return status >= 500 || status == 400 || status == 413 ||
	       status == 414 || status == 417 || status == 431;
}

/* Sets what every plan has. The buffers are left alone: they are 9 KiB a
 * request, and read only where a field says they hold something. */
static void plan_init(struct static_file_plan *p)
{
	p->head = (struct http_head){ .last_modified = -1 };
	p->close_after = false;
	p->body = STATIC_BODY_NONE;
	p->inline_len = 0;
	p->fd = -1;
	p->fd_kept = false;
	p->file_off = 0;
	p->file_len = 0;
	p->cacheable = false;
}

/* A plan for an HTML page of its own: an error, or a redirect's note. */
static void plan_page(struct static_file_plan *p, int status, bool head_only)
{
	plan_init(p);
	p->head.status = status;
	p->head.content_type = "text/html; charset=utf-8";
	p->close_after = static_file_status_closes(status);
	p->inline_len = http_error_body(p->inline_body, sizeof(p->inline_body),
					status);
	p->head.content_length = p->inline_len;
	p->body = head_only ? STATIC_BODY_NONE : STATIC_BODY_INLINE;
}

void static_file_error(struct static_file_plan *p, int status, bool head_only,
		       const char *allow)
{
	plan_page(p, status, head_only);
	p->head.allow = allow;
}

/* 301 to the path with its slash: a directory asked for without one. */
static void plan_redirect(struct static_file_plan *p,
			  const struct http_request *req)
{
	const char *path = req->target;
	size_t len = 0;

	plan_page(p, 301, req->method == HTTP_HEAD);
	/* target is not NUL-terminated: it points into the request */
	while (len < req->target_len && path[len] != '?' && path[len] != '#')
		len++;
	/* the raw target is already percent-encoded, the decoded path not */
	if (path[0] != '/' || len >= sizeof(p->location) - 1) {
		path = req->path;
		len = req->path_len;
	}
	memcpy(p->location, path, len);
	p->location[len] = '/';
	p->location[len + 1] = '\0';
	p->head.location = p->location;
}

/* RFC 9110 13.2.2 steps 1 and 2: the version the client expects is not
 * the one we have. */
static bool precondition_failed(const struct http_request *req,
				const struct http_etag *etag,
				const struct stat *st)
{
	if (req->if_match)
		return !http_etag_matches(etag, req->if_match,
					  req->if_match_len, true);
	return req->if_unmodified_since >= 0 &&
	       st->st_mtim.tv_sec > req->if_unmodified_since;
}

/* Steps 3 and 4: the client's copy is current. */
static bool not_modified(const struct http_request *req,
			 const struct http_etag *etag, const struct stat *st)
{
	if (req->if_none_match)
		return http_etag_matches(etag, req->if_none_match,
					 req->if_none_match_len, false);
	return req->if_modified_since >= 0 &&
	       st->st_mtim.tv_sec <= req->if_modified_since;
}

/* If-Range: the range applies only to the version the client holds. */
static bool range_applies(const struct http_request *req,
			  const struct http_etag *etag, const struct stat *st)
{
	char date[HTTP_DATE_LEN + 1];

	if (!req->range.present)
		return false;
	if (!req->if_range)
		return true;
	if (req->if_range[0] == '"')
		return req->if_range_len == etag->len &&
		       memcmp(req->if_range, etag->text, etag->len) == 0;
	http_date_format(st->st_mtim.tv_sec, date);
	return req->if_range_len == HTTP_DATE_LEN &&
	       memcmp(req->if_range, date, HTTP_DATE_LEN) == 0;
}

/* Resolves a single byte range against size; false if unsatisfiable. */
static bool range_resolve(const struct http_range *r, uint64_t size,
			  uint64_t *first, uint64_t *last)
{
	if (size == 0 || r->unsatisfiable_syntax)
		return false;
	if (r->suffix) {
		*first = r->first < size ? size - r->first : 0;
		*last = size - 1;
		return true;
	}
	if (r->first >= size)
		return false;
	*first = r->first;
	*last = r->last < size - 1 ? r->last : size - 1;
	return true;
}

/* 206 for the range, or 416 when the file cannot satisfy it. */
static void plan_range(struct static_file_plan *p,
		       const struct http_request *req, uint64_t size)
{
	uint64_t first, last;

	p->head.total_size = size;
	if (!range_resolve(&req->range, size, &first, &last)) {
		p->head.status = 416;
		p->head.content_length = 0;
		p->head.content_type = NULL;
		p->head.cache_control = NULL;	/* as nginx's add_header */
		p->body = STATIC_BODY_NONE;
		return;
	}
	p->head.status = 206;
	p->head.has_range = true;
	p->head.range_first = first;
	p->head.range_last = last;
	p->head.content_length = last - first + 1;
	p->file_off = first;
}

/* The file req names, from the root: its path, or its directory's
 * index.html. */
static void file_path(char *out, const struct http_request *req,
		      bool is_index)
{
	memcpy(out, req->path, req->path_len);
	strcpy(out + req->path_len, is_index ? "index.html" : "");
}

void static_file_decide(struct static_file_plan *p,
			const struct http_request *req,
			const struct static_file_rep *rep,
			const struct cache_control *cc)
{
	bool head_only = req->method == HTTP_HEAD;
	const struct stat *st = rep->st;

	plan_init(p);
	snprintf(p->file, sizeof(p->file), "%s", rep->path);
	files_head_init(&p->head, &p->etag, st, p->file, cc);
	p->head.content_encoding = coding_name(rep->coding);
	p->head.vary_accept_encoding = rep->vary;
	if (precondition_failed(req, &p->etag, st)) {
		static_file_error(p, 412, head_only, NULL);
		return;
	}
	if (not_modified(req, &p->etag, st)) {
		p->head.status = 304;
		head_only = true;
	} else if (range_applies(req, &p->etag, st)) {
		plan_range(p, req, st->st_size);
		if (p->head.status == 416)
			return;
	} else {
		p->cacheable = true;
	}
	p->file_len = p->head.content_length;
	p->body = head_only || p->file_len == 0 ? STATIC_BODY_NONE :
						   STATIC_BODY_FILE;
}

/* Opens what path names: a file, or a directory's index.html. Returns the
 * fd of a regular file, or -1 with *status the answer instead. With of,
 * the fd may be one the table keeps open (*kept): not the caller's to
 * close. */
static int open_target(int root_fd, struct open_files *of,
		       const struct http_request *req, struct stat *st,
		       bool *is_index, int *status, bool *kept)
{
	int fd = of ? open_files_get(of, root_fd, req->path, st, is_index) : -1;
	bool stated;

	*kept = fd >= 0;
	if (*kept)
		return fd;
	fd = files_open(root_fd, req->path, false);
	stated = fd >= 0 && fstat(fd, st) == 0;
	*is_index = false;
	if (stated && S_ISDIR(st->st_mode)) {
		int dir = fd;

		if (!req->path_had_trailing_slash) {
			close(dir);
			*status = 301;
			return -1;
		}
		fd = files_open(dir, "index.html", false);
		close(dir);
		*is_index = true;
		stated = fd >= 0 && fstat(fd, st) == 0;
		if (fd == -ENOENT) {
			*status = 403;	/* no index, and no listings */
			return -1;
		}
	}
	if (fd < 0) {
		*status = files_error_status(fd);
		return -1;
	}
	if (!stated || !S_ISREG(st->st_mode)) {
		close(fd);
		*status = 403;
		return -1;
	}
	*kept = of && open_files_put(of, req->path, fd, st, *is_index);
	return fd;
}

/* Done with fd, unless the open-file table keeps it. */
static void release(int fd, bool kept)
{
	if (!kept)
		close(fd);
}

/*
 * Picks the file open as *fd (stat st) or one of its variants, by the
 * request's Accept-Encoding: *fd and rep become those of the one chosen,
 * whose stat is kept in *vst; the others are closed.
 */
static void choose_rep(int root_fd, const struct http_request *req,
		       const struct coding_prefs *codings, int *fd, bool *kept,
		       const struct stat *st, struct stat *vst,
		       struct static_file_rep *rep)
{
	int fds[CODING_COUNT];
	struct stat sts[CODING_COUNT];
	unsigned have, c;

	rep->st = st;
	rep->coding = CODING_IDENTITY;
	rep->vary = false;
	if (!codings || codings->n == 0)
		return;
	have = files_variants(root_fd, rep->path, st, codings, fds, sts);
	if (!have)
		return;
	rep->vary = true;
	rep->coding = coding_choose(codings, have, req->accept_encoding,
				    req->accept_encoding_len);
	for (c = CODING_BR; c < CODING_COUNT; c++) {
		if (!(have & (1u << c)))
			continue;
		if (c != rep->coding) {
			close(fds[c]);
			continue;
		}
		release(*fd, *kept);
		*fd = fds[c];
		*kept = false;
		*vst = sts[c];
		rep->st = vst;
	}
}

/*
 * An error: the page --error-page gives status, with that status, as
 * nginx's error_page; the built-in one if there is none or it cannot be
 * opened. allow is the Allow value of a 405.
 */
static void plan_error(struct static_file_plan *p, int root_fd, int status,
		       bool head_only, const char *allow,
		       const struct files_conf *fc)
{
	const char *page = error_page_for(fc ? fc->error_pages : NULL, status);
	struct stat st;
	int fd = page ? files_open(root_fd, page, false) : -1;

	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		static_file_error(p, status, head_only, allow);
		return;
	}
	plan_init(p);
	p->head.status = status;
	p->head.content_type = mime_type_for(page, strlen(page));
	p->head.content_length = st.st_size;
	p->head.allow = allow;
	p->close_after = static_file_status_closes(status);
	p->file_len = st.st_size;
	p->body = head_only || !st.st_size ? STATIC_BODY_NONE :
					     STATIC_BODY_FILE;
	if (p->body == STATIC_BODY_FILE)
		p->fd = fd;
	else
		close(fd);
}

/* The file the fallback names, for a path that names nothing; -1 if it
 * cannot answer (then the path is a 404 after all). */
static int open_fallback(int root_fd, const char *fallback, struct stat *st)
{
	int fd = fallback ? files_open(root_fd, fallback, false) : -1;

	if (fd >= 0 && (fstat(fd, st) || !S_ISREG(st->st_mode))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* GET or HEAD of what the path names. */
static void plan_file(struct static_file_plan *p, int root_fd,
		      struct open_files *of, const struct http_request *req,
		      const struct files_conf *fc)
{
	char file[sizeof(p->file)];
	struct static_file_rep rep = { .path = file };
	struct stat st, vst;
	int status = 0;
	bool kept;
	int fd = open_target(root_fd, of, req, &st, &rep.is_index, &status,
			     &kept);

	if (fd < 0 && status == 404 && fc &&
	    (fd = open_fallback(root_fd, fc->fallback, &st)) >= 0)
		rep.path = fc->fallback;
	else if (fd >= 0)
		file_path(file, req, rep.is_index);
	if (fd < 0) {
		if (status == 301)
			plan_redirect(p, req);
		else
			plan_error(p, root_fd, status,
				   req->method == HTTP_HEAD, NULL, fc);
		return;
	}
	choose_rep(root_fd, req, fc ? fc->codings : NULL, &fd, &kept, &st,
		   &vst, &rep);
	static_file_decide(p, req, &rep, fc ? fc->cache_control : NULL);
	/* the kernel's key would be the path asked for, not the file's */
	if (rep.path != file)
		p->cacheable = false;
	if (p->body == STATIC_BODY_FILE) {
		p->fd = fd;
		p->fd_kept = kept;
	} else {
		release(fd, kept);
	}
}

void static_file_plan(struct static_file_plan *p, int root_fd,
		      struct open_files *of, const struct http_request *req,
		      const struct files_conf *fc)
{
	switch (req->method) {
	case HTTP_GET:
	case HTTP_HEAD:
		plan_file(p, root_fd, of, req, fc);
		break;
	case HTTP_OTHER:
		plan_error(p, root_fd, 501, false, NULL, fc);
		break;
	default:
		plan_error(p, root_fd, 405, false, "GET, HEAD", fc);
		break;
	}
}
