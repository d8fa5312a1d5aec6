/* A thread-safe queue of object keys for controllers (client-go style): keys
 * are de-duplicated, never handed to two workers at once, and can be re-added
 * after a delay or with per-key exponential backoff. */
#ifndef LIFEBOAT_KUBE_WORKQUEUE_H
#define LIFEBOAT_KUBE_WORKQUEUE_H

#include <stddef.h>
#include <stdint.h>

/* What workqueue_get returns. */
enum workqueue_status {
	WORKQUEUE_OK = 0,	/* *key is set */
	WORKQUEUE_TIMEOUT = 1,	/* no key became due within timeout_ms */
	WORKQUEUE_SHUTDOWN = 2, /* workqueue_shutdown was called */
};

#define WORKQUEUE_DEFAULT_BASE_MS 5
#define WORKQUEUE_DEFAULT_MAX_MS (300 * 1000)

struct workqueue;

/* now_ms returns a monotonic clock in milliseconds and is used for delayed
 * keys; NULL uses CLOCK_MONOTONIC. With an injected clock, timeouts are still
 * measured on CLOCK_MONOTONIC and a waiting getter re-reads the injected clock
 * at least every 10 ms. The caller frees the queue with workqueue_free. */
struct workqueue *workqueue_new(int64_t (*now_ms)(void *ud), void *ud);
/* Frees the queue and every key in it; no thread may be using it. NULL is a
 * no-op. */
void workqueue_free(struct workqueue *q);

/* Queues key (copied). A key already waiting is not queued twice; a key being
 * processed is queued again when its worker calls workqueue_done. Ignored
 * after workqueue_shutdown. */
void workqueue_add(struct workqueue *q, const char *key);
/* Queues key once delay_ms have passed (delay_ms <= 0: now). If the key is
 * already waiting for a delay, the earlier due time wins. */
void workqueue_add_after(struct workqueue *q, const char *key, int64_t delay_ms);
/* workqueue_add_after with the key's backoff: base * 2^failures, capped at
 * the maximum; then counts one more failure for the key. */
void workqueue_add_rate_limited(struct workqueue *q, const char *key);
/* Resets the key's failure count. Call it after a success and when the
 * object is gone: a key with failures stays in memory until forgotten. */
void workqueue_forget(struct workqueue *q, const char *key);
/* How many times add_rate_limited was called since the last forget. */
int workqueue_failures(struct workqueue *q, const char *key);
/* Backoff base and cap in ms (defaults WORKQUEUE_DEFAULT_BASE_MS and
 * WORKQUEUE_DEFAULT_MAX_MS); values below 1 are raised to 1 and max below base
 * is raised to base. */
void workqueue_set_backoff(struct workqueue *q, int64_t base_ms, int64_t max_ms);

/* Waits up to timeout_ms (0: do not wait, -1: forever) for a due key and marks
 * it as being processed. Returns WORKQUEUE_OK with *key set to a heap copy the
 * caller frees, WORKQUEUE_TIMEOUT, or WORKQUEUE_SHUTDOWN once the queue is shut
 * down (keys still queued then are not handed out). *key is set only on
 * WORKQUEUE_OK. */
int workqueue_get(struct workqueue *q, char **key, int64_t timeout_ms);
/* Ends processing of a key returned by workqueue_get; if it was re-added
 * meanwhile, it is queued again. Unknown keys are ignored. */
void workqueue_done(struct workqueue *q, const char *key);
/* Makes every current and future workqueue_get return WORKQUEUE_SHUTDOWN and
 * drops later adds. */
void workqueue_shutdown(struct workqueue *q);
/* Keys ready to be handed out now (delayed keys that are due included). */
size_t workqueue_len(struct workqueue *q);

#endif
