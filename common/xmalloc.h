/* Allocation helpers: out of memory is fatal, so callers never check. */
#ifndef LIFEBOAT_XMALLOC_H
#define LIFEBOAT_XMALLOC_H

#include <stddef.h>

/* Never NULL: the compiler and gcc -fanalyzer may rely on it. */
#define XMALLOC_ATTRS __attribute__((returns_nonnull, warn_unused_result))

void *xmalloc(size_t n) XMALLOC_ATTRS;
void *xcalloc(size_t nmemb, size_t size) XMALLOC_ATTRS;
void *xrealloc(void *p, size_t n) XMALLOC_ATTRS;
char *xstrdup(const char *s) XMALLOC_ATTRS;
char *xstrndup(const char *s, size_t n) XMALLOC_ATTRS;
/* Returns a heap string the caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2))) XMALLOC_ATTRS;

#endif
