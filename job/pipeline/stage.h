/* Pipeline stages: a chain of writers (curl's client writers). Each stage
 * transforms the bytes it is given and writes the result to its next stage.
 * Backup and restore are two chains built from the same stages. */
#ifndef LIFEBOAT_STAGE_H
#define LIFEBOAT_STAGE_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

struct stage;

struct stage_ops {
	const char *name;
	/* Consumes n bytes; returns 0 or a negative err code (err_set done). */
	int (*write)(struct stage *s, const uint8_t *p, size_t n);
	/* End of input: flushes what is held, checks trailers, then finishes
	 * s->next. Returns 0 or a negative err code. */
	int (*finish)(struct stage *s);
	/* Releases s only (not the chain); wipes secrets. */
	void (*free)(struct stage *s);
};

/* Every stage embeds this as its first member. */
struct stage {
	const struct stage_ops *ops;
	struct stage *next; /* borrowed: the chain owner frees each stage */
};

/* Set (to the signal number) by the signal thread (job/pipeline/interrupt.h) at the
 * first SIGTERM or SIGINT, read by every thread: every chain stops at its
 * next write, so the normal abort paths run (partial objects removed,
 * multipart uploads aborted, an open restore rolled back). */
extern atomic_int stage_interrupted;

int stage_write(struct stage *s, const uint8_t *p, size_t n);
int stage_finish(struct stage *s);
/* Finishes the next stage, or does nothing when there is none. */
int stage_finish_next(struct stage *s);
/* Frees s and every stage after it. stage_free_chain(NULL) does nothing. */
void stage_free_chain(struct stage *s);

/* A passthrough that counts and SHA-256 hashes what flows through it. Never
 * NULL (allocation failure aborts, as out-of-memory does everywhere). */
struct stage *stage_hash_new(struct stage *next);
/* Ends the digest without finishing the next stage (a hash over one part of
 * a longer stream); stage_finish does both. */
int stage_hash_end(struct stage *s);
/* After finish (or stage_hash_end): the byte count and lowercase hex (65). */
uint64_t stage_hash_size(const struct stage *s);
void stage_hash_hex(const struct stage *s, char out[65]);
/* Before the end: the digest of the bytes hashed so far, in lowercase hex,
 * and the hash goes on (a copy of its state is ended). Returns 0 or E_IO. */
int stage_hash_peek(const struct stage *s, char out[65]);

/* A sink appending everything to buf (owned by the caller); for tests and
 * small objects. */
struct buf;
struct stage *stage_buf_new(struct buf *out);
/* A sink that discards. */
struct stage *stage_null_new(void);
/* A sink writing to a file descriptor (not closed by the stage). When the
 * reader closes its end (EPIPE) the rest is discarded: the caller judges the
 * reading process by its exit status. Other errors are E_IO naming `what`.
 * A pipe is made non-blocking while the stage lives, so that waiting on a
 * full one ends at a signal (interrupt_error, E_IO). */
struct stage *stage_fd_new(int fd, const char *what);

#endif
