/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Messages for the operator, on stderr, one line each. */
#ifndef LOG_H
#define LOG_H

#include <stdbool.h>

extern bool log_verbose;

void log_msg(const char *level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...)	log_msg("error", __VA_ARGS__)
#define log_warn(...)	log_msg("warning", __VA_ARGS__)
#define log_info(...)	log_msg("info", __VA_ARGS__)
/* log_verbose may change on SIGHUP, in another thread than the reader */
#define log_debug(...)							\
	do {								\
		if (__atomic_load_n(&log_verbose, __ATOMIC_RELAXED))	\
			log_msg("info", __VA_ARGS__);			\
	} while (0)

#endif /* LOG_H */
