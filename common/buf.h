/* Owned growable bytes, always NUL-terminated, with a size cap (curl dynbuf). */
#ifndef LIFEBOAT_BUF_H
#define LIFEBOAT_BUF_H

#include <stddef.h>

struct buf {
	char *ptr; /* NULL until the first add */
	size_t len;
	size_t cap;
	size_t max; /* adds that would pass this fail with E_TOOBIG */
};

void buf_init(struct buf *b, size_t max);
void buf_dispose(struct buf *b);
void buf_reset(struct buf *b);
/* Return 0 or E_TOOBIG (the buffer is left unchanged). */
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Never NULL: "" for an empty buffer. */
const char *buf_str(const struct buf *b);
/* Hands the heap string to the caller (who frees it) and empties b. */
char *buf_take(struct buf *b);

#endif
