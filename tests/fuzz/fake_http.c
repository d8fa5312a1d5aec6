/* common/http.h answered by the fuzz target (tests/fuzz/fake_http.h):
 * the same response bookkeeping as common/http.c (body cap, header lines,
 * streaming only for 2xx), no curl, no retries, no sleeping. */
#include "tests/fuzz/fake_http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/http.h"
#include "common/xmalloc.h"
#include "tests/fuzz/fuzz.h"

#define DEFAULT_MAX_BODY (16u * 1024 * 1024)
#define MAX_HEADERS (64u * 1024)

struct http_client {
	int unused;
};

static fake_http_fn serve;
static void *serve_ud;
static unsigned long answered;

void fake_http_serve(fake_http_fn fn, void *ud)
{
	serve = fn;
	serve_ud = ud;
	__atomic_store_n(&answered, 0, __ATOMIC_SEQ_CST);
}

unsigned long fake_http_requests(void)
{
	return __atomic_load_n(&answered, __ATOMIC_SEQ_CST);
}

struct http_client *http_client_new(void)
{
	return xcalloc(1, sizeof(struct http_client));
}

void http_client_free(struct http_client *c)
{
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

int http_status_retryable(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

int http_do(struct http_client *c, const struct http_request *req, struct http_response *resp)
{
	struct fake_reply r = {0};
	(void)c;
	buf_reset(&resp->body);
	resp->body.max = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
	resp->status = 0;
	resp->retry_after_s = -1;
	resp->streamed = 0;
	buf_reset(&resp->headers);
	if (serve)
		serve(req, &r, serve_ud);
	else
		r.transport_error = 1;
	/* Counted once answered: a thread waiting for the count sees the
	 * script's effects. */
	__atomic_add_fetch(&answered, 1, __ATOMIC_SEQ_CST);
	if (r.transport_error)
		return err_set(E_UNAVAILABLE, "%s %s: no reply (fuzz)", req->method,
			       req->log_url ? req->log_url : req->url);
	resp->status = r.status;
	if (r.headers)
		(void)buf_adds(&resp->headers, r.headers);
	if (req->on_data && r.status / 100 == 2) {
		struct fuzz_rng rng = {r.slice_seed};
		for (size_t off = 0; off < r.len;) {
			size_t k = r.slice_seed ? fuzz_slice(&rng, r.len - off) : r.len - off;
			int rc = req->on_data(r.body + off, k, req->ud);
			resp->streamed += k;
			off += k;
			if (rc)
				return rc;
		}
		return 0;
	}
	if (r.len && buf_add(&resp->body, r.body, r.len) < 0)
		return err_set(E_TOOBIG, "%s %s: the reply is larger than %zu bytes", req->method,
			       req->log_url ? req->log_url : req->url, resp->body.max);
	return 0;
}

int http_do_retry(struct http_client *c, const struct http_request *req, struct http_response *resp,
		  const struct http_retry *policy, unsigned long *retries)
{
	(void)policy;
	(void)retries;
	return http_do(c, req, resp);
}
