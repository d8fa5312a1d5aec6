/* The parts of the S3, GCS and Azure backends that are the same protocol:
 * small local files, error translation, the resumable streaming GET and the
 * writer (one PUT, or a session of parts, a commit and an abort). */
#include "job/store/objstore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"

int objstore_read_file(char **out, const char *path, size_t max, const char *what)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return err_set(E_INVALID, "%s %s cannot be read: %s", what, path, strerror(errno));
	/* Every copy is wiped: stdio's buffer (lent, so we can), the chunk,
	 * and each block the buffer outgrows. */
	char iobuf[BUFSIZ];
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	struct buf b;
	buf_init_secret(&b, max);
	char chunk[4096];
	size_t n;
	int rc = 0;
	while (!rc && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rc = buf_add(&b, chunk, n);
	int bad = ferror(f);
	fclose(f);
	OPENSSL_cleanse(iobuf, sizeof(iobuf));
	OPENSSL_cleanse(chunk, sizeof(chunk));
	if (rc || bad) {
		buf_dispose(&b);
		return err_set(E_INVALID, "%s %s cannot be read%s", what, path,
			       rc ? ": it is too large" : "");
	}
	*out = buf_take(&b);
	return 0;
}

void objstore_free_secret(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

int objstore_fail(const char *where, const char *what, int rc, int attempts, const char *ca_how,
		  const struct objstore_reply *r)
{
	if (rc == E_UNAVAILABLE || rc == E_TIMEOUT)
		return err_set(E_STORE,
			       "%s: %s: %s (after %d attempts); check the endpoint and the "
			       "network",
			       where, what, err_msg(), attempts);
	if (rc == E_TLS)
		return err_set(
		    E_TLS,
		    "%s: %s: %s; the endpoint's certificate does not verify: give the CA "
		    "that signed it with %s",
		    where, what, err_msg(), ca_how);
	if (rc)
		return err_wrap("%s: %s", where, what);
	const char *hint = r->hint ? r->hint : "";
	size_t mlen = r->msg ? strlen(r->msg) : 0;
	if (*hint && mlen && r->msg[mlen - 1] == '.')
		r->msg[mlen - 1] = '\0'; /* "...signing method; check ..." */
	return err_set(
	    r->ecode, "%s: %s: HTTP %ld%s%s%s%s%s%s%s", where, what, r->status, r->code ? " " : "",
	    r->code ? r->code : "", r->msg ? ": " : "", r->msg ? r->msg : "",
	    http_status_retryable(r->status) ? " (the server stayed busy through the retries)" : "",
	    *hint ? "; " : "", hint);
}

struct reader {
	struct stage *sink;
	uint64_t got;
	uint64_t expect_from; /* a resumed transfer must start here */
	int checked;	      /* this transfer's Content-Range was checked */
	struct http_response *resp;
	const char *where;
};

static int on_object_data(const char *p, size_t n, void *ud)
{
	struct reader *rd = ud;
	if (!rd->checked) {
		rd->checked = 1;
		if (rd->expect_from > 0) {
			char *cr = http_response_header(rd->resp, "Content-Range");
			unsigned long long start = 0;
			int good = rd->resp->status == 206 && cr &&
				   sscanf(cr, "bytes %llu-", &start) == 1 &&
				   start == rd->expect_from;
			free(cr);
			if (!good)
				return err_set(
				    E_STORE,
				    "%s: GET resumed at byte %llu, but the server did not "
				    "answer with that range",
				    rd->where, (unsigned long long)rd->expect_from);
		}
	}
	int rc = stage_write(rd->sink, (const uint8_t *)p, n);
	if (!rc)
		rd->got += n;
	return rc;
}

int objstore_ok(const struct http_response *r)
{
	return r->status >= 200 && r->status < 300;
}

int objstore_read(const struct objstore_get *g, const char *where, struct stage *sink)
{
	char *version = NULL;
	struct http_response resp;
	struct reader rd = {sink, 0, 0, 0, &resp, where};
	int rc = 0;
	http_response_init(&resp);
	for (int resumes = 0;; resumes++) {
		rd.expect_from = rd.got;
		rd.checked = 0;
		uint64_t before = rd.got;
		char range[48];
		snprintf(range, sizeof(range), "bytes=%llu-", (unsigned long long)rd.got);
		rc = g->send(g->ctx, rd.got ? range : NULL, rd.got ? version : NULL, on_object_data,
			     &rd, &resp);
		if (!version && resp.status / 100 == 2)
			version = http_response_header(&resp, g->version_header);
		if (rc == E_UNAVAILABLE && rd.got > before && resumes < OBJSTORE_READ_RESUMES) {
			log_info(
			    "%s: the connection broke at byte %llu (%s); resuming with a Range "
			    "request (resuming there: %d of %d)",
			    where, (unsigned long long)rd.got, err_msg(), resumes + 1,
			    OBJSTORE_READ_RESUMES);
			continue;
		}
		if (rc == 0 && !objstore_ok(&resp) && rd.got > 0 && resp.status == 412)
			rc = err_set(E_STORE,
				     "%s: the object changed while it was read (%s %s); read it "
				     "again",
				     where, g->version_name, version ? version : "?");
		else if (rc == E_UNAVAILABLE || rc == E_TIMEOUT || rc == E_TLS ||
			 (rc == 0 && !objstore_ok(&resp))) {
			char what[64];
			snprintf(what, sizeof(what), "%s%s", g->what, rd.got ? " (resumed)" : "");
			rc = g->fail(g->ctx, where, what, rc, &resp);
		}
		break;
	}
	if (rc == E_NOTFOUND)
		rc = err_set(E_NOTFOUND, "%s does not exist", where);
	http_response_dispose(&resp);
	free(version);
	return rc;
}

int objstore_exists(const char *where, const char *what, long status, const char *code,
		    const char *noun)
{
	return err_set(E_EXISTS,
		       "%s: %s: HTTP %ld%s%s: another writer created the %s first (two runs of "
		       "one backup at once?); this run leaves it alone",
		       where, what, status, code ? " " : "", code ? code : "", noun);
}

/* --- the writer ---------------------------------------------------------- */

struct writer {
	struct stage base;
	struct stage_ops stage_ops; /* named after the dialect: "s3-writer" */
	const struct objstore_writer_ops *ops;
	void *ctx;
	const char *where;
	size_t part_size;
	struct parts *parts;
	struct http_client *http;     /* the writer's thread */
	struct http_client **workers; /* one per part worker */
	int nworkers;
	int begun;
	int done;
};

static int writer_upload(void *ctx, int worker, int part_no, const uint8_t *data, size_t len,
			 char id[PARTS_ID_MAX])
{
	struct writer *w = ctx;
	return w->ops->put_part(w->ctx, w->workers[worker], part_no, data, len, id);
}

static const struct parts_backend writer_parts = {writer_upload};

static int writer_begin(struct writer *w)
{
	int rc = w->ops->begin(w->ctx, w->http);
	if (!rc)
		w->begun = 1;
	return rc;
}

static int writer_write(struct stage *s, const uint8_t *p, size_t n)
{
	struct writer *w = (struct writer *)s;
	if (w->ops->begin && !w->begun) {
		/* The first full part needs a session to go to. */
		size_t pending = 0;
		parts_pending(w->parts, &pending);
		if (w->ops->begin_early || pending + n >= w->part_size) {
			int rc = writer_begin(w);
			if (rc)
				return rc;
		}
	}
	return parts_write(w->parts, p, n);
}

static int writer_finish(struct stage *s)
{
	struct writer *w = (struct writer *)s;
	int whole = w->ops->put_whole && !w->begun && parts_single(w->parts);
	int rc = 0;
	if (whole) {
		size_t n = 0;
		const uint8_t *p = parts_pending(w->parts, &n);
		rc = w->ops->put_whole(w->ctx, w->http, p, n);
	} else {
		if (w->ops->begin && !w->begun && (rc = writer_begin(w)))
			return rc;
		if (w->ops->last)
			w->ops->last(w->ctx, parts_bytes(w->parts));
		rc = parts_finish(w->parts);
		if (!rc)
			rc = w->ops->complete(w->ctx, w->http, w->parts);
	}
	if (rc)
		return rc;
	w->done = 1;
	log_debug("%s: %s %llu bytes in %d %s(s)", w->where, w->ops->stored,
		  (unsigned long long)parts_bytes(w->parts), whole ? 1 : parts_count(w->parts),
		  w->ops->unit);
	return stage_finish_next(s);
}

static void writer_free(struct stage *s)
{
	struct writer *w = (struct writer *)s;
	/* Stops the parts under way first, so the abort comes after them. */
	parts_abort(w->parts);
	if (!w->done && (w->ops->begin ? w->begun : parts_bytes(w->parts) > 0))
		w->ops->abort(w->ctx, w->http, w->parts);
	parts_free(w->parts);
	for (int i = 0; i < w->nworkers; i++)
		http_client_free(w->workers[i]);
	free(w->workers);
	http_client_free(w->http);
	w->ops->free(w->ctx);
	free(w);
}

struct stage *objstore_writer_new(const struct objstore_writer_ops *ops, void *ctx,
				  const char *where, size_t part_size, int in_flight)
{
	struct writer *w = xcalloc(1, sizeof(*w));
	w->stage_ops = (struct stage_ops){ops->name, writer_write, writer_finish, writer_free};
	w->base.ops = &w->stage_ops;
	w->ops = ops;
	w->ctx = ctx;
	w->where = where;
	w->part_size = part_size;
	w->http = http_client_new();
	w->nworkers = in_flight;
	w->workers = xcalloc((size_t)in_flight, sizeof(*w->workers));
	for (int i = 0; i < in_flight; i++)
		w->workers[i] = http_client_new();
	w->parts = parts_new(&writer_parts, w, part_size, in_flight);
	return &w->base;
}
