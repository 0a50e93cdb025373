// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* --cache-control rules (cache_control.h). */
#include <string.h>

#include "cache_control.h"
#include "http_chars.h"

bool cache_control_add(struct cache_control *cc, const char *text)
{
	struct cache_control_rule *r;
	const char *eq = strchr(text, '='), *v;
	size_t len = strlen(text);

	if (cc->n == CACHE_CONTROL_MAX || !eq || eq == text ||
	    len >= CACHE_CONTROL_TEXT)
		return false;
	for (v = eq + 1; *v == ' '; v++)
		;
	if (!*v)
		return false;
	for (; *v; v++)
		if (http_ctl((unsigned char)*v))
			return false;
	r = &cc->rules[cc->n];
	r->suffix = text[0] == '*';
	if (!r->suffix && text[0] != '/')
		return false;
	if (r->suffix && eq == text + 1)
		return false;	/* "*=...": every path, which "/" says */
	/* the pattern, its NUL where '=' was, then the value */
	memcpy(r->text, text + r->suffix, len - r->suffix + 1);
	r->text[eq - text - r->suffix] = '\0';
	for (v = r->text + (eq - text - r->suffix) + 1; *v == ' '; v++)
		;
	r->value_off = (unsigned)(v - r->text);
	cc->n++;
	return true;
}

const char *cache_control_for(const struct cache_control *cc,
			      const char *path)
{
	size_t len;
	unsigned i;

	if (!cc->n)		/* every request asks: keep the usual case free */
		return NULL;
	path += *path == '/';
	len = strlen(path);
	for (i = 0; i < cc->n; i++) {
		const struct cache_control_rule *r = &cc->rules[i];
		/* a prefix without its leading '/', as path is now */
		const char *pat = r->text + !r->suffix;
		size_t n = strlen(pat);

		if (r->suffix ? len >= n && !strcmp(path + len - n, pat)
			      : !strncmp(path, pat, n))
			return r->text + r->value_off;
	}
	return NULL;
}
