/* Log records on stderr, one line each, in one of three formats: the human
 * text the job has always printed (the default), JSON, or logfmt. Records
 * carry a message and key=value fields. Thread-safe: every record is
 * formatted first and written with one call under a lock, so lines from
 * several threads never interleave.
 *
 * Never pass a secret to these: neither in the message nor in a field. */
#ifndef LIFEBOAT_LOG_H
#define LIFEBOAT_LOG_H

#include <stdint.h>
#include <stdio.h>

struct buf;

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

enum log_format {
	/* "2024-05-01T12:00:00Z lifeboat info: message key=value": byte for
	 * byte what log_msg has always printed; fields follow the message. */
	LOG_FORMAT_TEXT,
	/* {"time":"2024-05-01T12:00:00.123Z","level":"info","logger":"lifeboat",
	 *  "msg":"message","key":"value"} */
	LOG_FORMAT_JSON,
	/* time=2024-05-01T12:00:00.123Z level=info logger=lifeboat msg=message key=value */
	LOG_FORMAT_LOGFMT,
};

/* Messages longer than this (from log_msg's format) are cut, as always. */
#define LOG_MSG_MAX 2047
/* Field values longer than this are cut (on a UTF-8 boundary) and end "...". */
#define LOG_VALUE_MAX 4096

/* Each of these may be called from any thread at any time. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Whether a record of this level would be written. */
int log_enabled(enum log_level level);
void log_set_format(enum log_format format);
/* The name in every record (text: "... lifeboat info: ..."; JSON and logfmt:
 * "logger"). Default "lifeboat"; the string is borrowed and must stay valid.
 * NULL restores the default. */
void log_set_program(const char *name);
/* Where records go; NULL restores stderr. The stream is borrowed. */
void log_set_output(FILE *f);

/* "error", "warning" (or "warn"), "info", "debug" -> *out. Returns 0 or
 * E_INVALID naming the value and the accepted ones (*out untouched). */
int log_parse_level(const char *s, enum log_level *out);
/* "text", "json", "logfmt" -> *out; 0 or E_INVALID (*out untouched). */
int log_parse_format(const char *s, enum log_format *out);

/* A record with a printf-formatted message (cut at LOG_MSG_MAX bytes). */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A record with a message and fields: after msg come key, value pairs of
 * strings, ended by a NULL key:
 *   log_kv(LOG_LEVEL_INFO, "reconciled", "kind", "DatabaseBackup", "ns", ns, NULL);
 * A NULL value is written as null (JSON) or an empty value. Keys are
 * program constants ([A-Za-z0-9_.-]); "time", "level", "logger" and "msg"
 * are reserved and get a "_" appended. */
void log_kv(enum log_level level, const char *msg, ...) __attribute__((sentinel));
/* log_kv with the pairs in an array of 2*npairs strings. */
void log_kvv(enum log_level level, const char *msg, const char *const *kv, size_t npairs);

/* Pure: appends one record (with its '\n') to out. unix_ms is the wall-clock
 * time in milliseconds since the epoch (the text format shows whole
 * seconds). Invalid UTF-8 in msg or values becomes U+FFFD in JSON. Returns 0
 * or E_TOOBIG from out's cap (out is then left as it was). */
int log_format_record(struct buf *out, enum log_format format, const char *program,
		      enum log_level level, int64_t unix_ms, const char *msg, const char *const *kv,
		      size_t npairs);

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
