/* The controller work queue: a hash table of keys with their state, a FIFO of
 * ready keys and a min-heap of delayed ones, under one mutex. */
#include "operator/kube/workqueue.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/xmalloc.h"

#define NOT_IN_HEAP SIZE_MAX
/* Longest delay honoured (about 31 years); keeps due times far from overflow. */
#define MAX_DELAY_MS ((int64_t)1000 * 1000 * 1000 * 1000)
/* How often a waiting getter re-reads an injected clock. */
#define INJECTED_POLL_MS 10

/* One key the queue knows about. It lives while any of its state is set:
 * queued (dirty), handed out (processing), delayed (in the heap) or with a
 * failure count. */
struct wq_item {
	struct wq_item *next; /* hash chain */
	uint64_t hash;
	char *key;
	int64_t due_ms; /* when in the heap */
	uint64_t seq;	/* insertion order among equal due times */
	size_t heap_idx;
	int failures;
	bool dirty;	 /* re-added since last handed out; in the FIFO unless processing */
	bool processing; /* handed out by get, not yet done */
};

struct workqueue {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	int64_t (*now_ms)(void *ud);
	void *ud;

	uint64_t seed;
	struct wq_item **buckets;
	size_t nbuckets; /* a power of two */
	size_t nitems;

	/* Ring of items that are dirty and not processing, oldest first. */
	struct wq_item **fifo;
	size_t fifo_cap, fifo_head, fifo_len;

	struct wq_item **heap;
	size_t heap_len, heap_cap;
	uint64_t seq;

	int64_t base_ms, max_ms;
	bool shutting_down;
};

static int64_t clock_now(const struct workqueue *q)
{
	return q->now_ms ? q->now_ms(q->ud) : clock_mono_ms();
}

/* FNV-1a mixed with a per-queue seed and a final avalanche (splitmix64). */
static uint64_t hash_key(const struct workqueue *q, const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ q->seed;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static void grow_buckets(struct workqueue *q)
{
	size_t n = q->nbuckets * 2;
	struct wq_item **b = xcalloc(n, sizeof(*b));
	for (size_t i = 0; i < q->nbuckets; i++) {
		struct wq_item *it = q->buckets[i];
		while (it) {
			struct wq_item *next = it->next;
			size_t j = it->hash & (n - 1);
			it->next = b[j];
			b[j] = it;
			it = next;
		}
	}
	free(q->buckets);
	q->buckets = b;
	q->nbuckets = n;
}

/* Finds key's item; creates it when create is set, else returns NULL. */
static struct wq_item *lookup(struct workqueue *q, const char *key, bool create)
{
	uint64_t h = hash_key(q, key);
	for (struct wq_item *it = q->buckets[h & (q->nbuckets - 1)]; it; it = it->next)
		if (it->hash == h && strcmp(it->key, key) == 0)
			return it;
	if (!create)
		return NULL;
	if (q->nitems >= q->nbuckets)
		grow_buckets(q);
	struct wq_item *it = xcalloc(1, sizeof(*it));
	it->hash = h;
	it->key = xstrdup(key);
	it->heap_idx = NOT_IN_HEAP;
	size_t j = h & (q->nbuckets - 1);
	it->next = q->buckets[j];
	q->buckets[j] = it;
	q->nitems++;
	return it;
}

/* Frees the item once nothing refers to it any more. */
static void release(struct workqueue *q, struct wq_item *it)
{
	if (it->dirty || it->processing || it->heap_idx != NOT_IN_HEAP || it->failures)
		return;
	struct wq_item **pp = &q->buckets[it->hash & (q->nbuckets - 1)];
	while (*pp != it)
		pp = &(*pp)->next;
	*pp = it->next;
	q->nitems--;
	free(it->key);
	free(it);
}

static void fifo_push(struct workqueue *q, struct wq_item *it)
{
	if (q->fifo_len == q->fifo_cap) {
		size_t cap = q->fifo_cap ? q->fifo_cap * 2 : 64;
		struct wq_item **f = xmalloc(cap * sizeof(*f));
		for (size_t i = 0; i < q->fifo_len; i++)
			f[i] = q->fifo[(q->fifo_head + i) % q->fifo_cap];
		free(q->fifo);
		q->fifo = f;
		q->fifo_cap = cap;
		q->fifo_head = 0;
	}
	q->fifo[(q->fifo_head + q->fifo_len) % q->fifo_cap] = it;
	q->fifo_len++;
}

static struct wq_item *fifo_pop(struct workqueue *q)
{
	struct wq_item *it = q->fifo[q->fifo_head];
	q->fifo_head = (q->fifo_head + 1) % q->fifo_cap;
	q->fifo_len--;
	return it;
}

static bool heap_less(const struct wq_item *a, const struct wq_item *b)
{
	return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void heap_set(struct workqueue *q, size_t i, struct wq_item *it)
{
	q->heap[i] = it;
	it->heap_idx = i;
}

static void heap_up(struct workqueue *q, size_t i)
{
	struct wq_item *it = q->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!heap_less(it, q->heap[parent]))
			break;
		heap_set(q, i, q->heap[parent]);
		i = parent;
	}
	heap_set(q, i, it);
}

static void heap_down(struct workqueue *q, size_t i)
{
	struct wq_item *it = q->heap[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= q->heap_len)
			break;
		if (c + 1 < q->heap_len && heap_less(q->heap[c + 1], q->heap[c]))
			c++;
		if (!heap_less(q->heap[c], it))
			break;
		heap_set(q, i, q->heap[c]);
		i = c;
	}
	heap_set(q, i, it);
}

static void heap_push(struct workqueue *q, struct wq_item *it)
{
	if (q->heap_len == q->heap_cap) {
		q->heap_cap = q->heap_cap ? q->heap_cap * 2 : 64;
		q->heap = xrealloc(q->heap, q->heap_cap * sizeof(*q->heap));
	}
	heap_set(q, q->heap_len++, it);
	heap_up(q, it->heap_idx);
}

static struct wq_item *heap_pop(struct workqueue *q)
{
	struct wq_item *top = q->heap[0];
	top->heap_idx = NOT_IN_HEAP;
	q->heap_len--;
	if (q->heap_len) {
		heap_set(q, 0, q->heap[q->heap_len]);
		heap_down(q, 0);
	}
	return top;
}

/* client-go's Add: a dirty key is already queued or will be after done. */
static void add_locked(struct workqueue *q, struct wq_item *it)
{
	if (it->dirty)
		return;
	it->dirty = true;
	if (it->processing)
		return;
	fifo_push(q, it);
	pthread_cond_signal(&q->ready);
}

static void add_after_locked(struct workqueue *q, struct wq_item *it, int64_t delay_ms)
{
	if (delay_ms <= 0) {
		add_locked(q, it);
		return;
	}
	if (delay_ms > MAX_DELAY_MS)
		delay_ms = MAX_DELAY_MS;
	int64_t due = clock_now(q) + delay_ms;
	if (it->heap_idx != NOT_IN_HEAP) {
		if (due >= it->due_ms)
			return;
		it->due_ms = due;
		heap_up(q, it->heap_idx);
	} else {
		it->due_ms = due;
		it->seq = q->seq++;
		heap_push(q, it);
	}
	/* A new earliest due time: a waiting getter must recompute its wake-up. */
	if (it->heap_idx == 0)
		pthread_cond_signal(&q->ready);
}

/* Moves delayed keys whose time has come to the FIFO. */
static void promote(struct workqueue *q)
{
	if (!q->heap_len)
		return;
	int64_t now = clock_now(q);
	while (q->heap_len && q->heap[0]->due_ms <= now)
		add_locked(q, heap_pop(q));
}

struct workqueue *workqueue_new(int64_t (*now_ms)(void *ud), void *ud)
{
	struct workqueue *q = xcalloc(1, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	/* Waits are always measured on CLOCK_MONOTONIC so clock jumps do not matter. */
	clock_cond_init(&q->ready);
	q->now_ms = now_ms;
	q->ud = ud;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	q->seed =
	    ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)q;
	q->nbuckets = 64;
	q->buckets = xcalloc(q->nbuckets, sizeof(*q->buckets));
	q->base_ms = WORKQUEUE_DEFAULT_BASE_MS;
	q->max_ms = WORKQUEUE_DEFAULT_MAX_MS;
	return q;
}

void workqueue_free(struct workqueue *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nbuckets; i++) {
		struct wq_item *it = q->buckets[i];
		while (it) {
			struct wq_item *next = it->next;
			free(it->key);
			free(it);
			it = next;
		}
	}
	free(q->buckets);
	free(q->fifo);
	free(q->heap);
	pthread_cond_destroy(&q->ready);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

void workqueue_add(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	if (!q->shutting_down)
		add_locked(q, lookup(q, key, true));
	pthread_mutex_unlock(&q->lock);
}

void workqueue_add_after(struct workqueue *q, const char *key, int64_t delay_ms)
{
	pthread_mutex_lock(&q->lock);
	if (!q->shutting_down)
		add_after_locked(q, lookup(q, key, true), delay_ms);
	pthread_mutex_unlock(&q->lock);
}

void workqueue_add_rate_limited(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	if (!q->shutting_down) {
		struct wq_item *it = lookup(q, key, true);
		int64_t delay = q->base_ms;
		for (int i = 0; i < it->failures && delay < q->max_ms; i++)
			delay *= 2;
		if (delay > q->max_ms)
			delay = q->max_ms;
		if (it->failures < INT_MAX)
			it->failures++;
		add_after_locked(q, it, delay);
	}
	pthread_mutex_unlock(&q->lock);
}

void workqueue_forget(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	struct wq_item *it = lookup(q, key, false);
	if (it) {
		it->failures = 0;
		release(q, it);
	}
	pthread_mutex_unlock(&q->lock);
}

int workqueue_failures(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	struct wq_item *it = lookup(q, key, false);
	int n = it ? it->failures : 0;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void workqueue_set_backoff(struct workqueue *q, int64_t base_ms, int64_t max_ms)
{
	if (base_ms < 1)
		base_ms = 1;
	if (base_ms > MAX_DELAY_MS)
		base_ms = MAX_DELAY_MS;
	if (max_ms < base_ms)
		max_ms = base_ms;
	if (max_ms > MAX_DELAY_MS)
		max_ms = MAX_DELAY_MS;
	pthread_mutex_lock(&q->lock);
	q->base_ms = base_ms;
	q->max_ms = max_ms;
	pthread_mutex_unlock(&q->lock);
}

int workqueue_get(struct workqueue *q, char **key, int64_t timeout_ms)
{
	int rc;
	pthread_mutex_lock(&q->lock);
	int64_t deadline = 0;
	if (timeout_ms > 0)
		deadline =
		    clock_mono_ms() + (timeout_ms > MAX_DELAY_MS ? MAX_DELAY_MS : timeout_ms);
	for (;;) {
		if (q->shutting_down) {
			rc = WORKQUEUE_SHUTDOWN;
			break;
		}
		promote(q);
		if (q->fifo_len) {
			struct wq_item *it = fifo_pop(q);
			it->dirty = false;
			it->processing = true;
			*key = xstrdup(it->key);
			/* One signal per push may have been consumed by a getter that
			 * found nothing; pass the wake-up on while keys remain. */
			if (q->fifo_len)
				pthread_cond_signal(&q->ready);
			rc = WORKQUEUE_OK;
			break;
		}
		int64_t now = clock_mono_ms();
		if (timeout_ms == 0 || (timeout_ms > 0 && now >= deadline)) {
			rc = WORKQUEUE_TIMEOUT;
			break;
		}
		int64_t wake = timeout_ms > 0 ? deadline : INT64_MAX;
		if (q->heap_len) {
			/* With the real clock due times are CLOCK_MONOTONIC ms. */
			int64_t due = q->now_ms ? now + INJECTED_POLL_MS : q->heap[0]->due_ms;
			if (due < wake)
				wake = due;
		}
		if (wake == INT64_MAX) {
			pthread_cond_wait(&q->ready, &q->lock);
		} else {
			struct timespec ts = clock_mono_timespec(wake);
			pthread_cond_timedwait(&q->ready, &q->lock, &ts);
		}
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void workqueue_done(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	struct wq_item *it = lookup(q, key, false);
	if (it && it->processing) {
		it->processing = false;
		if (it->dirty) {
			fifo_push(q, it);
			pthread_cond_signal(&q->ready);
		} else {
			release(q, it);
		}
	}
	pthread_mutex_unlock(&q->lock);
}

void workqueue_shutdown(struct workqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->shutting_down = true;
	pthread_cond_broadcast(&q->ready);
	pthread_mutex_unlock(&q->lock);
}

size_t workqueue_len(struct workqueue *q)
{
	pthread_mutex_lock(&q->lock);
	if (!q->shutting_down)
		promote(q);
	size_t n = q->fifo_len;
	pthread_mutex_unlock(&q->lock);
	return n;
}
