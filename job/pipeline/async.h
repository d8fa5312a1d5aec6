/* A thread boundary inside a chain: bytes written here are copied into a
 * small ring of fixed buffers and passed to the next stage by a worker
 * thread, so the stages on either side run on different cores. */
#ifndef LIFEBOAT_ASYNC_H
#define LIFEBOAT_ASYNC_H

#include "job/pipeline/stage.h"

#define ASYNC_SLOTS 16
#define ASYNC_SLOT_BYTES (256 * 1024)

/* Starts the worker. An error in the downstream stages is returned by the
 * next write or by finish, with its message. Freeing without finish stops
 * the worker and discards what is queued. After a SIGTERM or SIGINT the
 * downstream is not finished: finish returns interrupt_error. */
struct stage *async_new(struct stage *next);

/* Where the bytes of the next write may be placed (up to *room of them):
 * a write of bytes already there (p at the returned address, n <= *room),
 * through any stages that pass their input on unchanged, is queued without
 * a copy. Valid until the next write, finish or free. */
uint8_t *async_space(struct stage *s, size_t *room);

#endif
