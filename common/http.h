/* One HTTP layer (libcurl) for the Kubernetes API and, later, the storage
 * backends: keep-alive per client, TLS verification on, streaming bodies. */
#ifndef LIFEBOAT_HTTP_H
#define LIFEBOAT_HTTP_H

#include <stddef.h>

#include "buf.h"

struct http_tls {
	const char *ca_pem;   /* NULL: the system CA store */
	const char *cert_pem; /* client certificate, or NULL */
	const char *key_pem;
	int insecure; /* skip verification (logged by whoever set it) */
};

struct http_request {
	const char *method; /* "GET", "POST", ... */
	const char *url;
	const char *const *headers; /* "Name: value", NULL-terminated; may be NULL */
	const char *body;
	size_t body_len;
	const struct http_tls *tls;
	long timeout_ms;         /* whole transfer; 0 = no limit (watches) */
	long connect_timeout_ms; /* 0 = 10 s */
	long stall_seconds;      /* abort when under 1 byte/s for this long; 0 = off */
	/* Streaming: body bytes of a 2xx reply go here instead of into the
	 * response; return non-zero to stop the transfer (http_do returns it). */
	int (*on_data)(const char *p, size_t n, void *ud);
	void *ud;
	size_t max_body; /* cap on response bytes kept; 0 = 16 MiB */
	/* When set and non-zero, the transfer is abandoned within about a
	 * second (http_do returns E_TIMEOUT): how a watch is stopped. */
	const volatile int *cancel;
};

struct http_response {
	long status;
	struct buf body;
	long retry_after_s; /* -1 when absent */
};

/* Not thread-safe: one client per thread. */
struct http_client;

struct http_client *http_client_new(void);
void http_client_free(struct http_client *c);
void http_response_init(struct http_response *r);
void http_response_dispose(struct http_response *r);
/* Returns 0 when a reply arrived (whatever its status), the on_data
 * callback's non-zero value when it stopped the transfer, or E_UNAVAILABLE
 * for transport failures (refused, reset, timed out, TLS) naming the URL. */
int http_do(struct http_client *c, const struct http_request *req, struct http_response *resp);

#endif
