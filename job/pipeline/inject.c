/* Inserting SQL after a script's opening BEGIN. */
#include "job/pipeline/inject.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"

struct inject {
	struct stage base;
	char *sql;
	struct buf head; /* bytes seen before BEGIN was found */
	int done;
};

/* Offset just past the first line that is exactly "BEGIN;", or 0. */
static size_t find_begin(const char *p, size_t n)
{
	static const char line[] = "BEGIN;\n";
	size_t len = sizeof(line) - 1;
	for (size_t i = 0; i + len <= n; i++)
		if ((i == 0 || p[i - 1] == '\n') && memcmp(p + i, line, len) == 0)
			return i + len;
	return 0;
}

static int no_begin(void)
{
	return err_set(E_INTEGRITY,
		       "the restore script has no BEGIN; line in its first %d bytes: it "
		       "is not a single-transaction script, so nothing was applied",
		       INJECT_SCAN_MAX);
}

static int inj_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct inject *in = (struct inject *)s;
	if (in->done)
		return stage_write(s->next, p, n);
	size_t take = n;
	if (in->head.len + take > INJECT_SCAN_MAX)
		take = INJECT_SCAN_MAX - in->head.len;
	buf_add(&in->head, p, take);
	size_t at = find_begin(in->head.ptr, in->head.len);
	if (!at) {
		if (in->head.len >= INJECT_SCAN_MAX)
			return no_begin();
		return 0;
	}
	int rc;
	in->done = 1;
	if ((rc = stage_write(s->next, (const uint8_t *)in->head.ptr, at)) ||
	    (rc = stage_write(s->next, (const uint8_t *)in->sql, strlen(in->sql))) ||
	    (rc = stage_write(s->next, (const uint8_t *)in->head.ptr + at, in->head.len - at)))
		return rc;
	buf_dispose(&in->head);
	return stage_write(s->next, p + take, n - take);
}

static int inj_finish(struct stage *s)
{
	struct inject *in = (struct inject *)s;
	if (!in->done)
		return no_begin();
	return stage_finish_next(s);
}

static void inj_free(struct stage *s)
{
	struct inject *in = (struct inject *)s;
	buf_dispose(&in->head);
	free(in->sql);
	free(in);
}

static const struct stage_ops inject_ops = {"inject", inj_write, inj_finish, inj_free};

struct stage *inject_new(const char *sql, struct stage *next)
{
	struct inject *in = xcalloc(1, sizeof(*in));
	in->base.ops = &inject_ops;
	in->base.next = next;
	in->sql = xstrdup(sql);
	buf_init(&in->head, INJECT_SCAN_MAX);
	return &in->base;
}
