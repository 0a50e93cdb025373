/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The request-target of a parsed request line, turned into the path the
 * server looks up: origin-form, absolute-form or "*", percent-decoded, with
 * dot segments removed (RFC 3986 5.2.4) so that nothing climbs above "/".
 */
#ifndef HTTP_TARGET_H
#define HTTP_TARGET_H

#include "http_request.h"

/*
 * Fills req->path, path_len and path_had_trailing_slash from req->target
 * (target_len bytes, at most HTTP_MAX_URI). Returns 0, or the status to
 * answer: 400 for a malformed target or one above the root, 414 for a
 * decoded path longer than HTTP_PATH_MAX.
 */
int http_parse_target(struct http_request *req);

#endif /* HTTP_TARGET_H */
