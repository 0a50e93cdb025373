// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A setting's value by its type (config_setting.h): parsed from text,
 * printed as a config file says it, compared and taken on by a reload.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_setting.h"

static bool parse_uint(const char *s, unsigned long long min,
		       unsigned long long max, unsigned long long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0' && *out >= min && *out <= max;
}

/* "64M", "512K", "1048576" */
static bool parse_size(const char *s, unsigned long long *out)
{
	unsigned long long v, mult = 1;
	char num[32];
	size_t len = strlen(s);

	if (len == 0 || len >= sizeof(num))
		return false;
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 'k': case 'K': mult = 1ULL << 10; break;
	case 'm': case 'M': mult = 1ULL << 20; break;
	case 'g': case 'G': mult = 1ULL << 30; break;
	}
	if (mult != 1)
		num[len - 1] = '\0';
	if (!parse_uint(num, 0, ULLONG_MAX / mult, &v))
		return false;
	*out = v * mult;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static bool parse_enum(const char *s, const char *const *names,
		       unsigned long long *out)
{
	unsigned i;

	for (i = 0; names[i]; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return true;
		}
	return false;
}

/* The size of a field holding a number, by the type of its setting. */
static const unsigned char field_size[] = {
	[T_PORT] = sizeof(uint16_t),
	[T_SWITCH] = sizeof(bool),
	[T_NOT_SWITCH] = sizeof(bool),
	[T_BOOL] = sizeof(bool),
	[T_ENUM] = sizeof(unsigned),
	[T_SIZE] = sizeof(uint64_t),
	[T_COUNT] = sizeof(unsigned),
};

static unsigned long long get_number(const struct server_config *c,
				     const struct setting *s)
{
	switch (field_size[s->type]) {
	case sizeof(bool):
		return *CFIELD(c, s, bool);
	case sizeof(uint16_t):
		return *CFIELD(c, s, uint16_t);
	case sizeof(unsigned):
		return *CFIELD(c, s, unsigned);
	}
	return *CFIELD(c, s, uint64_t);
}

/* Atomic: on SIGHUP, the workers read the live settings meanwhile. */
static void set_number(struct server_config *c, const struct setting *s,
		       unsigned long long v)
{
	switch (field_size[s->type]) {
	case sizeof(bool):
		__atomic_store_n(FIELD(c, s, bool), v, __ATOMIC_RELAXED);
		break;
	case sizeof(uint16_t):
		__atomic_store_n(FIELD(c, s, uint16_t), v, __ATOMIC_RELAXED);
		break;
	case sizeof(unsigned):
		__atomic_store_n(FIELD(c, s, unsigned), v, __ATOMIC_RELAXED);
		break;
	default:
		__atomic_store_n(FIELD(c, s, uint64_t), v, __ATOMIC_RELAXED);
	}
}

/* One more value of a repeatable setting; what it means is read when the
 * settings are resolved (config.c). */
static bool list_add(struct config_list *l, const char *value,
		     enum source src)
{
	if ((int)src != l->source) {
		l->n = 0;
		l->source = src;
	}
	if (!*value || l->n == CONFIG_LIST_MAX)
		return false;
	l->v[l->n++] = value;
	return true;
}

static bool list_equal(const struct config_list *a,
		       const struct config_list *b)
{
	unsigned i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]) != 0)
			return false;
	return true;
}

/* Sets s's field from value, which must outlive the config. */
bool setting_parse(struct server_config *c, const struct setting *s,
			const char *value, enum source src)
{
	unsigned long long n = 0;
	bool ok = false, b = false;

	switch (s->type) {
	case T_USER:
		c->user_explicit = true;
		/* fall through */
	case T_STRING:
		*FIELD(c, s, const char *) = value;
		return *value != '\0';
	case T_OPTIONAL:
	case T_INTERFACE:
		*FIELD(c, s, const char *) = *value ? value : NULL;
		return true;
	case T_LIST:
		return list_add(FIELD(c, s, struct config_list), value, src);
	case T_PORT:
		ok = parse_uint(value, 1, 65535, &n);
		break;
	case T_SWITCH:
	case T_BOOL:
	case T_NOT_SWITCH:
		ok = parse_bool(value, &b);
		n = b != (s->type == T_NOT_SWITCH);
		break;
	case T_ENUM:
		ok = parse_enum(value, s->names, &n);
		break;
	case T_SIZE:
		ok = parse_size(value, &n) && n >= s->min && n <= s->max;
		break;
	case T_COUNT:
		ok = parse_uint(value, s->min, s->max, &n);
		break;
	}
	if (ok)
		set_number(c, s, n);
	return ok;
}

/* s's value as a config file says it, in buf if need be; NULL if it is
 * not to be printed. */
const char *setting_text(const struct server_config *c,
			      const struct setting *s, char *buf, size_t size)
{
	const char *str;

	switch (s->type) {
	case T_STRING:
	case T_USER:
	case T_OPTIONAL:
	case T_INTERFACE:
		str = *CFIELD(c, s, const char *);
		return str ? str : "";
	case T_SWITCH:
		return get_number(c, s) ? "true" : "false";
	case T_NOT_SWITCH:
	case T_LIST:		/* a line each: config_print() */
		return NULL;	/* its T_BOOL says the same */
	case T_BOOL:
		return get_number(c, s) ? "on" : "off";
	case T_ENUM:
		return s->names[get_number(c, s)];
	case T_PORT:
		/* unset (0) has no written form: leave it out */
		if (!get_number(c, s))
			return NULL;
		/* fall through */
	case T_SIZE:
	case T_COUNT:
		break;
	}
	snprintf(buf, size, "%llu", get_number(c, s));
	return buf;
}

/* On SIGHUP, takes next's value of s if s is live; returns whether the
 * change needs a restart instead. */
bool setting_reload(struct server_config *cfg,
			   const struct server_config *next,
			   const struct setting *s)
{
	const char *now, *then;

	switch (s->type) {
	case T_OPTIONAL:
		now = *CFIELD(cfg, s, const char *);
		then = *CFIELD(next, s, const char *);
		/* a file is opened, or not, at start-up; its path can change */
		if (!now != !then)
			return true;
		if (!s->live)
			return now && strcmp(now, then) != 0;
		if (now)
			__atomic_store_n(FIELD(cfg, s, const char *), then,
					 __ATOMIC_RELAXED);
		return false;
	case T_STRING:
	case T_USER:
		/* served and switched to at start-up: never live */
		return strcmp(*CFIELD(cfg, s, const char *),
			      *CFIELD(next, s, const char *)) != 0;
	case T_INTERFACE:
		/* what is bound to */
		return cfg->nlisten != next->nlisten ||
		       memcmp(cfg->listen, next->listen,
			      cfg->nlisten * sizeof(cfg->listen[0])) != 0;
	case T_LIST:
		/* addresses bound, headers of responses cached: a restart */
		return !list_equal(CFIELD(cfg, s, struct config_list),
				   CFIELD(next, s, struct config_list));
	default:
		if (s->live)
			set_number(cfg, s, get_number(next, s));
		return !s->live && get_number(cfg, s) != get_number(next, s);
	}
}

