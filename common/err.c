/* Per-thread last-error storage. */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local int last_code;
static _Thread_local char last_msg[2048];

/* n, or less so that s[0..n) does not end inside a UTF-8 character (a cut
 * message reaches JSON results and logs, which must stay valid UTF-8). */
static size_t whole_chars(const char *s, size_t n)
{
	size_t i = n, back = 0;
	while (i > 0 && back < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) {
		i--;
		back++;
	}
	if (i == 0)
		return n;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t need = (lead & 0xE0) == 0xC0   ? 2
		      : (lead & 0xF0) == 0xE0 ? 3
		      : (lead & 0xF8) == 0xF0 ? 4
					      : 0;
	if (need == 0 || need == back + 1)
		return n; /* ASCII, whole, or not UTF-8 to begin with: left as it is */
	return i - 1;
}

int err_set(int code, const char *fmt, ...)
{
	/* Format aside first: callers may pass err_msg() itself as an argument. */
	char tmp[sizeof(last_msg)];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (len >= (int)sizeof(tmp))
		tmp[whole_chars(tmp, sizeof(tmp) - 1)] = '\0';
	memcpy(last_msg, tmp, sizeof(last_msg));
	last_code = code;
	return code;
}

int err_wrap(const char *fmt, ...)
{
	char prefix[1024], old[sizeof(last_msg)];
	memcpy(old, last_msg, sizeof(old));
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* An over-long message is cut, on a character boundary. */
	size_t plen = strlen(prefix);
	if (len >= (int)sizeof(prefix))
		plen = whole_chars(prefix, plen);
	memcpy(last_msg, prefix, plen);
	memcpy(last_msg + plen, ": ", 2);
	size_t rest = sizeof(last_msg) - plen - 3;
	size_t olen = strnlen(old, rest);
	if (olen == rest && old[olen] != '\0')
		olen = whole_chars(old, olen);
	memcpy(last_msg + plen + 2, old, olen);
	last_msg[plen + 2 + olen] = '\0';
	return last_code;
}

const char *err_msg(void)
{
	return last_msg;
}

int err_code(void)
{
	return last_code;
}

void err_clear(void)
{
	last_code = 0;
	last_msg[0] = '\0';
}

static const struct {
	int code;
	const char *reason;
	int status;
} table[] = {
    {E_OK, "Succeeded", 0},
    {E_INVALID, "InvalidInput", 2},
    {E_IO, "LocalIOError", 1},
    {E_DB, "DatabaseError", 3},
    {E_STORE, "StorageError", 4},
    {E_INTEGRITY, "IntegrityCheckFailed", 5},
    {E_PASSPHRASE, "WrongPassphrase", 6},
    {E_VERSION, "VersionMismatch", 7},
    {E_NOTFOUND, "NotFound", 8},
    {E_EXISTS, "AlreadyExists", 9},
    {E_UNSUPPORTED, "Unsupported", 10},
    {E_TOOBIG, "TooLarge", 1},
    {E_RESTORE, "RestoreFailed", 11},
    {E_CONFLICT, "Conflict", 12},
    {E_GONE, "Expired", 12},
    {E_UNAVAILABLE, "Unavailable", 12},
    {E_FORBIDDEN, "Forbidden", 12},
    {E_TIMEOUT, "Timeout", 12},
    {E_TLS, "TLSError", 4},
    {E_SCHEMA, "SchemaMismatch", 13},
    {E_ROLE, "MissingRole", 14},
};

const char *err_reason(int code)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].code == code)
			return table[i].reason;
	return "InternalError";
}

int err_exit_status(int code)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].code == code)
			return table[i].status;
	return 1;
}
