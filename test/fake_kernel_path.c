/*
 * A kernel side for cache.c's unit tests: the response cache's maps kept
 * in memory (fake_kernel_path.h), so that a test sees what the kernel
 * would answer with, and can make the maps refuse.
 */
#include <errno.h>
#include <string.h>

#include "fake_kernel_path.h"

struct fake_maps fake;

/* Where (path, enc) is in file_cache, or -1. */
static int fake_key_enc_index(const char *path, uint32_t enc)
{
	int i;

	for (i = 0; i < fake.nkeys; i++)
		if (strcmp(fake.keys[i].path, path) == 0 &&
		    fake.keys[i].enc == enc)
			return i;
	return -1;
}

int kernel_path_cache_write(struct kernel_path *kp, const uint32_t *chunks,
			    uint32_t nchunks, const void *bytes)
{
	uint32_t i;

	(void)kp;
	if (fake.refuse)
		return -ENOMEM;
	for (i = 0; i < nchunks; i++) {
		if (chunks[i] >= FAKE_CHUNKS)
			return -E2BIG;
		memcpy(fake.chunks[chunks[i]], (const char *)bytes +
		       (size_t)i * FS_CHUNK_SIZE, FS_CHUNK_SIZE);
	}
	return 0;
}

int kernel_path_cache_publish(struct kernel_path *kp,
			      const struct fs_cache_key *key, uint32_t id,
			      const struct fs_cache_entry *entry)
{
	int k = fake_key_enc_index(key->path, key->enc);

	(void)kp;
	if (fake.refuse)
		return -ENOMEM;
	fake.entries[id] = *entry;
	if (k < 0) {
		k = fake.nkeys++;
		fake.keys[k] = *key;
	}
	fake.refs[k] = (struct fs_cache_ref){ .entry = id, .gen = entry->gen };
	return 0;
}

int kernel_path_cache_retire(struct kernel_path *kp,
			     const struct fs_cache_key *key, uint32_t id,
			     uint32_t gen)
{
	int k = fake_key_enc_index(key->path, key->enc);

	(void)kp;
	if (k >= 0) {
		fake.nkeys--;
		fake.keys[k] = fake.keys[fake.nkeys];
		fake.refs[k] = fake.refs[fake.nkeys];
	}
	fake.entries[id].gen = gen;
	return 0;
}

int fake_key_index(const char *path)
{
	return fake_key_enc_index(path, FS_ENC_ANY);
}

const char *fake_response(const char *path, uint32_t *len)
{
	return fake_response_enc(path, FS_ENC_ANY, len);
}

const char *fake_response_enc(const char *path, uint32_t enc, uint32_t *len)
{
	static char resp[FS_ENTRY_MAX_CHUNKS * FS_CHUNK_SIZE];
	const struct fs_cache_entry *e;
	uint32_t i;
	int k = fake_key_enc_index(path, enc);

	if (k < 0)
		return NULL;
	e = &fake.entries[fake.refs[k].entry];
	if (e->gen != fake.refs[k].gen)
		return NULL;
	for (i = 0; i < e->nchunks; i++)
		memcpy(resp + (size_t)i * FS_CHUNK_SIZE, fake.chunks[e->chunk[i]],
		       FS_CHUNK_SIZE);
	*len = e->resp_len;
	return resp;
}
