/* Picks a backend by URL scheme and forwards to its ops table. */
#include "job/store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"

static const struct store_ops *const backends[] = {
    &store_file_ops,
    &store_azure_ops,
    &store_s3_ops,
    &store_gs_ops,
};

int store_open(struct store **out, const char *url)
{
	const char *sep = strstr(url, "://");
	if (!sep)
		return err_set(E_INVALID,
			       "storage URL \"%s\" has no scheme: use file:///PATH, "
			       "s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or azure://CONTAINER/PREFIX",
			       url);
	size_t n = (size_t)(sep - url);
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strlen(backends[i]->scheme) == n && strncmp(url, backends[i]->scheme, n) == 0)
			return backends[i]->open(out, url);
	return err_set(E_INVALID,
		       "storage URL \"%.*s://...\": scheme \"%.*s\" is not supported; use "
		       "file://, s3://, gs:// or azure://",
		       (int)n, url, (int)n, url);
}

void store_free(struct store *st)
{
	if (st)
		st->ops->free(st);
}

int store_writer(struct store *st, const char *key, struct stage **out)
{
	return st->ops->writer(st, key, 0, out);
}

int store_create(struct store *st, const char *key, struct stage **out)
{
	return st->ops->writer(st, key, STORE_CREATE, out);
}

int store_read(struct store *st, const char *key, struct stage *sink)
{
	return st->ops->read(st, key, sink);
}

int store_stat(struct store *st, const char *key, uint64_t *size)
{
	return st->ops->stat(st, key, size);
}

int store_list(struct store *st, const char *prefix, store_list_cb cb, void *ud)
{
	return st->ops->list(st, prefix, cb, ud);
}

int store_remove(struct store *st, const char *key)
{
	return st->ops->remove(st, key);
}

void store_get_limits(const struct store *st, struct store_limits *out)
{
	*out = (struct store_limits){0};
	st->ops->limits(st, out);
}

static int put(struct store *st, const char *key, unsigned flags, const void *p, size_t n)
{
	struct stage *w = NULL;
	int rc = st->ops->writer(st, key, flags, &w);
	if (rc)
		return rc;
	/* Not stage_write: a small object is written even after a SIGTERM (the
	 * audit record of an interrupted restore is the one that says so). */
	rc = n ? w->ops->write(w, p, n) : 0;
	if (!rc)
		rc = stage_finish(w);
	stage_free_chain(w);
	return rc;
}

int store_put(struct store *st, const char *key, const void *p, size_t n)
{
	return put(st, key, 0, p, n);
}

int store_put_new(struct store *st, const char *key, const void *p, size_t n)
{
	int rc = put(st, key, STORE_CREATE, p, n);
	if (rc != E_EXISTS)
		return rc;
	/* Identical bytes can only be this put's own (manifests name the
	 * attempt's objects): a reply lost after the write, then a retry. */
	char first[1024];
	snprintf(first, sizeof(first), "%s", err_msg());
	struct buf b;
	buf_init(&b, n + 1);
	int same =
	    store_get(st, key, &b) == 0 && b.len == n && (n == 0 || memcmp(b.ptr, p, n) == 0);
	buf_dispose(&b);
	if (same) {
		err_clear();
		return 0;
	}
	return err_set(E_EXISTS, "%s", first);
}

int store_get(struct store *st, const char *key, struct buf *out)
{
	struct stage *sink = stage_buf_new(out);
	int rc = store_read(st, key, sink);
	stage_free_chain(sink);
	return rc;
}

char *store_location(const struct store *st, const char *key)
{
	size_t n = strlen(st->display);
	int slash = n > 0 && st->display[n - 1] == '/';
	return xasprintf("%s%s%s", st->display, slash ? "" : "/", key);
}
