/* Fuzz target: an informer (operator/kube/informer.c) fed a script of API
 * replies through tests/fuzz/fake_http.c. The input is up to six replies
 * separated by lines "---": each request the informer makes gets the next
 * one, a list as its body and a watch as its stream (newline-delimited
 * events, in slices drawn from the input); once they run out every request
 * fails, the informer backs off, and the target stops it. A 410 (an ERROR
 * event with code 410) makes it relist from the next reply, diffing the
 * cache against it. Properties, tracked with a set of the keys the
 * handlers announced: an add is for a key not cached, an update and a
 * delete for a cached one, with the old object readable and of the same
 * key; an update changes the resourceVersion; and at the end the cache
 * holds exactly the keys added and not deleted, each readable under its
 * key. The script must be done within five seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "common/err.h"
#include "common/http.h"
#include "common/xmalloc.h"
#include "operator/kube/informer.h"
#include "operator/kube/kubeconfig.h"
#include "tests/fuzz/fake_http.h"
#include "tests/fuzz/fuzz.h"

#define MAX_REPLIES 6

struct script {
	const char *part[MAX_REPLIES];
	size_t len[MAX_REPLIES];
	size_t n, next;
	uint64_t seed;
};

struct keys {
	char **k;
	size_t n;
};

static struct kube_config cfg;

static void serve(const struct http_request *req, struct fake_reply *out, void *ud)
{
	struct script *s = ud;
	(void)req;
	if (s->next >= s->n) {
		out->transport_error = 1;
		return;
	}
	out->status = 200;
	out->body = s->part[s->next];
	out->len = s->len[s->next];
	out->slice_seed = s->seed + s->next;
	s->next++;
}

static size_t find(const struct keys *ks, const char *k)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->k[i], k) == 0)
			return i;
	return (size_t)-1;
}

static const char *rv_of(struct json_object *o)
{
	struct json_object *m, *v;
	if (json_object_object_get_ex(o, "metadata", &m) &&
	    json_object_object_get_ex(m, "resourceVersion", &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

static void on_add(struct json_object *obj, void *ud)
{
	struct keys *ks = ud;
	char *k = informer_key(obj);
	FUZZ_CHECK(k, "an add without a key");
	FUZZ_CHECK(find(ks, k) == (size_t)-1, "an add for %s, which is cached", k);
	ks->k = xrealloc(ks->k, (ks->n + 1) * sizeof(*ks->k));
	ks->k[ks->n++] = k;
}

static void on_update(struct json_object *old, struct json_object *obj, void *ud)
{
	struct keys *ks = ud;
	char *k = informer_key(obj), *ko = old ? informer_key(old) : NULL;
	FUZZ_CHECK(k && find(ks, k) != (size_t)-1, "an update for %s, which is not cached", k);
	FUZZ_CHECK(old && ko && strcmp(k, ko) == 0, "an update of %s whose old object is %s", k,
		   ko ? ko : "unreadable");
	const char *a = rv_of(old), *b = rv_of(obj);
	FUZZ_CHECK(!a || !b || strcmp(a, b) != 0, "an update of %s keeps resourceVersion %s", k, b);
	free(k);
	free(ko);
}

static void on_delete(struct json_object *obj, void *ud)
{
	struct keys *ks = ud;
	FUZZ_CHECK(obj, "a delete with no object");
	char *k = informer_key(obj);
	size_t i = k ? find(ks, k) : (size_t)-1;
	FUZZ_CHECK(i != (size_t)-1, "a delete of %s, which is not cached", k ? k : "(no key)");
	free(ks->k[i]);
	ks->k[i] = ks->k[--ks->n];
	free(k);
}

static int in_cache(const char *key, struct json_object *obj, void *ud)
{
	struct keys *ks = ud;
	char *k = obj ? informer_key(obj) : NULL;
	FUZZ_CHECK(find(ks, key) != (size_t)-1, "%s is cached but was never added", key);
	FUZZ_CHECK(k && strcmp(k, key) == 0, "the object cached as %s is %s", key,
		   k ? k : "unreadable");
	free(k);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	cfg.server = xstrdup("https://127.0.0.1:6443");
	cfg.namespace_ = xstrdup("default");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct script s = {.seed = fuzz_hash(data, size) | 1};
	struct keys ks = {NULL, 0};
	const char *p = (const char *)data, *end = p + size;
	struct informer_handlers h = {on_add, on_update, on_delete, &ks};
	struct informer *inf;

	while (s.n < MAX_REPLIES) {
		const char *sep = memmem(p, (size_t)(end - p), "\n---\n", 5);
		s.part[s.n] = p;
		s.len[s.n++] = sep ? (size_t)(sep - p) + 1 : (size_t)(end - p);
		if (!sep)
			break;
		p = sep + 5;
	}
	fake_http_serve(serve, &s);
	inf = informer_new(&cfg, &KUBE_PODS, NULL, NULL, &h);
	informer_set_timing(inf, 5, 1, 1);
	FUZZ_CHECK(informer_start(inf) == 0, "informer_start");
	struct timespec t0, now, nap = {0, 100000};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (fake_http_requests() <= s.n) {
		nanosleep(&nap, NULL);
		clock_gettime(CLOCK_MONOTONIC, &now);
		FUZZ_CHECK(now.tv_sec - t0.tv_sec < 5, "the informer is stuck after %lu requests",
			   fake_http_requests());
	}
	informer_stop(inf);
	if (fuzz_debug()) {
		struct informer_stats st;
		informer_get_stats(inf, &st);
		fprintf(stderr,
			"informer: %zu replies, %llu lists (%llu after 410), %llu watches, %llu "
			"events, %llu handler calls, %llu duplicates, %zu cached\n",
			s.n, (unsigned long long)st.lists, (unsigned long long)st.relists_410,
			(unsigned long long)st.watches, (unsigned long long)st.events,
			(unsigned long long)st.handler_calls, (unsigned long long)st.duplicates,
			ks.n);
	}
	FUZZ_CHECK(informer_len(inf) == ks.n, "the cache holds %zu objects, the handlers say %zu",
		   informer_len(inf), ks.n);
	informer_foreach(inf, in_cache, &ks);
	for (size_t i = 0; i < ks.n; i++) {
		char *slash = strchr(ks.k[i], '/');
		struct json_object *o;
		if (slash) {
			*slash = '\0';
			o = informer_get(inf, ks.k[i], slash + 1);
			*slash = '/';
		} else {
			o = informer_get(inf, NULL, ks.k[i]);
		}
		FUZZ_CHECK(o, "informer_get cannot find %s", ks.k[i]);
		json_object_put(o);
		free(ks.k[i]);
	}
	free(ks.k);
	informer_free(inf);
	fake_http_serve(NULL, NULL);
	return 0;
}
