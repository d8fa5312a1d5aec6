/* The monotonic clock every timed wait uses: milliseconds that never step
 * with the wall clock, and conditions whose timed waits are measured on it. */
#ifndef LIFEBOAT_CLOCK_H
#define LIFEBOAT_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in milliseconds. */
int64_t clock_mono_ms(void);
/* The instant mono_ms (a clock_mono_ms value) as the absolute time
 * pthread_cond_timedwait takes on a condition made by clock_cond_init. */
struct timespec clock_mono_timespec(int64_t mono_ms);
/* Initialises c so that its timed waits are measured on CLOCK_MONOTONIC. */
void clock_cond_init(pthread_cond_t *c);

#endif
