/* The Kubernetes REST client: verbs on resources, list pagination, watch,
 * retries with jittered backoff on 429/5xx/transport errors, and Status
 * errors decoded into err codes (status.h). One client per thread. */
#ifndef LIFEBOAT_KUBE_CLIENT_H
#define LIFEBOAT_KUBE_CLIENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct kube_config;

/* A resource type: where it lives in the API. */
struct kube_resource {
	const char *group; /* "" for the core group */
	const char *version;
	const char *plural;
	const char *kind;
	int namespaced;
};

extern const struct kube_resource KUBE_NAMESPACES, KUBE_PODS, KUBE_SECRETS, KUBE_CONFIGMAPS,
    KUBE_EVENTS, KUBE_JOBS, KUBE_LEASES, KUBE_PVCS, KUBE_CRDS;

enum kube_patch {
	KUBE_PATCH_MERGE,     /* application/merge-patch+json */
	KUBE_PATCH_JSON,      /* application/json-patch+json */
	KUBE_PATCH_STRATEGIC, /* application/strategic-merge-patch+json */
	KUBE_PATCH_APPLY,     /* application/apply-patch+yaml (server-side apply; JSON is YAML) */
};

struct kube_client_stats {
	uint64_t requests, retries, watch_events;
};

struct kube_client;

/* cfg is borrowed and must outlive the client. */
struct kube_client *kube_client_new(struct kube_config *cfg);
void kube_client_free(struct kube_client *c);
/* Retry policy for 429, 5xx and transport errors: attempts in all, and the
 * first/maximum backoff (jittered, doubling; Retry-After wins, capped at max). */
void kube_client_set_retry(struct kube_client *c, int attempts, int64_t base_ms, int64_t max_ms);
const struct kube_client_stats *kube_client_stats(const struct kube_client *c);

/* Told of every request any client makes, once it is over (after its
 * retries): the Kubernetes verb (get, list, watch, create, update, patch,
 * delete), the resource ("jobs", "databasebackups/status") and the HTTP
 * status, 0 when no reply came. A watch is told when its stream ends. Called
 * from the requesting thread: fn must be thread-safe. */
typedef void (*kube_observer_fn)(void *ud, const char *verb, const char *resource, int code);
/* Set (or clear, NULL) before any client makes a request. */
void kube_set_observer(kube_observer_fn fn, void *ud);

/* "/apis/g/v/namespaces/ns/plural/name/sub"; ns, name, sub may be NULL. Pure;
 * caller frees. */
char *kube_path(const struct kube_resource *r, const char *ns, const char *name, const char *sub);

/* Each returns 0 and a new reference in *out (may be NULL to discard), or a
 * negative code: E_NOTFOUND, E_EXISTS, E_CONFLICT, E_INVALID, E_FORBIDDEN,
 * E_GONE, E_UNAVAILABLE (after retries), with the server's message. */
int kube_get(struct kube_client *c, const struct kube_resource *r, const char *ns, const char *name,
	     struct json_object **out);
int kube_create(struct kube_client *c, const struct kube_resource *r, const char *ns,
		struct json_object *obj, struct json_object **out);
/* PUT of obj (its metadata.resourceVersion makes it conditional). status: PUT
 * to the /status subresource. */
int kube_update(struct kube_client *c, const struct kube_resource *r, const char *ns,
		struct json_object *obj, int status, struct json_object **out);
int kube_patch(struct kube_client *c, const struct kube_resource *r, const char *ns,
	       const char *name, enum kube_patch type, const char *patch, int status,
	       const char *field_manager, struct json_object **out);
/* propagation: "Background", "Foreground", "Orphan" or NULL; preconditions may be NULL. */
int kube_delete(struct kube_client *c, const struct kube_resource *r, const char *ns,
		const char *name, const char *propagation, const char *precondition_uid,
		const char *precondition_rv);

/* Lists every page (limit per request, 0 = server default) and calls item_cb
 * for each item (borrowed). *resource_version receives the list's
 * resourceVersion (caller frees). ns NULL = all namespaces. */
typedef int (*kube_item_cb)(struct json_object *item, void *ud);
int kube_list(struct kube_client *c, const struct kube_resource *r, const char *ns,
	      const char *label_selector, const char *field_selector, int limit,
	      kube_item_cb item_cb, void *ud, char **resource_version);

/* Watches from resource_version until the server ends the stream
 * (timeout_s; returns 0), cb returns non-zero (returned), the stream breaks
 * (E_UNAVAILABLE), or the version is too old (E_GONE, from a 410 reply or
 * an ERROR event). type is ADDED, MODIFIED, DELETED, BOOKMARK; object is
 * borrowed. No retries here: the informer owns reconnecting. */
typedef int (*kube_watch_cb)(const char *type, struct json_object *object, void *ud);
/* cancel (may be NULL): set it non-zero from another thread to end the watch
 * within about a second (E_TIMEOUT). */
int kube_watch(struct kube_client *c, const struct kube_resource *r, const char *ns,
	       const char *label_selector, const char *field_selector, const char *resource_version,
	       int timeout_s, kube_watch_cb cb, void *ud, const atomic_int *cancel);

/* Read-modify-write of an object's status: get, mutate (returns 0 to write,
 * 1 for "nothing to change", negative to fail: returned at once), PUT
 * /status; a 409 Conflict re-reads and retries up to attempts times. */
typedef int (*kube_mutate_fn)(struct json_object *obj, void *ud);
int kube_update_status_retry(struct kube_client *c, const struct kube_resource *r, const char *ns,
			     const char *name, kube_mutate_fn mutate, void *ud, int attempts,
			     struct json_object **out);

#endif
