/* An informer: list+watch of one resource type into a local cache, with
 * add/update/delete handlers. It reconnects with jittered backoff, resumes
 * from the last resourceVersion (bookmarks included) and relists on 410
 * Gone, diffing the new list against the cache so every handler call
 * carries a new resourceVersion and no change is lost. Runs on its own
 * thread with its own client; handlers run on that thread, one at a time. */
#ifndef LIFEBOAT_KUBE_INFORMER_H
#define LIFEBOAT_KUBE_INFORMER_H

#include <stddef.h>
#include <stdint.h>

#include "operator/kube/client.h"

struct json_object;
struct kube_config;

/* Objects are borrowed for the call; take a reference to keep one. */
struct informer_handlers {
	void (*on_add)(struct json_object *obj, void *ud);
	void (*on_update)(struct json_object *old, struct json_object *obj, void *ud);
	void (*on_delete)(struct json_object *obj, void *ud);
	void *ud;
};

struct informer_stats {
	uint64_t lists;	      /* full lists (the first and every relist) */
	uint64_t relists_410; /* relists caused by 410 Gone */
	uint64_t watches;     /* watch requests started */
	uint64_t errors;      /* failed lists/watches (each followed by a backoff) */
	uint64_t events;      /* watch events received */
	uint64_t handler_calls;
	uint64_t duplicates; /* events skipped: same resourceVersion as cached */
};

struct informer;

/* ns NULL = all namespaces. cfg is borrowed and must outlive the informer. */
struct informer *informer_new(struct kube_config *cfg, const struct kube_resource *r,
			      const char *ns, const char *label_selector,
			      const struct informer_handlers *h);
/* Tuning for tests: the watch timeout asked of the server, and the backoff
 * after errors (base doubling up to max, jittered). Call before start. */
void informer_set_timing(struct informer *inf, int watch_timeout_s, int64_t backoff_base_ms,
			 int64_t backoff_max_ms);
/* E_IO when the thread cannot start. */
int informer_start(struct informer *inf);
/* 0 once the first list is in the cache, E_TIMEOUT after timeout_ms. This
 * wait and the backoff pauses are timed on CLOCK_MONOTONIC: a step of the
 * wall clock neither cuts them short nor stretches them. */
int informer_wait_synced(struct informer *inf, int64_t timeout_ms);
/* The cached object, parsed anew (the caller owns it), or NULL. Objects are
 * cached as compact JSON without metadata.managedFields and without the
 * kubectl.kubernetes.io/last-applied-configuration annotation. */
struct json_object *informer_get(struct informer *inf, const char *ns, const char *name);
size_t informer_len(struct informer *inf);
/* Calls fn for each cached object (parsed for the call) under the cache
 * lock (fn must not call back into the informer); stops at fn's first
 * non-zero return. */
int informer_foreach(struct informer *inf,
		     int (*fn)(const char *key, struct json_object *obj, void *ud), void *ud);
void informer_get_stats(struct informer *inf, struct informer_stats *out);
/* Stops the thread (within about a second) and joins it. */
void informer_stop(struct informer *inf);
void informer_free(struct informer *inf);
/* "ns/name" (or "name" for cluster-scoped objects); caller frees. */
char *informer_key(struct json_object *obj);

#endif
