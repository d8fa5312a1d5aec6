/* The folder table of a listing: folders in an array, found by an open-
 * addressing hash index of "ns/name" that grows at half full. */
#include "job/model/folders.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "job/model/artifact.h"

struct folders {
	struct folder *v;
	uint64_t *hash; /* v[i]'s hash */
	size_t n, cap, max;
	/* Slots hold an index into v plus one; 0 is empty. */
	size_t *slot;
	size_t nslots; /* a power of two, at least twice n */
};

/* FNV-1a over "ns/name" with a final avalanche (splitmix64), as the work
 * queue's. */
static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t hash_of(const char *ns, size_t nslen, const char *name, size_t namelen)
{
	uint64_t h = fnv(fnv(fnv(0xcbf29ce484222325ULL, ns, nslen), "/", 1), name, namelen);
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static void index_put(struct folders *fs, size_t i)
{
	size_t mask = fs->nslots - 1;
	for (size_t s = fs->hash[i] & mask;; s = (s + 1) & mask)
		if (!fs->slot[s]) {
			fs->slot[s] = i + 1;
			return;
		}
}

static void index_rebuild(struct folders *fs, size_t nslots)
{
	free(fs->slot);
	fs->nslots = nslots;
	fs->slot = xcalloc(nslots, sizeof(*fs->slot));
	for (size_t i = 0; i < fs->n; i++)
		index_put(fs, i);
}

struct folders *folders_new(size_t max)
{
	struct folders *fs = xcalloc(1, sizeof(*fs));
	fs->max = max;
	index_rebuild(fs, 64);
	return fs;
}

void folders_free(struct folders *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->n; i++)
		free(fs->v[i].ns); /* name shares its allocation */
	free(fs->v);
	free(fs->hash);
	free(fs->slot);
	free(fs);
}

/* The folder ns/name (not NUL-terminated): found, or made (NULL when that
 * would pass max). */
static struct folder *lookup(struct folders *fs, const char *ns, size_t nslen, const char *name,
			     size_t namelen)
{
	uint64_t h = hash_of(ns, nslen, name, namelen);
	size_t mask = fs->nslots - 1, s = h & mask;
	for (; fs->slot[s]; s = (s + 1) & mask) {
		size_t i = fs->slot[s] - 1;
		struct folder *f = &fs->v[i];
		if (fs->hash[i] == h && strncmp(f->ns, ns, nslen) == 0 && f->ns[nslen] == '\0' &&
		    strncmp(f->name, name, namelen) == 0 && f->name[namelen] == '\0')
			return f;
	}
	if (fs->n >= fs->max)
		return NULL;
	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? fs->cap * 2 : 64;
		fs->v = xrealloc(fs->v, fs->cap * sizeof(*fs->v));
		fs->hash = xrealloc(fs->hash, fs->cap * sizeof(*fs->hash));
	}
	size_t i = fs->n++;
	struct folder *f = &fs->v[i];
	memset(f, 0, sizeof(*f));
	/* One allocation, "ns\0name\0": folders_free frees ns only. */
	f->ns = xmalloc(nslen + namelen + 2);
	memcpy(f->ns, ns, nslen);
	f->ns[nslen] = '\0';
	f->name = f->ns + nslen + 1;
	memcpy(f->name, name, namelen);
	f->name[namelen] = '\0';
	fs->hash[i] = h;
	if (fs->n * 2 > fs->nslots)
		index_rebuild(fs, fs->nslots * 2);
	else
		fs->slot[s] = i + 1;
	return f;
}

int folders_add(struct folders *fs, const char *key, uint64_t size)
{
	const char *s1 = strchr(key, '/');
	const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	if (!s2 || strchr(s2 + 1, '/'))
		return 0; /* not part of the layout */
	/* Backup names never start with '_': "_restores" holds audit records. */
	if (s1[1] == '_')
		return 0;
	struct folder *f = lookup(fs, key, (size_t)(s1 - key), s1 + 1, (size_t)(s2 - s1 - 1));
	if (!f)
		return err_set(E_TOOBIG,
			       "more than %zu backups in one listing; list one namespace at a "
			       "time (--namespace) or delete old backups",
			       fs->max);
	const char *leaf = s2 + 1;
	if (strcmp(leaf, ARTIFACT_MANIFEST) == 0)
		f->has_manifest = 1;
	else if (strcmp(leaf, ARTIFACT_VERIFIED) == 0)
		f->has_verified = 1;
	f->bytes += size;
	f->objects++;
	return 0;
}

static int cmp_folder(const void *a, const void *b)
{
	const struct folder *x = a, *y = b;
	int c = strcmp(x->ns, y->ns);
	return c ? c : strcmp(x->name, y->name);
}

const struct folder *folders_sorted(struct folders *fs, size_t *n)
{
	if (fs->n) { /* qsort(NULL, 0, ...) is undefined */
		qsort(fs->v, fs->n, sizeof(*fs->v), cmp_folder);
		/* The index points at positions: rebuild it for the new order. */
		for (size_t i = 0; i < fs->n; i++)
			fs->hash[i] = hash_of(fs->v[i].ns, strlen(fs->v[i].ns), fs->v[i].name,
					      strlen(fs->v[i].name));
		index_rebuild(fs, fs->nslots);
	}
	*n = fs->n;
	return fs->v;
}
