/* Fuzz target: the API server's JSON as the C Kubernetes client reads it
 * (operator/kube/client.c and status.c), through tests/fuzz/fake_http.c:
 * the input is the reply to
 *   - a get (200: any JSON document);
 *   - a list, served as each page (the client follows "continue" up to
 *     three pages, then an empty list ends it);
 *   - a watch, streamed in slices drawn from the input (newline-delimited
 *     events, ERROR events carrying a Status);
 *   - a get answered with an error status (chosen from the input) and the
 *     input as its body, and kube_status_error on the bare bytes.
 * Properties: no crash, leak or undefined behaviour; every error is a
 * negative err code; a decoded HTTP error maps to the code status.h
 * documents; a list that succeeds hands out its resourceVersion. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/http.h"
#include "common/xmalloc.h"
#include "operator/kube/client.h"
#include "operator/kube/informer.h"
#include "operator/kube/kubeconfig.h"
#include "operator/kube/status.h"
#include "tests/fuzz/fake_http.h"
#include "tests/fuzz/fuzz.h"

static const char empty_list[] =
    "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{},\"items\":[]}";

struct script {
	const uint8_t *data;
	size_t size;
	long status;
	int pages; /* list pages served so far */
	uint64_t seed;
};

static void serve(const struct http_request *req, struct fake_reply *out, void *ud)
{
	struct script *s = ud;
	out->status = s->status;
	out->body = (const char *)s->data;
	out->len = s->size;
	out->slice_seed = s->seed;
	/* A list past its third page: the server has nothing more. */
	if (strstr(req->url, "watch=") == NULL && strstr(req->url, "limit=") && s->pages++ >= 3) {
		out->body = empty_list;
		out->len = strlen(empty_list);
	}
}

static int on_item(struct json_object *item, void *ud)
{
	size_t *n = ud;
	free(informer_key(item));
	(void)json_object_to_json_string(item);
	(*n)++;
	return 0;
}

static int on_event(const char *type, struct json_object *obj, void *ud)
{
	size_t *n = ud;
	FUZZ_CHECK(type != NULL, "a watch event without a type string");
	free(informer_key(obj));
	(*n)++;
	return 0;
}

static int expected_code(long http, const char *body, size_t len)
{
	(void)body;
	(void)len;
	switch (http) {
	case 400:
	case 422:
		return E_INVALID;
	case 401:
	case 403:
		return E_FORBIDDEN;
	case 404:
		return E_NOTFOUND;
	case 410:
		return E_GONE;
	case 429:
		return E_UNAVAILABLE;
	default:
		return http >= 500 && http <= 599 ? E_UNAVAILABLE : E_IO;
	}
}

static struct kube_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	cfg.server = xstrdup("https://127.0.0.1:6443");
	cfg.namespace_ = xstrdup("default");
	cfg.token = xstrdup("fuzz-token");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {400, 401, 403, 404, 409, 410, 422, 429, 500, 503, 418, 302};
	uint64_t h = fuzz_hash(data, size);
	struct script s = {data, size, 200, 0, h | 1};
	struct kube_client *c = kube_client_new(&cfg);
	struct json_object *obj = NULL;
	char *rv = NULL;
	size_t n = 0;
	int rc;

	kube_client_set_retry(c, 1, 0, 0);
	fake_http_serve(serve, &s);

	rc = kube_get(c, &KUBE_PODS, "default", "p", &obj);
	FUZZ_CHECK(rc == 0 ? obj != NULL : rc < 0 && obj == NULL, "get: %d", rc);
	json_object_put(obj);

	rc = kube_list(c, &KUBE_PODS, "default", "app=x", NULL, 500, on_item, &n, &rv);
	FUZZ_CHECK(rc <= 0, "list: %d", rc);
	FUZZ_CHECK(rc == 0 || rv == NULL, "a failed list handed out a resourceVersion");
	free(rv);

	s.pages = 0;
	rc = kube_watch(c, &KUBE_PODS, "default", NULL, NULL, "12345", 5, on_event, &n, NULL);
	FUZZ_CHECK(rc <= 0, "watch: %d", rc);

	s.status = statuses[h % (sizeof(statuses) / sizeof(statuses[0]))];
	obj = NULL;
	rc = kube_get(c, &KUBE_PODS, "default", "p", &obj);
	FUZZ_CHECK(obj == NULL, "an error reply handed out an object");
	if (s.status != 409)
		FUZZ_CHECK(rc == expected_code(s.status, (const char *)data, size),
			   "HTTP %ld decoded as %d", s.status, rc);
	else
		FUZZ_CHECK(rc == E_CONFLICT || rc == E_EXISTS, "HTTP 409 decoded as %d", rc);

	/* The bare bytes, not NUL-terminated, as the declaration allows. */
	char *copy = xmalloc(size ? size : 1);
	if (size)
		memcpy(copy, data, size);
	rc = kube_status_error(s.status, copy, size, "GET /api/v1/pods");
	FUZZ_CHECK(rc < 0 && err_code() == rc, "kube_status_error: %d", rc);
	free(copy);

	fake_http_serve(NULL, NULL);
	kube_client_free(c);
	return 0;
}
