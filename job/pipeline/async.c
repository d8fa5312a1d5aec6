/* The worker-thread stage: a bounded ring of ASYNC_SLOTS buffers. */
#include "job/pipeline/async.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "job/pipeline/interrupt.h"

struct slot {
	uint8_t *data;
	size_t len;
};

struct async {
	struct stage base;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct slot slots[ASYNC_SLOTS];
	size_t head, count; /* queue of filled slots: [head, head + count) */
	struct slot fill;   /* the buffer the writer is filling */
	int ending;	    /* the writer finished: drain and finish next */
	int stop;	    /* free without finish: exit at once */
	int done;	    /* the worker has exited */
	int joined;
	int rc; /* the worker's first error */
	char msg[2048];
};

static void *worker_main(void *arg)
{
	struct async *a = arg;
	int rc = 0;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		while (a->count == 0 && !a->ending && !a->stop)
			pthread_cond_wait(&a->changed, &a->lock);
		if (a->stop || (a->count == 0 && a->ending))
			break;
		struct slot *s = &a->slots[a->head];
		pthread_mutex_unlock(&a->lock);
		rc = stage_write(a->base.next, s->data, s->len);
		pthread_mutex_lock(&a->lock);
		a->head = (a->head + 1) % ASYNC_SLOTS;
		a->count--;
		pthread_cond_broadcast(&a->changed);
		if (rc)
			break;
	}
	int finish = !rc && a->ending && !a->stop;
	pthread_mutex_unlock(&a->lock);
	/* Once SIGTERM came, the downstream (the store writer) is not finished:
	 * no object becomes visible after it. */
	if (finish && atomic_load(&stage_interrupted))
		rc = interrupt_error();
	else if (finish)
		rc = stage_finish(a->base.next);
	pthread_mutex_lock(&a->lock);
	if (rc) {
		a->rc = rc;
		snprintf(a->msg, sizeof(a->msg), "%s", err_msg());
	}
	a->done = 1;
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* Queues the fill buffer, waiting for a free slot. Caller holds no lock. */
static int enqueue(struct async *a)
{
	int rc = 0;
	pthread_mutex_lock(&a->lock);
	while (a->count == ASYNC_SLOTS && !a->done)
		pthread_cond_wait(&a->changed, &a->lock);
	if (a->done) {
		rc = a->rc ? err_set(a->rc, "%s", a->msg)
			   : err_set(E_IO, "the pipeline worker stopped early");
	} else {
		size_t tail = (a->head + a->count) % ASYNC_SLOTS;
		/* Swap buffers: the slot's old (consumed) buffer becomes the fill. */
		uint8_t *spare = a->slots[tail].data;
		a->slots[tail] = a->fill;
		a->fill.data = spare;
		a->fill.len = 0;
		a->count++;
		pthread_cond_broadcast(&a->changed);
	}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

static int async_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct async *a = (struct async *)s;
	if (p == a->fill.data + a->fill.len && n <= ASYNC_SLOT_BYTES - a->fill.len) {
		/* Placed in the fill buffer already (async_space). */
		a->fill.len += n;
		return a->fill.len == ASYNC_SLOT_BYTES ? enqueue(a) : 0;
	}
	while (n > 0) {
		size_t take = ASYNC_SLOT_BYTES - a->fill.len;
		if (take > n)
			take = n;
		memcpy(a->fill.data + a->fill.len, p, take);
		a->fill.len += take;
		p += take;
		n -= take;
		if (a->fill.len == ASYNC_SLOT_BYTES) {
			int rc = enqueue(a);
			if (rc)
				return rc;
		}
	}
	return 0;
}

uint8_t *async_space(struct stage *s, size_t *room)
{
	struct async *a = (struct async *)s;
	*room = ASYNC_SLOT_BYTES - a->fill.len;
	return a->fill.data + a->fill.len;
}

static int async_finish(struct stage *s)
{
	struct async *a = (struct async *)s;
	int rc = a->fill.len ? enqueue(a) : 0;
	pthread_mutex_lock(&a->lock);
	a->ending = 1;
	if (rc)
		a->stop = 1;
	pthread_cond_broadcast(&a->changed);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	a->joined = 1;
	if (!rc && a->rc)
		rc = err_set(a->rc, "%s", a->msg);
	return rc;
}

static void async_free(struct stage *s)
{
	struct async *a = (struct async *)s;
	if (!a->joined) {
		pthread_mutex_lock(&a->lock);
		a->stop = 1;
		pthread_cond_broadcast(&a->changed);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
	}
	for (size_t i = 0; i < ASYNC_SLOTS; i++)
		free(a->slots[i].data);
	free(a->fill.data);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->changed);
	free(a);
}

static const struct stage_ops async_ops = {"async", async_write, async_finish, async_free};

struct stage *async_new(struct stage *next)
{
	struct async *a = xcalloc(1, sizeof(*a));
	a->base.ops = &async_ops;
	a->base.next = next;
	for (size_t i = 0; i < ASYNC_SLOTS; i++)
		a->slots[i].data = xmalloc(ASYNC_SLOT_BYTES);
	a->fill.data = xmalloc(ASYNC_SLOT_BYTES);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->changed, NULL);
	if (pthread_create(&a->thread, NULL, worker_main, a) != 0)
		abort();
	return &a->base;
}
