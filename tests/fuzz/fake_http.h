/* A stand-in for common/http.c in the fuzz targets that read replies: each
 * request is answered by a function the target installs, with no network.
 * It implements all of common/http.h, so a target that links it before the
 * library never pulls in the real one. */
#ifndef LIFEBOAT_FAKE_HTTP_H
#define LIFEBOAT_FAKE_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct http_request;

struct fake_reply {
	int transport_error; /* non-zero: no reply (E_UNAVAILABLE) */
	long status;
	const char *body; /* borrowed for the call */
	size_t len;
	const char *headers; /* "Name: value\r\n" lines, or NULL */
	/* A streaming request (on_data) gets the body in slices drawn from
	 * this seed; 0 gives it in one piece. */
	uint64_t slice_seed;
};

typedef void (*fake_http_fn)(const struct http_request *req, struct fake_reply *out, void *ud);

/* Installs fn (NULL: every request fails as a transport error). Requests
 * may come from another thread (an informer's); fn runs on it. */
void fake_http_serve(fake_http_fn fn, void *ud);
/* Requests answered since the last fake_http_serve (safe from any thread). */
unsigned long fake_http_requests(void);

#endif
