/*
 * Content-Type by file name extension.
 */
#ifndef MIME_H
#define MIME_H

#include <stddef.h>

/*
 * The media type for a file path of len bytes (no NUL needed). The extension
 * is what follows the last '.' of the last path segment, compared without
 * regard to ASCII case. Anything unknown is "application/octet-stream", which
 * makes browsers download rather than guess and render.
 */
const char *mime_type_for(const char *path, size_t len);

#endif /* MIME_H */
