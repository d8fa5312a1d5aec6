/* kubetool: drives the C Kubernetes client against the real kube-apiserver
 * (tests/cluster), directly or through tests/cluster/faultproxy.py.
 *   kubetool storm KUBECONFIG [CHANGES]   informer vs a storm of changes under faults (proxy)
 *   kubetool verbs KUBECONFIG [NS]        every client verb against real server semantics
 *   kubetool forbidden KUBECONFIG         an identity that may only read: 403 decoded
 *   kubetool gone KUBECONFIG              a watch from before a restart+compaction: 410 (proxy)
 *   kubetool populate KUBECONFIG N        create N DatabaseBackups in namespace "bench"
 *   kubetool touch KUBECONFIG N           merge-patch N of them (labels), as fast as possible
 *   kubetool bench KUBECONFIG N           informer over the N objects: sync time, events/s, RSS
 *   kubetool leader KUBECONFIG NS NAME ID SECONDS
 *                                         an elector (operator/leader.c) for the Lease NS/NAME as
 * ID: prints "LEADING <unix ms>" / "STOPPED <unix ms>" lines; on SIGTERM/SIGINT or after SECONDS it
 * releases and exits 0 kubetool events KUBECONFIG NS NAME N  records events (operator/events.c)
 * about ConfigMap NS/NAME: one Warning repeated N times (one Event, count N), one Normal, and a
 * burst of 5,000 that must not block kubetool apply KUBECONFIG NS          the operator's apply
 * step (operator/controller/apply.c) against real server semantics: adoption, 404s, stale
 *                                         resourceVersions, finalizers, status, events
 *   kubetool metrics                      the operator's metrics with sample values, as served
 *   kubetool serve PORTFILE               operator/serve.c on 127.0.0.1:0 with sample metrics;
 * writes the port to PORTFILE; "ready" once PORTFILE is written; runs until SIGTERM (exit 0)
 *   kubetool webhook CERTDIR PORTFILE [ADDR]
 *                                         the DatabaseRestore admission webhook (operator/
 *                                         webhook_serve.c) over TLS with CERTDIR/tls.crt and
 *                                         tls.key, on ADDR (default 127.0.0.1:0); writes the port
 *                                         to PORTFILE; logs each review on stderr (logfmt); on
 *                                         SIGTERM prints "STATS reviews=.. patched=.. denied=..
 *                                         malformed=.. refused=.. cert_loads=..
 *                                         cert_load_failures=.." and exits 0
 * Test results are "PASS kube: ..." / "FAIL kube: ..." lines, also appended to
 * $LIFEBOAT_RESULTS. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <json.h>

#include "common/err.h"
#include "common/http.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "common/buf.h"
#include "operator/api/backup.h"
#include "operator/controller/apply.h"
#include "operator/controller/backup.h"
#include "operator/events.h"
#include "operator/kube/client.h"
#include "operator/kube/informer.h"
#include "operator/kube/kubeconfig.h"
#include "operator/leader.h"
#include "operator/metrics.h"
#include "operator/serve.h"
#include "operator/webhook_serve.h"

static const struct kube_resource BACKUPS = {"lifeboat.dev", "v1alpha1", "databasebackups",
					     "DatabaseBackup", 1};
static int failures;

static void result(int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void result(int ok, const char *name, const char *fmt, ...)
{
	char why[1024] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	const char *path = getenv("LIFEBOAT_RESULTS"), *suite = getenv("T_SUITE");
	FILE *f = path && *path ? fopen(path, "a") : NULL;
	if (!suite || !*suite)
		suite = "kube";
	if (ok) {
		printf("  ok   %s\n", name);
		if (f)
			fprintf(f, "PASS %s: %s\n", suite, name);
	} else {
		failures++;
		printf("  FAIL %s: %s\n", name, why);
		if (f)
			fprintf(f, "FAIL %s: %s: %s\n", suite, name, why);
	}
	if (f)
		fclose(f);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rv_num(struct json_object *obj)
{
	struct json_object *m, *v;
	if (json_object_object_get_ex(obj, "metadata", &m) &&
	    json_object_object_get_ex(m, "resourceVersion", &v))
		return strtol(json_object_get_string(v), NULL, 10);
	return -1;
}

/* --- the control API of tests/cluster/faultproxy.py --- */

static int control(struct kube_config *cfg, const char *method, const char *path, const char *body)
{
	struct http_client *h = http_client_new();
	struct http_response resp;
	http_response_init(&resp);
	char *url = xasprintf("%s%s", cfg->server, path);
	const char *hdrs[] = {"Content-Type: application/json", NULL};
	struct http_tls tls = {cfg->ca_pem, NULL, NULL, cfg->insecure};
	struct http_request req = {.method = method,
				   .url = url,
				   .headers = hdrs,
				   .body = body,
				   .body_len = body ? strlen(body) : 0,
				   .tls = &tls,
				   .timeout_ms = 60000};
	int rc = http_do(h, &req, &resp);
	if (!rc && resp.status / 100 != 2)
		rc = err_set(E_IO, "%s %s: HTTP %ld", method, path, resp.status);
	free(url);
	http_response_dispose(&resp);
	http_client_free(h);
	return rc;
}

/* --- storm --- */

struct seen {
	pthread_mutex_t lock;
	struct json_object *last; /* key -> {"rv": n, "deleted": bool} */
	long violations;
	char first_violation[256];
};

static void record(struct seen *s, struct json_object *obj, int deleted)
{
	char *key = informer_key(obj);
	long rv = rv_num(obj);
	pthread_mutex_lock(&s->lock);
	struct json_object *prev;
	if (json_object_object_get_ex(s->last, key, &prev)) {
		struct json_object *p;
		json_object_object_get_ex(prev, "rv", &p);
		long prv = json_object_get_int64(p);
		/* A delete carries the object's last version, which may equal the
		 * version last seen: only a repeat of an upsert is a duplicate. */
		if (rv < prv || (rv == prv && !deleted)) {
			if (!s->violations)
				snprintf(s->first_violation, sizeof(s->first_violation),
					 "%s: handler got rv %ld after rv %ld", key, rv, prv);
			s->violations++;
		}
	}
	struct json_object *e = json_object_new_object();
	json_object_object_add(e, "rv", json_object_new_int64(rv));
	json_object_object_add(e, "deleted", json_object_new_boolean(deleted));
	json_object_object_add(s->last, key, e);
	pthread_mutex_unlock(&s->lock);
	free(key);
}

static void on_add(struct json_object *obj, void *ud)
{
	record(ud, obj, 0);
}

static void on_update(struct json_object *old, struct json_object *obj, void *ud)
{
	(void)old;
	record(ud, obj, 0);
}

static void on_delete(struct json_object *obj, void *ud)
{
	record(ud, obj, 1);
}

struct faults {
	struct kube_config *cfg;
	volatile int stop;
	int rounds;
	int restarts;
};

static void *fault_main(void *arg)
{
	struct faults *f = arg;
	static const char *const plan[] = {
	    "drop-watches",
	    "{\"status\": 500, \"rate\": 0.2}",
	    "clear",
	    "{\"status\": 429, \"retryAfterSeconds\": 1, \"count\": 3}",
	    "{\"slowMs\": 150, \"rate\": 1.0}",
	    "clear",
	    /* Cut the informer off while changes go on, then lose the history:
	     * its next watch gets 410 Gone and it must relist. */
	    "cutoff",
	    "restart",
	    "clear",
	    "{\"status\": 503, \"rate\": 0.3, \"methods\": [\"GET\"]}",
	    "clear",
	    "drop-watches",
	};
	size_t i = 0;
	while (!f->stop) {
		const char *step = plan[i++ % (sizeof(plan) / sizeof(plan[0]))];
		if (!strcmp(step, "cutoff")) {
			control(f->cfg, "POST", "/_lifeboat/faults",
				"{\"status\": 503, \"rate\": 1.0, \"watches\": true, "
				"\"pathRegex\": \"watch=\"}");
			control(f->cfg, "POST", "/_lifeboat/drop-watches", "{}");
		} else if (!strcmp(step, "drop-watches"))
			control(f->cfg, "POST", "/_lifeboat/drop-watches", "{}");
		else if (!strcmp(step, "restart"))
			/* The first two restart the real apiserver over a compacted
			 * etcd (a real 410 for the cut-off informer; ~5 s each);
			 * later ones only end every watch, as a restart does. */
			control(f->cfg, "POST", "/_lifeboat/restart",
				++f->restarts <= 2 ? "{}" : "{\"apiserver\": false}");
		else if (!strcmp(step, "clear"))
			control(f->cfg, "DELETE", "/_lifeboat/faults", NULL);
		else
			control(f->cfg, "POST", "/_lifeboat/faults", step);
		f->rounds++;
		usleep(400 * 1000);
	}
	control(f->cfg, "DELETE", "/_lifeboat/faults", NULL);
	return NULL;
}

static struct json_object *backup_object(const char *name, int gen)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"lifeboat.dev/v1alpha1\",\"kind\":\"DatabaseBackup\","
		 "\"metadata\":{\"name\":\"%s\",\"labels\":{\"gen\":\"%d\"}},"
		 "\"spec\":{\"database\":{\"engine\":\"postgresql\",\"database\":"
		 "\"app\",\"connectionSecretRef\":{\"name\":\"db\",\"key\":\"uri\"}},"
		 "\"storage\":{\"volume\":{\"claimName\":\"backups\"}}}}",
		 name, gen);
	return json_tokener_parse(text);
}

static int collect_rv(struct json_object *item, void *ud)
{
	char *key = informer_key(item);
	json_object_object_add(ud, key, json_object_new_int64(rv_num(item)));
	free(key);
	return 0;
}

static int cache_rv(const char *key, struct json_object *obj, void *ud)
{
	json_object_object_add(ud, key, json_object_new_int64(rv_num(obj)));
	return 0;
}

static int ensure_namespace(struct kube_client *c, const char *ns)
{
	char text[256];
	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
		 ns);
	struct json_object *o = json_tokener_parse(text);
	int rc = kube_create(c, &KUBE_NAMESPACES, NULL, o, NULL);
	json_object_put(o);
	return rc == E_EXISTS ? 0 : rc;
}

static int storm(struct kube_config *cfg, int changes)
{
	struct kube_client *c = kube_client_new(cfg);
	/* About 15 s of retries: longer than an apiserver restart takes. */
	kube_client_set_retry(c, 12, 50, 2000);
	struct seen seen = {PTHREAD_MUTEX_INITIALIZER, json_object_new_object(), 0, ""};
	struct informer_handlers h = {on_add, on_update, on_delete, &seen};
	if (ensure_namespace(c, "storm")) {
		result(0, "storm: namespace created", "%s", err_msg());
		return 1;
	}
	struct informer *inf = informer_new(cfg, &BACKUPS, "storm", NULL, &h);
	informer_set_timing(inf, 20, 50, 1000);
	informer_start(inf);
	result(informer_wait_synced(inf, 20000) == 0, "storm: informer syncs", "%s", err_msg());

	struct faults f = {cfg, 0, 0, 0};
	pthread_t ft;
	pthread_create(&ft, NULL, fault_main, &f);
	int done = 0, failed = 0, gen = 0;
	unsigned int seed = 42;
	double t0 = now_s();
	while (done < changes && now_s() - t0 < 240) {
		char name[32];
		snprintf(name, sizeof(name), "b-%d", rand_r(&seed) % 60);
		struct json_object *cur = NULL;
		int rc = kube_get(c, &BACKUPS, "storm", name, &cur);
		if (rc == E_NOTFOUND) {
			struct json_object *o = backup_object(name, ++gen);
			rc = kube_create(c, &BACKUPS, "storm", o, NULL);
			json_object_put(o);
		} else if (rc == 0 && rand_r(&seed) % 10 < 7) {
			char patch[128];
			snprintf(patch, sizeof(patch),
				 "{\"metadata\":{\"labels\":{\"gen\":\"%d\"}}}", ++gen);
			rc = kube_patch(c, &BACKUPS, "storm", name, KUBE_PATCH_MERGE, patch, 0,
					NULL, NULL);
		} else if (rc == 0) {
			rc = kube_delete(c, &BACKUPS, "storm", name, "Background", NULL, NULL);
		}
		json_object_put(cur);
		if (rc == 0)
			done++;
		else
			failed++;
		/* Spread the changes over many fault rounds. */
		usleep(15 * 1000);
	}
	f.stop = 1;
	pthread_join(ft, NULL);
	char what[128];
	snprintf(what, sizeof(what), "storm: %d changes made through the faults (client retries)",
		 changes);
	result(done == changes, what, "only %d of %d changes succeeded (%d failed after retries)",
	       done, changes, failed);

	/* Converge: the cache must equal a fresh list of the server. */
	struct json_object *server = NULL, *cache = NULL;
	int equal = 0;
	for (int i = 0; i < 300 && !equal; i++) {
		json_object_put(server);
		json_object_put(cache);
		server = json_object_new_object();
		cache = json_object_new_object();
		kube_list(c, &BACKUPS, "storm", NULL, NULL, 0, collect_rv, server, NULL);
		informer_foreach(inf, cache_rv, cache);
		equal = json_object_equal(server, cache);
		if (!equal)
			usleep(100 * 1000);
	}
	result(equal, "storm: after the faults stop, the cache equals the server's state",
	       "server %d objects, cache %d objects", json_object_object_length(server),
	       json_object_object_length(cache));
	/* Each live object's last handler call carried its final version; each
	 * deleted one's last call was a delete. */
	long missed = 0;
	pthread_mutex_lock(&seen.lock);
	json_object_object_foreach(seen.last, key, e)
	{
		struct json_object *rv, *del, *srv;
		json_object_object_get_ex(e, "rv", &rv);
		json_object_object_get_ex(e, "deleted", &del);
		int live = json_object_object_get_ex(server, key, &srv);
		if (live ? (json_object_get_boolean(del) ||
			    json_object_get_int64(rv) != json_object_get_int64(srv))
			 : !json_object_get_boolean(del))
			missed++;
	}
	json_object_object_foreach(server, skey, sv)
	{
		(void)sv;
		struct json_object *x;
		if (!json_object_object_get_ex(seen.last, skey, &x))
			missed++;
	}
	pthread_mutex_unlock(&seen.lock);
	result(missed == 0,
	       "storm: no event lost: every object's last handler call matches the server",
	       "%ld objects whose last handler call disagrees with the server", missed);
	result(seen.violations == 0,
	       "storm: no duplicate handler call for the same resourceVersion",
	       "%ld violations; first: %s", seen.violations, seen.first_violation);
	struct informer_stats st;
	informer_get_stats(inf, &st);
	result(st.relists_410 >= 1, "storm: relisted after 410 Gone", "relists after 410: %llu",
	       (unsigned long long)st.relists_410);
	result(st.watches >= 3, "storm: reconnected after dropped watches", "watches: %llu",
	       (unsigned long long)st.watches);
	const struct kube_client_stats *cs = kube_client_stats(c);
	/* Each change costs a GET and a write; retries on top stay bounded. */
	result(cs->requests <= (uint64_t)(done + failed) * 2 * 4, "storm: no retry storm (driver)",
	       "%llu requests for %d changes", (unsigned long long)cs->requests, done + failed);
	result(st.errors <= (uint64_t)f.rounds * 8 + 20, "storm: no retry storm (informer)",
	       "%llu informer errors over %d fault rounds", (unsigned long long)st.errors,
	       f.rounds);
	printf("  (changes %d, failed %d, fault rounds %d, lists %llu, relists after 410 %llu, "
	       "watches %llu, informer errors %llu, events %llu, duplicates skipped %llu, "
	       "driver requests %llu, retries %llu)\n",
	       done, failed, f.rounds, (unsigned long long)st.lists,
	       (unsigned long long)st.relists_410, (unsigned long long)st.watches,
	       (unsigned long long)st.errors, (unsigned long long)st.events,
	       (unsigned long long)st.duplicates, (unsigned long long)cs->requests,
	       (unsigned long long)cs->retries);
	json_object_put(server);
	json_object_put(cache);
	informer_free(inf);
	json_object_put(seen.last);
	kube_client_free(c);
	return failures ? 1 : 0;
}

/* --- verbs: every client call against the real server semantics --- */

static int set_phase(struct json_object *obj, void *ud)
{
	struct json_object *st;
	if (!json_object_object_get_ex(obj, "status", &st)) {
		st = json_object_new_object();
		json_object_object_add(obj, "status", st);
	}
	json_object_object_add(st, "phase", json_object_new_string(ud));
	return 0;
}

static int count_item(struct json_object *item, void *ud)
{
	(void)item;
	(*(int *)ud)++;
	return 0;
}

static const char *str_at(struct json_object *o, const char *a, const char *b)
{
	struct json_object *x, *y;
	if (o && json_object_object_get_ex(o, a, &x) && json_object_object_get_ex(x, b, &y))
		return json_object_get_string(y);
	return NULL;
}

/* Whether obj's compact JSON contains needle. */
static int has(struct json_object *obj, const char *needle)
{
	return obj && strstr(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN), needle);
}

static int verbs(struct kube_config *cfg, const char *ns)
{
	struct kube_client *c = kube_client_new(cfg);
	struct json_object *o = NULL, *got = NULL;
	int rc;
	result(ensure_namespace(c, ns) == 0, "verbs: create a namespace (or find it)", "%s",
	       err_msg());
	o = backup_object("v1", 1);
	rc = kube_create(c, &BACKUPS, ns, o, &got);
	result(rc == 0 && str_at(got, "metadata", "uid"), "verbs: create returns the stored object",
	       "%s", err_msg());
	const char *gen = got ? str_at(got, "metadata", "resourceVersion") : NULL;
	char *rv1 = gen ? xstrdup(gen) : xstrdup("");
	json_object_put(got);
	got = NULL;
	rc = kube_create(c, &BACKUPS, ns, o, NULL);
	result(rc == E_EXISTS && strstr(err_msg(), "AlreadyExists"),
	       "verbs: a second create is E_EXISTS (AlreadyExists)", "rc %d: %s", rc, err_msg());
	json_object_put(o);

	rc = kube_get(c, &BACKUPS, ns, "nope", NULL);
	result(rc == E_NOTFOUND, "verbs: get of a missing object is E_NOTFOUND", "rc %d: %s", rc,
	       err_msg());

	/* 422 from the CRD schema, with the field named. */
	o = json_tokener_parse(
	    "{\"apiVersion\":\"lifeboat.dev/v1alpha1\",\"kind\":\"DatabaseBackup\","
	    "\"metadata\":{\"name\":\"bad\"},\"spec\":{\"format\":\"zip\"}}");
	rc = kube_create(c, &BACKUPS, ns, o, NULL);
	result(rc == E_INVALID && strstr(err_msg(), "spec."),
	       "verbs: an invalid object is E_INVALID naming the field", "rc %d: %s", rc,
	       err_msg());
	json_object_put(o);

	/* Update with a stale resourceVersion: 409 Conflict. */
	rc = kube_patch(c, &BACKUPS, ns, "v1", KUBE_PATCH_MERGE,
			"{\"metadata\":{\"labels\":{\"step\":\"2\"}}}", 0, NULL, NULL);
	result(rc == 0, "verbs: merge patch", "%s", err_msg());
	o = backup_object("v1", 3);
	json_object_object_add(json_object_object_get(o, "metadata"), "resourceVersion",
			       json_object_new_string(rv1));
	rc = kube_update(c, &BACKUPS, ns, o, 0, NULL);
	result(rc == E_CONFLICT, "verbs: update with a stale resourceVersion is E_CONFLICT",
	       "rc %d: %s", rc, err_msg());
	json_object_put(o);

	rc = kube_patch(c, &BACKUPS, ns, "v1", KUBE_PATCH_JSON,
			"[{\"op\":\"add\",\"path\":\"/metadata/labels/json\",\"value\":\"yes\"}]",
			0, NULL, &got);
	result(rc == 0 && has(got, "\"json\":\"yes\""), "verbs: JSON patch", "%s", err_msg());
	json_object_put(got);
	got = NULL;

	/* Status subresource: read-modify-write with conflict retry. */
	rc = kube_update_status_retry(c, &BACKUPS, ns, "v1", set_phase, (void *)"Running", 5, &got);
	result(rc == 0 && has(got, "\"phase\":\"Running\""), "verbs: status subresource update",
	       "%s", err_msg());
	json_object_put(got);
	got = NULL;
	rc = kube_patch(c, &BACKUPS, ns, "v1", KUBE_PATCH_MERGE, "{\"status\":{\"phase\":\"X\"}}",
			0, NULL, &got);
	result(rc == 0 && has(got, "\"phase\":\"Running\""),
	       "verbs: the main endpoint ignores status", "%s",
	       rc ? err_msg() : "status changed through the main endpoint");
	json_object_put(got);
	got = NULL;

	/* Server-side apply. */
	rc = kube_patch(c, &BACKUPS, ns, "v1", KUBE_PATCH_APPLY,
			"{\"apiVersion\":\"lifeboat.dev/v1alpha1\",\"kind\":\"DatabaseBackup\","
			"\"metadata\":{\"name\":\"v1\",\"labels\":{\"applied\":\"yes\"}}}",
			0, "kubetool", NULL);
	result(rc == 0, "verbs: server-side apply", "%s", err_msg());

	/* List pagination: 25 objects, 7 a page. */
	for (int i = 0; i < 25; i++) {
		char name[16];
		snprintf(name, sizeof(name), "p-%02d", i);
		o = backup_object(name, i);
		kube_create(c, &BACKUPS, ns, o, NULL);
		json_object_put(o);
	}
	int n = 0;
	char *lrv = NULL;
	rc = kube_list(c, &BACKUPS, ns, NULL, NULL, 7, count_item, &n, &lrv);
	result(rc == 0 && n == 26 && lrv && *lrv, "verbs: list follows continue across pages",
	       "rc %d, %d items: %s", rc, n, err_msg());
	free(lrv);
	n = 0;
	rc = kube_list(c, &BACKUPS, ns, "gen=3", NULL, 0, count_item, &n, NULL);
	result(rc == 0 && n == 1, "verbs: label selector", "rc %d, %d items", rc, n);
	n = 0;
	rc = kube_list(c, &BACKUPS, ns, NULL, "metadata.name=p-03", 0, count_item, &n, NULL);
	result(rc == 0 && n == 1, "verbs: field selector", "rc %d, %d items", rc, n);

	/* Delete with a failing precondition, then for real. */
	rc = kube_delete(c, &BACKUPS, ns, "v1", "Background", "00000000-wrong-uid", NULL);
	result(rc == E_CONFLICT, "verbs: delete with a wrong uid precondition is E_CONFLICT",
	       "rc %d: %s", rc, err_msg());
	rc = kube_delete(c, &BACKUPS, ns, "v1", "Foreground", NULL, NULL);
	result(rc == 0, "verbs: delete with propagationPolicy", "%s", err_msg());
	rc = kube_delete(c, &BACKUPS, ns, "v1", NULL, NULL, NULL);
	result(rc == E_NOTFOUND || rc == 0,
	       "verbs: deleting again is NotFound (or still finalizing)", "rc %d: %s", rc,
	       err_msg());
	free(rv1);
	kube_client_free(c);
	return failures ? 1 : 0;
}

/* --- forbidden: RBAC denials decoded --- */

static int forbidden(struct kube_config *cfg)
{
	struct kube_client *c = kube_client_new(cfg);
	int n = 0;
	int rc = kube_list(c, &BACKUPS, "verbs", NULL, NULL, 0, count_item, &n, NULL);
	result(rc == 0, "forbidden: a reader may list", "rc %d: %s", rc, err_msg());
	struct json_object *o = backup_object("not-allowed", 1);
	rc = kube_create(c, &BACKUPS, "verbs", o, NULL);
	json_object_put(o);
	const char *m = err_msg();
	result(rc == E_FORBIDDEN, "forbidden: a create is E_FORBIDDEN", "rc %d: %s", rc, m);
	result(rc == E_FORBIDDEN && strstr(m, "403") && strstr(m, "Forbidden") &&
		   strstr(m, "system:serviceaccount:verbs:reader") && strstr(m, "cannot create") &&
		   strstr(m, "databasebackups"),
	       "forbidden: the message names the user, the verb and the resource", "%s", m);
	rc = kube_delete(c, &BACKUPS, "verbs", "p-00", NULL, NULL, NULL);
	result(rc == E_FORBIDDEN && strstr(err_msg(), "cannot delete"),
	       "forbidden: a delete is E_FORBIDDEN too", "rc %d: %s", rc, err_msg());
	rc = kube_get(c, &KUBE_NAMESPACES, NULL, "verbs", NULL);
	result(rc == E_FORBIDDEN && strstr(err_msg(), "cannot get resource \"namespaces\""),
	       "forbidden: a cluster-scoped read outside the role is E_FORBIDDEN", "rc %d: %s", rc,
	       err_msg());
	kube_client_free(c);
	return failures ? 1 : 0;
}

/* --- gone: a real 410 after the apiserver restarted over a compacted etcd --- */

static int stop_at_first(const char *type, struct json_object *obj, void *ud)
{
	(void)obj;
	snprintf(ud, 32, "%s", type);
	return 1;
}

static int gone(struct kube_config *cfg)
{
	struct kube_client *c = kube_client_new(cfg);
	kube_client_set_retry(c, 10, 200, 2000);
	char *rv = NULL;
	int n = 0;
	int rc = ensure_namespace(c, "gone");
	if (!rc)
		rc = kube_list(c, &BACKUPS, "gone", NULL, NULL, 0, count_item, &n, &rv);
	result(rc == 0 && rv, "gone: list returns a resourceVersion", "rc %d: %s", rc, err_msg());
	/* Changes after rv, so the restarted server's history starts later. */
	for (int i = 0; !rc && i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "g-%d", i);
		struct json_object *o = backup_object(name, i);
		rc = kube_create(c, &BACKUPS, "gone", o, NULL);
		json_object_put(o);
		if (rc == E_EXISTS)
			rc = 0;
	}
	rc = control(cfg, "POST", "/_lifeboat/restart", "{}");
	result(rc == 0, "gone: the apiserver restarted over a compacted etcd", "%s", err_msg());
	char first[32] = "";
	rc = -1;
	/* The restarted server may still be warming up: retry transport errors. */
	for (int i = 0; i < 50; i++) {
		rc = kube_watch(c, &BACKUPS, "gone", NULL, NULL, rv ? rv : "1", 5, stop_at_first,
				first, NULL);
		if (rc != E_UNAVAILABLE)
			break;
		usleep(200 * 1000);
	}
	result(rc == E_GONE, "gone: a watch from the old resourceVersion is E_GONE (410)",
	       "rc %d, first event %s: %s", rc, first, err_msg());
	result(rc == E_GONE && (strstr(err_msg(), "too old") || strstr(err_msg(), "compacted") ||
				strstr(err_msg(), "Expired")),
	       "gone: the message says why", "%s", err_msg());
	/* And from the list's fresh version, a watch works again. */
	free(rv);
	rv = NULL;
	rc = kube_list(c, &BACKUPS, "gone", NULL, NULL, 0, count_item, &n, &rv);
	first[0] = 0;
	if (!rc) {
		struct json_object *o = backup_object("g-after", 9);
		kube_create(c, &BACKUPS, "gone", o, NULL);
		json_object_put(o);
		rc =
		    kube_watch(c, &BACKUPS, "gone", NULL, NULL, rv, 10, stop_at_first, first, NULL);
	}
	result(rc == 1 && !strcmp(first, "ADDED"), "gone: after a relist the watch resumes",
	       "rc %d, first event '%s': %s", rc, first, err_msg());
	free(rv);
	kube_client_free(c);
	return failures ? 1 : 0;
}

/* --- bench helpers --- */

static int populate(struct kube_config *cfg, int n)
{
	struct kube_client *c = kube_client_new(cfg);
	int rc = ensure_namespace(c, "bench");
	for (int i = 0; !rc && i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "backup-%05d", i);
		struct json_object *o = backup_object(name, i);
		rc = kube_create(c, &BACKUPS, "bench", o, NULL);
		json_object_put(o);
		if (rc == E_EXISTS)
			rc = 0;
	}
	if (rc)
		fprintf(stderr, "kubetool populate: %s\n", err_msg());
	kube_client_free(c);
	return rc ? 1 : 0;
}

static int touch(struct kube_config *cfg, int n)
{
	struct kube_client *c = kube_client_new(cfg);
	int rc = 0;
	for (int i = 0; !rc && i < n; i++) {
		char name[32], patch[96];
		snprintf(name, sizeof(name), "backup-%05d", i);
		snprintf(patch, sizeof(patch), "{\"metadata\":{\"labels\":{\"touched\":\"%d\"}}}",
			 i);
		rc = kube_patch(c, &BACKUPS, "bench", name, KUBE_PATCH_MERGE, patch, 0, NULL, NULL);
	}
	if (rc)
		fprintf(stderr, "kubetool touch: %s\n", err_msg());
	kube_client_free(c);
	return rc ? 1 : 0;
}

static int bench(struct kube_config *cfg, int n, const char *touch_cmd)
{
	struct informer *inf = informer_new(cfg, &BACKUPS, "bench", NULL, NULL);
	double t0 = now_s();
	informer_start(inf);
	if (informer_wait_synced(inf, 600000)) {
		fprintf(stderr, "kubetool bench: %s\n", err_msg());
		return 1;
	}
	double synced = now_s() - t0;
	size_t cached = informer_len(inf);
	struct informer_stats before, after;
	informer_get_stats(inf, &before);
	double t1 = now_s();
	/* Another process makes n changes; we measure how fast they arrive. */
	int rc = touch_cmd ? system(touch_cmd) : 0;
	double deadline = now_s() + (touch_cmd ? 120 : 0);
	do {
		informer_get_stats(inf, &after);
		if (after.events - before.events >= (uint64_t)n)
			break;
		usleep(10 * 1000);
	} while (now_s() < deadline);
	double dt = now_s() - t1;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("objects cached: %zu (of %d)\nsync time: %.2f s\nevents: %llu in %.2f s = %.0f "
	       "events/s\n"
	       "peak RSS: %ld KiB\n",
	       cached, n, synced, (unsigned long long)(after.events - before.events), dt,
	       (double)(after.events - before.events) / dt, ru.ru_maxrss);
	informer_free(inf);
	return rc == 0 && cached == (size_t)n ? 0 : 1;
}

/* --- leader --- */

static long long wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void say(const char *what, const char *id)
{
	printf("%s %lld %s\n", what, wall_ms(), id);
	fflush(stdout);
}

static void on_started(void *ud)
{
	say("LEADING", ud);
}

static void on_stopped(void *ud)
{
	say("STOPPED", ud);
}

/* Blocks SIGTERM and SIGINT in this thread and every thread started after,
 * so that only sigtimedwait sees them. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

static int leader_cmd(struct kube_config *cfg, const char *ns, const char *name, const char *id,
		      int seconds)
{
	sigset_t set;
	block_signals(&set);
	struct leader *l = NULL;
	struct leader_options o = {.namespace_ = ns,
				   .name = name,
				   .identity = id,
				   .cb = {on_started, on_stopped, (void *)id}};
	if (leader_new(&l, cfg, &o) || leader_start(l)) {
		fprintf(stderr, "kubetool leader: %s\n", err_msg());
		leader_free(l);
		return 1;
	}
	say("CANDIDATE", id);
	struct timespec ts = {seconds, 0};
	int sig = sigtimedwait(&set, NULL, &ts);
	say(sig > 0 ? "SIGNALLED" : "TIMEOUT", id);
	leader_stop(l);
	say("EXIT", id);
	leader_free(l);
	return 0;
}

/* --- events --- */

struct ev_sum {
	long count;
	int objects;
	char last_ts[64];
};

static int sum_event(struct json_object *item, void *ud)
{
	struct ev_sum *s = ud;
	struct json_object *v;
	s->objects++;
	if (json_object_object_get_ex(item, "count", &v))
		s->count += json_object_get_int64(v);
	if (json_object_object_get_ex(item, "lastTimestamp", &v))
		snprintf(s->last_ts, sizeof(s->last_ts), "%s", json_object_get_string(v));
	return 0;
}

static int events_of(struct kube_client *c, const char *ns, const char *name, const char *reason,
		     struct ev_sum *out)
{
	char sel[512];
	snprintf(sel, sizeof(sel), "involvedObject.name=%s,reason=%s", name, reason);
	memset(out, 0, sizeof(*out));
	return kube_list(c, &KUBE_EVENTS, ns, NULL, sel, 0, sum_event, out, NULL);
}

static const char *str_of(struct json_object *o, const char *a, const char *b)
{
	struct json_object *x, *y;
	if (json_object_object_get_ex(o, a, &x) && json_object_object_get_ex(x, b, &y))
		return json_object_get_string(y);
	return "";
}

static int events_cmd(struct kube_config *cfg, const char *ns, const char *name, int n)
{
	struct kube_client *c = kube_client_new(cfg);
	struct json_object *cm = NULL, *got = NULL;
	char text[512];
	int rc = ensure_namespace(c, ns);
	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"},"
		 "\"data\":{\"k\":\"v\"}}",
		 name);
	cm = json_tokener_parse(text);
	if (!rc) {
		rc = kube_create(c, &KUBE_CONFIGMAPS, ns, cm, &got);
		if (rc == E_EXISTS)
			rc = kube_get(c, &KUBE_CONFIGMAPS, ns, name, &got);
	}
	json_object_put(cm);
	if (rc) {
		fprintf(stderr, "kubetool events: %s\n", err_msg());
		kube_client_free(c);
		return 1;
	}
	struct events_ref ref = {"v1",
				 "ConfigMap",
				 ns,
				 name,
				 str_of(got, "metadata", "uid"),
				 str_of(got, "metadata", "resourceVersion"),
				 NULL};
	struct events *e = NULL;
	char inst[64];
	snprintf(inst, sizeof(inst), "kubetool-%ld", (long)getpid());
	struct events_options o = {.reporting_instance = inst};
	if (events_new(&e, cfg, &o) || events_start(e)) {
		fprintf(stderr, "kubetool events: %s\n", err_msg());
		return 1;
	}
	/* The same Warning n times, each written before the next: one create,
	 * then patches. */
	for (int i = 0; i < n; i++) {
		events_emit(
		    e, &ref, EVENTS_WARNING, "BackupFailed",
		    "pg_dump: could not connect to server db.%s.svc:5432: connection refused", ns);
		events_flush(e, 30000);
	}
	events_emit(e, &ref, EVENTS_NORMAL, "BackupCompleted",
		    "stored 1234 bytes; sha256 verified");
	int flushed = events_flush(e, 30000);
	struct events_stats st;
	events_get_stats(e, &st);
	result(flushed == 0, "events: everything queued was written within 30 s", "%s", err_msg());
	result(st.created == 2 && st.patched == (uint64_t)n - 1 && st.failed == 0,
	       "events: repeats of one event are patches of it (1 create + n-1 patches, then 1 "
	       "create)",
	       "created %llu patched %llu failed %llu", (unsigned long long)st.created,
	       (unsigned long long)st.patched, (unsigned long long)st.failed);
	struct ev_sum w, ok;
	rc = events_of(c, ns, name, "BackupFailed", &w) ||
	     events_of(c, ns, name, "BackupCompleted", &ok);
	result(!rc && w.objects == 1 && w.count == n,
	       "events: the apiserver holds one Warning Event with count n",
	       "%d objects, count %ld (wanted 1 and %d): %s", w.objects, w.count, n,
	       rc ? err_msg() : "");
	result(!rc && ok.objects == 1 && ok.count == 1,
	       "events: a different reason is its own Event", "%d objects, count %ld", ok.objects,
	       ok.count);

	/* A burst far beyond the queue: emit never waits for the server. */
	struct events *b = NULL;
	struct events_options bo = {.reporting_instance = inst, .queue_cap = 100};
	events_new(&b, cfg, &bo);
	events_start(b);
	double t0 = now_s();
	int refused = 0;
	for (int i = 0; i < 5000; i++)
		if (events_emit(b, &ref, EVENTS_NORMAL, "Burst", "burst event %d", i) == E_TOOBIG)
			refused++;
	double dt = now_s() - t0;
	struct events_stats bs;
	events_get_stats(b, &bs);
	printf("  (burst: 5000 emits in %.1f ms, %d refused as the queue was full)\n", dt * 1000,
	       refused);
	result(dt < 0.5, "events: a burst of 5000 emits returns at once (bounded queue)",
	       "took %.3f s", dt);
	result(refused > 0 && bs.dropped == (uint64_t)refused,
	       "events: what does not fit is dropped and counted", "refused %d, dropped %llu",
	       refused, (unsigned long long)bs.dropped);
	events_stop(b, 0);
	events_free(b);
	events_free(e);
	json_object_put(got);
	kube_client_free(c);
	return failures ? 1 : 0;
}

/* --- metrics and serve --- */

#define MV(...) ((const char *const[]){__VA_ARGS__})

static struct metrics *sample_metrics(void)
{
	struct metrics *m = NULL;
	if (metrics_new(&m, metrics_operator_families, METRICS_OPERATOR_FAMILIES, NULL))
		return NULL;
	metrics_set(m, METRICS_BACKUP_LAST_SUCCESS, MV("prod", "nightly-20240501", "nightly"),
		    1714566896);
	metrics_set(m, METRICS_BACKUP_LAST_SUCCESS, MV("prod", "manual", ""), 1714560000.5);
	metrics_set(m, METRICS_BACKUP_SIZE, MV("prod", "nightly-20240501", "nightly"), 123456789);
	/* A label value with every character that needs escaping. */
	metrics_set(m, METRICS_BACKUP_SIZE, MV("odd", "q\"uote\\back\nslash", "s"), 1);
	metrics_observe(m, METRICS_BACKUP_DURATION, MV("prod", "nightly"), 42.5);
	metrics_observe(m, METRICS_BACKUP_DURATION, MV("prod", "nightly"), 3600);
	metrics_inc(m, METRICS_BACKUPS_TOTAL, MV("prod", "succeeded"));
	metrics_inc(m, METRICS_BACKUPS_TOTAL, MV("prod", "failed"));
	metrics_inc(m, METRICS_RESTORES_TOTAL, MV("prod", "succeeded"));
	metrics_inc(m, METRICS_SCHEDULE_MISSED_RUNS, MV("prod", "nightly"));
	metrics_add(m, METRICS_RECONCILE_TOTAL, MV("DatabaseBackup", "success"), 17);
	metrics_inc(m, METRICS_RECONCILE_ERRORS, MV("DatabaseBackup"));
	metrics_set(m, METRICS_WORKQUEUE_DEPTH, MV("DatabaseBackup"), 2);
	metrics_set(m, METRICS_LEADER, MV("lifeboat-system/lifeboat-operator"), 1);
	metrics_add(m, METRICS_KUBE_REQUESTS, MV("update", "databasebackups/status", "200"), 5);
	metrics_add(m, METRICS_WEBHOOK_REQUESTS, MV("patched"), 2);
	return m;
}

static int metrics_cmd(void)
{
	struct metrics *m = sample_metrics();
	struct buf b;
	buf_init(&b, 1 << 24);
	int rc = !m || metrics_render(m, &b);
	fputs(buf_str(&b), stdout);
	buf_dispose(&b);
	metrics_free(m);
	return rc ? 1 : 0;
}

static int serve_cmd(const char *port_file)
{
	sigset_t set;
	block_signals(&set);
	struct metrics *m = sample_metrics();
	struct serve *s = NULL;
	struct serve_options o = {
	    .health_addr = "127.0.0.1:0", .metrics_addr = "127.0.0.1:0", .metrics = m};
	if (!m || serve_new(&s, &o)) {
		fprintf(stderr, "kubetool serve: %s\n", err_msg());
		return 1;
	}
	serve_set_synced(s, 1);
	FILE *f = fopen(port_file, "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", serve_port(s, SERVE_HEALTH));
	fclose(f);
	int sig;
	sigwait(&set, &sig);
	serve_free(s);
	metrics_free(m);
	return 0;
}

static int webhook_cmd(const char *cert_dir, const char *port_file, const char *addr)
{
	sigset_t set;
	block_signals(&set);
	log_set_format(LOG_FORMAT_LOGFMT);
	struct webhook_serve *w = NULL;
	struct webhook_serve_options o = {.addr = addr, .cert_dir = cert_dir};
	if (webhook_serve_new(&w, &o) || !w || webhook_serve_start(w)) {
		fprintf(stderr, "kubetool webhook: %s\n",
			w ? err_msg() : "the address turns it off");
		webhook_serve_free(w);
		return 1;
	}
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", webhook_serve_port(w)) < 0 || fclose(f) ||
	    rename(tmp, port_file)) {
		fprintf(stderr, "kubetool webhook: cannot write %s\n", port_file);
		webhook_serve_free(w);
		return 1;
	}
	int sig;
	sigwait(&set, &sig);
	struct webhook_serve_stats st;
	webhook_serve_get_stats(w, &st);
	webhook_serve_free(w);
	printf("STATS reviews=%llu patched=%llu denied=%llu malformed=%llu refused=%llu "
	       "cert_loads=%llu cert_load_failures=%llu\n",
	       (unsigned long long)st.reviews, (unsigned long long)st.patched,
	       (unsigned long long)st.denied, (unsigned long long)st.malformed,
	       (unsigned long long)st.refused, (unsigned long long)st.cert_loads,
	       (unsigned long long)st.cert_load_failures);
	return 0;
}

/* --- apply: ctl_apply against the real apiserver --- */

/* One action; the strings and body are taken. */
static int apply_one(struct kube_client *c, struct events *ev, struct json_object *obj,
		     enum ctl_action_kind kind, const char *name, struct json_object *body)
{
	struct ctl_actions acts = {0};
	acts.v = xcalloc(1, sizeof(*acts.v));
	acts.n = acts.cap = 1;
	acts.v[0].kind = kind;
	acts.v[0].name = name ? xstrdup(name) : NULL;
	acts.v[0].body = body;
	if (kind == CTL_ACTION_EVENT) {
		acts.v[0].warning = 1;
		acts.v[0].reason = xstrdup("ApplyCheck");
		acts.v[0].message = xstrdup("an event from kubetool apply");
	}
	int rc = ctl_apply(c, ev, obj, &acts);
	ctl_actions_dispose(&acts);
	return rc;
}

static struct json_object *suspended_job(const char *name)
{
	char text[1024];
	snprintf(text, sizeof(text),
		 "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"%s\"},"
		 "\"spec\":{\"suspend\":true,\"template\":{\"spec\":{\"restartPolicy\":\"Never\","
		 "\"containers\":[{\"name\":\"c\",\"image\":\"lifeboat-job\"}]}}}}",
		 name);
	return json_tokener_parse(text);
}

static int finalizers_are(struct kube_client *c, const char *ns, const char *name, const char *want)
{
	struct json_object *o = NULL;
	if (kube_get(c, &BACKUPS, ns, name, &o) != 0)
		return 0;
	struct json_object *meta = NULL, *f = NULL;
	json_object_object_get_ex(o, "metadata", &meta);
	int ok;
	if (!json_object_object_get_ex(meta, "finalizers", &f))
		ok = *want == '\0';
	else
		ok = strcmp(json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN), want) == 0;
	json_object_put(o);
	return ok;
}

static int count_events(struct json_object *item, void *ud)
{
	struct json_object *r = NULL;
	if (json_object_object_get_ex(item, "reason", &r) &&
	    strcmp(json_object_get_string(r), "ApplyCheck") == 0)
		(*(int *)ud)++;
	return 0;
}

static int apply_cmd(struct kube_config *cfg, const char *ns)
{
	struct kube_client *c = kube_client_new(cfg);
	struct events *ev = NULL;
	struct json_object *o = NULL, *fresh = NULL, *stale = NULL;
	int rc;
	result(ensure_namespace(c, ns) == 0, "apply: a namespace", "%s", err_msg());
	o = backup_object("a1", 1);
	rc = kube_create(c, &BACKUPS, ns, o, &stale);
	json_object_put(o);
	result(rc == 0, "apply: the DatabaseBackup is created", "%s", err_msg());
	if (rc != 0)
		goto out;

	/* CreateJob: a second create of the same name is adoption, not an error. */
	rc = apply_one(c, NULL, stale, CTL_ACTION_CREATE_JOB, NULL, suspended_job("a1-backup"));
	result(rc == 0, "apply: CreateJob creates the Job", "rc %d: %s", rc, err_msg());
	rc = apply_one(c, NULL, stale, CTL_ACTION_CREATE_JOB, NULL, suspended_job("a1-backup"));
	result(rc == 0, "apply: CreateJob of an existing Job adopts it (no error)", "rc %d: %s", rc,
	       err_msg());
	rc = apply_one(c, NULL, stale, CTL_ACTION_CREATE_JOB, NULL,
		       json_tokener_parse("{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\","
					  "\"metadata\":{\"name\":\"a1-bad\"},\"spec\":{}}"));
	result(rc == E_INVALID, "apply: CreateJob of an invalid Job fails (E_INVALID)", "rc %d: %s",
	       rc, err_msg());

	/* DeleteJob: Background propagation; a missing Job counts as done. */
	rc = apply_one(c, NULL, stale, CTL_ACTION_DELETE_JOB, "a1-backup", NULL);
	result(rc == 0, "apply: DeleteJob deletes the Job", "rc %d: %s", rc, err_msg());
	int gone = 0;
	for (int i = 0; i < 100 && !gone; i++) {
		gone = kube_get(c, &KUBE_JOBS, ns, "a1-backup", NULL) == E_NOTFOUND;
		if (!gone)
			usleep(100 * 1000);
	}
	result(gone, "apply: the deleted Job is gone", "still there after 10 s");
	rc = apply_one(c, NULL, stale, CTL_ACTION_DELETE_JOB, "a1-backup", NULL);
	result(rc == 0, "apply: DeleteJob of a missing Job counts as done", "rc %d: %s", rc,
	       err_msg());

	/* Move the object on behind our back: stale's resourceVersion is old. */
	rc = kube_patch(c, &BACKUPS, ns, "a1", KUBE_PATCH_MERGE,
			"{\"metadata\":{\"labels\":{\"moved\":\"yes\"},\"finalizers\":"
			"[\"example.com/other\"]}}",
			0, NULL, NULL);
	result(rc == 0, "apply: the object moved on (label, another finalizer)", "%s", err_msg());

	/* WriteStatus from a stale observation: re-read, written, metadata kept. */
	rc = apply_one(c, NULL, stale, CTL_ACTION_WRITE_STATUS, NULL,
		       json_tokener_parse("{\"phase\":\"Running\",\"message\":\"from apply\"}"));
	result(rc == 0, "apply: WriteStatus from a stale observation re-reads and writes",
	       "rc %d: %s", rc, err_msg());
	rc = kube_get(c, &BACKUPS, ns, "a1", &fresh);
	result(rc == 0 && has(fresh, "\"phase\":\"Running\"") && has(fresh, "\"moved\":\"yes\"") &&
		   has(fresh, "example.com"),
	       "apply: the status is written and the newer metadata kept", "%s",
	       fresh ? json_object_to_json_string(fresh) : err_msg());

	/* Finalizers are conditional on the observed resourceVersion. */
	rc = apply_one(c, NULL, stale, CTL_ACTION_ADD_FINALIZER, API_BACKUP_FINALIZER, NULL);
	result(rc == E_CONFLICT, "apply: AddFinalizer from a stale observation is E_CONFLICT",
	       "rc %d: %s", rc, err_msg());
	result(finalizers_are(c, ns, "a1", "[\"example.com\\/other\"]") ||
		   finalizers_are(c, ns, "a1", "[\"example.com/other\"]"),
	       "apply: a refused AddFinalizer changed nothing", "finalizers differ");
	rc = apply_one(c, NULL, fresh, CTL_ACTION_ADD_FINALIZER, API_BACKUP_FINALIZER, NULL);
	result(rc == 0, "apply: AddFinalizer from a fresh observation", "rc %d: %s", rc, err_msg());
	result(finalizers_are(c, ns, "a1",
			      "[\"example.com\\/other\",\"lifeboat.dev\\/delete-stored-backup\"]"),
	       "apply: ours added after the other (kept)", "finalizers differ");
	json_object_put(fresh);
	fresh = NULL;
	kube_get(c, &BACKUPS, ns, "a1", &fresh);
	rc = apply_one(c, NULL, fresh, CTL_ACTION_ADD_FINALIZER, API_BACKUP_FINALIZER, NULL);
	json_object_put(fresh);
	fresh = NULL;
	result(rc == 0 && finalizers_are(
			      c, ns, "a1",
			      "[\"example.com\\/other\",\"lifeboat.dev\\/delete-stored-backup\"]"),
	       "apply: AddFinalizer when present adds no second copy", "rc %d", rc);
	kube_get(c, &BACKUPS, ns, "a1", &fresh);
	rc = apply_one(c, NULL, fresh, CTL_ACTION_REMOVE_FINALIZER, API_BACKUP_FINALIZER, NULL);
	result(rc == 0 && finalizers_are(c, ns, "a1", "[\"example.com\\/other\"]"),
	       "apply: RemoveFinalizer takes only ours", "rc %d: %s", rc, err_msg());

	/* Event: recorded about the object. */
	if (events_new(&ev, cfg, NULL) == 0 && events_start(ev) == 0) {
		rc = apply_one(c, ev, fresh, CTL_ACTION_EVENT, NULL, NULL);
		events_flush(ev, 5000);
		int n = 0;
		kube_list(c, &KUBE_EVENTS, ns, NULL, "involvedObject.name=a1", 0, count_events, &n,
			  NULL);
		result(rc == 0 && n == 1, "apply: Event is recorded about the object",
		       "rc %d, %d events", rc, n);
	} else {
		result(0, "apply: events start", "%s", err_msg());
	}

	/* A bad namespace/name in the object: refused before any request. */
	struct json_object *nameless = json_tokener_parse("{\"metadata\":{}}");
	rc = apply_one(c, NULL, nameless, CTL_ACTION_WRITE_STATUS, NULL, json_object_new_object());
	result(rc == E_INVALID, "apply: an object without namespace or name is refused", "rc %d",
	       rc);
	json_object_put(nameless);

	/* RemoveFinalizer of an object that is gone counts as done. */
	kube_patch(c, &BACKUPS, ns, "a1", KUBE_PATCH_MERGE, "{\"metadata\":{\"finalizers\":null}}",
		   0, NULL, NULL);
	kube_delete(c, &BACKUPS, ns, "a1", NULL, NULL, NULL);
	gone = 0;
	for (int i = 0; i < 100 && !gone; i++) {
		gone = kube_get(c, &BACKUPS, ns, "a1", NULL) == E_NOTFOUND;
		if (!gone)
			usleep(100 * 1000);
	}
	json_object_object_del(json_object_object_get(fresh, "metadata"), "resourceVersion");
	rc = apply_one(c, NULL, fresh, CTL_ACTION_REMOVE_FINALIZER, API_BACKUP_FINALIZER, NULL);
	result(gone && rc == 0, "apply: RemoveFinalizer of a deleted object counts as done",
	       "gone %d, rc %d: %s", gone, rc, err_msg());
out:
	events_free(ev);
	json_object_put(fresh);
	json_object_put(stale);
	kube_client_free(c);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "metrics"))
		return metrics_cmd();
	if (argc == 3 && !strcmp(argv[1], "serve"))
		return serve_cmd(argv[2]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "webhook"))
		return webhook_cmd(argv[2], argv[3], argc == 5 ? argv[4] : "127.0.0.1:0");
	if (argc < 3) {
		fprintf(stderr, "usage: kubetool storm|verbs|forbidden|gone|populate|touch|bench "
				"KUBECONFIG [N] [TOUCH_CMD]\n"
				"       kubetool leader KUBECONFIG NS NAME ID SECONDS\n"
				"       kubetool events KUBECONFIG NS NAME N\n"
				"       kubetool apply KUBECONFIG NS\n"
				"       kubetool metrics | serve PORTFILE\n"
				"       kubetool webhook CERTDIR PORTFILE [ADDR]\n");
		return 2;
	}
	if (getenv("KUBETOOL_DEBUG"))
		log_set_level(LOG_LEVEL_DEBUG);
	struct kube_config cfg;
	if (kubeconfig_load(&cfg, argv[2], NULL)) {
		fprintf(stderr, "kubetool: %s\n", err_msg());
		return 2;
	}
	int n = argc > 3 ? atoi(argv[3]) : 1000;
	int rc;
	if (!strcmp(argv[1], "storm"))
		rc = storm(&cfg, n);
	else if (!strcmp(argv[1], "verbs"))
		rc = verbs(&cfg, argc > 3 ? argv[3] : "verbs");
	else if (!strcmp(argv[1], "forbidden"))
		rc = forbidden(&cfg);
	else if (!strcmp(argv[1], "gone"))
		rc = gone(&cfg);
	else if (!strcmp(argv[1], "populate"))
		rc = populate(&cfg, n);
	else if (!strcmp(argv[1], "touch"))
		rc = touch(&cfg, n);
	else if (!strcmp(argv[1], "bench"))
		rc = bench(&cfg, n, argc > 4 ? argv[4] : NULL);
	else if (!strcmp(argv[1], "leader") && argc == 7)
		rc = leader_cmd(&cfg, argv[3], argv[4], argv[5], atoi(argv[6]));
	else if (!strcmp(argv[1], "apply") && argc == 4)
		rc = apply_cmd(&cfg, argv[3]);
	else if (!strcmp(argv[1], "events") && argc == 6)
		rc = events_cmd(&cfg, argv[3], argv[4], atoi(argv[5]));
	else
		rc = 2;
	kube_config_dispose(&cfg);
	return rc;
}
