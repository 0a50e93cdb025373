/* The in-memory maps behind fake_kernel_path.c, for cache.c's unit tests. */
#ifndef FAKE_KERNEL_PATH_H
#define FAKE_KERNEL_PATH_H

#include <stdbool.h>
#include <stdint.h>

#include "kernel_path.h"

#define FAKE_CHUNKS	(2 * FS_ENTRY_MAX_CHUNKS)
#define FAKE_KEYS	(2 * FS_CACHE_ENTRIES)

struct fake_maps {
	struct fs_cache_key keys[FAKE_KEYS];	/* file_cache */
	struct fs_cache_ref refs[FAKE_KEYS];
	int nkeys;
	struct fs_cache_entry entries[FS_CACHE_ENTRIES];
	char chunks[FAKE_CHUNKS][FS_CHUNK_SIZE];
	bool refuse;				/* writes fail */
};

extern struct fake_maps fake;

/* Where (path, FS_ENC_ANY) is in file_cache, or -1: the key of a file
 * without variants. */
int fake_key_index(const char *path);
/* The response the kernel would send for path (resp_len bytes in *len), or
 * NULL if it would not answer; for a request accepting the codings enc. */
const char *fake_response(const char *path, uint32_t *len);
const char *fake_response_enc(const char *path, uint32_t enc, uint32_t *len);

#endif /* FAKE_KERNEL_PATH_H */
