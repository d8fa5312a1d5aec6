/* Small text helpers shared by the URL and XML parsers of the backends. Pure. */
#ifndef LIFEBOAT_TEXT_H
#define LIFEBOAT_TEXT_H

#include <stddef.h>

/* The value of a hex digit, or -1. */
int text_hexval(int c);
/* %XX-decodes s[0..n) into a new string (caller frees); '+' becomes a space
 * when plus_is_space (form encoding). NULL for a bad escape or an encoded NUL. */
char *text_pct_decode(const char *s, size_t n, int plus_is_space);

#endif
