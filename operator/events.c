/* The event recorder: a bounded queue that coalesces repeats, an LRU cache
 * of what was written (the aggregation), the Event JSON, and the writer
 * thread with its own kube client. */
#include "operator/events.h"

#include <inttypes.h>
#include <json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "operator/kube/client.h"

/* --- pure parts --- */

void events_cut(char *out, const char *msg, size_t max)
{
	size_t n = strlen(msg);
	if (n <= max) {
		memcpy(out, msg, n + 1);
		return;
	}
	size_t keep = max >= 3 ? max - 3 : 0;
	while (keep > 0 && ((unsigned char)msg[keep] & 0xc0) == 0x80)
		keep--;
	memcpy(out, msg, keep);
	memcpy(out + keep, "...", max >= 3 ? 3 : 0);
	out[keep + (max >= 3 ? 3 : 0)] = '\0';
}

char *events_key(const struct events_ref *obj, enum events_type type, const char *reason,
		 const char *message)
{
	/* Fields joined by a byte none of them holds. */
	return xasprintf("%s\x1f%s\x1f%s\x1f%s\x1f%d\x1f%s\x1f%s", obj->kind ? obj->kind : "",
			 obj->namespace_ ? obj->namespace_ : "", obj->name ? obj->name : "",
			 obj->uid ? obj->uid : "", (int)type, reason ? reason : "",
			 message ? message : "");
}

void events_name(char *out, size_t outsz, const char *object_name, int64_t unix_ns)
{
	/* 253 in all: the name, ".", 16 hex digits. */
	int keep = (int)strlen(object_name);
	if (keep > 253 - 17)
		keep = 253 - 17;
	snprintf(out, outsz, "%.*s.%016" PRIx64, keep, object_name, (uint64_t)unix_ns);
}

static void rfc3339(char *out, size_t outsz, int64_t ms)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	if (!strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm) && outsz)
		out[0] = '\0';
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	if (v && *v)
		json_object_object_add(o, k, json_object_new_string(v));
}

struct json_object *events_object(const struct events_ref *obj, enum events_type type,
				  const char *reason, const char *message, const char *event_name,
				  int64_t count, int64_t first_ms, int64_t last_ms,
				  const char *component, const char *controller,
				  const char *instance)
{
	char first[32], last[32];
	rfc3339(first, sizeof(first), first_ms);
	rfc3339(last, sizeof(last), last_ms);
	const char *ns = obj->namespace_ && *obj->namespace_ ? obj->namespace_ : "default";
	struct json_object *o = json_object_new_object(), *meta = json_object_new_object(),
			   *inv = json_object_new_object(), *src = json_object_new_object();
	json_object_object_add(o, "apiVersion", json_object_new_string("v1"));
	json_object_object_add(o, "kind", json_object_new_string("Event"));
	json_object_object_add(meta, "name", json_object_new_string(event_name));
	json_object_object_add(meta, "namespace", json_object_new_string(ns));
	json_object_object_add(o, "metadata", meta);
	add_str(inv, "apiVersion", obj->api_version);
	add_str(inv, "kind", obj->kind);
	add_str(inv, "namespace", obj->namespace_);
	add_str(inv, "name", obj->name);
	add_str(inv, "uid", obj->uid);
	add_str(inv, "resourceVersion", obj->resource_version);
	add_str(inv, "fieldPath", obj->field_path);
	json_object_object_add(o, "involvedObject", inv);
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "message", json_object_new_string(message));
	json_object_object_add(
	    o, "type", json_object_new_string(type == EVENTS_WARNING ? "Warning" : "Normal"));
	add_str(src, "component", component);
	json_object_object_add(o, "source", src);
	json_object_object_add(o, "firstTimestamp", json_object_new_string(first));
	json_object_object_add(o, "lastTimestamp", json_object_new_string(last));
	json_object_object_add(o, "count", json_object_new_int64(count));
	/* core/v1 spells reportingController "reportingComponent" in JSON. */
	add_str(o, "reportingComponent", controller);
	add_str(o, "reportingInstance", instance);
	return o;
}

char *events_patch(int64_t count, int64_t last_ms)
{
	char last[32];
	rfc3339(last, sizeof(last), last_ms);
	return xasprintf("{\"count\":%" PRId64 ",\"lastTimestamp\":\"%s\"}", count, last);
}

/* The cache: an array searched by hash, with a use counter for LRU. */
struct cache_entry {
	char *key;
	uint64_t hash, used;
	struct events_seen seen;
};

struct events_cache {
	struct cache_entry *e;
	size_t len, cap;
	uint64_t tick;
};

static uint64_t hash_of(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct events_cache *events_cache_new(size_t cap)
{
	struct events_cache *c = xcalloc(1, sizeof(*c));
	c->cap = cap ? cap : EVENTS_DEFAULT_CACHE;
	c->e = xcalloc(c->cap, sizeof(*c->e));
	return c;
}

void events_cache_free(struct events_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->len; i++)
		free(c->e[i].key);
	free(c->e);
	free(c);
}

static struct cache_entry *cache_lookup(struct events_cache *c, const char *key)
{
	uint64_t h = hash_of(key);
	for (size_t i = 0; i < c->len; i++)
		if (c->e[i].hash == h && !strcmp(c->e[i].key, key))
			return &c->e[i];
	return NULL;
}

int events_cache_find(struct events_cache *c, const char *key, int64_t now_ms, int64_t window_ms,
		      struct events_seen *out)
{
	struct cache_entry *e = cache_lookup(c, key);
	if (!e)
		return 0;
	e->used = ++c->tick;
	if (now_ms - e->seen.last_ms > window_ms)
		return 0;
	*out = e->seen;
	return 1;
}

void events_cache_put(struct events_cache *c, const char *key, const struct events_seen *seen)
{
	struct cache_entry *e = cache_lookup(c, key);
	if (!e && c->len < c->cap) {
		e = &c->e[c->len++];
		e->key = xstrdup(key);
		e->hash = hash_of(key);
	} else if (!e) {
		size_t lru = 0;
		for (size_t i = 1; i < c->len; i++)
			if (c->e[i].used < c->e[lru].used)
				lru = i;
		e = &c->e[lru];
		free(e->key);
		e->key = xstrdup(key);
		e->hash = hash_of(key);
	}
	e->used = ++c->tick;
	e->seen = *seen;
}

void events_cache_forget(struct events_cache *c, const char *key)
{
	struct cache_entry *e = cache_lookup(c, key);
	if (!e)
		return;
	free(e->key);
	*e = c->e[--c->len];
}

size_t events_cache_len(const struct events_cache *c)
{
	return c->len;
}

/* --- the recorder --- */

struct rec {
	char *api_version, *kind, *ns, *name, *uid, *rv, *field_path;
	enum events_type type;
	char *reason, *message, *key;
	uint64_t hash;
	int64_t count, first_ms, last_ms;
};

struct events {
	struct kube_config *cfg;
	char *component, *controller, *instance;
	int64_t window_ms;
	int64_t (*now_ms)(void *ud);
	void *clock_ud;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rec **q; /* ring */
	size_t qcap, qhead, qlen;
	int in_flight, stop;
	int64_t drain_until; /* monotonic; while stopping */
	struct events_stats stats;

	pthread_t thread;
	int running;
	struct events_cache *cache; /* the writer's */
	uint64_t name_seq;
};

static int64_t wall_ms(struct events *e)
{
	if (e->now_ms)
		return e->now_ms(e->clock_ud);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rec_free(struct rec *r)
{
	if (!r)
		return;
	free(r->api_version);
	free(r->kind);
	free(r->ns);
	free(r->name);
	free(r->uid);
	free(r->rv);
	free(r->field_path);
	free(r->reason);
	free(r->message);
	free(r->key);
	free(r);
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

int events_new(struct events **out, struct kube_config *cfg, const struct events_options *opt)
{
	struct events_options o = opt ? *opt : (struct events_options){0};
	char host[256] = "";
	if (!o.reporting_instance) {
		if (gethostname(host, sizeof(host) - 1))
			snprintf(host, sizeof(host), "unknown");
		host[sizeof(host) - 1] = '\0';
		o.reporting_instance = host;
	}
	const char *controller =
	    o.reporting_controller ? o.reporting_controller : EVENTS_DEFAULT_CONTROLLER;
	if (!*controller || strlen(controller) > 128)
		return err_set(E_INVALID,
			       "events: the reporting controller must be 1 to 128 bytes");
	if (strlen(o.reporting_instance) > 128)
		return err_set(E_INVALID,
			       "events: the reporting instance must be at most 128 bytes");
	struct events *e = xcalloc(1, sizeof(*e));
	e->cfg = cfg;
	e->component = xstrdup(o.component ? o.component : EVENTS_DEFAULT_COMPONENT);
	e->controller = xstrdup(controller);
	e->instance = xstrdup(o.reporting_instance);
	e->window_ms = o.window_ms > 0 ? o.window_ms : EVENTS_DEFAULT_WINDOW_MS;
	e->now_ms = o.now_ms;
	e->clock_ud = o.clock_ud;
	e->qcap = o.queue_cap ? o.queue_cap : EVENTS_DEFAULT_QUEUE;
	e->q = xcalloc(e->qcap, sizeof(*e->q));
	e->cache = events_cache_new(o.cache_cap);
	pthread_mutex_init(&e->lock, NULL);
	clock_cond_init(&e->cond);
	*out = e;
	return 0;
}

int events_emit(struct events *e, const struct events_ref *obj, enum events_type type,
		const char *reason, const char *fmt, ...)
{
	if (!obj || !obj->kind || !*obj->kind || !obj->name || !*obj->name)
		return err_set(E_INVALID, "events: the object needs a kind and a name");
	if (!reason || !*reason || strlen(reason) > EVENTS_REASON_MAX)
		return err_set(E_INVALID, "events: the reason must be 1 to %d bytes",
			       EVENTS_REASON_MAX);
	char full[4096], msg[EVENTS_MESSAGE_MAX + 1];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(full, sizeof(full), fmt, ap);
	va_end(ap);
	events_cut(msg, full, EVENTS_MESSAGE_MAX);
	char *key = events_key(obj, type, reason, msg);
	uint64_t h = hash_of(key);
	int64_t now = wall_ms(e);
	int rc = 0;

	pthread_mutex_lock(&e->lock);
	struct rec *same = NULL;
	for (size_t i = 0; i < e->qlen && !same; i++) {
		struct rec *r = e->q[(e->qhead + i) % e->qcap];
		if (r->hash == h && !strcmp(r->key, key))
			same = r;
	}
	if (same) {
		same->count++;
		same->last_ms = now;
		free(same->rv);
		same->rv = dup_or_null(obj->resource_version);
		e->stats.emitted++;
		e->stats.coalesced++;
	} else if (e->qlen == e->qcap) {
		uint64_t dropped = ++e->stats.dropped;
		rc = err_set(E_TOOBIG, "events: queue full (%zu); dropped %s %s/%s: %s", e->qcap,
			     reason, obj->namespace_ ? obj->namespace_ : "", obj->name, msg);
		if (dropped == 1 || dropped % 1000 == 0) {
			char n[32];
			snprintf(n, sizeof(n), "%" PRIu64, dropped);
			log_kv(LOG_LEVEL_WARN, "events: queue full, dropping events", "dropped", n,
			       NULL);
		}
	} else {
		struct rec *r = xcalloc(1, sizeof(*r));
		r->api_version = dup_or_null(obj->api_version);
		r->kind = xstrdup(obj->kind);
		r->ns = dup_or_null(obj->namespace_);
		r->name = xstrdup(obj->name);
		r->uid = dup_or_null(obj->uid);
		r->rv = dup_or_null(obj->resource_version);
		r->field_path = dup_or_null(obj->field_path);
		r->type = type;
		r->reason = xstrdup(reason);
		r->message = xstrdup(msg);
		r->key = key;
		key = NULL;
		r->hash = h;
		r->count = 1;
		r->first_ms = r->last_ms = now;
		e->q[(e->qhead + e->qlen) % e->qcap] = r;
		e->qlen++;
		e->stats.emitted++;
		pthread_cond_broadcast(&e->cond);
	}
	pthread_mutex_unlock(&e->lock);
	free(key);
	return rc;
}

/* Writes one queued event: a patch of the Event seen within the window, or
 * a new Event. Runs on the writer thread. */
static void write_one(struct events *e, struct kube_client *c, struct rec *r)
{
	struct events_ref ref = {r->api_version, r->kind, r->ns,	r->name,
				 r->uid,	 r->rv,	  r->field_path};
	struct events_seen seen;
	int rc = 0, created = 0, patched = 0;
	if (events_cache_find(e->cache, r->key, r->first_ms, e->window_ms, &seen)) {
		char *patch = events_patch(seen.count + r->count, r->last_ms);
		rc = kube_patch(c, &KUBE_EVENTS, seen.namespace_, seen.name, KUBE_PATCH_MERGE,
				patch, 0, NULL, NULL);
		free(patch);
		if (!rc) {
			seen.count += r->count;
			seen.last_ms = r->last_ms;
			events_cache_put(e->cache, r->key, &seen);
			patched = 1;
		} else if (rc == E_NOTFOUND) {
			events_cache_forget(e->cache, r->key); /* expired: a new Event */
		}
	}
	for (int attempt = 0;
	     !patched && (rc == 0 || rc == E_NOTFOUND || rc == E_EXISTS) && attempt < 2;
	     attempt++) {
		memset(&seen, 0, sizeof(seen));
		events_name(seen.name, sizeof(seen.name), r->name,
			    r->first_ms * 1000000 + (int64_t)(e->name_seq++ % 1000000));
		snprintf(seen.namespace_, sizeof(seen.namespace_), "%s", r->ns ? r->ns : "default");
		seen.count = r->count;
		seen.first_ms = r->first_ms;
		seen.last_ms = r->last_ms;
		struct json_object *o = events_object(&ref, r->type, r->reason, r->message,
						      seen.name, r->count, r->first_ms, r->last_ms,
						      e->component, e->controller, e->instance);
		rc = kube_create(c, &KUBE_EVENTS, seen.namespace_, o, NULL);
		json_object_put(o);
		if (!rc) {
			events_cache_put(e->cache, r->key, &seen);
			created = 1;
			break;
		}
	}
	pthread_mutex_lock(&e->lock);
	if (created)
		e->stats.created++;
	else if (patched)
		e->stats.patched++;
	else
		e->stats.failed++;
	pthread_mutex_unlock(&e->lock);
	if (!created && !patched)
		log_kv(LOG_LEVEL_WARN, "events: could not record an event", "reason", r->reason,
		       "object", r->name, "error", err_msg(), NULL);
}

static void *writer_main(void *arg)
{
	struct events *e = arg;
	struct kube_client *c = kube_client_new(e->cfg);
	kube_client_set_retry(c, 3, 200, 2000);
	pthread_mutex_lock(&e->lock);
	for (;;) {
		while (!e->qlen && !e->stop)
			pthread_cond_wait(&e->cond, &e->lock);
		if (!e->qlen || (e->stop && clock_mono_ms() >= e->drain_until))
			break;
		struct rec *r = e->q[e->qhead];
		e->qhead = (e->qhead + 1) % e->qcap;
		e->qlen--;
		e->in_flight = 1;
		pthread_mutex_unlock(&e->lock);
		write_one(e, c, r);
		rec_free(r);
		pthread_mutex_lock(&e->lock);
		e->in_flight = 0;
		pthread_cond_broadcast(&e->cond);
	}
	pthread_mutex_unlock(&e->lock);
	kube_client_free(c);
	return NULL;
}

int events_start(struct events *e)
{
	if (e->running)
		return 0;
	if (!e->cfg)
		return err_set(E_INVALID, "events: no API server configured");
	if (pthread_create(&e->thread, NULL, writer_main, e))
		return err_set(E_IO, "events: cannot start the writer thread");
	e->running = 1;
	return 0;
}

int events_flush(struct events *e, int64_t timeout_ms)
{
	int64_t until = clock_mono_ms() + timeout_ms;
	int rc = 0;
	pthread_mutex_lock(&e->lock);
	while ((e->qlen || e->in_flight) && e->running && !rc) {
		int64_t now = clock_mono_ms();
		if (now >= until) {
			rc = err_set(E_TIMEOUT, "events: %zu still queued after %" PRId64 " ms",
				     e->qlen, timeout_ms);
			break;
		}
		struct timespec ts = clock_mono_timespec(until);
		pthread_cond_timedwait(&e->cond, &e->lock, &ts);
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

void events_stop(struct events *e, int64_t drain_ms)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	int running = e->running;
	if (running && !e->stop) {
		e->stop = 1;
		e->drain_until = clock_mono_ms() + (drain_ms > 0 ? drain_ms : 0);
		pthread_cond_broadcast(&e->cond);
	}
	pthread_mutex_unlock(&e->lock);
	if (running) {
		pthread_join(e->thread, NULL);
		e->running = 0;
	}
	/* What is left is dropped. */
	pthread_mutex_lock(&e->lock);
	while (e->qlen) {
		rec_free(e->q[e->qhead]);
		e->qhead = (e->qhead + 1) % e->qcap;
		e->qlen--;
		e->stats.dropped++;
	}
	pthread_mutex_unlock(&e->lock);
}

void events_free(struct events *e)
{
	if (!e)
		return;
	events_stop(e, 0);
	events_cache_free(e->cache);
	free(e->q);
	free(e->component);
	free(e->controller);
	free(e->instance);
	pthread_cond_destroy(&e->cond);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

void events_get_stats(struct events *e, struct events_stats *out)
{
	pthread_mutex_lock(&e->lock);
	*out = e->stats;
	pthread_mutex_unlock(&e->lock);
}
