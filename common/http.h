/* One HTTP layer (libcurl) for the Kubernetes API and, later, the storage
 * backends: keep-alive per client, TLS verification on, streaming bodies. */
#ifndef LIFEBOAT_HTTP_H
#define LIFEBOAT_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "common/buf.h"

struct http_tls {
	const char *ca_pem;   /* NULL: the system CA store */
	const char *cert_pem; /* client certificate, or NULL */
	const char *key_pem;
	int insecure; /* skip verification (logged by whoever set it) */
};

struct http_request {
	const char *method; /* "GET", "POST", ... */
	const char *url;
	const char
	    *log_url; /* shown in messages instead of url (which may hold a SAS); may be NULL */
	const char *const *headers; /* "Name: value", NULL-terminated; may be NULL */
	const char *body;
	size_t body_len;
	const struct http_tls *tls;
	long timeout_ms;	 /* whole transfer; 0 = no limit (watches) */
	long connect_timeout_ms; /* 0 = 10 s */
	long stall_seconds;	 /* abort when under 1 byte/s for this long; 0 = off */
	/* Streaming: body bytes of a 2xx reply go here instead of into the
	 * response; return non-zero to stop the transfer (http_do returns it). */
	int (*on_data)(const char *p, size_t n, void *ud);
	void *ud;
	size_t max_body; /* cap on response bytes kept; 0 = 16 MiB */
	/* When set and non-zero, the transfer is abandoned within about a
	 * second (http_do returns E_TIMEOUT): how a watch is stopped. */
	const atomic_int *cancel;
};

struct http_response {
	long status;
	struct buf body;
	long retry_after_s; /* -1 when absent or malformed; else 0..HTTP_RETRY_AFTER_MAX_S */
	size_t streamed;    /* bytes handed to on_data */
	struct buf headers; /* the final reply's header lines, as received (capped) */
};

/* The longest wait a Retry-After header is taken to ask for, in seconds:
 * five minutes. A larger delay-seconds or a later HTTP-date counts as this
 * much. Every retry policy caps the wait at its own max_ms anyway (30 s at
 * most in this tree), so the cap only has to lie above those and keep the
 * value far from overflowing when turned into milliseconds; five minutes is
 * also the longest backoff anything here waits (the work queue's maximum). */
#define HTTP_RETRY_AFTER_MAX_S 300L

/* Retries of transport errors, 429, 500, 502, 503 and 504: jittered
 * exponential backoff from base_ms doubling to max_ms; a Retry-After header
 * wins (capped at max_ms). */
struct http_retry {
	int attempts; /* in all, >= 1 */
	long base_ms;
	long max_ms;
};

/* Not thread-safe: one client per thread. */
struct http_client;

/* Makes every transfer watch *flag (the job's stage_interrupted, set at
 * SIGTERM or SIGINT): one under way when it turns non-zero is abandoned
 * within about a second (http_do returns E_IO, "...: abandoned: interrupted
 * by signal N"), and http_do_retry makes no attempt after it, nor waits for
 * one. A transfer begun after it (a clean-up's: an abort, a removal, an
 * audit record) runs as usual. Call it before any thread uses this module;
 * NULL turns it off. */
void http_set_interrupt(const atomic_int *flag);

struct http_client *http_client_new(void);
void http_client_free(struct http_client *c);
void http_response_init(struct http_response *r);
void http_response_dispose(struct http_response *r);
/* The value of the reply header name (case-insensitive; the first one),
 * trimmed, owned by the caller; NULL when absent. */
char *http_response_header(const struct http_response *r, const char *name);
/* Returns 0 when a reply arrived (whatever its status), the on_data
 * callback's non-zero value when it stopped the transfer, E_TLS when the
 * server's certificate does not verify (never retried), or E_UNAVAILABLE for
 * transport failures (refused, reset, timed out) naming the URL. */
int http_do(struct http_client *c, const struct http_request *req, struct http_response *resp);
/* http_do with retries. A streaming request is not retried once bytes
 * reached on_data (the caller resumes, e.g. with a Range), nor any after
 * the interrupt (http_set_interrupt). *retries (may be NULL) is increased
 * by the retries made. Returns as http_do; a final 429 or 5xx reply is
 * returned as a reply (status set), not as an error. */
int http_do_retry(struct http_client *c, const struct http_request *req, struct http_response *resp,
		  const struct http_retry *policy, unsigned long *retries);
/* Whether a reply status is worth retrying (429, 500, 502, 503, 504). */
int http_status_retryable(long status);

/* Pure helpers of the above, public for their tests. */

/* The seconds a Retry-After field value (RFC 9110 10.2.3; len bytes, need
 * not be NUL-terminated, surrounding white space and CR LF allowed) asks to
 * wait at time now: delay-seconds (digits only), or an HTTP-date in any of
 * its three forms (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", the obsolete
 * RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37
 * 1994"), measured from now (a date in the past is 0). The result is capped
 * at HTTP_RETRY_AFTER_MAX_S; -1 when the value is neither form. */
long http_retry_after_parse(const char *value, size_t len, time_t now);
/* The wait in ms before retrying after failed attempt number attempt (1 =
 * the first): retry_after_s * 1000 when retry_after_s >= 0, else base_ms
 * doubled per earlier attempt, with jitter drawn from random (the result lies
 * in [d/2, d]); both capped at max_ms, never negative. */
long http_retry_delay_ms(const struct http_retry *p, int attempt, long retry_after_s,
			 unsigned int random);

#endif
