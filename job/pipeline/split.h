/* A sink stage that stores one stream as a sequence of objects of at most
 * `limit` bytes each (job/pipeline/parts_plan.h): "<leaf>", then "<leaf>.0002",
 * "<leaf>.0003", ... in the backup's folder, each created only if absent
 * (STORE_CREATE) and hashed on its own. Their concatenation, in that order,
 * is the stream, which split hashes too: the first object's digest is the
 * stream's digest at its end, so a stream of one object (the usual backup)
 * is hashed once. Finishing makes the last object visible; freeing the stage
 * unfinished aborts the object being written and removes those already
 * finished, unless split_keep said they now belong to a manifest. */
#ifndef LIFEBOAT_SPLIT_H
#define LIFEBOAT_SPLIT_H

#include <stddef.h>
#include <stdint.h>

struct stage;
struct store;

struct split_object {
	char *leaf; /* the key below the folder */
	uint64_t size;
	char sha256[65];
};

/* Opens the first object's writer now, so storage errors come before the
 * dump starts. dir is "ns/name/"; limit 0 means one object of any size. */
int split_new(struct stage **out, struct store *st, const char *dir, const char *leaf,
	      uint64_t limit);
/* After finish: the objects written, in order. */
size_t split_count(const struct stage *s);
const struct split_object *split_get(const struct stage *s, size_t i);
/* After finish: the whole stream's size and SHA-256 (lowercase hex, 65). */
uint64_t split_stream_size(const struct stage *s);
void split_stream_hex(const struct stage *s, char out[65]);
/* The objects are now referenced (the manifest exists): keep them. */
void split_keep(struct stage *s);
/* Pure: the leaf of object i (0-based) of a stream stored as leaf; caller
 * frees. */
char *split_leaf(const char *leaf, size_t i);

#endif
