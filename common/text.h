/* Small text helpers shared by the URL and XML parsers of the backends. Pure. */
#ifndef LIFEBOAT_TEXT_H
#define LIFEBOAT_TEXT_H

#include <stddef.h>

struct buf;

/* The value of a hex digit, or -1. */
int text_hexval(int c);
/* p[0..n) as 2n lowercase hex digits and a NUL: out holds 2n + 1 bytes. */
void text_hex(char *out, const void *p, size_t n);
/* s (may be NULL) is a SHA-256 as written everywhere: exactly 64 lowercase
 * hex digits. */
int text_is_sha256_hex(const char *s);
/* %XX-decodes s[0..n) into a new string (caller frees); '+' becomes a space
 * when plus_is_space (form encoding). NULL for a bad escape or an encoded NUL. */
char *text_pct_decode(const char *s, size_t n, int plus_is_space);
/* Appends s percent-encoded (RFC 3986): unreserved characters stay, and so
 * does '/' when keep_slash. */
void text_pct_encode(struct buf *out, const char *s, int keep_slash);
/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 when the
 * bytes there are not one (overlong forms, surrogates and values past
 * U+10FFFF included). */
size_t text_utf8_len(const unsigned char *p, size_t n);

#endif
