/* Percent-decoding and hex digits. */
#include "text.h"

#include <stdlib.h>

#include "xmalloc.h"

int text_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *text_pct_decode(const char *s, size_t n, int plus_is_space)
{
	char *out = xmalloc(n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+' && plus_is_space) {
			out[k++] = ' ';
			continue;
		}
		if (s[i] != '%') {
			out[k++] = s[i];
			continue;
		}
		int hi = i + 2 < n ? text_hexval((unsigned char)s[i + 1]) : -1;
		int lo = i + 2 < n ? text_hexval((unsigned char)s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(out);
			return NULL;
		}
		out[k++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[k] = '\0';
	return out;
}
