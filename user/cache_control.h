/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * --cache-control rules: which Cache-Control value a file's responses carry,
 * by the file's path, as nginx's add_header in a location. The same value
 * goes into userspace's responses and the kernel's cached ones, since both
 * take their head from files_head_init().
 */
#ifndef CACHE_CONTROL_H
#define CACHE_CONTROL_H

#include <stdbool.h>

#define CACHE_CONTROL_MAX	16	/* rules */
#define CACHE_CONTROL_TEXT	256	/* a rule's text, NUL included */

/* "/assets/=public, max-age=31536000, immutable" or "*.html=no-cache" */
struct cache_control_rule {
	/* the pattern (without the "*" of a suffix), a NUL, the value */
	char text[CACHE_CONTROL_TEXT];
	unsigned value_off;	/* of the value in text */
	bool suffix;		/* "*.ext": the path ends so; else it starts so */
};

struct cache_control {
	struct cache_control_rule rules[CACHE_CONTROL_MAX];
	unsigned n;
};

/*
 * Adds the rule text: "PREFIX=VALUE" (PREFIX starts with '/') or
 * "*SUFFIX=VALUE" (e.g. "*.html"). The value is a field value: not empty,
 * no control bytes. Returns whether text is such a rule and there is room.
 */
bool cache_control_add(struct cache_control *cc, const char *text);

/* The value for the file at path from the root ("/dir/index.html", or
 * "dir/index.html": a leading '/' is optional): the first rule that
 * matches, in the order they were given; NULL if none does. */
const char *cache_control_for(const struct cache_control *cc,
			      const char *path);

#endif /* CACHE_CONTROL_H */
