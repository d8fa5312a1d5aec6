/* Owned growable bytes, always NUL-terminated, with a size cap (curl dynbuf). */
#ifndef LIFEBOAT_BUF_H
#define LIFEBOAT_BUF_H

#include <stddef.h>

struct buf {
	char *ptr; /* NULL until the first add */
	size_t len;
	size_t cap;
	size_t max; /* adds that would pass this fail with E_TOOBIG */
	int secret; /* buf_init_secret: every block left behind is wiped */
};

void buf_init(struct buf *b, size_t max);
/* As buf_init, for a secret (a passphrase, a key, a token): when the buffer
 * grows, the old block is wiped before it is freed (never realloc'ed in
 * place with a copy left behind), buf_reset and buf_dispose wipe the block,
 * and buf_addf wipes its scratch copy. buf_take hands the bytes out: wiping
 * them is then the caller's job. The mode survives buf_dispose and buf_take. */
void buf_init_secret(struct buf *b, size_t max);
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
/* Copies n bytes from src to dst, then wipes all src_size bytes of src (the
 * caller frees it): the step a secret buffer grows by. */
void buf_move_wipe(void *dst, void *src, size_t n, size_t src_size);

#endif
