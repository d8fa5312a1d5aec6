/* List+watch cache for one resource type. */
#include "operator/kube/informer.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>
#include <zstd.h>
#include <openssl/rand.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"

struct informer {
	struct kube_config *cfg;
	const struct kube_resource *res;
	char *ns, *selector;
	struct informer_handlers h;
	int watch_timeout_s;
	int64_t base_ms, max_ms;

	pthread_t thread;
	int started;
	atomic_int stop; /* set under lock, read anywhere (the watch polls it) */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct lh_table *cache; /* key (owned) -> struct entry (owned) */
	/* The entries' zstd state, used under lock: the first object's text is
	 * the dictionary of every entry (objects of one kind share most of
	 * their keys and many values, so each is stored as a delta). */
	char *dict;
	ZSTD_CDict *cdict;
	ZSTD_DDict *ddict;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	int synced;
	struct informer_stats stats;

	/* Thread-private state. */
	struct kube_client *client;
	char *rv;
};

/* A cached object, stored as compact JSON text compressed with zstd (level
 * 1, with the informer's first object as the dictionary): a json-c tree
 * costs several times the text, and 10,000 Completed DatabaseBackups must
 * fit in the operator's 32 MiB. Reading one back (every get) is a
 * decompression of a few KiB, microseconds. */
struct entry {
	char *rv;
	void *data;	/* zstd frame, or the text itself when raw */
	size_t size;	/* of data */
	size_t textlen; /* of the JSON text */
	int raw;
};

/* Fills en's data from obj's text (inf->lock held). */
static void entry_set(struct informer *inf, struct entry *en, struct json_object *obj)
{
	size_t len = 0;
	const char *text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
	if (!inf->cdict) {
		inf->dict = xmalloc(len + 1);
		memcpy(inf->dict, text, len + 1);
		inf->cdict = ZSTD_createCDict(inf->dict, len, 1);
		inf->ddict = ZSTD_createDDict(inf->dict, len);
		inf->cctx = ZSTD_createCCtx();
		inf->dctx = ZSTD_createDCtx();
	}
	size_t cap = ZSTD_compressBound(len);
	void *z = xmalloc(cap);
	size_t n = inf->cdict && inf->cctx
		       ? ZSTD_compress_usingCDict(inf->cctx, z, cap, text, len, inf->cdict)
		       : ZSTD_compress(z, cap, text, len, 1);
	en->textlen = len;
	if (ZSTD_isError(n) || n >= len) {
		free(z);
		en->data = xmalloc(len + 1);
		memcpy(en->data, text, len + 1);
		en->size = len;
		en->raw = 1;
	} else {
		en->data = xrealloc(z, n);
		en->size = n;
		en->raw = 0;
	}
}

static void entry_free(struct lh_entry *e)
{
	struct entry *en = (struct entry *)(uintptr_t)lh_entry_v(e);
	free((void *)(uintptr_t)lh_entry_k(e));
	if (en) {
		free(en->rv);
		free(en->data);
		free(en);
	}
}

/* inf->lock held. */
static struct json_object *entry_object(struct informer *inf, const struct entry *en)
{
	if (en->raw)
		return json_tokener_parse(en->data);
	char *text = xmalloc(en->textlen + 1);
	size_t n = inf->ddict && inf->dctx
		       ? ZSTD_decompress_usingDDict(inf->dctx, text, en->textlen, en->data,
						    en->size, inf->ddict)
		       : ZSTD_decompress(text, en->textlen, en->data, en->size);
	struct json_object *obj = NULL;
	if (!ZSTD_isError(n) && n == en->textlen) {
		text[n] = '\0';
		obj = json_tokener_parse(text);
	}
	free(text);
	return obj;
}

/* The transform client-go users apply for memory: managedFields are
 * bookkeeping for server-side apply, and kubectl's last-applied annotation a
 * second copy of the whole object as applied; the operator reads neither. */
#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
static void strip(struct json_object *obj)
{
	struct json_object *meta, *ann;
	if (!json_object_object_get_ex(obj, "metadata", &meta))
		return;
	json_object_object_del(meta, "managedFields");
	if (json_object_object_get_ex(meta, "annotations", &ann) &&
	    json_object_is_type(ann, json_type_object)) {
		json_object_object_del(ann, LAST_APPLIED);
		if (json_object_object_length(ann) == 0)
			json_object_object_del(meta, "annotations");
	}
}

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

struct informer *informer_new(struct kube_config *cfg, const struct kube_resource *r,
			      const char *ns, const char *label_selector,
			      const struct informer_handlers *h)
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
	inf->cache = lh_kchar_table_new(1024, entry_free);
	pthread_mutex_init(&inf->lock, NULL);
	/* Timed waits on this condition use CLOCK_MONOTONIC deadlines
	 * (deadline_after): a step of the wall clock changes neither. */
	clock_cond_init(&inf->cond);
	return inf;
}

void informer_set_timing(struct informer *inf, int watch_timeout_s, int64_t backoff_base_ms,
			 int64_t backoff_max_ms)
{
	inf->watch_timeout_s = watch_timeout_s;
	inf->base_ms = backoff_base_ms;
	inf->max_ms = backoff_max_ms;
}

/* The CLOCK_MONOTONIC instant ms from now, for pthread_cond_timedwait on
 * inf->cond (whose clock informer_new set to CLOCK_MONOTONIC). */
static struct timespec deadline_after(int64_t ms)
{
	return clock_mono_timespec(clock_mono_ms() + (ms > 0 ? ms : 0));
}

/* Sleeps up to ms, waking early when stopped. */
static void pause_ms(struct informer *inf, int64_t ms)
{
	struct timespec until = deadline_after(ms);
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
	strip(obj);
	const char *rv = meta_str(obj, "resourceVersion");
	struct json_object *old = NULL;
	void *v = NULL;
	pthread_mutex_lock(&inf->lock);
	if (lh_table_lookup_ex(inf->cache, key, &v)) {
		struct entry *en = v;
		if (rv && strcmp(en->rv, rv) == 0) {
			inf->stats.duplicates++;
			pthread_mutex_unlock(&inf->lock);
			free(key);
			return;
		}
		if (inf->h.on_update)
			old = entry_object(inf, en);
		free(en->rv);
		free(en->data);
		en->rv = xstrdup(rv ? rv : "");
		entry_set(inf, en, obj);
		free(key);
		key = NULL;
	} else {
		struct entry *en = xcalloc(1, sizeof(*en));
		en->rv = xstrdup(rv ? rv : "");
		entry_set(inf, en, obj);
		lh_table_insert(inf->cache, key, en); /* the table owns key now */
	}
	inf->stats.handler_calls++;
	pthread_mutex_unlock(&inf->lock);
	/* key == NULL: it was an update. */
	if (!key && inf->h.on_update)
		inf->h.on_update(old, obj, inf->h.ud);
	else if (key && inf->h.on_add)
		inf->h.on_add(obj, inf->h.ud);
	json_object_put(old);
}

static void apply_delete(struct informer *inf, const char *key, struct json_object *last)
{
	void *v = NULL;
	struct json_object *old = NULL;
	pthread_mutex_lock(&inf->lock);
	if (!lh_table_lookup_ex(inf->cache, key, &v)) {
		pthread_mutex_unlock(&inf->lock);
		return;
	}
	if (!last && inf->h.on_delete)
		old = entry_object(inf, v);
	lh_table_delete(inf->cache, key);
	inf->stats.handler_calls++;
	pthread_mutex_unlock(&inf->lock);
	if (last)
		strip(last);
	if (inf->h.on_delete)
		inf->h.on_delete(last ? last : old, inf->h.ud);
	json_object_put(old);
}

/* Objects a list page asks for: a parsed page is the informer's largest
 * transient allocation (json-c trees are ~20x the JSON text). */
#define INFORMER_PAGE 100

struct relist_state {
	struct informer *inf;
	struct lh_table *seen; /* keys listed (owned) -> NULL */
};

static void key_free(struct lh_entry *e)
{
	free((void *)(uintptr_t)lh_entry_k(e));
}

/* Each listed object is applied as its page arrives, so a relist never
 * holds more than one page of parsed objects; only the keys are kept. */
static int collect(struct json_object *item, void *ud)
{
	struct relist_state *st = ud;
	char *key = informer_key(item);
	if (!key)
		return 0;
	if (!lh_table_lookup_ex(st->seen, key, NULL))
		lh_table_insert(st->seen, key, NULL);
	else
		free(key);
	apply_upsert(st->inf, item);
	return 0;
}

/* A full list, diffed against the cache. */
static int relist(struct informer *inf)
{
	struct relist_state st = {inf, lh_kchar_table_new(1024, key_free)};
	char *rv = NULL;
	int rc = kube_list(inf->client, inf->res, inf->ns, inf->selector, NULL, INFORMER_PAGE,
			   collect, &st, &rv);
	if (rc) {
		lh_table_free(st.seen);
		return rc;
	}
	bump(inf, &inf->stats.lists);
	/* Keys cached but no longer listed were deleted meanwhile. */
	char **gone = NULL;
	size_t ngone = 0;
	struct lh_entry *e;
	pthread_mutex_lock(&inf->lock);
	lh_foreach(inf->cache, e)
	{
		const char *key = lh_entry_k(e);
		if (!lh_table_lookup_ex(st.seen, key, NULL)) {
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
	lh_table_free(st.seen);
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
			rc = kube_watch(inf->client, inf->res, inf->ns, inf->selector, NULL,
					inf->rv, inf->watch_timeout_s, on_event, inf, &inf->stop);
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
			/* A broken watch is routine (debug); a failing list, a
			 * refusal (RBAC 403, a CRD missing: 404) or a streak of
			 * failures is what an operator engineer must see. */
			int loud =
			    need_list || rc == E_FORBIDDEN || rc == E_NOTFOUND || failures >= 3;
			log_msg(loud ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG,
				"%s of %s failed (%s); retrying in about %lld ms",
				need_list ? "list" : "watch", inf->res->plural, err_msg(),
				(long long)d);
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
	struct timespec until = deadline_after(timeout_ms);
	int rc = 0;
	pthread_mutex_lock(&inf->lock);
	while (!inf->synced && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&inf->cond, &inf->lock, &until);
	int synced = inf->synced;
	pthread_mutex_unlock(&inf->lock);
	return synced ? 0
		      : err_set(E_TIMEOUT,
				"the %s cache did not sync within %lld ms: is the API "
				"server reachable?",
				inf->res->plural, (long long)timeout_ms);
}

struct json_object *informer_get(struct informer *inf, const char *ns, const char *name)
{
	char *key = ns && *ns ? xasprintf("%s/%s", ns, name) : xstrdup(name);
	struct json_object *obj = NULL;
	void *v = NULL;
	pthread_mutex_lock(&inf->lock);
	if (lh_table_lookup_ex(inf->cache, key, &v))
		obj = entry_object(inf, v);
	pthread_mutex_unlock(&inf->lock);
	free(key);
	return obj;
}

size_t informer_len(struct informer *inf)
{
	pthread_mutex_lock(&inf->lock);
	size_t n = (size_t)lh_table_length(inf->cache);
	pthread_mutex_unlock(&inf->lock);
	return n;
}

int informer_foreach(struct informer *inf,
		     int (*fn)(const char *key, struct json_object *obj, void *ud), void *ud)
{
	int rc = 0;
	struct lh_entry *e;
	pthread_mutex_lock(&inf->lock);
	lh_foreach(inf->cache, e)
	{
		struct json_object *obj = entry_object(inf, lh_entry_v(e));
		rc = fn(lh_entry_k(e), obj, ud);
		json_object_put(obj);
		if (rc)
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
	lh_table_free(inf->cache);
	ZSTD_freeCDict(inf->cdict);
	ZSTD_freeDDict(inf->ddict);
	ZSTD_freeCCtx(inf->cctx);
	ZSTD_freeDCtx(inf->dctx);
	free(inf->dict);
	pthread_mutex_destroy(&inf->lock);
	pthread_cond_destroy(&inf->cond);
	free(inf->ns);
	free(inf->selector);
	free(inf->rv);
	free(inf);
}
