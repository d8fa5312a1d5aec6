/* List+watch cache for one resource type. */
#include "informer.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>
#include <openssl/rand.h>

#include "../../common/err.h"
#include "../../common/log.h"
#include "../../common/xmalloc.h"

struct informer {
	struct kube_config *cfg;
	const struct kube_resource *res;
	char *ns, *selector;
	struct informer_handlers h;
	int watch_timeout_s;
	int64_t base_ms, max_ms;

	pthread_t thread;
	int started;
	volatile int stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct json_object *cache; /* key -> object */
	int synced;
	struct informer_stats stats;

	/* Thread-private state. */
	struct kube_client *client;
	char *rv;
};

static const char *meta_str(struct json_object *obj, const char *field)
{
	struct json_object *meta, *v;
	if (json_object_object_get_ex(obj, "metadata", &meta) &&
	    json_object_object_get_ex(meta, field, &v) && json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

char *informer_key(struct json_object *obj)
{
	const char *ns = meta_str(obj, "namespace"), *name = meta_str(obj, "name");
	if (!name)
		return NULL;
	return ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
}

struct informer *informer_new(struct kube_config *cfg, const struct kube_resource *r, const char *ns,
			      const char *label_selector, const struct informer_handlers *h)
{
	struct informer *inf = xcalloc(1, sizeof(*inf));
	inf->cfg = cfg;
	inf->res = r;
	inf->ns = ns ? xstrdup(ns) : NULL;
	inf->selector = label_selector ? xstrdup(label_selector) : NULL;
	if (h)
		inf->h = *h;
	inf->watch_timeout_s = 300;
	inf->base_ms = 200;
	inf->max_ms = 30000;
	inf->cache = json_object_new_object();
	pthread_mutex_init(&inf->lock, NULL);
	pthread_cond_init(&inf->cond, NULL);
	return inf;
}

void informer_set_timing(struct informer *inf, int watch_timeout_s, int64_t backoff_base_ms,
			 int64_t backoff_max_ms)
{
	inf->watch_timeout_s = watch_timeout_s;
	inf->base_ms = backoff_base_ms;
	inf->max_ms = backoff_max_ms;
}

/* Sleeps up to ms, waking early when stopped. */
static void pause_ms(struct informer *inf, int64_t ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&inf->lock);
	while (!inf->stop && pthread_cond_timedwait(&inf->cond, &inf->lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&inf->lock);
}

/* Stats are read by other threads: every update takes the lock. */
static void bump(struct informer *inf, uint64_t *counter)
{
	pthread_mutex_lock(&inf->lock);
	(*counter)++;
	pthread_mutex_unlock(&inf->lock);
}

static int64_t jitter(int64_t d)
{
	unsigned int r = 0;
	RAND_bytes((unsigned char *)&r, sizeof(r));
	return d / 2 + (d > 1 ? (int64_t)(r % (unsigned int)(d / 2 + 1)) : 0);
}

static void set_rv(struct informer *inf, const char *rv)
{
	if (rv && *rv) {
		free(inf->rv);
		inf->rv = xstrdup(rv);
	}
}

/* Applies one observed object state; calls the handler unless it is the
 * version already cached. */
static void apply_upsert(struct informer *inf, struct json_object *obj)
{
	char *key = informer_key(obj);
	if (!key)
		return;
	const char *rv = meta_str(obj, "resourceVersion");
	pthread_mutex_lock(&inf->lock);
	struct json_object *old = NULL;
	if (json_object_object_get_ex(inf->cache, key, &old)) {
		const char *orv = meta_str(old, "resourceVersion");
		if (orv && rv && strcmp(orv, rv) == 0) {
			inf->stats.duplicates++;
			pthread_mutex_unlock(&inf->lock);
			free(key);
			return;
		}
		json_object_get(old);
	}
	json_object_object_add(inf->cache, key, json_object_get(obj));
	inf->stats.handler_calls++;
	pthread_mutex_unlock(&inf->lock);
	if (old && inf->h.on_update)
		inf->h.on_update(old, obj, inf->h.ud);
	else if (!old && inf->h.on_add)
		inf->h.on_add(obj, inf->h.ud);
	json_object_put(old);
	free(key);
}

static void apply_delete(struct informer *inf, const char *key, struct json_object *last)
{
	pthread_mutex_lock(&inf->lock);
	struct json_object *old = NULL;
	if (!json_object_object_get_ex(inf->cache, key, &old)) {
		pthread_mutex_unlock(&inf->lock);
		return;
	}
	json_object_get(old);
	json_object_object_del(inf->cache, key);
	inf->stats.handler_calls++;
	pthread_mutex_unlock(&inf->lock);
	if (inf->h.on_delete)
		inf->h.on_delete(last ? last : old, inf->h.ud);
	json_object_put(old);
}

static int collect(struct json_object *item, void *ud)
{
	struct json_object *fresh = ud;
	char *key = informer_key(item);
	if (key)
		json_object_object_add(fresh, key, json_object_get(item));
	free(key);
	return 0;
}

/* A full list, diffed against the cache. */
static int relist(struct informer *inf)
{
	struct json_object *fresh = json_object_new_object();
	char *rv = NULL;
	int rc = kube_list(inf->client, inf->res, inf->ns, inf->selector, NULL, 500, collect, fresh, &rv);
	if (rc) {
		json_object_put(fresh);
		return rc;
	}
	bump(inf, &inf->stats.lists);
	/* Deletions first: keys cached but no longer listed. */
	char **gone = NULL;
	size_t ngone = 0;
	pthread_mutex_lock(&inf->lock);
	json_object_object_foreach(inf->cache, key, val)
	{
		(void)val;
		struct json_object *x;
		if (!json_object_object_get_ex(fresh, key, &x)) {
			gone = xrealloc(gone, (ngone + 1) * sizeof(*gone));
			gone[ngone++] = xstrdup(key);
		}
	}
	pthread_mutex_unlock(&inf->lock);
	for (size_t i = 0; i < ngone; i++) {
		apply_delete(inf, gone[i], NULL);
		free(gone[i]);
	}
	free(gone);
	json_object_object_foreach(fresh, k2, item)
	{
		(void)k2;
		apply_upsert(inf, item);
	}
	json_object_put(fresh);
	set_rv(inf, rv);
	free(rv);
	pthread_mutex_lock(&inf->lock);
	inf->synced = 1;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->lock);
	return 0;
}

static int on_event(const char *type, struct json_object *obj, void *ud)
{
	struct informer *inf = ud;
	bump(inf, &inf->stats.events);
	if (inf->stop)
		return 1;
	if (strcmp(type, "BOOKMARK") == 0) {
		set_rv(inf, meta_str(obj, "resourceVersion"));
		return 0;
	}
	if (strcmp(type, "DELETED") == 0) {
		char *key = informer_key(obj);
		if (key)
			apply_delete(inf, key, obj);
		free(key);
	} else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
		apply_upsert(inf, obj);
	}
	set_rv(inf, meta_str(obj, "resourceVersion"));
	return 0;
}

static void *informer_main(void *arg)
{
	struct informer *inf = arg;
	int need_list = 1, failures = 0;
	inf->client = kube_client_new(inf->cfg);
	/* The informer retries on its own schedule; one attempt per request. */
	kube_client_set_retry(inf->client, 1, inf->base_ms, inf->max_ms);
	while (!inf->stop) {
		int rc = 0;
		if (need_list) {
			rc = relist(inf);
			if (!rc)
				need_list = 0;
		}
		if (!rc && !need_list) {
			bump(inf, &inf->stats.watches);
			pthread_mutex_lock(&inf->lock);
			uint64_t before = inf->stats.events;
			pthread_mutex_unlock(&inf->lock);
			rc = kube_watch(inf->client, inf->res, inf->ns, inf->selector, NULL, inf->rv,
					inf->watch_timeout_s, on_event, inf, &inf->stop);
			pthread_mutex_lock(&inf->lock);
			if (inf->stats.events > before)
				failures = 0;
			pthread_mutex_unlock(&inf->lock);
			if (rc == E_GONE) {
				log_info("watch of %s: resourceVersion %s expired; relisting",
					 inf->res->plural, inf->rv ? inf->rv : "");
				bump(inf, &inf->stats.relists_410);
				need_list = 1;
				continue; /* relist at once, as client-go does */
			}
		}
		if (inf->stop || rc == 1)
			break;
		if (rc) {
			bump(inf, &inf->stats.errors);
			failures++;
			int64_t d = inf->base_ms;
			for (int i = 1; i < failures && d < inf->max_ms; i++)
				d *= 2;
			if (d > inf->max_ms)
				d = inf->max_ms;
			log_debug("%s of %s failed (%s); retrying in about %lld ms",
				  need_list ? "list" : "watch", inf->res->plural, err_msg(), (long long)d);
			pause_ms(inf, jitter(d));
		}
	}
	kube_client_free(inf->client);
	inf->client = NULL;
	return NULL;
}

int informer_start(struct informer *inf)
{
	if (pthread_create(&inf->thread, NULL, informer_main, inf) != 0)
		return err_set(E_IO, "cannot start the %s informer thread", inf->res->plural);
	inf->started = 1;
	return 0;
}

int informer_wait_synced(struct informer *inf, int64_t timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	int rc = 0;
	pthread_mutex_lock(&inf->lock);
	while (!inf->synced && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&inf->cond, &inf->lock, &until);
	int synced = inf->synced;
	pthread_mutex_unlock(&inf->lock);
	return synced ? 0
		      : err_set(E_TIMEOUT, "the %s cache did not sync within %lld ms: is the API "
					   "server reachable?",
				inf->res->plural, (long long)timeout_ms);
}

struct json_object *informer_get(struct informer *inf, const char *ns, const char *name)
{
	char *key = ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
	struct json_object *obj = NULL;
	pthread_mutex_lock(&inf->lock);
	if (json_object_object_get_ex(inf->cache, key, &obj))
		json_object_get(obj);
	else
		obj = NULL;
	pthread_mutex_unlock(&inf->lock);
	free(key);
	return obj;
}

size_t informer_len(struct informer *inf)
{
	pthread_mutex_lock(&inf->lock);
	size_t n = (size_t)json_object_object_length(inf->cache);
	pthread_mutex_unlock(&inf->lock);
	return n;
}

int informer_foreach(struct informer *inf, int (*fn)(const char *key, struct json_object *obj, void *ud),
		     void *ud)
{
	int rc = 0;
	pthread_mutex_lock(&inf->lock);
	json_object_object_foreach(inf->cache, key, obj)
	{
		if ((rc = fn(key, obj, ud)))
			break;
	}
	pthread_mutex_unlock(&inf->lock);
	return rc;
}

void informer_get_stats(struct informer *inf, struct informer_stats *out)
{
	pthread_mutex_lock(&inf->lock);
	*out = inf->stats;
	pthread_mutex_unlock(&inf->lock);
}

void informer_stop(struct informer *inf)
{
	if (!inf->started)
		return;
	pthread_mutex_lock(&inf->lock);
	inf->stop = 1;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->lock);
	pthread_join(inf->thread, NULL);
	inf->started = 0;
}

void informer_free(struct informer *inf)
{
	if (!inf)
		return;
	informer_stop(inf);
	json_object_put(inf->cache);
	pthread_mutex_destroy(&inf->lock);
	pthread_cond_destroy(&inf->cond);
	free(inf->ns);
	free(inf->selector);
	free(inf->rv);
	free(inf);
}
