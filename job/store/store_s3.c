/* The s3:// backend and gs:// with an HMAC key: S3's REST API signed with
 * SigV4 (GCS through its S3-compatible XML API). Objects larger than one part
 * go up as a multipart upload while the dump still runs (job/pipeline/parts.c);
 * smaller ones as a single PutObject. Nothing is visible before finish; an
 * unfinished writer aborts its upload. A STORE_CREATE writer sends
 * If-None-Match: * with the PutObject or CompleteMultipartUpload. */
#include "job/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http.h"
#include "common/jobenv.h"
#include "common/log.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "job/store/objstore.h"
#include "job/pipeline/parts.h"
#include "job/store/s3.h"
#include "job/store/sigv4.h"

#define CA_BUNDLE_MAX (4u * 1024 * 1024)
#define CREDENTIALS_MAX (1024u * 1024)
#define REPLY_MAX (8u * 1024 * 1024)

struct s3_store {
	struct store base;
	struct s3_config cfg;
	struct s3_credentials cred;
	char *ca_pem;
	struct http_tls tls;
	struct http_retry retry;
	struct http_client *http; /* for stat, read, list, remove: the caller's thread */
};

/* One request. Header values are borrowed. */
struct s3_req {
	const char *method;
	const char *okey; /* full object key; NULL for the bucket */
	const struct sigv4_param *query;
	size_t nquery;
	const void *body; /* NULL: no body */
	size_t body_len;
	int md5;	  /* send Content-MD5 of the body */
	int object_attrs; /* PutObject / CreateMultipartUpload: SSE, storage class */
	const char *content_type;
	const char *range;
	const char *if_match;
	int if_none_match; /* If-None-Match: * (create only) */
	int (*on_data)(const char *p, size_t n, void *ud);
	void *ud;
};

static int s3_request(struct s3_store *s, struct http_client *c, const struct s3_req *r,
		      struct http_response *resp)
{
	char amz_date[17], payload[65], md5b64[32] = "";
	struct sigv4_header h[12];
	size_t nh = 0;
	struct buf query, auth;
	char *path = s3_config_path(&s->cfg, r->okey), *url = NULL;
	char **lines = NULL;
	int rc;

	buf_init(&query, (size_t)-1);
	buf_init(&auth, (size_t)-1);
	sigv4_amz_date(amz_date, time(NULL));
	sigv4_sha256_hex(payload, r->body ? r->body : "", r->body ? r->body_len : 0);
	if (r->md5 && r->body) {
		uint8_t d[16];
		unsigned int len = 0;
		if (EVP_Digest(r->body, r->body_len, d, &len, EVP_md5(), NULL) != 1)
			abort();
		EVP_EncodeBlock((unsigned char *)md5b64, d, 16);
	}
	h[nh++] = (struct sigv4_header){"host", s->cfg.host};
	h[nh++] = (struct sigv4_header){"x-amz-date", amz_date};
	h[nh++] = (struct sigv4_header){"x-amz-content-sha256", payload};
	if (s->cred.session_token)
		h[nh++] = (struct sigv4_header){"x-amz-security-token", s->cred.session_token};
	if (md5b64[0])
		h[nh++] = (struct sigv4_header){"content-md5", md5b64};
	if (r->range)
		h[nh++] = (struct sigv4_header){"range", r->range};
	if (r->if_match)
		h[nh++] = (struct sigv4_header){"if-match", r->if_match};
	if (r->if_none_match)
		h[nh++] = (struct sigv4_header){"if-none-match", "*"};
	if (r->object_attrs && s->cfg.sse)
		h[nh++] = (struct sigv4_header){"x-amz-server-side-encryption", s->cfg.sse};
	if (r->object_attrs && s->cfg.kms_key_id)
		h[nh++] = (struct sigv4_header){"x-amz-server-side-encryption-aws-kms-key-id",
						s->cfg.kms_key_id};
	if (r->object_attrs && s->cfg.storage_class)
		h[nh++] = (struct sigv4_header){"x-amz-storage-class", s->cfg.storage_class};
	struct sigv4_request sr = {r->method, path, r->query, r->nquery, h, nh, payload};
	struct sigv4_credentials cr = {s->cred.access_key, s->cred.secret_key, s->cfg.region, "s3"};
	if ((rc = sigv4_canonical_query(&query, r->query, r->nquery)) ||
	    (rc = sigv4_authorization(&auth, &sr, &cr, amz_date)))
		goto done;
	/* cfg.host carries the bucket for virtual-hosted style. */
	url = xasprintf("%s://%s%s%s%s",
			strncmp(s->cfg.endpoint, "https:", 6) == 0 ? "https" : "http", s->cfg.host,
			path, query.len ? "?" : "", buf_str(&query));
	/* Header lines for curl: the signed ones, then the rest. */
	lines = xcalloc(nh + 4, sizeof(*lines));
	size_t k = 0;
	for (size_t i = 0; i < nh; i++)
		lines[k++] = xasprintf("%s: %s", h[i].name, h[i].value);
	lines[k++] = xasprintf("Authorization: %s", buf_str(&auth));
	if (r->content_type)
		lines[k++] = xasprintf("Content-Type: %s", r->content_type);
	struct http_request req = {
	    .method = r->method,
	    .url = url,
	    .headers = (const char *const *)lines,
	    .body = r->body,
	    .body_len = r->body_len,
	    .tls = &s->tls,
	    .stall_seconds = s->cfg.stall_seconds,
	    .on_data = r->on_data,
	    .ud = r->ud,
	    .max_body = REPLY_MAX,
	};
	rc = http_do_retry(c, &req, resp, &s->retry, NULL);
done:
	if (lines) {
		for (size_t i = 0; lines[i]; i++)
			objstore_free_secret(lines[i]);
		free(lines);
	}
	buf_dispose(&auth);
	buf_dispose(&query);
	free(path);
	free(url);
	return rc;
}

/* A hint for the errors people can fix. */
static const char *hint_for(const struct s3_store *s, long status, const char *code)
{
	if (strcmp(code, "SignatureDoesNotMatch") == 0 || strcmp(code, "InvalidAccessKeyId") == 0 ||
	    strcmp(code, "InvalidToken") == 0 || strcmp(code, "ExpiredToken") == 0)
		return "check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)";
	if (strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
	    strcmp(code, "PermanentRedirect") == 0 || status == 301)
		return "the bucket is in another region: set region= in the storage URL";
	if (strcmp(code, "NoSuchBucket") == 0)
		return "create the bucket or fix the storage URL";
	if (status == 403)
		return strcmp(s->cfg.scheme, "gs") == 0
			   ? "check the HMAC key and its service account's bucket permissions"
			   : "check the credentials and the bucket policy (s3:GetObject, "
			     "s3:PutObject, s3:ListBucket, s3:DeleteObject, "
			     "s3:AbortMultipartUpload)";
	return "";
}

/* Turns a transport failure or a non-2xx reply into an error naming the
 * object, the operation, the HTTP status and the provider's code and
 * message. 404 NoSuchKey (or a bodiless 404) is E_NOTFOUND. */
static int s3_fail(struct s3_store *s, const char *where, const char *what, int rc,
		   const struct http_response *resp)
{
	static const char ca_how[] = "caBundle= in the storage URL or AWS_CA_BUNDLE";
	if (rc)
		return objstore_fail(where, what, rc, s->retry.attempts, ca_how, NULL);
	struct s3_span body = {resp->body.ptr, resp->body.len};
	char *code = s3_xml_text(body, "Code"), *msg = s3_xml_text(body, "Message");
	const char *c = code ? code : "";
	struct objstore_reply r = {resp->status, code, msg, hint_for(s, resp->status, c), E_STORE};
	if (resp->status == 404 && (!code || strcmp(c, "NoSuchKey") == 0))
		r.ecode = E_NOTFOUND;
	rc = objstore_fail(where, what, 0, s->retry.attempts, ca_how, &r);
	free(code);
	free(msg);
	return rc;
}

/* --- opening ----------------------------------------------------------- */

/* From the environment, else the shared credentials file. Never logged. */
static int load_credentials(struct s3_credentials *out, const char *scheme)
{
	const char *id_var = jobenv_name(JOBENV_AWS_ACCESS_KEY_ID);
	const char *secret_var = jobenv_name(JOBENV_AWS_SECRET_ACCESS_KEY);
	const char *id = getenv(id_var), *secret = getenv(secret_var);
	const char *token = getenv(jobenv_name(JOBENV_AWS_SESSION_TOKEN));
	if ((id && *id) || (secret && *secret)) {
		if (!id || !*id || !secret || !*secret)
			return err_set(
			    E_INVALID, "%s:// storage: %s is set but %s is not; set both", scheme,
			    id && *id ? id_var : secret_var, id && *id ? secret_var : id_var);
		out->access_key = xstrdup(id);
		out->secret_key = xstrdup(secret);
		out->session_token = token && *token ? xstrdup(token) : NULL;
		return 0;
	}
	const char *file = getenv(jobenv_name(JOBENV_AWS_SHARED_CREDENTIALS_FILE));
	const char *profile = getenv(jobenv_name(JOBENV_AWS_PROFILE));
	const char *home = getenv("HOME");
	char *path = file && *file   ? xstrdup(file)
		     : home && *home ? xasprintf("%s/.aws/credentials", home)
				     : NULL;
	if (!profile || !*profile)
		profile = "default";
	int rc = E_NOTFOUND;
	if (path && (file || access(path, R_OK) == 0)) {
		char *text = NULL;
		rc = objstore_read_file(&text, path, CREDENTIALS_MAX, "credentials file");
		if (!rc && text) {
			rc = s3_credentials_parse(out, text, profile);
			if (rc)
				rc = err_set(E_INVALID, "%s:// storage: credentials file %s: %s",
					     scheme, path, err_msg());
			objstore_free_secret(text);
		}
	}
	if (rc == E_NOTFOUND)
		rc = err_set(E_INVALID,
			     "%s:// storage needs credentials: set AWS_ACCESS_KEY_ID and "
			     "AWS_SECRET_ACCESS_KEY (for GCS: an HMAC key), e.g. from a Secret, "
			     "or a credentials file (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE)%s",
			     scheme,
			     strcmp(scheme, "gs") == 0
				 ? "; or GOOGLE_APPLICATION_CREDENTIALS: a service account's JSON "
				   "key file"
				 : "");
	free(path);
	return rc;
}

static void s3_free(struct store *st)
{
	struct s3_store *s = (struct s3_store *)st;
	s3_config_dispose(&s->cfg);
	s3_credentials_dispose(&s->cred);
	free(s->ca_pem);
	http_client_free(s->http);
	free(s->base.display);
	free(s);
}

static int s3_open_as(struct store **out, const char *url, const struct store_ops *ops)
{
	const char *env_region = getenv(jobenv_name(JOBENV_AWS_REGION));
	if (!env_region || !*env_region)
		env_region = getenv(jobenv_name(JOBENV_AWS_DEFAULT_REGION));
	struct s3_store *s = xcalloc(1, sizeof(*s));
	s->base.ops = ops;
	int rc = s3_config_parse(&s->cfg, url, env_region);
	if (rc) {
		free(s);
		return rc;
	}
	s->base.display = s3_config_display(&s->cfg);
	if ((rc = load_credentials(&s->cred, s->cfg.scheme)))
		goto fail;
	const char *ca =
	    s->cfg.ca_bundle ? s->cfg.ca_bundle : getenv(jobenv_name(JOBENV_AWS_CA_BUNDLE));
	if (ca && *ca && (rc = objstore_read_file(&s->ca_pem, ca, CA_BUNDLE_MAX, "CA bundle")))
		goto fail;
	s->tls.ca_pem = s->ca_pem;
	s->retry = (struct http_retry){s->cfg.max_attempts, 250, 15000};
	s->http = http_client_new();
	if (strncmp(s->cfg.endpoint, "http://", 7) == 0)
		log_debug(
		    "%s: plain http to %s (the dump is encrypted by lifeboat when a passphrase "
		    "is set; requests are signed, not encrypted)",
		    s->base.display, s->cfg.endpoint);
	*out = &s->base;
	return 0;
fail:
	s3_free(&s->base);
	return rc;
}

/* --- writing ----------------------------------------------------------- */

/* The S3 dialect of an objstore writer. */
struct s3_writer {
	struct s3_store *st;
	char *okey;
	char *where;
	char *upload_id;
	int create; /* STORE_CREATE */
};

/* A create-only write answered 412: the object exists. If its ETag is the
 * one this write would give it (a retried request whose first try
 * succeeded), the object is this write's; else another writer made it. */
static int create_conflict(struct s3_writer *w, struct http_client *h, const char *what,
			   const char *expect_etag)
{
	struct http_response resp;
	http_response_init(&resp);
	struct s3_req r = {.method = "HEAD", .okey = w->okey};
	int rc = s3_request(w->st, h, &r, &resp);
	char *etag = !rc && resp.status == 200 ? http_response_header(&resp, "ETag") : NULL;
	int ours = etag && expect_etag && strcmp(etag, expect_etag) == 0;
	free(etag);
	http_response_dispose(&resp);
	if (ours)
		return 0;
	return objstore_exists(w->where, what, 412, "PreconditionFailed", "object");
}

/* The quoted hex MD5 of p[0..n): a single PutObject's ETag. */
static void md5_etag(char out[35], const void *p, size_t n)
{
	uint8_t d[16];
	unsigned int len = 0;
	if (EVP_Digest(p, n, d, &len, EVP_md5(), NULL) != 1)
		abort();
	out[0] = '"';
	for (int i = 0; i < 16; i++)
		snprintf(out + 1 + 2 * i, 3, "%02x", d[i]);
	out[33] = '"';
	out[34] = '\0';
}

static int put_object(void *ctx, struct http_client *h, const uint8_t *p, size_t n)
{
	struct s3_writer *w = ctx;
	struct http_response resp;
	http_response_init(&resp);
	struct s3_req r = {.method = "PUT",
			   .okey = w->okey,
			   .body = p ? (const void *)p : "",
			   .body_len = n,
			   .md5 = 1,
			   .object_attrs = 1,
			   .if_none_match = w->create,
			   .content_type = "application/octet-stream"};
	int rc = s3_request(w->st, h, &r, &resp);
	if (!rc && w->create && resp.status == 412) {
		char etag[35];
		md5_etag(etag, p ? (const void *)p : "", n);
		rc = create_conflict(w, h, "PUT", etag);
	} else if (rc || !objstore_ok(&resp)) {
		rc = s3_fail(w->st, w->where, "PUT", rc, &resp);
	}
	http_response_dispose(&resp);
	return rc;
}

static int create_upload(void *ctx, struct http_client *h)
{
	struct s3_writer *w = ctx;
	struct http_response resp;
	http_response_init(&resp);
	struct sigv4_param q[] = {{"uploads", NULL}};
	struct s3_req r = {.method = "POST",
			   .okey = w->okey,
			   .query = q,
			   .nquery = 1,
			   .body = "",
			   .object_attrs = 1,
			   .content_type = "application/octet-stream"};
	int rc = s3_request(w->st, h, &r, &resp);
	if (rc || !objstore_ok(&resp)) {
		rc = s3_fail(w->st, w->where, "CreateMultipartUpload", rc, &resp);
	} else {
		struct s3_span body = {resp.body.ptr, resp.body.len};
		w->upload_id = s3_xml_text(body, "UploadId");
		if (!w->upload_id || !*w->upload_id) {
			free(w->upload_id);
			w->upload_id = NULL;
			rc =
			    err_set(E_STORE, "%s: CreateMultipartUpload: the reply has no UploadId",
				    w->where);
		}
	}
	http_response_dispose(&resp);
	return rc;
}

static int upload_part(void *ctx, struct http_client *h, int part_no, const uint8_t *data,
		       size_t len, char id[PARTS_ID_MAX])
{
	struct s3_writer *w = ctx;
	struct http_response resp;
	char num[16], what[48];
	snprintf(num, sizeof(num), "%d", part_no);
	snprintf(what, sizeof(what), "PUT part %d", part_no);
	http_response_init(&resp);
	struct sigv4_param q[] = {{"partNumber", num}, {"uploadId", w->upload_id}};
	struct s3_req r = {.method = "PUT",
			   .okey = w->okey,
			   .query = q,
			   .nquery = 2,
			   .body = data,
			   .body_len = len,
			   .md5 = 1,
			   .content_type = "application/octet-stream"};
	int rc = s3_request(w->st, h, &r, &resp);
	if (rc || !objstore_ok(&resp)) {
		rc = s3_fail(w->st, w->where, what, rc, &resp);
	} else {
		char *etag = http_response_header(&resp, "ETag");
		if (!etag || !*etag || strlen(etag) >= PARTS_ID_MAX)
			rc = err_set(E_STORE, "%s: %s: the reply has no usable ETag", w->where,
				     what);
		else
			snprintf(id, PARTS_ID_MAX, "%s", etag);
		free(etag);
	}
	http_response_dispose(&resp);
	return rc;
}

/* The object's size by HEAD; for a Complete whose reply was lost. */
static int head_size(struct s3_store *s, struct http_client *c, const char *okey, uint64_t *size)
{
	struct http_response resp;
	http_response_init(&resp);
	struct s3_req r = {.method = "HEAD", .okey = okey};
	int rc = s3_request(s, c, &r, &resp);
	if (!rc && resp.status == 200) {
		char *len = http_response_header(&resp, "Content-Length");
		*size = len ? strtoull(len, NULL, 10) : 0;
		free(len);
	} else if (!rc) {
		rc = E_NOTFOUND;
	}
	http_response_dispose(&resp);
	return rc;
}

/* The ETag S3 gives a completed multipart upload: the MD5 of the parts'
 * binary MD5s, "-", the part count (quoted). NULL when a part's ETag is not
 * an MD5 (SSE-KMS): then a 412 is taken as another writer's object. */
static char *multipart_etag(const struct parts *parts)
{
	int n = parts_count(parts);
	uint8_t *all = xmalloc((size_t)n * 16 + 1);
	char *out = NULL;
	for (int i = 1; i <= n; i++) {
		const char *e = parts_id(parts, i);
		if (!e || strlen(e) != 34 || e[0] != '"' || e[33] != '"')
			goto done;
		for (int k = 0; k < 16; k++) {
			int hi = text_hexval(e[1 + 2 * k]), lo = text_hexval(e[2 + 2 * k]);
			if (hi < 0 || lo < 0)
				goto done;
			all[(size_t)(i - 1) * 16 + (size_t)k] = (uint8_t)(hi << 4 | lo);
		}
	}
	char md5[35];
	md5_etag(md5, all, (size_t)n * 16);
	md5[33] = '\0';
	out = xasprintf("%s-%d\"", md5, n);
done:
	free(all);
	return out;
}

static int complete_upload(void *ctx, struct http_client *h, const struct parts *parts)
{
	struct s3_writer *w = ctx;
	struct buf xml;
	struct http_response resp;
	int rc = 0, n = parts_count(parts);
	buf_init(&xml, (size_t)-1);
	http_response_init(&resp);
	buf_adds(&xml,
		 "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (int i = 1; i <= n; i++) {
		const char *etag = parts_id(parts, i);
		if (!etag) {
			rc = err_set(E_STORE, "%s: part %d has no ETag", w->where, i);
			goto done;
		}
		buf_addf(&xml, "<Part><PartNumber>%d</PartNumber><ETag>", i);
		s3_xml_escape(&xml, etag);
		buf_adds(&xml, "</ETag></Part>");
	}
	buf_adds(&xml, "</CompleteMultipartUpload>");
	struct sigv4_param q[] = {{"uploadId", w->upload_id}};
	struct s3_req r = {.method = "POST",
			   .okey = w->okey,
			   .query = q,
			   .nquery = 1,
			   .body = xml.ptr,
			   .body_len = xml.len,
			   .md5 = 1,
			   .if_none_match = w->create,
			   .content_type = "application/xml"};
	rc = s3_request(w->st, h, &r, &resp);
	struct s3_span body = {resp.body.ptr, resp.body.len};
	char *code = NULL;
	if (!rc && w->create && resp.status == 412) {
		char *etag = multipart_etag(parts);
		rc = create_conflict(w, h, "CompleteMultipartUpload", etag);
		free(etag);
	} else if (!rc && objstore_ok(&resp) && (code = s3_xml_text(body, "Code")) != NULL) {
		/* S3 may answer 200 and report the failure in the body. */
		char *msg = s3_xml_text(body, "Message");
		rc = err_set(E_STORE, "%s: CompleteMultipartUpload: %s: %s", w->where, code,
			     msg ? msg : "");
		free(msg);
	} else if (!rc && resp.status == 404) {
		/* A retried Complete whose first try succeeded finds no upload:
		 * the object of the right size says it did. */
		uint64_t size = 0;
		if (head_size(w->st, h, w->okey, &size) == 0 && size == parts_bytes(parts))
			rc = 0;
		else
			rc = s3_fail(w->st, w->where, "CompleteMultipartUpload", 0, &resp);
	} else if (rc || !objstore_ok(&resp)) {
		rc = s3_fail(w->st, w->where, "CompleteMultipartUpload", rc, &resp);
	}
	free(code);
done:
	buf_dispose(&xml);
	http_response_dispose(&resp);
	return rc;
}

static void abort_upload(void *ctx, struct http_client *h, const struct parts *parts)
{
	struct s3_writer *w = ctx;
	(void)parts;
	struct http_response resp;
	http_response_init(&resp);
	struct sigv4_param q[] = {{"uploadId", w->upload_id}};
	struct s3_req r = {.method = "DELETE", .okey = w->okey, .query = q, .nquery = 1};
	int rc = s3_request(w->st, h, &r, &resp);
	if (rc || (!objstore_ok(&resp) && resp.status != 404)) {
		s3_fail(w->st, w->where, "AbortMultipartUpload", rc, &resp);
		log_warn("%s; its parts stay billed until a bucket lifecycle rule "
			 "(AbortIncompleteMultipartUpload) removes them",
			 err_msg());
	} else {
		log_debug("%s: multipart upload aborted", w->where);
	}
	http_response_dispose(&resp);
}

static void sw_free(void *ctx)
{
	struct s3_writer *w = ctx;
	free(w->upload_id);
	free(w->okey);
	free(w->where);
	free(w);
}

static const struct objstore_writer_ops s3_writer_ops = {
    .name = "s3-writer",
    .put_whole = put_object,
    .begin = create_upload,
    .put_part = upload_part,
    .complete = complete_upload,
    .abort = abort_upload,
    .free = sw_free,
    .stored = "stored",
    .unit = "part",
};

static int s3_writer(struct store *st, const char *key, unsigned flags, struct stage **out)
{
	struct s3_store *s = (struct s3_store *)st;
	struct s3_writer *w = xcalloc(1, sizeof(*w));
	w->st = s;
	w->create = (flags & STORE_CREATE) != 0;
	w->okey = s3_config_object_key(&s->cfg, key);
	w->where = store_location(st, key);
	*out = objstore_writer_new(&s3_writer_ops, w, w->where, s->cfg.part_size, s->cfg.in_flight);
	return 0;
}

/* --- reading ----------------------------------------------------------- */

struct get_ctx {
	struct s3_store *s;
	const char *okey;
};

static int get_send(void *ctx, const char *range, const char *if_version,
		    int (*on_data)(const char *p, size_t n, void *ud), void *ud,
		    struct http_response *resp)
{
	struct get_ctx *g = ctx;
	struct s3_req r = {.method = "GET",
			   .okey = g->okey,
			   .range = range,
			   .if_match = if_version,
			   .on_data = on_data,
			   .ud = ud};
	return s3_request(g->s, g->s->http, &r, resp);
}

static int get_fail(void *ctx, const char *where, const char *what, int rc,
		    const struct http_response *resp)
{
	return s3_fail(((struct get_ctx *)ctx)->s, where, what, rc, resp);
}

static int s3_read(struct store *st, const char *key, struct stage *sink)
{
	struct s3_store *s = (struct s3_store *)st;
	char *okey = s3_config_object_key(&s->cfg, key), *where = store_location(st, key);
	struct get_ctx ctx = {s, okey};
	struct objstore_get g = {get_send, get_fail, "ETag", "ETag", "GET", &ctx};
	int rc = objstore_read(&g, where, sink);
	free(okey);
	free(where);
	return rc;
}

static int s3_stat(struct store *st, const char *key, uint64_t *size)
{
	struct s3_store *s = (struct s3_store *)st;
	char *okey = s3_config_object_key(&s->cfg, key), *where = store_location(st, key);
	struct http_response resp;
	http_response_init(&resp);
	struct s3_req r = {.method = "HEAD", .okey = okey};
	int rc = s3_request(s, s->http, &r, &resp);
	if (!rc && resp.status >= 400 && resp.status != 404 && resp.body.len == 0) {
		/* A HEAD reply has no body to name the error: ask again with a
		 * one-byte GET, whose error reply carries S3's code and message. */
		struct s3_req g = {.method = "GET", .okey = okey, .range = "bytes=0-0"};
		struct http_response again;
		http_response_init(&again);
		if (s3_request(s, s->http, &g, &again) == 0 && again.status == resp.status &&
		    again.body.len > 0) {
			http_response_dispose(&resp);
			resp = again;
		} else {
			http_response_dispose(&again);
		}
	}
	if (!rc && resp.status == 404) {
		rc = err_set(E_NOTFOUND, "%s does not exist", where);
	} else if (rc || !objstore_ok(&resp)) {
		rc = s3_fail(s, where, "HEAD", rc, &resp);
	} else {
		char *len = http_response_header(&resp, "Content-Length");
		char *end = NULL;
		unsigned long long v = len ? strtoull(len, &end, 10) : 0;
		if (!len || end == len || *end)
			rc = err_set(E_STORE, "%s: HEAD: the reply has no Content-Length", where);
		else
			*size = (uint64_t)v;
		free(len);
	}
	http_response_dispose(&resp);
	free(okey);
	free(where);
	return rc;
}

static int s3_list(struct store *st, const char *prefix, store_list_cb cb, void *ud)
{
	struct s3_store *s = (struct s3_store *)st;
	const char *root = s->cfg.prefix;
	char *want =
	    *root ? xasprintf("%s/%s", root, prefix ? prefix : "") : xstrdup(prefix ? prefix : "");
	size_t strip = *root ? strlen(root) + 1 : 0;
	char *token = NULL, maxkeys[16];
	struct http_response resp;
	int rc = 0;
	snprintf(maxkeys, sizeof(maxkeys), "%d", s->cfg.max_keys);
	http_response_init(&resp);
	for (int page = 1; !rc; page++) {
		struct sigv4_param q[4] = {
		    {"list-type", "2"}, {"max-keys", maxkeys}, {"prefix", want}};
		size_t nq = 3;
		if (token)
			q[nq++] = (struct sigv4_param){"continuation-token", token};
		struct s3_req r = {.method = "GET", .okey = NULL, .query = q, .nquery = nq};
		rc = s3_request(s, s->http, &r, &resp);
		if (rc || !objstore_ok(&resp)) {
			char what[48];
			snprintf(what, sizeof(what), "ListObjectsV2 page %d", page);
			rc = s3_fail(s, s->base.display, what, rc, &resp);
			if (rc == E_NOTFOUND)
				rc = E_STORE;
			break;
		}
		const char *xml = resp.body.ptr ? resp.body.ptr : "";
		size_t len = resp.body.len, pos = 0;
		struct s3_span item;
		while (!rc && s3_xml_next(xml, len, &pos, "Contents", &item)) {
			char *key = s3_xml_text(item, "Key"), *size = s3_xml_text(item, "Size");
			char *end = NULL;
			unsigned long long n = size ? strtoull(size, &end, 10) : 0;
			if (!key || !size || end == size || *end) {
				rc = err_set(E_STORE,
					     "%s: ListObjectsV2 page %d: an entry without a Key or "
					     "Size",
					     s->base.display, page);
			} else if (strlen(key) > strip && strncmp(key, want, strlen(want)) == 0) {
				struct store_entry e = {key + strip, (uint64_t)n};
				rc = cb(&e, ud);
			}
			free(key);
			free(size);
		}
		if (rc)
			break;
		struct s3_span all = {xml, len};
		char *truncated = s3_xml_text(all, "IsTruncated");
		free(token);
		token = s3_xml_text(all, "NextContinuationToken");
		int more = truncated && strcmp(truncated, "true") == 0;
		free(truncated);
		if (!more)
			break;
		if (!token || !*token) {
			rc = err_set(E_STORE,
				     "%s: ListObjectsV2 page %d is truncated but has no "
				     "NextContinuationToken",
				     s->base.display, page);
			break;
		}
	}
	http_response_dispose(&resp);
	free(token);
	free(want);
	return rc;
}

static int s3_remove(struct store *st, const char *key)
{
	struct s3_store *s = (struct s3_store *)st;
	char *okey = s3_config_object_key(&s->cfg, key), *where = store_location(st, key);
	struct http_response resp;
	http_response_init(&resp);
	struct s3_req r = {.method = "DELETE", .okey = okey};
	int rc = s3_request(s, s->http, &r, &resp);
	if (rc || (!objstore_ok(&resp) && resp.status != 404))
		rc = s3_fail(s, where, "DELETE", rc, &resp);
	http_response_dispose(&resp);
	free(okey);
	free(where);
	return rc;
}

static int s3_open(struct store **out, const char *url);
static int gs_hmac_open(struct store **out, const char *url);

/* S3's multipart limits (GCS's XML API has the same). */
static void s3_limits(const struct store *base, struct store_limits *out)
{
	const struct s3_store *s = (const struct s3_store *)base;
	*out = (struct store_limits){s->cfg.part_size, s->cfg.in_flight, S3_MAX_PARTS,
				     S3_MAX_OBJECT, "part"};
}

const struct store_ops store_s3_ops = {
    .scheme = "s3",
    .open = s3_open,
    .writer = s3_writer,
    .read = s3_read,
    .stat = s3_stat,
    .list = s3_list,
    .remove = s3_remove,
    .limits = s3_limits,
    .free = s3_free,
};

/* Opened by store_gs_ops.open (job/store/store_gcs.c) when the credentials are an
 * HMAC key. */
const struct store_ops store_gs_hmac_ops = {
    .scheme = "gs",
    .open = gs_hmac_open,
    .writer = s3_writer,
    .read = s3_read,
    .stat = s3_stat,
    .list = s3_list,
    .remove = s3_remove,
    .limits = s3_limits,
    .free = s3_free,
};

static int s3_open(struct store **out, const char *url)
{
	return s3_open_as(out, url, &store_s3_ops);
}

static int gs_hmac_open(struct store **out, const char *url)
{
	return s3_open_as(out, url, &store_gs_hmac_ops);
}
