/* How one backup is cut for its storage, decided once at pre-flight: the
 * part size and the uploads in flight stay fixed for the whole run (memory
 * is part size x (in flight + 1), whatever the database's size), and a dump
 * that would pass the backend's parts-per-object or object-size limit
 * continues in a next object. The objects, concatenated in manifest order,
 * are the one OpenPGP stream (`cat db-ATTEMPT.dump.zst.pgp* | gpg -d`).
 * Pure: no I/O, table-tested. */
#ifndef LIFEBOAT_PARTS_PLAN_H
#define LIFEBOAT_PARTS_PLAN_H

#include <stddef.h>
#include <stdint.h>

/* What a backend takes (job/store/store.h: store_limits). */
struct store_limits {
	size_t part_size;    /* each part (block, chunk) uploaded; the URL's partSize */
	int in_flight;	     /* parts uploaded at once; 0: no part buffers (file://) */
	uint32_t max_parts;  /* parts one object may have; 0: no limit */
	uint64_t max_object; /* bytes one object may hold; 0: no limit */
	const char *unit;    /* what the backend calls a part: "part", "block", "chunk" */
};

#include "job/model/manifest.h"

/* At most this many objects per dump (the manifest's limit). */
#define PARTS_PLAN_MAX_OBJECTS MANIFEST_MAX_OBJECTS

struct parts_plan {
	size_t part_size;
	int in_flight;
	uint64_t object_limit; /* bytes per object before the next begins; 0: one object */
	uint32_t max_parts;    /* parts an object may have (a test's lower limit too); 0: none */
	uint32_t objects;      /* objects expected for the estimate (at least 1) */
	uint64_t memory;       /* part buffers: part_size x (in_flight + 1); 0 for file:// */
};

/* Plans a dump of about `estimate` stored bytes (pg_database_size: dumps
 * are rarely larger) on a backend with limits lim. test_max_parts > 0
 * lowers the parts per object (tests: LIFEBOAT_TEST_MAX_PARTS); for a
 * backend without parts (file://) it counts part_size units. E_INVALID when
 * the estimate needs more than PARTS_PLAN_MAX_OBJECTS objects, naming
 * partSize. */
int parts_plan(struct parts_plan *out, const struct store_limits *lim, uint64_t estimate,
	       uint32_t test_max_parts);
/* A stream that must be one object (the --files archive): bytes of tar,
 * with room for what compression and OpenPGP may add, must fit p's object
 * limit. E_INVALID starting with `what` otherwise, naming the partSize that
 * would fit it (when the parts are the limit) or the largest object. */
int parts_plan_fits_one(const struct parts_plan *p, const struct store_limits *lim, uint64_t bytes,
			const char *what);
/* "parts of 8 MiB, 2 in flight (24 MiB), objects of at most 78.1 GiB
 * (10000 parts): 1 object expected" into out. */
void parts_plan_describe(char *out, size_t n, const struct parts_plan *p,
			 const struct store_limits *lim);

#endif
