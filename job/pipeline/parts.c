/* Bounded-concurrency part uploads: a free list of buffers and workers. */
#include "job/pipeline/parts.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "job/pipeline/interrupt.h"
#include "job/pipeline/stage.h"

struct job {
	uint8_t *data;
	size_t len, cap;
	int part_no;
};

struct parts {
	const struct parts_backend *b;
	void *ctx;
	size_t part_size;
	int in_flight;
	pthread_t *threads;
	pthread_mutex_t lock;
	pthread_cond_t changed;

	struct job fill;   /* being filled by the writer */
	struct job *queue; /* dispatched, not yet taken: at most in_flight */
	int qhead, qcount;
	uint8_t **spare; /* free buffers */
	size_t *spare_cap;
	int nspare;
	int busy;      /* uploads under way */
	int next_part; /* number of the part being filled */
	int dispatched;
	char **ids; /* ids[part_no - 1] */
	int ids_cap;
	uint64_t bytes;
	int stop;
	int aborted;	   /* parts_abort: nothing more is sent */
	int interruptible; /* made before a signal, so stopped by one */
	int rc;
	char msg[2048];
};

static void set_id(struct parts *p, int part_no, const char *id)
{
	if (part_no > p->ids_cap) {
		int cap = p->ids_cap ? p->ids_cap : 64;
		while (cap < part_no)
			cap *= 2;
		p->ids = xrealloc(p->ids, (size_t)cap * sizeof(*p->ids));
		memset(p->ids + p->ids_cap, 0, (size_t)(cap - p->ids_cap) * sizeof(*p->ids));
		p->ids_cap = cap;
	}
	free(p->ids[part_no - 1]);
	p->ids[part_no - 1] = xstrdup(id);
}

/* After a SIGTERM or SIGINT no part is sent (the Job's grace period is
 * for the clean-up): the signal becomes the upload's error. Caller holds
 * the lock. */
static int signalled(struct parts *p)
{
	if (p->rc || !p->interruptible || !atomic_load(&stage_interrupted))
		return 0;
	p->rc = interrupt_error();
	snprintf(p->msg, sizeof(p->msg), "%s", err_msg());
	return 1;
}

static void *worker_main(void *arg)
{
	struct parts *p = ((void **)arg)[0];
	int worker = (int)(intptr_t)((void **)arg)[1];
	free(arg);
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stop && p->qcount == 0)
			pthread_cond_wait(&p->changed, &p->lock);
		if (p->qcount == 0)
			break;
		struct job j = p->queue[p->qhead];
		p->qhead = (p->qhead + 1) % p->in_flight;
		p->qcount--;
		p->busy++;
		/* After a failure or a signal, drain without uploading. */
		signalled(p);
		int skip = p->rc != 0;
		pthread_mutex_unlock(&p->lock);
		char id[PARTS_ID_MAX] = "";
		int rc = skip ? 0 : p->b->upload(p->ctx, worker, j.part_no, j.data, j.len, id);
		char msg[sizeof(p->msg)];
		if (rc)
			snprintf(msg, sizeof(msg), "%s", err_msg());
		pthread_mutex_lock(&p->lock);
		p->busy--;
		if (rc && !p->rc) {
			p->rc = rc;
			memcpy(p->msg, msg, sizeof(p->msg));
		} else if (!rc && !skip) {
			set_id(p, j.part_no, id);
		}
		p->spare[p->nspare] = j.data;
		p->spare_cap[p->nspare] = j.cap;
		p->nspare++;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct parts *parts_new(const struct parts_backend *b, void *ctx, size_t part_size, int in_flight)
{
	struct parts *p = xcalloc(1, sizeof(*p));
	p->b = b;
	p->ctx = ctx;
	p->part_size = part_size;
	p->in_flight = in_flight < 1 ? 1 : in_flight;
	p->queue = xcalloc((size_t)p->in_flight, sizeof(*p->queue));
	p->spare = xcalloc((size_t)p->in_flight + 1, sizeof(*p->spare));
	p->spare_cap = xcalloc((size_t)p->in_flight + 1, sizeof(*p->spare_cap));
	p->next_part = 1;
	p->interruptible = !atomic_load(&stage_interrupted);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
	p->threads = xcalloc((size_t)p->in_flight, sizeof(*p->threads));
	for (int i = 0; i < p->in_flight; i++) {
		void **arg = xmalloc(2 * sizeof(void *));
		arg[0] = p;
		arg[1] = (void *)(intptr_t)i;
		if (pthread_create(&p->threads[i], NULL, worker_main, arg) != 0)
			abort();
	}
	return p;
}

/* The first error, or why nothing more is accepted. Caller holds the lock. */
static int failed(struct parts *p)
{
	if (!p->rc && !signalled(p) && p->aborted)
		return err_set(E_IO, "the upload was abandoned");
	return err_set(p->rc, "%s", p->msg);
}

static int stopped(struct parts *p)
{
	return p->rc || p->aborted || signalled(p);
}

/* Hands the fill buffer to the workers; waits while in_flight are queued
 * or busy. Caller holds the lock. */
static int dispatch(struct parts *p)
{
	while (!stopped(p) && p->qcount + p->busy >= p->in_flight)
		pthread_cond_wait(&p->changed, &p->lock);
	if (stopped(p))
		return failed(p);
	p->queue[(p->qhead + p->qcount) % p->in_flight] = p->fill;
	p->qcount++;
	p->dispatched++;
	p->next_part++;
	memset(&p->fill, 0, sizeof(p->fill));
	pthread_cond_broadcast(&p->changed);
	return 0;
}

/* A buffer for the next part: a spare one big enough, or a new one. */
static void take_buffer(struct parts *p)
{
	size_t want = p->part_size;
	while (p->nspare > 0) {
		p->nspare--;
		if (p->spare_cap[p->nspare] >= want) {
			p->fill.data = p->spare[p->nspare];
			p->fill.cap = p->spare_cap[p->nspare];
			break;
		}
		free(p->spare[p->nspare]);
	}
	if (!p->fill.data) {
		p->fill.data = xmalloc(want);
		p->fill.cap = want;
	}
	p->fill.len = 0;
	p->fill.part_no = p->next_part;
}

int parts_write(struct parts *p, const uint8_t *data, size_t n)
{
	int rc = 0;
	pthread_mutex_lock(&p->lock);
	while (!rc && n > 0) {
		if (stopped(p)) {
			rc = failed(p);
			break;
		}
		if (!p->fill.data)
			take_buffer(p);
		size_t want = p->part_size;
		size_t take = want - p->fill.len < n ? want - p->fill.len : n;
		/* Copy without the lock: only this thread touches fill. */
		pthread_mutex_unlock(&p->lock);
		memcpy(p->fill.data + p->fill.len, data, take);
		pthread_mutex_lock(&p->lock);
		p->fill.len += take;
		p->bytes += take;
		data += take;
		n -= take;
		if (p->fill.len == want)
			rc = dispatch(p);
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int parts_single(const struct parts *p)
{
	return p->dispatched == 0;
}

const uint8_t *parts_pending(const struct parts *p, size_t *len)
{
	*len = p->fill.len;
	return p->fill.data;
}

int parts_finish(struct parts *p)
{
	int rc = 0;
	pthread_mutex_lock(&p->lock);
	if (stopped(p))
		rc = failed(p);
	else if (p->fill.data && (p->fill.len > 0 || p->dispatched == 0))
		rc = dispatch(p);
	while (!p->rc && (p->qcount > 0 || p->busy > 0))
		pthread_cond_wait(&p->changed, &p->lock);
	if (!rc && p->rc)
		rc = failed(p);
	pthread_mutex_unlock(&p->lock);
	return rc;
}

int parts_count(const struct parts *p)
{
	return p->dispatched;
}

const char *parts_id(const struct parts *p, int part_no)
{
	return part_no >= 1 && part_no <= p->ids_cap ? p->ids[part_no - 1] : NULL;
}

uint64_t parts_bytes(const struct parts *p)
{
	return p->bytes;
}

void parts_abort(struct parts *p)
{
	pthread_mutex_lock(&p->lock);
	p->aborted = 1;
	/* Handed over but not started: never sent. */
	while (p->qcount > 0) {
		struct job *j = &p->queue[p->qhead];
		p->spare[p->nspare] = j->data;
		p->spare_cap[p->nspare] = j->cap;
		p->nspare++;
		p->qhead = (p->qhead + 1) % p->in_flight;
		p->qcount--;
	}
	pthread_cond_broadcast(&p->changed);
	while (p->busy > 0)
		pthread_cond_wait(&p->changed, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

void parts_free(struct parts *p)
{
	if (!p)
		return;
	parts_abort(p);
	pthread_mutex_lock(&p->lock);
	p->stop = 1;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	for (int i = 0; i < p->in_flight; i++)
		pthread_join(p->threads[i], NULL);
	for (int i = 0; i < p->nspare; i++)
		free(p->spare[i]);
	free(p->fill.data);
	for (int i = 0; i < p->ids_cap; i++)
		free(p->ids[i]);
	free(p->ids);
	free(p->threads);
	free(p->queue);
	free(p->spare);
	free(p->spare_cap);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->changed);
	free(p);
}
