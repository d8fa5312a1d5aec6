/* libcurl easy-handle wrapper: one reused handle per client (keep-alive). */
#include "common/http.h"

#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define DEFAULT_MAX_BODY (16u * 1024 * 1024)
#define MAX_HEADERS (64u * 1024)

struct http_client {
	CURL *curl;
};

struct transfer {
	const struct http_request *req;
	struct http_response *resp;
	int stopped; /* the callback's value */
	int too_big;
	int watch_interrupt; /* begun before the interrupt: abandoned at it */
	int interrupted;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
/* Set once, before any thread: http_set_interrupt. */
static const atomic_int *interrupt_flag;

void http_set_interrupt(const atomic_int *flag)
{
	interrupt_flag = flag;
}

static int interrupt_signal(void)
{
	return interrupt_flag ? atomic_load(interrupt_flag) : 0;
}

static void global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct http_client *http_client_new(void)
{
	pthread_once(&init_once, global_init);
	struct http_client *c = xcalloc(1, sizeof(*c));
	c->curl = curl_easy_init();
	if (!c->curl)
		abort();
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

void http_response_init(struct http_response *r)
{
	r->streamed = 0;
	r->status = 0;
	r->retry_after_s = -1;
	buf_init(&r->body, DEFAULT_MAX_BODY);
	buf_init(&r->headers, MAX_HEADERS);
}

void http_response_dispose(struct http_response *r)
{
	buf_dispose(&r->body);
	buf_dispose(&r->headers);
}

char *http_response_header(const struct http_response *r, const char *name)
{
	size_t nlen = strlen(name);
	for (const char *p = buf_str(&r->headers); *p;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1, *e = p + len;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			return xstrndup(v, (size_t)(e - v));
		}
		p += len + (eol ? 1 : 0);
	}
	return NULL;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	size_t len = size * n;
	if (t->req->on_data && t->resp->status / 100 == 2) {
		int rc = t->req->on_data(p, len, t->req->ud);
		t->resp->streamed += len;
		if (rc) {
			t->stopped = rc;
			return 0; /* aborts the transfer */
		}
		return len;
	}
	if (buf_add(&t->resp->body, p, len) < 0) {
		t->too_big = 1;
		return 0;
	}
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	size_t len = size * n;
	/* The status line of each response (also after 100-continue). */
	if (len > 9 && strncmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', len);
		if (sp)
			t->resp->status = strtol(sp + 1, NULL, 10);
		t->resp->retry_after_s = -1;
		buf_reset(&t->resp->headers);
		return len;
	}
	/* Kept for http_response_header; past the cap the rest is dropped. */
	(void)buf_add(&t->resp->headers, p, len);
	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
		t->resp->retry_after_s = http_retry_after_parse(p + 12, len - 12, time(NULL));
	return len;
}

/* The URL for messages: log_url when the real one carries a secret. */
static const char *shown_url(const struct http_request *req)
{
	return req->log_url ? req->log_url : req->url;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct transfer *t = ud;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (t->watch_interrupt && interrupt_signal()) {
		t->interrupted = 1;
		return 1;
	}
	return t->req->cancel && atomic_load(t->req->cancel) ? 1 : 0;
}

static void set_blob(CURL *curl, CURLoption opt, const char *pem)
{
	struct curl_blob blob = {(void *)(uintptr_t)pem, strlen(pem), CURL_BLOB_COPY};
	curl_easy_setopt(curl, opt, &blob);
}

int http_do(struct http_client *c, const struct http_request *req, struct http_response *resp)
{
	CURL *curl = c->curl;
	struct curl_slist *hdrs = NULL;
	struct transfer t = {req, resp, 0, 0, interrupt_flag && !interrupt_signal(), 0};
	char errbuf[CURL_ERROR_SIZE] = "";
	int rc = 0;

	curl_easy_reset(curl);
	buf_reset(&resp->body);
	resp->body.max = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
	resp->status = 0;
	resp->retry_after_s = -1;
	resp->streamed = 0;
	buf_reset(&resp->headers);
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		hdrs = curl_slist_append(hdrs, req->headers[i]);
	/* No "Expect: 100-continue" round trip on uploads. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
	if (req->body) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			 req->connect_timeout_ms ? req->connect_timeout_ms : 10000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	if (req->cancel || t.watch_interrupt) {
		curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	}
	if (req->stall_seconds > 0) {
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, req->stall_seconds);
	}
	if (req->tls) {
		if (req->tls->ca_pem)
			set_blob(curl, CURLOPT_CAINFO_BLOB, req->tls->ca_pem);
		if (req->tls->cert_pem)
			set_blob(curl, CURLOPT_SSLCERT_BLOB, req->tls->cert_pem);
		if (req->tls->key_pem)
			set_blob(curl, CURLOPT_SSLKEY_BLOB, req->tls->key_pem);
		if (req->tls->insecure) {
			curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
		}
	}
	CURLcode cc = curl_easy_perform(curl);
	if (t.stopped) {
		rc = t.stopped;
	} else if (t.interrupted) {
		rc = err_set(E_IO, "%s %s: abandoned: interrupted by signal %d", req->method,
			     shown_url(req), interrupt_signal());
	} else if (cc == CURLE_ABORTED_BY_CALLBACK) {
		rc = err_set(E_TIMEOUT, "%s %s: cancelled", req->method, shown_url(req));
	} else if (t.too_big) {
		rc = err_set(E_TOOBIG, "%s %s: the reply is larger than %zu bytes", req->method,
			     shown_url(req), resp->body.max);
	} else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
		   cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH) {
		/* Permanent: retrying cannot make a certificate verify. */
		rc = err_set(E_TLS, "%s %s: %s", req->method, shown_url(req),
			     errbuf[0] ? errbuf : curl_easy_strerror(cc));
	} else if (cc != CURLE_OK) {
		rc = err_set(E_UNAVAILABLE, "%s %s: %s", req->method, shown_url(req),
			     errbuf[0] ? errbuf : curl_easy_strerror(cc));
	} else {
		long code = 0;
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
		resp->status = code;
	}
	curl_slist_free_all(hdrs);
	return rc;
}

int http_status_retryable(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* --- Retry-After (RFC 9110 10.2.3) --- */

/* A cursor over the field value. */
struct scan {
	const char *p, *end;
};

static int scan_lit(struct scan *s, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, lit, n) != 0)
		return 0;
	s->p += n;
	return 1;
}

/* Exactly n digits. */
static int scan_digits(struct scan *s, int n, int *out)
{
	int v = 0;
	if (s->end - s->p < n)
		return 0;
	for (int i = 0; i < n; i++) {
		if (s->p[i] < '0' || s->p[i] > '9')
			return 0;
		v = v * 10 + (s->p[i] - '0');
	}
	s->p += n;
	*out = v;
	return 1;
}

/* One of names (case-sensitive, as the grammar is); its index + 1, or 0. */
static int scan_name(struct scan *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (scan_lit(s, names[i]))
			return i + 1;
	return 0;
}

static const char *const day_names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const long_day_names[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
					     "Friday", "Saturday", "Sunday"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* hour ":" minute ":" second, 00:00:00 to 23:59:60 (a leap second). */
static int scan_time(struct scan *s, int *h, int *mi, int *sec)
{
	return scan_digits(s, 2, h) && scan_lit(s, ":") && scan_digits(s, 2, mi) &&
	       scan_lit(s, ":") && scan_digits(s, 2, sec) && *h <= 23 && *mi <= 59 && *sec <= 60;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* An HTTP-date as seconds since the epoch; 0 when malformed. */
static int parse_http_date(int64_t *out, struct scan *s, time_t now)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
	struct scan at = *s;
	int ok;
	if (scan_name(&at, long_day_names, 7)) {
		/* rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT */
		int y2 = 0;
		ok = scan_lit(&at, ", ") && scan_digits(&at, 2, &d) && scan_lit(&at, "-") &&
		     (mo = scan_name(&at, month_names, 12)) && scan_lit(&at, "-") &&
		     scan_digits(&at, 2, &y2) && scan_lit(&at, " ") &&
		     scan_time(&at, &h, &mi, &sec) && scan_lit(&at, " GMT");
		if (ok) {
			/* RFC 9110 5.6.7: a year more than 50 years ahead is the
			 * latest past one with the same two digits. */
			struct tm tm;
			int cur = gmtime_r(&now, &tm) ? tm.tm_year + 1900 : 1970;
			y = cur - cur % 100 + y2;
			if (y > cur + 50)
				y -= 100;
		}
	} else if (scan_name(&at, day_names, 7)) {
		if (scan_lit(&at, ", ")) {
			/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
			ok = scan_digits(&at, 2, &d) && scan_lit(&at, " ") &&
			     (mo = scan_name(&at, month_names, 12)) && scan_lit(&at, " ") &&
			     scan_digits(&at, 4, &y) && scan_lit(&at, " ") &&
			     scan_time(&at, &h, &mi, &sec) && scan_lit(&at, " GMT");
		} else {
			/* asctime-date: Sun Nov  6 08:49:37 1994 */
			ok = scan_lit(&at, " ") && (mo = scan_name(&at, month_names, 12)) &&
			     scan_lit(&at, " ") &&
			     (scan_lit(&at, " ") ? scan_digits(&at, 1, &d)
						 : scan_digits(&at, 2, &d)) &&
			     scan_lit(&at, " ") && scan_time(&at, &h, &mi, &sec) &&
			     scan_lit(&at, " ") && scan_digits(&at, 4, &y);
		}
	} else {
		ok = 0;
	}
	if (!ok || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y)))
		return 0;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	*s = at;
	return 1;
}

long http_retry_after_parse(const char *value, size_t len, time_t now)
{
	struct scan s = {value, value + len};
	while (s.p < s.end && strchr(" \t\r\n", *s.p))
		s.p++;
	while (s.end > s.p && strchr(" \t\r\n", s.end[-1]))
		s.end--;
	if (s.p == s.end)
		return -1;
	if (*s.p >= '0' && *s.p <= '9') {
		/* delay-seconds = 1*DIGIT, saturating at the cap: never overflows. */
		long v = 0;
		for (; s.p < s.end; s.p++) {
			if (*s.p < '0' || *s.p > '9')
				return -1;
			if (v < HTTP_RETRY_AFTER_MAX_S)
				v = v * 10 + (*s.p - '0');
		}
		return v < HTTP_RETRY_AFTER_MAX_S ? v : HTTP_RETRY_AFTER_MAX_S;
	}
	int64_t when;
	if (!parse_http_date(&when, &s, now) || s.p != s.end)
		return -1;
	/* A date lies in years 0..9999 (|when| < 2^38): with now >= 0, the
	 * difference, taken only when when > now, cannot overflow. */
	if (now < 0)
		now = 0;
	if (when <= (int64_t)now)
		return 0;
	return when - (int64_t)now < HTTP_RETRY_AFTER_MAX_S ? (long)(when - (int64_t)now)
							    : HTTP_RETRY_AFTER_MAX_S;
}

long http_retry_delay_ms(const struct http_retry *p, int attempt, long retry_after_s,
			 unsigned int random)
{
	long max = p->max_ms > 0 ? p->max_ms : 0;
	/* Compared before multiplying: retry_after_s * 1000 may not fit. */
	if (retry_after_s >= 0)
		return retry_after_s > max / 1000 ? max : retry_after_s * 1000;
	long d = p->base_ms > 0 ? p->base_ms : 0;
	for (int i = 1; i < attempt && d < max; i++)
		d = d > max / 2 ? max : d * 2;
	if (d > max)
		d = max;
	return d / 2 + (d > 1 ? (long)(random % ((unsigned long)d / 2 + 1)) : 0);
}

static long backoff_ms(const struct http_retry *p, int attempt, long retry_after_s)
{
	unsigned int r = 0;
	RAND_bytes((unsigned char *)&r, sizeof(r));
	return http_retry_delay_ms(p, attempt, retry_after_s, r);
}

int http_do_retry(struct http_client *c, const struct http_request *req, struct http_response *resp,
		  const struct http_retry *policy, unsigned long *retries)
{
	int rc;
	for (int attempt = 1;; attempt++) {
		rc = http_do(c, req, resp);
		int retryable =
		    rc == E_UNAVAILABLE || (rc == 0 && http_status_retryable(resp->status));
		/* After the interrupt, the grace period is for the clean-up. */
		if (!retryable || attempt >= policy->attempts ||
		    (req->on_data && resp->streamed > 0) || interrupt_signal())
			return rc;
		long wait = backoff_ms(policy, attempt, rc == 0 ? resp->retry_after_s : -1);
		log_debug("%s %s: %s; retrying in %ld ms (attempt %d of %d)", req->method,
			  shown_url(req), rc ? err_msg() : "the server is busy", wait, attempt + 1,
			  policy->attempts);
		if (retries)
			(*retries)++;
		/* In slices, so that the interrupt ends the wait too. */
		for (long left = wait; left > 0 && !interrupt_signal(); left -= 100) {
			long ms = left < 100 ? left : 100;
			struct timespec ts = {0, ms * 1000000};
			while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
				;
		}
		if (interrupt_signal())
			return rc;
	}
}
