/* Log records: formatting (pure, log_format_record) and writing them to one
 * stream under a lock. */
#include "common/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/text.h"

#define RECORD_MAX (1024 * 1024)

static _Atomic int current = LOG_LEVEL_INFO;
static _Atomic int format_now = LOG_FORMAT_TEXT;
static const char *_Atomic program_name;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *out_stream; /* NULL: stderr; under out_lock */

/* The text format's names are the job's since the start; the structured
 * formats use the short forms log collectors expect. */
static const char *const text_names[] = {"error", "warning", "info", "debug"};
static const char *const short_names[] = {"error", "warn", "info", "debug"};

void log_set_level(enum log_level level)
{
	if (level >= LOG_LEVEL_ERROR && level <= LOG_LEVEL_DEBUG)
		atomic_store(&current, (int)level);
}

enum log_level log_get_level(void)
{
	return (enum log_level)atomic_load(&current);
}

int log_enabled(enum log_level level)
{
	return (int)level <= atomic_load(&current);
}

void log_set_format(enum log_format format)
{
	if (format >= LOG_FORMAT_TEXT && format <= LOG_FORMAT_LOGFMT)
		atomic_store(&format_now, (int)format);
}

void log_set_program(const char *name)
{
	atomic_store(&program_name, name);
}

void log_set_output(FILE *f)
{
	pthread_mutex_lock(&out_lock);
	out_stream = f;
	pthread_mutex_unlock(&out_lock);
}

int log_parse_level(const char *s, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {{"error", LOG_LEVEL_ERROR},
		     {"warning", LOG_LEVEL_WARN},
		     {"warn", LOG_LEVEL_WARN},
		     {"info", LOG_LEVEL_INFO},
		     {"debug", LOG_LEVEL_DEBUG}};
	for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name)) {
			*out = names[i].level;
			return 0;
		}
	return err_set(E_INVALID, "log level \"%s\": use error, warning, info or debug",
		       s ? s : "(null)");
}

int log_parse_format(const char *s, enum log_format *out)
{
	static const char *const names[] = {"text", "json", "logfmt"};
	for (size_t i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i])) {
			*out = (enum log_format)i;
			return 0;
		}
	return err_set(E_INVALID, "log format \"%s\": use text, json or logfmt", s ? s : "(null)");
}

/* How many bytes of s (length n) to keep so that at most max remain, cut
 * between UTF-8 sequences. */
static size_t cut_len(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t i = max;
	while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	return i;
}

static int add_json_string(struct buf *b, const char *s, size_t n)
{
	int rc = buf_adds(b, "\"");
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (!rc && i < n) {
		unsigned char c = p[i];
		size_t run = i;
		/* Copy plain bytes in runs. */
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' &&
		       p[run] != '\\')
			run++;
		if (run > i) {
			rc = buf_add(b, p + i, run - i);
			i = run;
			continue;
		}
		size_t len = c < 0x80 ? 1 : text_utf8_len(p + i, n - i);
		if (c == '"')
			rc = buf_adds(b, "\\\"");
		else if (c == '\\')
			rc = buf_adds(b, "\\\\");
		else if (c == '\n')
			rc = buf_adds(b, "\\n");
		else if (c == '\r')
			rc = buf_adds(b, "\\r");
		else if (c == '\t')
			rc = buf_adds(b, "\\t");
		else if (c < 0x20)
			rc = buf_addf(b, "\\u%04x", c);
		else if (len == 0)
			rc = buf_adds(b, "\\ufffd");
		else
			rc = buf_add(b, p + i, len);
		i += len ? len : 1;
	}
	if (!rc)
		rc = buf_adds(b, "\"");
	return rc;
}

/* A logfmt value: bare when it can be, else quoted with escapes. */
static int add_logfmt_value(struct buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	int quote = n == 0;
	for (size_t i = 0; !quote && i < n; i++)
		if (p[i] <= ' ' || p[i] == '=' || p[i] == '"' || p[i] == 0x7f ||
		    (p[i] >= 0x80 && !text_utf8_len(p + i, n - i)))
			quote = 1;
	if (!quote)
		return buf_add(b, s, n);
	int rc = buf_adds(b, "\"");
	size_t i = 0;
	while (!rc && i < n) {
		unsigned char c = p[i];
		size_t len = c < 0x80 ? 1 : text_utf8_len(p + i, n - i);
		if (c == '"')
			rc = buf_adds(b, "\\\"");
		else if (c == '\\')
			rc = buf_adds(b, "\\\\");
		else if (c == '\n')
			rc = buf_adds(b, "\\n");
		else if (c == '\r')
			rc = buf_adds(b, "\\r");
		else if (c == '\t')
			rc = buf_adds(b, "\\t");
		else if (c < 0x20 || c == 0x7f)
			rc = buf_addf(b, "\\u%04x", c);
		else if (len == 0)
			rc = buf_adds(b, "\\ufffd");
		else
			rc = buf_add(b, p + i, len);
		i += len ? len : 1;
	}
	if (!rc)
		rc = buf_adds(b, "\"");
	return rc;
}

/* A key as given, with characters logfmt cannot carry made '_' (JSON gets
 * the same key, so both formats agree) and reserved names suffixed. */
static void clean_key(char *out, size_t outsz, const char *key)
{
	static const char *const reserved[] = {"time", "level", "logger", "msg"};
	size_t n = 0;
	for (const char *p = key; *p && n + 2 < outsz; p++)
		out[n++] =
		    ((unsigned char)*p <= ' ' || *p == '=' || *p == '"' || *p == 0x7f) ? '_' : *p;
	if (n == 0)
		out[n++] = '_';
	out[n] = '\0';
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(out, reserved[i])) {
			out[n++] = '_';
			out[n] = '\0';
		}
}

static int add_value(struct buf *b, enum log_format format, const char *v)
{
	if (!v)
		return format == LOG_FORMAT_JSON ? buf_adds(b, "null") : 0;
	size_t n = strlen(v), keep = cut_len(v, n, LOG_VALUE_MAX);
	if (keep == n)
		return format == LOG_FORMAT_JSON ? add_json_string(b, v, n)
						 : add_logfmt_value(b, v, n);
	/* Cut: the value plus "...", escaped as one. */
	struct buf t;
	buf_init(&t, LOG_VALUE_MAX + 8);
	int rc = buf_add(&t, v, keep);
	if (!rc)
		rc = buf_adds(&t, "...");
	if (!rc)
		rc = format == LOG_FORMAT_JSON ? add_json_string(b, t.ptr, t.len)
					       : add_logfmt_value(b, t.ptr, t.len);
	buf_dispose(&t);
	return rc;
}

int log_format_record(struct buf *out, enum log_format format, const char *program,
		      enum log_level level, int64_t unix_ms, const char *msg, const char *const *kv,
		      size_t npairs)
{
	size_t start = out->len;
	int rc = 0;
	int lvl = level < LOG_LEVEL_ERROR || level > LOG_LEVEL_DEBUG ? LOG_LEVEL_INFO : (int)level;
	if (!program)
		program = "lifeboat";
	if (!msg)
		msg = "";
	int64_t secs = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
	time_t t = (time_t)secs;
	struct tm tm;
	char stamp[40];
	gmtime_r(&t, &tm);
	if (!strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm))
		stamp[0] = '\0';
	char key[128];
	switch (format) {
	case LOG_FORMAT_JSON:
		rc = buf_addf(out, "{\"time\":\"%s.%03dZ\",\"level\":\"%s\",\"logger\":", stamp,
			      (int)(unix_ms - secs * 1000), short_names[lvl]);
		if (!rc)
			rc = add_json_string(out, program, strlen(program));
		if (!rc)
			rc = buf_adds(out, ",\"msg\":");
		if (!rc)
			rc = add_json_string(out, msg, strlen(msg));
		for (size_t i = 0; !rc && i < npairs; i++) {
			clean_key(key, sizeof(key), kv[2 * i] ? kv[2 * i] : "_");
			rc = buf_adds(out, ",");
			if (!rc)
				rc = add_json_string(out, key, strlen(key));
			if (!rc)
				rc = buf_adds(out, ":");
			if (!rc)
				rc = add_value(out, format, kv[2 * i + 1]);
		}
		if (!rc)
			rc = buf_adds(out, "}\n");
		break;
	case LOG_FORMAT_LOGFMT:
		rc = buf_addf(out, "time=%s.%03dZ level=%s logger=", stamp,
			      (int)(unix_ms - secs * 1000), short_names[lvl]);
		if (!rc)
			rc = add_logfmt_value(out, program, strlen(program));
		if (!rc)
			rc = buf_adds(out, " msg=");
		if (!rc)
			rc = add_logfmt_value(out, msg, strlen(msg));
		goto fields;
	case LOG_FORMAT_TEXT:
	default:
		/* The job's line since the first release: keep it byte for byte. */
		rc = buf_addf(out, "%sZ %s %s: %s", stamp, program, text_names[lvl], msg);
	fields:
		for (size_t i = 0; !rc && i < npairs; i++) {
			clean_key(key, sizeof(key), kv[2 * i] ? kv[2 * i] : "_");
			rc = buf_addf(out, " %s=", key);
			if (!rc)
				rc = add_value(out, format, kv[2 * i + 1]);
		}
		if (!rc)
			rc = buf_adds(out, "\n");
		break;
	}
	if (rc) {
		out->len = start;
		if (out->ptr)
			out->ptr[start] = '\0';
	}
	return rc;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void emit(enum log_level level, const char *msg, const char *const *kv, size_t npairs)
{
	struct buf b;
	buf_init(&b, RECORD_MAX);
	/* A record too big for the cap still says that it happened. */
	if (log_format_record(&b, (enum log_format)atomic_load(&format_now),
			      atomic_load(&program_name), level, wall_ms(), msg, kv, npairs))
		log_format_record(&b, (enum log_format)atomic_load(&format_now),
				  atomic_load(&program_name), level, wall_ms(),
				  "(record too long for the log)", NULL, 0);
	pthread_mutex_lock(&out_lock);
	FILE *f = out_stream ? out_stream : stderr;
	fwrite(buf_str(&b), 1, b.len, f);
	fflush(f);
	pthread_mutex_unlock(&out_lock);
	buf_dispose(&b);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	char line[LOG_MSG_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(level, line, NULL, 0);
}

void log_kvv(enum log_level level, const char *msg, const char *const *kv, size_t npairs)
{
	if (log_enabled(level))
		emit(level, msg, kv, npairs);
}

#define KV_MAX 32

void log_kv(enum log_level level, const char *msg, ...)
{
	if (!log_enabled(level))
		return;
	const char *kv[2 * KV_MAX];
	size_t n = 0;
	va_list ap;
	va_start(ap, msg);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			break;
		const char *v = va_arg(ap, const char *);
		if (n < KV_MAX) {
			kv[2 * n] = k;
			kv[2 * n + 1] = v;
			n++;
		}
	}
	va_end(ap);
	emit(level, msg, kv, n);
}
