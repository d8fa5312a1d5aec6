/* Grouping a storage listing's keys into backup folders for `lifeboat list`:
 * a hash table on "namespace/name" while the keys stream in (O(1) expected
 * per key, whatever order the storage lists them in), one sort at the end.
 * Pure: no I/O. */
#ifndef LIFEBOAT_FOLDERS_H
#define LIFEBOAT_FOLDERS_H

#include <stddef.h>
#include <stdint.h>

/* One backup folder, "ns/name/", and what the listing showed in it. */
struct folder {
	char *ns, *name;
	int has_manifest, has_verified;
	uint64_t bytes;	  /* every object in the folder, as listed */
	uint64_t objects; /* how many */
};

struct folders;

/* An empty grouping that accepts at most max folders; the caller frees it
 * with folders_free. */
struct folders *folders_new(size_t max);
/* NULL is a no-op. */
void folders_free(struct folders *fs);
/* Counts the object key (size bytes) into its folder. Keys outside the
 * layout "ns/name/leaf" (not exactly two slashes) and names starting with
 * '_' (the restores' audit records live in "ns/_restores/") are ignored. Returns 0 or
 * E_TOOBIG when key would start folder number max + 1 (objects of the
 * folders already seen are still counted). */
int folders_add(struct folders *fs, const char *key, uint64_t size);
/* The folders sorted by namespace, then name (bytewise), and their count in
 * *n; borrowed from fs, valid until the next folders_add or folders_free. */
const struct folder *folders_sorted(struct folders *fs, size_t *n);

#endif
