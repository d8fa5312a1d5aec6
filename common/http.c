/* libcurl easy-handle wrapper: one reused handle per client (keep-alive). */
#include "http.h"

#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdint.h>
#include <strings.h>

#include <curl/curl.h>

#include "err.h"
#include "xmalloc.h"

#define DEFAULT_MAX_BODY (16u * 1024 * 1024)

struct http_client {
	CURL *curl;
};

struct transfer {
	const struct http_request *req;
	struct http_response *resp;
	int stopped; /* the callback's value */
	int too_big;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

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
	r->status = 0;
	r->retry_after_s = -1;
	buf_init(&r->body, DEFAULT_MAX_BODY);
}

void http_response_dispose(struct http_response *r)
{
	buf_dispose(&r->body);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct transfer *t = ud;
	size_t len = size * n;
	if (t->req->on_data && t->resp->status / 100 == 2) {
		int rc = t->req->on_data(p, len, t->req->ud);
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
	} else if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
		char tmp[32];
		size_t k = len - 12 < sizeof(tmp) - 1 ? len - 12 : sizeof(tmp) - 1;
		memcpy(tmp, p + 12, k);
		tmp[k] = '\0';
		char *end;
		long v = strtol(tmp, &end, 10);
		if (end != tmp && v >= 0)
			t->resp->retry_after_s = v;
	}
	return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct transfer *t = ud;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return t->req->cancel && *t->req->cancel ? 1 : 0;
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
	struct transfer t = {req, resp, 0, 0};
	char errbuf[CURL_ERROR_SIZE] = "";
	int rc = 0;

	curl_easy_reset(curl);
	buf_reset(&resp->body);
	resp->body.max = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
	resp->status = 0;
	resp->retry_after_s = -1;
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
	if (req->cancel) {
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
	} else if (cc == CURLE_ABORTED_BY_CALLBACK) {
		rc = err_set(E_TIMEOUT, "%s %s: cancelled", req->method, req->url);
	} else if (t.too_big) {
		rc = err_set(E_TOOBIG, "%s %s: the reply is larger than %zu bytes", req->method,
			     req->url, resp->body.max);
	} else if (cc != CURLE_OK) {
		rc = err_set(E_UNAVAILABLE, "%s %s: %s", req->method, req->url,
			     errbuf[0] ? errbuf : curl_easy_strerror(cc));
	} else {
		long code = 0;
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
		resp->status = code;
	}
	curl_slist_free_all(hdrs);
	return rc;
}
