/* Tests for common/log.c: the text format unchanged, JSON and logfmt records,
 * escaping, cuts, level and format parsing, and whole lines under threads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* 2024-05-01T12:34:56.789Z */
#define T0 ((int64_t)1714566896789)

static char *record(enum log_format f, enum log_level lvl, const char *msg, const char *const *kv,
		    size_t n)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(log_format_record(&b, f, NULL, lvl, T0, msg, kv, n), 0);
	return buf_take(&b);
}

static void log_format_record__text_is_the_jobs_line_byte_for_byte(void **state)
{
	(void)state;
	char *s =
	    record(LOG_FORMAT_TEXT, LOG_LEVEL_WARN, "upload of part 3 failed; retrying", NULL, 0);
	assert_string_equal(
	    s, "2024-05-01T12:34:56Z lifeboat warning: upload of part 3 failed; retrying\n");
	free(s);
	static const char *const names[] = {"error", "warning", "info", "debug"};
	for (int l = 0; l < 4; l++) {
		char want[128];
		snprintf(want, sizeof(want), "2024-05-01T12:34:56Z lifeboat %s: m\n", names[l]);
		s = record(LOG_FORMAT_TEXT, (enum log_level)l, "m", NULL, 0);
		assert_string_equal(s, want);
		free(s);
	}
}

static void log_format_record__text_appends_fields_logfmt_style(void **state)
{
	(void)state;
	const char *kv[] = {"kind", "DatabaseBackup", "ns", "prod", "why", "two words"};
	char *s = record(LOG_FORMAT_TEXT, LOG_LEVEL_INFO, "reconciled", kv, 3);
	assert_string_equal(
	    s, "2024-05-01T12:34:56Z lifeboat info: reconciled kind=DatabaseBackup ns=prod "
	       "why=\"two words\"\n");
	free(s);
}

static void log_format_record__json_has_time_level_logger_msg_and_fields(void **state)
{
	(void)state;
	const char *kv[] = {"kind", "DatabaseBackup", "name", "nightly", "missing", NULL};
	char *s = record(LOG_FORMAT_JSON, LOG_LEVEL_INFO, "reconciled", kv, 3);
	assert_string_equal(s, "{\"time\":\"2024-05-01T12:34:56.789Z\",\"level\":\"info\","
			       "\"logger\":\"lifeboat\",\"msg\":\"reconciled\",\"kind\":"
			       "\"DatabaseBackup\",\"name\":\"nightly\",\"missing\":null}\n");
	free(s);
	s = record(LOG_FORMAT_JSON, LOG_LEVEL_WARN, "w", NULL, 0);
	assert_non_null(strstr(s, "\"level\":\"warn\""));
	free(s);
}

/* Every byte 0x01..0xff in a value: the JSON must parse back to the same text
 * (invalid UTF-8 as U+FFFD). */
static void log_format_record__json_escapes_every_byte_and_parses_back(void **state)
{
	(void)state;
	char all[256];
	for (int i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	all[127] = '\0';
	const char *kv[] = {"v",
			    all,
			    "utf8",
			    "Zürich \xe2\x9c\x93 \xf0\x9f\x98\x80",
			    "bad",
			    "a\xff"
			    "b\xc3(\xed\xa0\x80z\xc0\xaf"};
	char *s =
	    record(LOG_FORMAT_JSON, LOG_LEVEL_ERROR, "quote \" backslash \\ nl \n tab \t", kv, 3);
	assert_non_null(strchr(s, '\n'));
	assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1); /* one line */
	struct json_object *o = json_tokener_parse(s);
	assert_non_null(o);
	struct json_object *v;
	assert_true(json_object_object_get_ex(o, "msg", &v));
	assert_string_equal(json_object_get_string(v), "quote \" backslash \\ nl \n tab \t");
	assert_true(json_object_object_get_ex(o, "v", &v));
	assert_string_equal(json_object_get_string(v), all);
	assert_true(json_object_object_get_ex(o, "utf8", &v));
	assert_string_equal(json_object_get_string(v), "Zürich \xe2\x9c\x93 \xf0\x9f\x98\x80");
	assert_true(json_object_object_get_ex(o, "bad", &v));
	/* a, FFFD, b, FFFD, (, FFFD x3 (a surrogate), z, FFFD x2 (overlong) */
	assert_string_equal(json_object_get_string(v),
			    "a\xef\xbf\xbd"
			    "b\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz"
			    "\xef\xbf\xbd\xef\xbf\xbd");
	json_object_put(o);
	assert_non_null(strstr(s, "\\u0001"));
	assert_non_null(strstr(s, "\\u001f"));
	free(s);
}

static void log_format_record__logfmt_quotes_only_when_needed(void **state)
{
	(void)state;
	const char *kv[] = {"plain", "abc/def:1", "empty", "",		 "space", "a b",
			    "eq",    "a=b",	  "quote", "say \"hi\"", "nl",	  "l1\nl2",
			    "null",  NULL,	  "ctl",   "\x01"};
	char *s = record(LOG_FORMAT_LOGFMT, LOG_LEVEL_DEBUG, "synced caches", kv, 8);
	assert_string_equal(
	    s, "time=2024-05-01T12:34:56.789Z level=debug logger=lifeboat msg=\"synced "
	       "caches\" plain=abc/def:1 empty=\"\" space=\"a b\" eq=\"a=b\" "
	       "quote=\"say \\\"hi\\\"\" nl=\"l1\\nl2\" null= ctl=\"\\u0001\"\n");
	free(s);
}

static void log_format_record__reserved_and_odd_keys_are_renamed(void **state)
{
	(void)state;
	const char *kv[] = {"msg", "x", "time", "y", "a key", "z", "", "w"};
	char *s = record(LOG_FORMAT_LOGFMT, LOG_LEVEL_INFO, "m", kv, 4);
	assert_non_null(strstr(s, " msg_=x time_=y a_key=z _=w\n"));
	free(s);
	s = record(LOG_FORMAT_JSON, LOG_LEVEL_INFO, "m", kv, 4);
	struct json_object *o = json_tokener_parse(s), *v;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "msg", &v));
	assert_string_equal(json_object_get_string(v), "m");
	assert_true(json_object_object_get_ex(o, "msg_", &v));
	assert_string_equal(json_object_get_string(v), "x");
	json_object_put(o);
	free(s);
}

static void log_format_record__long_values_are_cut_on_a_character_boundary(void **state)
{
	(void)state;
	/* "é" is two bytes; LOG_VALUE_MAX is even, so offset one to land mid-character. */
	size_t n = LOG_VALUE_MAX + 100;
	char *v = xmalloc(n + 1);
	v[0] = 'x';
	for (size_t i = 1; i + 1 < n; i += 2) {
		v[i] = '\xc3';
		v[i + 1] = '\xa9';
	}
	v[n - 1] = 'y';
	v[n] = '\0';
	const char *kv[] = {"v", v};
	char *s = record(LOG_FORMAT_JSON, LOG_LEVEL_INFO, "m", kv, 1);
	struct json_object *o = json_tokener_parse(s), *got;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "v", &got));
	const char *g = json_object_get_string(got);
	size_t gl = strlen(g);
	assert_true(gl <= LOG_VALUE_MAX + 3);
	assert_string_equal(g + gl - 3, "...");
	assert_null(strstr(g, "\xef\xbf\xbd")); /* no broken character */
	json_object_put(o);
	free(s);
	free(v);
}

static void log_format_record__too_big_for_the_buffer_leaves_it_unchanged(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 64);
	assert_int_equal(buf_adds(&b, "keep"), 0);
	const char *kv[] = {"v", "a value far too long for a sixty-four byte buffer, really"};
	assert_int_equal(
	    log_format_record(&b, LOG_FORMAT_JSON, NULL, LOG_LEVEL_INFO, T0, "m", kv, 1), E_TOOBIG);
	assert_string_equal(buf_str(&b), "keep");
	buf_dispose(&b);
}

static void log_format_record__times_before_the_epoch_and_programs(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b, 4096);
	assert_int_equal(log_format_record(&b, LOG_FORMAT_LOGFMT, "lifeboat-operator",
					   LOG_LEVEL_INFO, -1, "m", NULL, 0),
			 0);
	assert_string_equal(
	    buf_str(&b),
	    "time=1969-12-31T23:59:59.999Z level=info logger=lifeboat-operator msg=m\n");
	buf_dispose(&b);
}

static void log_parse_level__accepts_the_names_and_refuses_others(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int ok;
		enum log_level want;
	} cases[] = {{"error", 1, LOG_LEVEL_ERROR},
		     {"warning", 1, LOG_LEVEL_WARN},
		     {"warn", 1, LOG_LEVEL_WARN},
		     {"info", 1, LOG_LEVEL_INFO},
		     {"debug", 1, LOG_LEVEL_DEBUG},
		     {"INFO", 0, 0},
		     {"", 0, 0},
		     {"trace", 0, 0},
		     {NULL, 0, 0}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum log_level l = (enum log_level)99;
		int rc = log_parse_level(cases[i].s, &l);
		if (cases[i].ok) {
			assert_int_equal(rc, 0);
			assert_int_equal(l, cases[i].want);
		} else {
			assert_int_equal(rc, E_INVALID);
			assert_int_equal(l, 99);
			assert_non_null(strstr(err_msg(), "use error, warning, info or debug"));
		}
	}
}

static void log_parse_format__accepts_text_json_logfmt_only(void **state)
{
	(void)state;
	enum log_format f = (enum log_format)99;
	assert_int_equal(log_parse_format("json", &f), 0);
	assert_int_equal(f, LOG_FORMAT_JSON);
	assert_int_equal(log_parse_format("logfmt", &f), 0);
	assert_int_equal(f, LOG_FORMAT_LOGFMT);
	assert_int_equal(log_parse_format("text", &f), 0);
	assert_int_equal(f, LOG_FORMAT_TEXT);
	f = (enum log_format)99;
	assert_int_equal(log_parse_format("yaml", &f), E_INVALID);
	assert_non_null(strstr(err_msg(), "\"yaml\""));
	assert_int_equal(log_parse_format(NULL, &f), E_INVALID);
	assert_int_equal(f, 99);
}

/* Reads what a stream received and resets it. */
static char *drain(FILE *f)
{
	fflush(f);
	long n = ftell(f);
	rewind(f);
	char *s = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
	rewind(f);
	assert_int_equal(ftruncate(fileno(f), 0), 0);
	return s;
}

static void log_msg__text_default_matches_the_old_shape_and_honours_the_level(void **state)
{
	(void)state;
	FILE *f = tmpfile();
	log_set_output(f);
	log_set_format(LOG_FORMAT_TEXT);
	log_set_level(LOG_LEVEL_INFO);
	log_msg(LOG_LEVEL_INFO, "wrote %d bytes to %s", 42, "s3://b/k");
	log_debug("hidden");
	log_kv(LOG_LEVEL_DEBUG, "hidden too", "k", "v", NULL);
	char *s = drain(f);
	regex_t re;
	assert_int_equal(
	    regcomp(&re,
		    "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z lifeboat info: "
		    "wrote 42 bytes to s3://b/k\n$",
		    REG_EXTENDED),
	    0);
	assert_int_equal(regexec(&re, s, 0, NULL, 0), 0);
	regfree(&re);
	free(s);

	/* A message is cut at LOG_MSG_MAX bytes, as before. */
	char big[3000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_msg(LOG_LEVEL_ERROR, "%s", big);
	s = drain(f);
	assert_int_equal(strlen(s),
			 strlen("2024-05-01T12:34:56Z lifeboat error: ") + LOG_MSG_MAX + 1);
	free(s);

	log_set_format(LOG_FORMAT_JSON);
	log_kv(LOG_LEVEL_WARN, "lease lost", "lease", "lifeboat/operator", NULL);
	s = drain(f);
	struct json_object *o = json_tokener_parse(s), *v;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "lease", &v));
	assert_string_equal(json_object_get_string(v), "lifeboat/operator");
	json_object_put(o);
	free(s);
	log_set_format(LOG_FORMAT_TEXT);
	log_set_output(NULL);
	fclose(f);
}

#define THREADS 8
#define PER_THREAD 500

static void *writer(void *arg)
{
	char id[16];
	snprintf(id, sizeof(id), "%d", (int)(intptr_t)arg);
	for (int i = 0; i < PER_THREAD; i++)
		log_kv(LOG_LEVEL_INFO, "concurrent record with a fairly long message to split",
		       "thread", id, "pad",
		       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL);
	return NULL;
}

static void log_kv__threads_never_interleave_lines(void **state)
{
	(void)state;
	FILE *f = tmpfile();
	log_set_output(f);
	log_set_format(LOG_FORMAT_JSON);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	char *s = drain(f);
	int lines = 0, per[THREADS] = {0};
	for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
		struct json_object *o = json_tokener_parse(line), *v;
		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "thread", &v));
		per[atoi(json_object_get_string(v))]++;
		json_object_put(o);
		lines++;
	}
	assert_int_equal(lines, THREADS * PER_THREAD);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(per[i], PER_THREAD);
	free(s);
	log_set_format(LOG_FORMAT_TEXT);
	log_set_output(NULL);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(log_format_record__text_is_the_jobs_line_byte_for_byte),
	    cmocka_unit_test(log_format_record__text_appends_fields_logfmt_style),
	    cmocka_unit_test(log_format_record__json_has_time_level_logger_msg_and_fields),
	    cmocka_unit_test(log_format_record__json_escapes_every_byte_and_parses_back),
	    cmocka_unit_test(log_format_record__logfmt_quotes_only_when_needed),
	    cmocka_unit_test(log_format_record__reserved_and_odd_keys_are_renamed),
	    cmocka_unit_test(log_format_record__long_values_are_cut_on_a_character_boundary),
	    cmocka_unit_test(log_format_record__too_big_for_the_buffer_leaves_it_unchanged),
	    cmocka_unit_test(log_format_record__times_before_the_epoch_and_programs),
	    cmocka_unit_test(log_parse_level__accepts_the_names_and_refuses_others),
	    cmocka_unit_test(log_parse_format__accepts_text_json_logfmt_only),
	    cmocka_unit_test(log_msg__text_default_matches_the_old_shape_and_honours_the_level),
	    cmocka_unit_test(log_kv__threads_never_interleave_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
