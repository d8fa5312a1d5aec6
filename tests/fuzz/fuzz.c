/* The helpers every fuzz target links (tests/fuzz/fuzz.h). */
#include "tests/fuzz/fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "\n%s:%d: property failed: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (last error %d: %s)\n", err_code(), err_msg());
	abort();
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

uint64_t fuzz_hash(const uint8_t *data, size_t size)
{
	uint64_t h = 0xcbf29ce484222325u;
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 0x100000001b3u;
	return h;
}

uint64_t fuzz_next(struct fuzz_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

size_t fuzz_slice(struct fuzz_rng *r, size_t max)
{
	uint64_t x = fuzz_next(r);
	/* A quarter single bytes, a quarter up to 16, the rest up to max. */
	size_t n;
	switch (x & 3) {
	case 0:
		n = 1;
		break;
	case 1:
		n = 1 + (size_t)((x >> 2) % 16);
		break;
	default:
		n = 1 + (size_t)((x >> 2) % (max ? max : 1));
	}
	return n > max && max ? max : n;
}

void fuzz_quiet(void)
{
	static FILE *null;
	if (!null)
		null = fopen("/dev/null", "w");
	log_set_level(LOG_LEVEL_ERROR);
	if (null)
		log_set_output(null);
}

int fuzz_debug(void)
{
	static int v = -1;
	if (v < 0) {
		const char *e = getenv("FUZZ_DEBUG");
		v = e && *e;
	}
	return v;
}
