/* Tests for common/http.c: the Retry-After parser, the retry delay, the
 * retryable statuses and header lookup (pure), then http_do and
 * http_do_retry against a canned HTTP server on a loopback port, and what
 * the interrupt (http_set_interrupt) abandons and what it lets run. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http.h"

/* --- Retry-After --- */

/* Wed, 21 Oct 2015 07:28:00 GMT */
#define T0 ((time_t)1445412480)

static long parse(const char *v, time_t now)
{
	return http_retry_after_parse(v, strlen(v), now);
}

static void retry_after_parse__delay_seconds_capped_without_overflow(void **state)
{
	(void)state;
	static const struct {
		const char *value;
		long want;
	} cases[] = {
	    {"0", 0},
	    {"1", 1},
	    {"120", 120},
	    {" 7\r\n", 7},
	    {"\t42 ", 42},
	    {"0300", 300},
	    {"299", 299},
	    {"300", HTTP_RETRY_AFTER_MAX_S},
	    {"301", HTTP_RETRY_AFTER_MAX_S},
	    {"86400", HTTP_RETRY_AFTER_MAX_S},
	    {"9223372036854775", HTTP_RETRY_AFTER_MAX_S},
	    {"9223372036854775807", HTTP_RETRY_AFTER_MAX_S},
	    {"9223372036854775808", HTTP_RETRY_AFTER_MAX_S},
	    {"99999999999999999999", HTTP_RETRY_AFTER_MAX_S},
	    {"999999999999999999999999999999999999999999999999", HTTP_RETRY_AFTER_MAX_S},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long got = parse(cases[i].value, T0);
		if (got != cases[i].want)
			fail_msg("\"%s\": got %ld, want %ld", cases[i].value, got, cases[i].want);
	}
}

static void retry_after_parse__rejects_what_is_neither_form(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "   \r\n",
	    "-1",
	    "+5",
	    "5s",
	    "1.5",
	    "0x10",
	    "5 5",
	    "soon",
	    /* dates: wrong case, zone, separators, ranges, truncation, trailing text */
	    "wed, 21 Oct 2015 07:28:00 GMT",
	    "Wed, 21 oct 2015 07:28:00 GMT",
	    "Wed, 21 Oct 2015 07:28:00 gmt",
	    "Wed, 21 Oct 2015 07:28:00 UTC",
	    "Wed, 21 Oct 2015 07:28:00 +0000",
	    "Wed, 21 Oct 2015 07:28:00",
	    "Wed, 21 Oct 2015 07:28 GMT",
	    "Wed,21 Oct 2015 07:28:00 GMT",
	    "Wed, 1 Oct 2015 07:28:00 GMT",
	    "Wed, 21 Oct 15 07:28:00 GMT",
	    "Wed, 21 Foo 2015 07:28:00 GMT",
	    "Wed, 00 Oct 2015 07:28:00 GMT",
	    "Wed, 32 Oct 2015 07:28:00 GMT",
	    "Wed, 31 Sep 2015 07:28:00 GMT",
	    "Sun, 29 Feb 2015 07:28:00 GMT", /* 2015 is not a leap year */
	    "Wed, 21 Oct 2015 24:00:00 GMT",
	    "Wed, 21 Oct 2015 07:60:00 GMT",
	    "Wed, 21 Oct 2015 07:28:61 GMT",
	    "Wed, 21 Oct 2015 07:28:00 GMT x",
	    "Wed, 21 Oct 2015 07:28:00 GMT, 5",
	    "Wed, 21 Oct 2015",
	    "Wed",
	    "Wednesday, 21 Oct 2015 07:28:00 GMT",
	    "Wed, 21-Oct-15 07:28:00 GMT",
	    "Wednesday, 21-Oct-2015 07:28:00 GMT",
	    "Wednesday, 21-Oct-15 07:28:00",
	    "Wed Oct 21 07:28:00 15",
	    "Wed Oct 21 07:28:00 2015 GMT",
	    "Wed Oct 1 07:28:00 2015",
	    "Wed Oct  21 07:28:00 2015",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long got = parse(bad[i], T0);
		if (got != -1)
			fail_msg("\"%s\": got %ld, want -1", bad[i], got);
	}
}

static void retry_after_parse__http_date_is_measured_from_now(void **state)
{
	(void)state;
	static const struct {
		const char *value;
		time_t now;
		long want;
	} cases[] = {
	    /* the three forms of one instant */
	    {"Wed, 21 Oct 2015 07:28:00 GMT", T0 - 90, 90},
	    {"Wednesday, 21-Oct-15 07:28:00 GMT", T0 - 90, 90},
	    {"Wed Oct 21 07:28:00 2015", T0 - 90, 90},
	    {" Wed, 21 Oct 2015 07:28:00 GMT\r\n", T0 - 1, 1},
	    /* now, and in the past: retry at once */
	    {"Wed, 21 Oct 2015 07:28:00 GMT", T0, 0},
	    {"Wed, 21 Oct 2015 07:28:00 GMT", T0 + 1, 0},
	    {"Sun, 06 Nov 1994 08:49:37 GMT", T0, 0},
	    {"Thu, 01 Jan 1970 00:00:00 GMT", T0, 0},
	    {"Mon, 01 Jan 0001 00:00:00 GMT", T0, 0},
	    /* far ahead: the cap */
	    {"Wed, 21 Oct 2015 07:33:00 GMT", T0, HTTP_RETRY_AFTER_MAX_S},
	    {"Fri, 31 Dec 9999 23:59:59 GMT", T0, HTTP_RETRY_AFTER_MAX_S},
	    {"Fri, 31 Dec 9999 23:59:59 GMT", 0, HTTP_RETRY_AFTER_MAX_S},
	    /* the day name is not checked against the date */
	    {"Mon, 21 Oct 2015 07:28:00 GMT", T0 - 5, 5},
	    /* calendar edges */
	    {"Sun, 29 Feb 2016 00:00:10 GMT", 1456704000, 10}, /* 2016-02-29T00:00:00Z */
	    {"Tue, 29 Feb 2000 00:00:10 GMT", 951782400, 10},
	    {"Fri, 31 Dec 2015 23:59:60 GMT", 1451606400 - 10, 10}, /* a leap second */
	    {"Sun Nov  6 08:49:37 1994", 784111777 - 3, 3},
	    {"Sunday, 06-Nov-94 08:49:37 GMT", 784111777 - 3, 3},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long got = parse(cases[i].value, cases[i].now);
		if (got != cases[i].want)
			fail_msg("\"%s\" at %lld: got %ld, want %ld", cases[i].value,
				 (long long)cases[i].now, got, cases[i].want);
	}
}

/* RFC 9110 5.6.7: a two-digit year more than 50 years ahead is in the past. */
static void retry_after_parse__rfc850_year_within_fifty_years(void **state)
{
	(void)state;
	/* now: 2026-01-01T00:00:00Z */
	time_t now = 1767225600;
	/* 2076 is 50 years ahead: still the future, so far off it is the cap. */
	assert_int_equal(parse("Wednesday, 01-Jan-76 00:00:00 GMT", now), HTTP_RETRY_AFTER_MAX_S);
	/* 2077 would be more than 50 years ahead: 1977, the past. */
	assert_int_equal(parse("Saturday, 01-Jan-77 00:00:00 GMT", now), 0);
	assert_int_equal(parse("Thursday, 01-Jan-26 00:00:07 GMT", now), 7);
	assert_int_equal(parse("Thursday, 01-Jan-26 00:00:07 GMT", now + 7), 0);
}

/* Only len bytes are read: the header line is not NUL-terminated there. */
static void retry_after_parse__reads_only_len_bytes(void **state)
{
	(void)state;
	const char v[] = "12345";
	assert_int_equal(http_retry_after_parse(v, 2, T0), 12);
	assert_int_equal(http_retry_after_parse(v, 0, T0), -1);
	const char d[] = "Wed, 21 Oct 2015 07:28:00 GMTgarbage";
	assert_int_equal(http_retry_after_parse(d, 29, T0 - 4), 4);
	assert_int_equal(http_retry_after_parse(d, 28, T0 - 4), -1);
}

/* --- the delay between attempts --- */

static void retry_delay__retry_after_wins_capped_at_max(void **state)
{
	(void)state;
	struct http_retry p = {5, 250, 15000};
	assert_int_equal(http_retry_delay_ms(&p, 1, 0, 12345), 0);
	assert_int_equal(http_retry_delay_ms(&p, 1, 3, 12345), 3000);
	assert_int_equal(http_retry_delay_ms(&p, 4, 15, 0), 15000);
	assert_int_equal(http_retry_delay_ms(&p, 1, 16, 0), 15000);
	assert_int_equal(http_retry_delay_ms(&p, 1, HTTP_RETRY_AFTER_MAX_S, 0), 15000);
	/* Whatever a caller passes: no overflow. */
	assert_int_equal(http_retry_delay_ms(&p, 1, LONG_MAX, 0), 15000);
	assert_int_equal(http_retry_delay_ms(&p, 1, LONG_MAX / 1000 + 1, 0), 15000);
	struct http_retry odd = {2, 1, 1500};
	assert_int_equal(http_retry_delay_ms(&odd, 1, 1, 0), 1000);
	assert_int_equal(http_retry_delay_ms(&odd, 1, 2, 0), 1500);
	struct http_retry tiny = {2, 1, 20};
	assert_int_equal(http_retry_delay_ms(&tiny, 1, 0, 0), 0);
	assert_int_equal(http_retry_delay_ms(&tiny, 1, 1, 0), 20);
}

static void retry_delay__doubles_with_jitter_up_to_max(void **state)
{
	(void)state;
	struct http_retry p = {10, 250, 15000};
	/* attempt -> the undithered delay d; the result lies in [d/2, d]. */
	static const long want[] = {0, 250, 500, 1000, 2000, 4000, 8000, 15000, 15000, 15000};
	static const unsigned int draws[] = {0, 1, 7, 125, 126, 0x7fffffffu, 0xffffffffu};
	for (int attempt = 1; attempt < 10; attempt++) {
		long d = want[attempt];
		assert_int_equal(http_retry_delay_ms(&p, attempt, -1, 0), d / 2);
		for (size_t i = 0; i < sizeof(draws) / sizeof(draws[0]); i++) {
			long got = http_retry_delay_ms(&p, attempt, -1, draws[i]);
			if (got < d / 2 || got > d)
				fail_msg("attempt %d, draw %u: %ld outside [%ld, %ld]", attempt,
					 draws[i], got, d / 2, d);
		}
	}
	/* d/2 + draw % (d/2 + 1): every value of the range can come out. */
	assert_int_equal(http_retry_delay_ms(&p, 1, -1, 125), 250);
	assert_int_equal(http_retry_delay_ms(&p, 1, -1, 126), 125);
}

static void retry_delay__extreme_policies_do_not_overflow(void **state)
{
	(void)state;
	struct http_retry big = {INT_MAX, LONG_MAX / 3, LONG_MAX};
	long got = http_retry_delay_ms(&big, INT_MAX, -1, 0xffffffffu);
	assert_true(got >= LONG_MAX / 2 && got <= LONG_MAX);
	assert_int_equal(http_retry_delay_ms(&big, 1, LONG_MAX, 0), LONG_MAX);
	struct http_retry zero = {3, 0, 0};
	assert_int_equal(http_retry_delay_ms(&zero, 3, -1, 99), 0);
	assert_int_equal(http_retry_delay_ms(&zero, 3, 5, 99), 0);
	struct http_retry neg = {3, -5, -1};
	assert_int_equal(http_retry_delay_ms(&neg, 2, -1, 99), 0);
	assert_int_equal(http_retry_delay_ms(&neg, 2, 5, 99), 0);
	struct http_retry one = {3, 1, 1};
	assert_int_equal(http_retry_delay_ms(&one, 1, -1, 99), 0);
}

/* --- statuses and headers --- */

static void status_retryable__table(void **state)
{
	(void)state;
	static const long yes[] = {429, 500, 502, 503, 504};
	static const long no[] = {0,   100, 200, 204, 301, 304, 400, 401, 403, 404, 408, 409,
				  410, 412, 416, 428, 431, 501, 505, 507, 511, 599, -1};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(http_status_retryable(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (http_status_retryable(no[i]))
			fail_msg("%ld is not worth retrying", no[i]);
}

static void response_header__case_insensitive_trimmed_first_one(void **state)
{
	(void)state;
	struct http_response r;
	http_response_init(&r);
	assert_null(http_response_header(&r, "ETag"));
	assert_int_equal(buf_adds(&r.headers, "Content-Type: text/plain\r\n"
					      "ETag:  \t\"abc\" \r\n"
					      "etag: \"second\"\r\n"
					      "X-Empty:\r\n"
					      "Retry-After-Extra: 9\r\n"
					      "Location: http://h/p?a=b:c\r\n"
					      "X-Last: no newline"),
			 0);
	static const struct {
		const char *name, *want;
	} cases[] = {
	    {"ETag", "\"abc\""},
	    {"etag", "\"abc\""},
	    {"ETAG", "\"abc\""},
	    {"content-type", "text/plain"},
	    {"X-Empty", ""},
	    {"Location", "http://h/p?a=b:c"},
	    {"X-Last", "no newline"},
	    {"Retry-After-Extra", "9"},
	    {"Retry-After", NULL}, /* a longer name is another header */
	    {"Content", NULL},
	    {"Type", NULL},
	    {"", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = http_response_header(&r, cases[i].name);
		if (!cases[i].want && got)
			fail_msg("%s: got \"%s\", want none", cases[i].name, got);
		if (cases[i].want && (!got || strcmp(got, cases[i].want) != 0))
			fail_msg("%s: got %s, want \"%s\"", cases[i].name, got ? got : "none",
				 cases[i].want);
		free(got);
	}
	http_response_dispose(&r);
}

/* --- a canned server: one reply per connection, in order --- */

struct canned {
	int fd; /* listening */
	int port;
	const char *const *replies; /* NULL-terminated */
	int served;
	pthread_t thread;
};

/* Reads one request's head (the test's requests have no body). */
static void read_head(int c)
{
	char buf[4096];
	size_t n = 0;
	while (n < sizeof(buf) - 1) {
		struct pollfd p = {c, POLLIN, 0};
		if (poll(&p, 1, 10000) != 1)
			return;
		ssize_t k = read(c, buf + n, sizeof(buf) - 1 - n);
		if (k <= 0)
			return;
		n += (size_t)k;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return;
	}
}

static void *canned_main(void *arg)
{
	struct canned *s = arg;
	for (size_t i = 0; s->replies[i]; i++) {
		struct pollfd p = {s->fd, POLLIN, 0};
		if (poll(&p, 1, 10000) != 1) /* bounded: a test never hangs here */
			break;
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			break;
		read_head(c);
		const char *r = s->replies[i];
		size_t len = strlen(r);
		while (len > 0) {
			ssize_t k = write(c, r, len);
			if (k <= 0)
				break;
			r += k;
			len -= (size_t)k;
		}
		close(c);
		s->served++;
	}
	return NULL;
}

static void canned_start(struct canned *s, const char *const *replies)
{
	memset(s, 0, sizeof(*s));
	s->replies = replies;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 8), 0);
	socklen_t alen = sizeof(a);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, canned_main, s), 0);
}

static int canned_stop(struct canned *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
	return s->served;
}

#define REPLY_200 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

/* A Retry-After past LONG_MAX / 1000 once made the delay overflow (UBSan
 * aborts on that); it is capped, and the policy's max_ms still wins. */
static void http_do_retry__huge_retry_after_waits_max_ms(void **state)
{
	(void)state;
	static const char *const values[] = {"99999999999999999999", "9223372036854775807",
					     "9223372036854775"};
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char busy[256];
		snprintf(busy, sizeof(busy),
			 "HTTP/1.1 503 Service Unavailable\r\nRetry-After: %s\r\n"
			 "Content-Length: 0\r\nConnection: close\r\n\r\n",
			 values[i]);
		const char *const replies[] = {busy, REPLY_200, NULL};
		struct canned s;
		canned_start(&s, replies);
		char url[64];
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s.port);
		struct http_request req = {.method = "GET", .url = url, .timeout_ms = 10000};
		struct http_retry policy = {2, 1, 20};
		struct http_client *c = http_client_new();
		struct http_response resp;
		http_response_init(&resp);
		unsigned long retries = 0;
		assert_int_equal(http_do_retry(c, &req, &resp, &policy, &retries), 0);
		assert_int_equal(resp.status, 200);
		assert_int_equal(retries, 1);
		assert_string_equal(buf_str(&resp.body), "ok");
		http_response_dispose(&resp);
		http_client_free(c);
		assert_int_equal(canned_stop(&s), 2);
	}
}

/* The header reaches the parser whole: an IMF-fixdate with its CR LF is
 * longer than the 31 bytes once copied. */
static void http_do__reads_retry_after_in_both_forms(void **state)
{
	(void)state;
	char later[64], date_reply[256];
	time_t when = time(NULL) + 120;
	struct tm tm;
	gmtime_r(&when, &tm);
	assert_true(strftime(later, sizeof(later), "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0);
	snprintf(date_reply, sizeof(date_reply),
		 "HTTP/1.1 429 Too Many Requests\r\nRetry-After: %s\r\n"
		 "Content-Length: 0\r\nConnection: close\r\n\r\n",
		 later);
	const char *const replies[] = {
	    date_reply,
	    "HTTP/1.1 503 Service Unavailable\r\nretry-after: 17\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n",
	    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n",
	    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 9223372036854775807\r\n"
	    "Content-Length: 0\r\nConnection: close\r\n\r\n",
	    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: -3\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n",
	    REPLY_200,
	    NULL,
	};
	struct canned s;
	canned_start(&s, replies);
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s.port);
	struct http_request req = {.method = "GET", .url = url, .timeout_ms = 10000};
	struct http_client *c = http_client_new();
	struct http_response resp;
	http_response_init(&resp);
	assert_int_equal(http_do(c, &req, &resp), 0);
	assert_int_equal(resp.status, 429);
	/* a second or two may have passed since the date was made */
	assert_true(resp.retry_after_s >= 115 && resp.retry_after_s <= 120);
	assert_int_equal(http_do(c, &req, &resp), 0);
	assert_int_equal(resp.retry_after_s, 17);
	assert_int_equal(http_do(c, &req, &resp), 0);
	assert_int_equal(resp.retry_after_s, 0);
	assert_int_equal(http_do(c, &req, &resp), 0);
	assert_int_equal(resp.retry_after_s, HTTP_RETRY_AFTER_MAX_S);
	assert_int_equal(http_do(c, &req, &resp), 0);
	assert_int_equal(resp.retry_after_s, -1);
	assert_int_equal(http_do(c, &req, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.retry_after_s, -1);
	http_response_dispose(&resp);
	http_client_free(c);
	assert_int_equal(canned_stop(&s), 6);
}

/* --- the interrupt: a server that answers, or holds every connection --- */

/* Answers each connection after reading its request: with `reply`, or,
 * when reply is NULL, with nothing (holding the connection until stopped). */
struct server {
	int fd, port;
	pthread_t thread;
	const char *reply;
	atomic_int requests;
	atomic_int stop;
};

static void *server_main(void *arg)
{
	struct server *s = arg;
	while (!atomic_load(&s->stop)) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			break;
		char buf[4096];
		size_t got = 0;
		while (got < sizeof(buf) - 1) {
			ssize_t r = read(c, buf + got, sizeof(buf) - 1 - got);
			if (r <= 0)
				break;
			got += (size_t)r;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		atomic_fetch_add(&s->requests, 1);
		if (s->reply) {
			ssize_t ignored = write(c, s->reply, strlen(s->reply));
			(void)ignored;
		} else {
			for (int i = 0; i < 200 && !atomic_load(&s->stop); i++)
				nanosleep(&(struct timespec){0, 50000000}, NULL);
		}
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s, const char *reply)
{
	memset(s, 0, sizeof(*s));
	s->reply = reply;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(listen(s->fd, 8), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
	atomic_store(&s->stop, 1);
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static atomic_int flag;

struct raiser {
	pthread_t thread;
	long after_ms;
};

static void *raise_main(void *arg)
{
	struct raiser *r = arg;
	nanosleep(&(struct timespec){r->after_ms / 1000, (r->after_ms % 1000) * 1000000L}, NULL);
	atomic_store(&flag, 15);
	return NULL;
}

static int get(struct server *s, const struct http_retry *retry, struct http_response *resp)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/object", s->port);
	struct http_request req = {.method = "GET", .url = url, .timeout_ms = 20000};
	struct http_client *c = http_client_new();
	int rc = retry ? http_do_retry(c, &req, resp, retry, NULL) : http_do(c, &req, resp);
	http_client_free(c);
	return rc;
}

static void http_do__abandons_a_transfer_under_way_at_the_interrupt(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, NULL);
	atomic_store(&flag, 0);
	http_set_interrupt(&flag);
	struct raiser r = {.after_ms = 300};
	assert_int_equal(pthread_create(&r.thread, NULL, raise_main, &r), 0);
	struct http_response resp;
	http_response_init(&resp);
	double t0 = now_s();
	int rc = get(&s, NULL, &resp);
	double took = now_s() - t0;
	pthread_join(r.thread, NULL);
	assert_int_equal(rc, E_IO);
	assert_non_null(strstr(err_msg(), "abandoned: interrupted by signal 15"));
	assert_true(took < 5.0); /* libcurl looks about once a second; the reply would take 10 s */
	http_response_dispose(&resp);
	http_set_interrupt(NULL);
	server_stop(&s);
}

static void http_do__runs_a_transfer_begun_after_the_interrupt(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
	atomic_store(&flag, 15);
	http_set_interrupt(&flag);
	struct http_response resp;
	http_response_init(&resp);
	assert_int_equal(get(&s, NULL, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(buf_str(&resp.body), "ok");
	http_response_dispose(&resp);
	http_set_interrupt(NULL);
	server_stop(&s);
}

static void http_do_retry__retries_nothing_after_the_interrupt(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
			 "Connection: close\r\n\r\n");
	const struct http_retry retry = {5, 2000, 4000};
	struct http_response resp;
	/* Without the interrupt: every attempt (with a short backoff). */
	const struct http_retry quick = {3, 1, 2};
	http_response_init(&resp);
	assert_int_equal(get(&s, &quick, &resp), 0);
	assert_int_equal(resp.status, 503);
	assert_int_equal(atomic_load(&s.requests), 3);
	http_response_dispose(&resp);
	/* After it: one attempt, no backoff. */
	atomic_store(&flag, 15);
	http_set_interrupt(&flag);
	http_response_init(&resp);
	double t0 = now_s();
	assert_int_equal(get(&s, &retry, &resp), 0);
	assert_true(now_s() - t0 < 1.5);
	assert_int_equal(resp.status, 503);
	assert_int_equal(atomic_load(&s.requests), 4);
	http_response_dispose(&resp);
	http_set_interrupt(NULL);
	server_stop(&s);
}

static void http_do_retry__the_interrupt_ends_the_backoff(void **state)
{
	(void)state;
	struct server s;
	server_start(&s, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
			 "Connection: close\r\n\r\n");
	atomic_store(&flag, 0);
	http_set_interrupt(&flag);
	/* The first 503 is followed by a backoff of 5 to 10 s; the interrupt
	 * comes 300 ms into it. */
	const struct http_retry retry = {5, 10000, 10000};
	struct raiser r = {.after_ms = 300};
	assert_int_equal(pthread_create(&r.thread, NULL, raise_main, &r), 0);
	struct http_response resp;
	http_response_init(&resp);
	double t0 = now_s();
	assert_int_equal(get(&s, &retry, &resp), 0);
	double took = now_s() - t0;
	pthread_join(r.thread, NULL);
	assert_true(took < 2.0);
	assert_int_equal(resp.status, 503);
	assert_int_equal(atomic_load(&s.requests), 1);
	http_response_dispose(&resp);
	http_set_interrupt(NULL);
	server_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(retry_after_parse__delay_seconds_capped_without_overflow),
	    cmocka_unit_test(retry_after_parse__rejects_what_is_neither_form),
	    cmocka_unit_test(retry_after_parse__http_date_is_measured_from_now),
	    cmocka_unit_test(retry_after_parse__rfc850_year_within_fifty_years),
	    cmocka_unit_test(retry_after_parse__reads_only_len_bytes),
	    cmocka_unit_test(retry_delay__retry_after_wins_capped_at_max),
	    cmocka_unit_test(retry_delay__doubles_with_jitter_up_to_max),
	    cmocka_unit_test(retry_delay__extreme_policies_do_not_overflow),
	    cmocka_unit_test(status_retryable__table),
	    cmocka_unit_test(response_header__case_insensitive_trimmed_first_one),
	    cmocka_unit_test(http_do__reads_retry_after_in_both_forms),
	    cmocka_unit_test(http_do_retry__huge_retry_after_waits_max_ms),
	    cmocka_unit_test(http_do__abandons_a_transfer_under_way_at_the_interrupt),
	    cmocka_unit_test(http_do__runs_a_transfer_begun_after_the_interrupt),
	    cmocka_unit_test(http_do_retry__retries_nothing_after_the_interrupt),
	    cmocka_unit_test(http_do_retry__the_interrupt_ends_the_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
