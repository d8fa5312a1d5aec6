/* One stream as a sequence of size-limited objects (job/pipeline/split.h). */
#include "job/pipeline/split.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "job/pipeline/stage.h"
#include "job/store/store.h"

struct split {
	struct stage base;
	struct store *st;
	char *dir, *leaf;
	uint64_t limit;
	struct stage *stream; /* the whole stream's hash (no next) */
	/* The object being written: its writer, behind its own hash from the
	 * second object on (the first one's digest is the stream's). */
	struct stage *cur;
	uint64_t cur_bytes;
	struct split_object *objs; /* finished ones */
	size_t n, cap;
	int keep;
};

char *split_leaf(const char *leaf, size_t i)
{
	return i == 0 ? xstrdup(leaf) : xasprintf("%s.%04zu", leaf, i + 1);
}

static int open_next(struct split *s)
{
	char *leaf = split_leaf(s->leaf, s->n);
	char *key = xasprintf("%s%s", s->dir, leaf);
	struct stage *w = NULL;
	int rc = store_create(s->st, key, &w);
	free(key);
	free(leaf);
	if (rc)
		return rc;
	s->cur = s->n == 0 ? w : stage_hash_new(w);
	s->cur_bytes = 0;
	return 0;
}

/* Finishes the current object (it becomes visible) and records it. */
static int close_cur(struct split *s)
{
	char hex[65];
	int rc = s->n == 0 ? stage_hash_peek(s->stream, hex) : 0;
	if (rc || (rc = stage_finish(s->cur)))
		return rc;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4;
		s->objs = xrealloc(s->objs, s->cap * sizeof(*s->objs));
	}
	struct split_object *o = &s->objs[s->n];
	o->leaf = split_leaf(s->leaf, s->n);
	o->size = s->cur_bytes;
	if (s->n == 0)
		memcpy(o->sha256, hex, sizeof(o->sha256));
	else
		stage_hash_hex(s->cur, o->sha256);
	s->n++;
	stage_free_chain(s->cur);
	s->cur = NULL;
	if (s->limit)
		log_info("stored %s (%llu bytes)", o->leaf, (unsigned long long)o->size);
	return 0;
}

static int split_write(struct stage *base, const uint8_t *p, size_t n)
{
	struct split *s = (struct split *)base;
	while (n > 0) {
		if (s->limit && s->cur_bytes == s->limit) {
			int rc = close_cur(s);
			if (!rc)
				rc = open_next(s);
			if (rc)
				return rc;
		}
		size_t k = n;
		if (s->limit && (uint64_t)k > s->limit - s->cur_bytes)
			k = (size_t)(s->limit - s->cur_bytes);
		int rc = stage_write(s->stream, p, k);
		if (rc || (rc = stage_write(s->cur, p, k)))
			return rc;
		s->cur_bytes += k;
		p += k;
		n -= k;
	}
	return 0;
}

static int split_finish(struct stage *base)
{
	struct split *s = (struct split *)base;
	int rc = s->cur ? close_cur(s) : 0;
	if (!rc)
		rc = stage_hash_end(s->stream);
	return rc ? rc : stage_finish_next(base);
}

static void split_free(struct stage *base)
{
	struct split *s = (struct split *)base;
	/* Freeing an unfinished writer aborts its upload. */
	stage_free_chain(s->cur);
	stage_free_chain(s->stream);
	for (size_t i = 0; i < s->n; i++) {
		if (!s->keep) {
			char *key = xasprintf("%s%s", s->dir, s->objs[i].leaf);
			if (store_remove(s->st, key))
				log_warn("cannot remove %s, an object of this failed run: %s", key,
					 err_msg());
			free(key);
		}
		free(s->objs[i].leaf);
	}
	free(s->objs);
	free(s->dir);
	free(s->leaf);
	free(s);
}

static const struct stage_ops split_ops = {"split", split_write, split_finish, split_free};

int split_new(struct stage **out, struct store *st, const char *dir, const char *leaf,
	      uint64_t limit)
{
	struct split *s = xcalloc(1, sizeof(*s));
	s->base.ops = &split_ops;
	s->st = st;
	s->dir = xstrdup(dir);
	s->leaf = xstrdup(leaf);
	s->limit = limit;
	s->stream = stage_hash_new(NULL);
	int rc = open_next(s);
	if (rc) {
		split_free(&s->base);
		return rc;
	}
	*out = &s->base;
	return 0;
}

size_t split_count(const struct stage *s)
{
	return ((const struct split *)s)->n;
}

uint64_t split_stream_size(const struct stage *s)
{
	return stage_hash_size(((const struct split *)s)->stream);
}

void split_stream_hex(const struct stage *s, char out[65])
{
	stage_hash_hex(((const struct split *)s)->stream, out);
}

const struct split_object *split_get(const struct stage *s, size_t i)
{
	return &((const struct split *)s)->objs[i];
}

void split_keep(struct stage *s)
{
	((struct split *)s)->keep = 1;
}
