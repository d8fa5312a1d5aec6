/* Growable, capped, NUL-terminated byte buffer. */
#include "common/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "common/xmalloc.h"

void buf_init(struct buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->secret = 0;
}

void buf_init_secret(struct buf *b, size_t max)
{
	buf_init(b, max);
	b->secret = 1;
}

/* Empty again, in the same mode. */
static void reinit(struct buf *b)
{
	int secret = b->secret;
	buf_init(b, b->max);
	b->secret = secret;
}

void buf_dispose(struct buf *b)
{
	if (b->secret && b->ptr)
		OPENSSL_cleanse(b->ptr, b->cap);
	free(b->ptr);
	reinit(b);
}

void buf_reset(struct buf *b)
{
	if (b->secret && b->ptr)
		OPENSSL_cleanse(b->ptr, b->cap);
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

void buf_move_wipe(void *dst, void *src, size_t n, size_t src_size)
{
	if (n)
		memcpy(dst, src, n);
	OPENSSL_cleanse(src, src_size);
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return err_set(E_TOOBIG, "buffer limit of %zu bytes exceeded", b->max);
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (b->secret && b->ptr) {
			/* realloc could move the bytes and leave the old copy in
			 * freed memory: move them ourselves and wipe it. */
			char *grown = xmalloc(cap);
			buf_move_wipe(grown, b->ptr, b->len + 1, b->cap);
			free(b->ptr);
			b->ptr = grown;
		} else {
			b->ptr = xrealloc(b->ptr, cap);
		}
		b->cap = cap;
	}
	if (n)
		memcpy(b->ptr + b->len, p, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return err_set(E_INVALID, "format error in buf_addf");
	if ((size_t)n < sizeof(small)) {
		int rc = buf_add(b, small, (size_t)n);
		if (b->secret)
			OPENSSL_cleanse(small, sizeof(small));
		return rc;
	}
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = buf_add(b, big, (size_t)n);
	if (b->secret)
		OPENSSL_cleanse(big, (size_t)n + 1);
	free(big);
	return rc;
}

const char *buf_str(const struct buf *b)
{
	return b->ptr ? b->ptr : "";
}

char *buf_take(struct buf *b)
{
	char *p = b->ptr ? b->ptr : xstrdup("");
	reinit(b);
	return p;
}
