/* core/v1 Events about the operator's resources, recorded the way client-go's
 * EventRecorder does: queued without blocking the caller, written by a
 * thread of their own, and aggregated, so that the same event repeated on
 * the same object within the window bumps the existing Event's count and
 * lastTimestamp (a merge patch) instead of creating another.
 *
 * Semantics:
 * - Two occurrences are "the same" when the object (kind, namespace, name,
 *   uid), the type, the reason and the message are equal.
 * - An occurrence within window_ms (default 10 minutes) of the previous one
 *   patches that Event; a later one creates a new Event. Aggregation state
 *   is kept for the cache_cap most recently seen keys; a patch that finds
 *   the Event gone (the apiserver's TTL) creates a new one.
 * - events_emit never waits for the API server. The queue holds queue_cap
 *   distinct events; a repeat of one already queued only counts there. When
 *   the queue is full the event is dropped (E_TOOBIG, counted in the stats,
 *   and logged with a rate limit).
 * - Messages (cut at 1024 bytes) and reasons (at most 128 bytes) are copied
 *   as given. SECRET VALUES MUST NEVER BE PASSED: Events are readable by
 *   anyone who may list events in the namespace. Callers pass field paths,
 *   Secret names and keys, never their contents.
 * - Events are written into the object's namespace ("default" for
 *   cluster-scoped objects), with source.component, reportingController and
 *   reportingInstance from the options. */
#ifndef LIFEBOAT_EVENTS_H
#define LIFEBOAT_EVENTS_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct kube_config;

#define EVENTS_DEFAULT_COMPONENT "lifeboat-operator"
#define EVENTS_DEFAULT_CONTROLLER "lifeboat.dev/operator"
#define EVENTS_DEFAULT_QUEUE 1000
#define EVENTS_DEFAULT_CACHE 4096
#define EVENTS_DEFAULT_WINDOW_MS (10 * 60 * 1000)
#define EVENTS_MESSAGE_MAX 1024
#define EVENTS_REASON_MAX 128

enum events_type { EVENTS_NORMAL, EVENTS_WARNING };

/* The object an event is about (its involvedObject). Borrowed for the call. */
struct events_ref {
	const char *api_version; /* "lifeboat.dev/v1alpha1" */
	const char *kind;
	const char *namespace_; /* NULL or "" for cluster-scoped objects */
	const char *name;
	const char *uid;
	const char *resource_version; /* may be NULL */
	const char *field_path;	      /* may be NULL */
};

struct events_options {
	const char *component;		  /* NULL: EVENTS_DEFAULT_COMPONENT */
	const char *reporting_controller; /* NULL: EVENTS_DEFAULT_CONTROLLER */
	const char *reporting_instance;	  /* NULL: the host name */
	size_t queue_cap;		  /* 0: EVENTS_DEFAULT_QUEUE */
	size_t cache_cap;		  /* 0: EVENTS_DEFAULT_CACHE */
	int64_t window_ms;		  /* 0: EVENTS_DEFAULT_WINDOW_MS */
	/* Wall-clock milliseconds since the epoch; NULL: CLOCK_REALTIME. */
	int64_t (*now_ms)(void *ud);
	void *clock_ud;
};

struct events_stats {
	uint64_t emitted;		   /* events_emit calls accepted */
	uint64_t coalesced;		   /* of those, repeats counted on a queued event */
	uint64_t dropped;		   /* refused: queue full */
	uint64_t created, patched, failed; /* API requests */
};

struct events;

/* cfg is borrowed and must outlive the recorder (NULL: nothing is sent,
 * for tests of the queue). Returns 0 and *out, or E_INVALID for a bad
 * reporting controller or instance. */
int events_new(struct events **out, struct kube_config *cfg, const struct events_options *opt);
/* Starts the writer thread; E_IO if it cannot. */
int events_start(struct events *e);
/* Queues an event. Returns 0, E_TOOBIG (queue full; dropped) or E_INVALID
 * (no object name or kind, an empty or over-long reason). Thread-safe. */
int events_emit(struct events *e, const struct events_ref *obj, enum events_type type,
		const char *reason, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Waits until everything queued so far was written (or failed), at most
 * timeout_ms. Returns 0 or E_TIMEOUT. */
int events_flush(struct events *e, int64_t timeout_ms);
/* Writes what is queued for at most drain_ms, then stops the thread (the
 * rest is dropped). Idempotent. */
void events_stop(struct events *e, int64_t drain_ms);
/* events_stop(e, 0), then frees. NULL is a no-op. */
void events_free(struct events *e);
void events_get_stats(struct events *e, struct events_stats *out);

/* --- pure parts, exposed for the tests --- */

/* What the aggregation cache remembers of a key. */
struct events_seen {
	char name[254];	     /* the Event object */
	char namespace_[64]; /* where it is */
	int64_t count;
	int64_t first_ms, last_ms;
};

struct events_cache;
struct events_cache *events_cache_new(size_t cap);
void events_cache_free(struct events_cache *c);
/* The entry for key when its last occurrence is at most window_ms before
 * now_ms (copied into *out; returns 1), else 0. Marks the key as recently used. */
int events_cache_find(struct events_cache *c, const char *key, int64_t now_ms, int64_t window_ms,
		      struct events_seen *out);
/* Records what was written for key; evicts the least recently used key when full. */
void events_cache_put(struct events_cache *c, const char *key, const struct events_seen *seen);
void events_cache_forget(struct events_cache *c, const char *key);
size_t events_cache_len(const struct events_cache *c);

/* The aggregation key of an occurrence; the caller frees. */
char *events_key(const struct events_ref *obj, enum events_type type, const char *reason,
		 const char *message);
/* The Event object to create (count occurrences between first_ms and
 * last_ms, wall clock). Returns a new object the caller releases. */
struct json_object *events_object(const struct events_ref *obj, enum events_type type,
				  const char *reason, const char *message, const char *event_name,
				  int64_t count, int64_t first_ms, int64_t last_ms,
				  const char *component, const char *controller,
				  const char *instance);
/* The merge patch that bumps an Event to count at last_ms. Caller frees. */
char *events_patch(int64_t count, int64_t last_ms);
/* "<name>.<16 hex digits of unix_ns>", the name cut so the whole fits 253. */
void events_name(char *out, size_t outsz, const char *object_name, int64_t unix_ns);
/* Cuts msg to at most max bytes on a UTF-8 boundary (ending "..." when cut)
 * into out (sized max + 1). */
void events_cut(char *out, const char *msg, size_t max);

#endif
