/* The parts of the S3, GCS and Azure backends that are the same protocol: small
 * local files and the resumable streaming GET. */
#include "objstore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../common/buf.h"
#include "../common/err.h"
#include "../common/log.h"

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

static int ok(const struct http_response *r)
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
		rc = g->send(g->ctx, rd.got, version, on_object_data, &rd, &resp);
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
		if (rc == 0 && !ok(&resp) && rd.got > 0 && resp.status == 412)
			rc = err_set(E_STORE,
				     "%s: the object changed while it was read (%s %s); read it "
				     "again",
				     where, g->version_name, version ? version : "?");
		else if (rc == E_UNAVAILABLE || rc == E_TIMEOUT || rc == E_TLS ||
			 (rc == 0 && !ok(&resp))) {
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
