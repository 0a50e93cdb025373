/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A setting as config.c's table describes it, and what can be done with a
 * setting's value whatever its type (config_setting.c). Private to the two.
 */
#ifndef CONFIG_SETTING_H
#define CONFIG_SETTING_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

enum setting_type {
	T_PORT,		/* uint16_t, 1-65535 */
	T_STRING,	/* const char *, not empty */
	T_USER,		/* T_STRING that also sets user_explicit */
	T_OPTIONAL,	/* const char *, empty: NULL (off) */
	T_INTERFACE,	/* T_OPTIONAL, compared by the addresses it gives */
	T_LIST,		/* struct config_list: one more each time */
	T_SWITCH,	/* bool; a flag without value, true/false elsewhere */
	T_NOT_SWITCH,	/* T_SWITCH that clears a T_BOOL's field */
	T_BOOL,		/* bool with a value, printed on/off */
	T_ENUM,		/* unsigned, one of names[] */
	T_SIZE,		/* uint64_t, K/M/G suffixes, min-max */
	T_COUNT,	/* unsigned, min-max (seconds: 1-3600) */
};

struct setting {
	const char *name;	/* flag, config key, FILESERVER_<NAME> */
	int short_flag;		/* 0: none */
	enum setting_type type;
	size_t offset;		/* of the field in struct server_config */
	const char *def;	/* the default as a file says it; NULL: 0 */
	unsigned long long min, max;	/* T_SIZE and T_COUNT */
	const char *const *names;	/* T_ENUM, by value */
	const char *arg;	/* the value's name; NULL: a switch */
	const char *help;	/* --help: '\n' goes on, '@' is the default */
	const char *what;	/* for messages: "invalid <what> '<value>'" */
	bool live;		/* SIGHUP takes it on */
};

#define FIELD(c, s, type)	((type *)((char *)(c) + (s)->offset))
#define CFIELD(c, s, type)	\
	((__typeof__(type) const *)((const char *)(c) + (s)->offset))

/* Where a value comes from: a T_LIST's values from a later source
 * replace an earlier one's. */
enum source { SRC_DEFAULT, SRC_FILE, SRC_ENV, SRC_ARGV };

/* Sets s's field from value, which must outlive the config. */
bool setting_parse(struct server_config *c, const struct setting *s,
		   const char *value, enum source src);

/* s's value as a config file says it, in buf if need be; NULL if it is
 * not to be printed (T_LIST: a line per value, by config_print()). */
const char *setting_text(const struct server_config *c,
			 const struct setting *s, char *buf, size_t size);

/* On SIGHUP, takes next's value of s if s is live; returns whether the
 * change needs a restart instead. */
bool setting_reload(struct server_config *cfg,
		    const struct server_config *next,
		    const struct setting *s);

#endif /* CONFIG_SETTING_H */
