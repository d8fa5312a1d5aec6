/* The adaptive zstd level: see zadapt.h. */
#include "job/pipeline/zadapt.h"

#include <string.h>

/* The compressor blocks the pipe: more than this share of the window. */
#define BUSY_SHARE 0.60
/* The compressor waits: at least this share of the window went to waiting
 * for input or for the stages after it. */
#define WAIT_SHARE 0.60
/* A level up must make the output at least this much smaller. */
#define GAIN 0.98
/* Windows to wait after a step down, and before probing a refused level. */
#define HOLD_AFTER_DOWN 4
#define HOLD_AFTER_REFUSAL 8

void zadapt_init(struct zadapt *a, int lo, int hi)
{
	memset(a, 0, sizeof(*a));
	a->lo = lo;
	a->hi = hi;
	a->level = lo;
}

void zadapt_account(struct zadapt *a, uint64_t in)
{
	a->bytes[a->level] += in;
}

int zadapt_next(struct zadapt *a, const struct zadapt_window *w)
{
	zadapt_account(a, w->in);
	if (w->in > 0) {
		double r = (double)w->out / (double)w->in;
		/* Smoothed: one window's output lags its input by the jobs in flight. */
		a->ratio[a->level] =
		    a->ratio[a->level] > 0 ? 0.5 * a->ratio[a->level] + 0.5 * r : r;
	}
	/* This level was seen not to beat the one below: back to it. */
	if (a->level > a->lo && a->ratio[a->level - 1] > 0 &&
	    a->ratio[a->level] > a->ratio[a->level - 1] * GAIN) {
		a->ratio[a->level] = 0;
		a->level--;
		a->hold = HOLD_AFTER_REFUSAL;
		return a->level;
	}
	if (w->wall <= 0)
		return a->level;
	double busy = w->busy / w->wall;
	double waiting = 1.0 - busy;
	if (busy > BUSY_SHARE) {
		if (a->level > a->lo)
			a->level--;
		a->hold = HOLD_AFTER_DOWN;
		return a->level;
	}
	if (a->hold > 0) {
		a->hold--;
		return a->level;
	}
	if (waiting >= WAIT_SHARE && a->level < a->hi) {
		int up = a->level + 1;
		/* A level refused earlier is probed again once its hold is over
		 * (the data changes); the check above takes it back if it still
		 * does not pay. */
		a->level = up;
	}
	return a->level;
}
