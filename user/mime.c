// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Content-Type by file name extension (mime.h). */
#include "http_chars.h"
#include "mime.h"

#include <stdbool.h>

#define MIME_DEFAULT "application/octet-stream"

struct mime_type {
	const char *ext;	/* lower case */
	const char *type;
};

/* Textual types name their charset so that browsers do not sniff one. */
static const struct mime_type mime_types[] = {
	{ "avif",	"image/avif" },
	{ "css",	"text/css; charset=utf-8" },
	{ "csv",	"text/csv; charset=utf-8" },
	{ "gif",	"image/gif" },
	{ "gz",		"application/gzip" },
	{ "htm",	"text/html; charset=utf-8" },
	{ "html",	"text/html; charset=utf-8" },
	{ "ico",	"image/x-icon" },
	{ "jpeg",	"image/jpeg" },
	{ "jpg",	"image/jpeg" },
	{ "js",		"text/javascript; charset=utf-8" },
	{ "json",	"application/json" },
	{ "map",	"application/json" },	/* source maps */
	{ "md",		"text/markdown; charset=utf-8" },
	{ "mjs",	"text/javascript; charset=utf-8" },
	{ "mp3",	"audio/mpeg" },
	{ "mp4",	"video/mp4" },
	{ "ogg",	"audio/ogg" },
	{ "otf",	"font/otf" },
	{ "pdf",	"application/pdf" },
	{ "png",	"image/png" },
	{ "svg",	"image/svg+xml" },
	{ "tar",	"application/x-tar" },
	{ "ttf",	"font/ttf" },
	{ "txt",	"text/plain; charset=utf-8" },
	{ "wasm",	"application/wasm" },	/* streaming compile needs it */
	{ "wav",	"audio/wav" },
	{ "webm",	"video/webm" },
	{ "webp",	"image/webp" },
	{ "woff",	"font/woff" },
	{ "woff2",	"font/woff2" },
	{ "xml",	"application/xml" },
	{ "zip",	"application/zip" },
};

/* ASCII only: strncasecmp() would follow the locale. */
static bool mime_ext_eq(const char *ext, size_t len, const char *lower)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = http_lower((unsigned char)ext[i]);

		if (lower[i] == '\0' || c != (unsigned char)lower[i])
			return false;
	}
	return lower[len] == '\0';
}

const char *mime_type_for(const char *path, size_t len)
{
	size_t i = len;
	size_t k;

	/* Walk back to the last '.', giving up at the start of the segment:
	 * a dot in a directory name ("/v1.2/README") is no extension. */
	while (i > 0 && path[i - 1] != '.' && path[i - 1] != '/')
		i--;
	if (i == 0 || path[i - 1] != '.')
		return MIME_DEFAULT;

	/* A linear scan: the table is small and no entry depends on its order. */
	for (k = 0; k < sizeof(mime_types) / sizeof(mime_types[0]); k++) {
		if (mime_ext_eq(path + i, len - i, mime_types[k].ext))
			return mime_types[k].type;
	}
	return MIME_DEFAULT;
}
