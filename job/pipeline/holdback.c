/* The tail-withholding stage used to make restores atomic. */
#include "job/pipeline/holdback.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xmalloc.h"

struct holdback {
	struct stage base;
	uint8_t tail[HOLDBACK_BYTES];
	size_t len;
};

static int hb_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct holdback *h = (struct holdback *)s;
	if (h->len + n <= sizeof(h->tail)) {
		memcpy(h->tail + h->len, p, n);
		h->len += n;
		return 0;
	}
	/* Pass on what falls out of the window: first the old tail, then input. */
	size_t total = h->len + n, out = total - sizeof(h->tail);
	size_t from_tail = out < h->len ? out : h->len;
	int rc = stage_write(s->next, h->tail, from_tail);
	if (rc)
		return rc;
	memmove(h->tail, h->tail + from_tail, h->len - from_tail);
	h->len -= from_tail;
	size_t from_input = out - from_tail;
	if ((rc = stage_write(s->next, p, from_input)))
		return rc;
	memcpy(h->tail + h->len, p + from_input, n - from_input);
	h->len += n - from_input;
	return 0;
}

static int hb_finish(struct stage *s)
{
	(void)s;
	return 0;
}

static void hb_free(struct stage *s)
{
	free(s);
}

static const struct stage_ops holdback_ops = {"holdback", hb_write, hb_finish, hb_free};

struct stage *holdback_new(struct stage *next)
{
	struct holdback *h = xcalloc(1, sizeof(*h));
	h->base.ops = &holdback_ops;
	h->base.next = next;
	return &h->base;
}

int holdback_check_commit(const struct stage *s)
{
	const struct holdback *h = (const struct holdback *)s;
	/* Walk back over trailing blank and comment lines to the last statement. */
	size_t end = h->len;
	for (;;) {
		while (end > 0 && (h->tail[end - 1] == '\n' || h->tail[end - 1] == '\r' ||
				   h->tail[end - 1] == ' ' || h->tail[end - 1] == '\t'))
			end--;
		size_t start = end;
		while (start > 0 && h->tail[start - 1] != '\n')
			start--;
		static const char unrestrict[] = "\\unrestrict ";
		/* Comments, and the \unrestrict that PostgreSQL 13.22/14.19/15.14/16.10/17.6
		 * and later end their scripts with, may follow COMMIT. */
		if ((end - start >= 2 && h->tail[start] == '-' && h->tail[start + 1] == '-') ||
		    (end - start > sizeof(unrestrict) - 1 &&
		     memcmp(h->tail + start, unrestrict, sizeof(unrestrict) - 1) == 0)) {
			end = start;
			continue;
		}
		static const char commit[] = "COMMIT;";
		size_t clen = sizeof(commit) - 1;
		if (end - start == clen && memcmp(h->tail + start, commit, clen) == 0 &&
		    (start > 0 || h->len < sizeof(h->tail)))
			return 0;
		return err_set(E_INTEGRITY,
			       "the restore script does not end with COMMIT;: it is not a complete "
			       "single-transaction script, so nothing was committed");
	}
}

int holdback_release(struct stage *s)
{
	struct holdback *h = (struct holdback *)s;
	int rc = stage_write(s->next, h->tail, h->len);
	h->len = 0;
	return rc;
}
