// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Log lines on stderr: a level, then the message (log.h). */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

bool log_verbose;

void log_msg(const char *level, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fileserver: %s: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
