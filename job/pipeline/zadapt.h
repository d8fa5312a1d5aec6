/* The adaptive zstd level (--compression zstd:auto): a pure controller fed
 * one measurement window at a time by the compress stage. It steps the
 * level down while the compressor is the stage that blocks the pipe, and up
 * while it waits (for input, or for the stages after it), unless the level
 * above was seen not to make the output smaller. */
#ifndef LIFEBOAT_ZADAPT_H
#define LIFEBOAT_ZADAPT_H

#include <stdint.h>

#define ZADAPT_MAX_LEVEL 19

/* One window: bytes in and out, and where its wall time went, in seconds.
 * busy: inside the compressor (compressing, or waiting for its workers);
 * down: handing output to the next stage; the rest waited for input. */
struct zadapt_window {
	uint64_t in, out;
	double wall, busy, down;
};

struct zadapt {
	int lo, hi, level;
	int hold; /* windows before the next step up may be tried */
	/* Output over input last seen at each level (0: not seen lately). */
	double ratio[ZADAPT_MAX_LEVEL + 1];
	/* Input compressed at each level: what the manifest records. */
	uint64_t bytes[ZADAPT_MAX_LEVEL + 1];
};

/* Windows shorter than this, or with less input, are merged into the next. */
#define ZADAPT_WINDOW_S 0.5
#define ZADAPT_WINDOW_BYTES (16u << 20)

/* Starts at lo; 1 <= lo <= hi <= ZADAPT_MAX_LEVEL. */
void zadapt_init(struct zadapt *a, int lo, int hi);
/* Accounts the window to the current level and returns the level for the
 * next one (a->level). */
int zadapt_next(struct zadapt *a, const struct zadapt_window *w);
/* Accounts trailing input (the last, short window) to the current level. */
void zadapt_account(struct zadapt *a, uint64_t in);

#endif
