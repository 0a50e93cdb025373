// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Configure-time probe: can clang link a libFuzzer target with ASan and
 * UBSan here? (libclang-rt-N-dev provides the runtimes.) */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;
}
