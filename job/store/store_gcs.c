/* The gs:// backend: Google Cloud Storage's JSON API with OAuth 2.0 access
 * tokens from a service-account key (the common case on GKE), or, with an
 * HMAC key, the S3-compatible XML API (job/store/store_s3.c). Objects go up as one
 * resumable upload each, in chunks sent one after another while the dump
 * still runs (job/pipeline/parts.c with one worker); an interrupted chunk is resumed
 * from what the server says it holds. Nothing is visible before the last
 * chunk; an unfinished writer cancels its upload. A STORE_CREATE writer sends
 * ifGenerationMatch=0, so the object is created only if absent. */
#include "job/store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http.h"
#include "common/jobenv.h"
#include "common/log.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "job/store/gcs.h"
#include "job/store/objstore.h"
#include "job/pipeline/parts.h"
#include "job/store/s3.h"

#define KEY_FILE_MAX (64u * 1024)
#define CA_BUNDLE_MAX (4u * 1024 * 1024)
#define REPLY_MAX (8u * 1024 * 1024)

struct gcs_store {
	struct store base;
	struct s3_config cfg; /* the gs:// URL: bucket, prefix, endpoint, sizes, retries */
	struct gcs_key key;
	char *key_file;
	char *ca_pem;
	struct http_tls tls;
	struct http_retry retry;
	struct http_client *http; /* stat, read, list, remove: the caller's thread */
	/* The access token, shared by the caller's thread and a writer's worker. */
	pthread_mutex_t token_lock;
	struct http_client *token_http;
	char *token;
	time_t refresh_at;
	unsigned long token_grants;
};

/* One request to the JSON API. */
struct gcs_req {
	const char *method;
	const char *url; /* complete */
	const char *body;
	size_t body_len;
	const char *content_type;
	const char *content_range;
	const char *range;
	int (*on_data)(const char *p, size_t n, void *ud);
	void *ud;
	int once; /* no retries here: the caller resumes (upload chunks) */
};

/* --- the access token ---------------------------------------------------- */

/* Fetches a token for the key (the lock held). */
static int fetch_token(struct gcs_store *s)
{
	char *jwt = NULL;
	struct buf form;
	struct http_response resp;
	int rc = gcs_jwt(&jwt, &s->key, GCS_SCOPE, time(NULL));
	if (rc)
		return err_wrap("%s: service-account key %s", s->base.display, s->key_file);
	/* The signed assertion is a credential, and so is the reply's token. */
	buf_init_secret(&form, (size_t)-1);
	buf_adds(&form,
		 "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=");
	buf_adds(&form, jwt);
	objstore_free_secret(jwt);
	http_response_init(&resp);
	buf_init_secret(&resp.body, 64 * 1024);
	const char *hdr[] = {"Content-Type: application/x-www-form-urlencoded", NULL};
	struct http_request req = {.method = "POST",
				   .url = s->key.token_uri,
				   .headers = hdr,
				   .body = form.ptr,
				   .body_len = form.len,
				   .tls = &s->tls,
				   .timeout_ms = 60000,
				   .max_body = 64 * 1024};
	time_t asked = time(NULL);
	rc = http_do_retry(s->token_http, &req, &resp, &s->retry, NULL);
	buf_dispose(&form); /* wipes */
	if (rc == E_TLS) {
		rc = err_set(E_TLS, "%s: token endpoint %s: %s", s->base.display, s->key.token_uri,
			     err_msg());
	} else if (rc) {
		rc = err_set(E_STORE, "%s: token endpoint %s: %s (after %d attempts)",
			     s->base.display, s->key.token_uri, err_msg(), s->retry.attempts);
	} else if (resp.status != 200) {
		char *reason = NULL, *msg = NULL;
		gcs_error_parse(&reason, &msg, resp.body.ptr, resp.body.len);
		rc = err_set(
		    E_STORE,
		    "%s: token endpoint %s refused the service account %s: HTTP %ld%s%s%s%s; "
		    "check that the key file %s is current (IAM > Service accounts > Keys: "
		    "not deleted or disabled) and the machine's clock is right",
		    s->base.display, s->key.token_uri, s->key.client_email, resp.status,
		    reason ? " " : "", reason ? reason : "", msg ? ": " : "", msg ? msg : "",
		    s->key_file);
		free(reason);
		free(msg);
	} else {
		struct gcs_token t;
		if ((rc = gcs_token_parse(&t, resp.body.ptr, resp.body.len))) {
			rc = err_wrap("%s: token endpoint %s", s->base.display, s->key.token_uri);
		} else {
			objstore_free_secret(s->token);
			s->token = t.access_token;
			s->refresh_at = gcs_token_refresh_at(asked, t.expires_in);
			s->token_grants++;
			log_debug("%s: access token for %s, valid %ld s (renewed after %ld s)",
				  s->base.display, s->key.client_email, t.expires_in,
				  (long)(s->refresh_at - asked));
		}
	}
	http_response_dispose(&resp); /* the body wiped */
	return rc;
}

/* "Authorization: Bearer ..." with a token that is not about to expire;
 * stale drops the token a 401 refused (when it is still the current one). */
static int auth_header(struct gcs_store *s, char **out, const char *stale)
{
	int rc = 0;
	pthread_mutex_lock(&s->token_lock);
	if (stale && s->token && strcmp(stale, s->token) == 0)
		s->refresh_at = 0;
	if (!s->token || time(NULL) >= s->refresh_at)
		rc = fetch_token(s);
	if (!rc)
		*out = xasprintf("Authorization: Bearer %s", s->token);
	pthread_mutex_unlock(&s->token_lock);
	return rc;
}

/* Sends r with a bearer token; a 401 gets one new token and one more try. */
static int gcs_request(struct gcs_store *s, struct http_client *c, const struct gcs_req *r,
		       struct http_response *resp)
{
	char *auth = NULL;
	int rc = 0;
	for (int tries = 0; tries < 2; tries++) {
		char *stale = auth ? xstrdup(auth + strlen("Authorization: Bearer ")) : NULL;
		objstore_free_secret(auth);
		auth = NULL;
		rc = auth_header(s, &auth, stale);
		objstore_free_secret(stale);
		if (rc)
			break;
		const char *hdr[6];
		char *ct = r->content_type ? xasprintf("Content-Type: %s", r->content_type) : NULL;
		char *cr =
		    r->content_range ? xasprintf("Content-Range: %s", r->content_range) : NULL;
		char *rg = r->range ? xasprintf("Range: %s", r->range) : NULL;
		size_t k = 0;
		hdr[k++] = auth;
		if (ct)
			hdr[k++] = ct;
		if (cr)
			hdr[k++] = cr;
		if (rg)
			hdr[k++] = rg;
		hdr[k] = NULL;
		struct http_request req = {
		    .method = r->method,
		    .url = r->url,
		    .headers = hdr,
		    .body = r->body,
		    .body_len = r->body_len,
		    .tls = &s->tls,
		    .stall_seconds = s->cfg.stall_seconds,
		    .on_data = r->on_data,
		    .ud = r->ud,
		    .max_body = REPLY_MAX,
		};
		http_response_dispose(resp);
		http_response_init(resp);
		rc = r->once ? http_do(c, &req, resp)
			     : http_do_retry(c, &req, resp, &s->retry, NULL);
		free(ct);
		free(cr);
		free(rg);
		if (rc || resp->status != 401 || resp->streamed > 0)
			break;
		log_info("%s: the access token was refused (HTTP 401); fetching a new one",
			 s->base.display);
	}
	objstore_free_secret(auth);
	return rc;
}

static const char *hint_for(long status)
{
	if (status == 401)
		return "the access token was refused: check the service-account key file";
	if (status == 403)
		return "give the service account roles/storage.objectAdmin on the bucket";
	return "";
}

/* A transport failure or a non-2xx reply as an error naming the object, the
 * operation, the HTTP status and GCS's reason and message. 404 is
 * E_NOTFOUND. */
static int gcs_fail(struct gcs_store *s, const char *where, const char *what, int rc,
		    const struct http_response *resp)
{
	static const char ca_how[] = "caBundle= in the storage URL";
	if (rc)
		return objstore_fail(where, what, rc, s->retry.attempts, ca_how, NULL);
	char *reason = NULL, *msg = NULL;
	gcs_error_parse(&reason, &msg, resp->body.ptr, resp->body.len);
	struct objstore_reply r = {resp->status, reason, msg, hint_for(resp->status),
				   resp->status == 404 ? E_NOTFOUND : E_STORE};
	rc = objstore_fail(where, what, 0, s->retry.attempts, ca_how, &r);
	free(reason);
	free(msg);
	return rc;
}

/* --- URLs ---------------------------------------------------------------- */

/* ENDPOINT/storage/v1/b/BUCKET/o/NAME (NAME percent-encoded, '/' too). */
static char *object_url(const struct gcs_store *s, const char *okey, const char *query)
{
	struct buf b;
	buf_init(&b, (size_t)-1);
	buf_addf(&b, "%s/storage/v1/b/", s->cfg.endpoint);
	text_pct_encode(&b, s->cfg.bucket, 0);
	buf_adds(&b, "/o/");
	text_pct_encode(&b, okey, 0);
	if (query)
		buf_addf(&b, "?%s", query);
	return buf_take(&b);
}

static char *object_key(const struct gcs_store *s, const char *key)
{
	return s3_config_object_key(&s->cfg, key);
}

/* --- opening ------------------------------------------------------------- */

static void gcs_free(struct store *st)
{
	struct gcs_store *s = (struct gcs_store *)st;
	s3_config_dispose(&s->cfg);
	gcs_key_dispose(&s->key);
	objstore_free_secret(s->token);
	free(s->key_file);
	free(s->ca_pem);
	http_client_free(s->http);
	http_client_free(s->token_http);
	pthread_mutex_destroy(&s->token_lock);
	free(s->base.display);
	free(s);
}

static int gcs_open(struct store **out, const char *url)
{
	const char *key_var = jobenv_name(JOBENV_GOOGLE_APPLICATION_CREDENTIALS);
	const char *key_file = getenv(key_var);
	const char *hmac_id = getenv(jobenv_name(JOBENV_AWS_ACCESS_KEY_ID));
	int has_key = key_file && *key_file, has_hmac = hmac_id && *hmac_id;
	if (has_key && has_hmac)
		return err_set(E_INVALID,
			       "gs:// storage: both %s (a service-account key) and %s (an HMAC "
			       "key) are set; set one",
			       key_var, jobenv_name(JOBENV_AWS_ACCESS_KEY_ID));
	/* Without a key file: an HMAC key, whose loader says what to set. */
	if (!has_key)
		return store_gs_hmac_ops.open(out, url);

	struct gcs_store *s = xcalloc(1, sizeof(*s));
	s->base.ops = &store_gs_ops;
	pthread_mutex_init(&s->token_lock, NULL);
	int rc = s3_config_parse(&s->cfg, url, NULL);
	if (rc) {
		pthread_mutex_destroy(&s->token_lock);
		free(s);
		return rc;
	}
	s->base.display = s3_config_display(&s->cfg);
	s->key_file = xstrdup(key_file);
	char *text = NULL;
	if (s->cfg.sse || s->cfg.kms_key_id) {
		rc = err_set(E_INVALID,
			     "%s: sse= and kmsKeyId= are S3 parameters; GCS encrypts every object "
			     "(set a customer-managed key on the bucket)",
			     s->base.display);
		goto fail;
	}
	if (s->cfg.part_size % GCS_CHUNK_GRANULE) {
		rc = err_set(E_INVALID,
			     "%s: partSize=%zu is not a multiple of 256KiB, which GCS needs for "
			     "the chunks of a resumable upload",
			     s->base.display, s->cfg.part_size);
		goto fail;
	}
	if ((rc = objstore_read_file(&text, key_file, KEY_FILE_MAX, "service-account key file")))
		goto fail;
	rc = gcs_key_parse(&s->key, text, strlen(text), key_file);
	objstore_free_secret(text);
	if (rc)
		goto fail;
	if (s->cfg.ca_bundle &&
	    (rc = objstore_read_file(&s->ca_pem, s->cfg.ca_bundle, CA_BUNDLE_MAX, "CA bundle")))
		goto fail;
	s->tls.ca_pem = s->ca_pem;
	s->retry = (struct http_retry){s->cfg.max_attempts, 250, 15000};
	s->http = http_client_new();
	s->token_http = http_client_new();
	log_debug("%s: JSON API at %s as %s (key %s)", s->base.display, s->cfg.endpoint,
		  s->key.client_email, s->key_file);
	*out = &s->base;
	return 0;
fail:
	gcs_free(&s->base);
	return rc;
}

/* --- writing: one resumable upload --------------------------------------- */

/* The GCS dialect of an objstore writer. */
struct gcs_writer {
	struct gcs_store *st;
	char *okey;
	char *where;
	int create;		      /* ifGenerationMatch=0 */
	char *session;		      /* the resumable session URI */
	uint64_t sent;		      /* bytes the server holds (the worker's, then ours) */
	_Atomic uint64_t total_plus1; /* the object's size + 1 once known; 0 before */
	_Atomic int finalized;	      /* the object exists */
};

static int start_session(void *ctx, struct http_client *h)
{
	struct gcs_writer *w = ctx;
	struct gcs_store *s = w->st;
	struct buf url, meta;
	struct http_response resp;
	buf_init(&url, (size_t)-1);
	buf_init(&meta, (size_t)-1);
	http_response_init(&resp);
	buf_addf(&url, "%s/upload/storage/v1/b/", s->cfg.endpoint);
	text_pct_encode(&url, s->cfg.bucket, 0);
	buf_adds(&url, "/o?uploadType=resumable&name=");
	text_pct_encode(&url, w->okey, 0);
	if (w->create)
		buf_adds(&url, "&ifGenerationMatch=0");
	/* The name travels in the query; the body carries the rest. */
	struct json_object *m = json_object_new_object();
	json_object_object_add(m, "contentType",
			       json_object_new_string("application/octet-stream"));
	if (s->cfg.storage_class)
		json_object_object_add(m, "storageClass",
				       json_object_new_string(s->cfg.storage_class));
	buf_adds(&meta, json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN));
	json_object_put(m);
	struct gcs_req r = {.method = "POST",
			    .url = buf_str(&url),
			    .body = meta.ptr,
			    .body_len = meta.len,
			    .content_type = "application/json; charset=UTF-8"};
	int rc = gcs_request(s, h, &r, &resp);
	if (rc || !objstore_ok(&resp)) {
		rc = gcs_fail(s, w->where, "start resumable upload", rc, &resp);
		if (rc == E_NOTFOUND)
			rc = err_set(E_STORE, "%s; create the bucket or fix the storage URL",
				     err_msg());
	} else {
		char *loc = http_response_header(&resp, "Location");
		size_t elen = strlen(s->cfg.endpoint);
		if (!loc || !*loc ||
		    (strncmp(loc, "https://", 8) != 0 &&
		     !(strncmp(loc, s->cfg.endpoint, elen) == 0 && loc[elen] == '/'))) {
			rc = err_set(E_STORE,
				     "%s: start resumable upload: the reply has no usable Location "
				     "(%.80s)",
				     w->where, loc ? loc : "none");
			free(loc);
		} else {
			w->session = loc;
		}
	}
	http_response_dispose(&resp);
	buf_dispose(&meta);
	buf_dispose(&url);
	return rc;
}

/* The bytes the server holds: PUT "bytes * / *" answers 308 with a Range. */
static int query_persisted(struct gcs_writer *w, struct http_client *c, uint64_t *held)
{
	struct http_response resp;
	http_response_init(&resp);
	struct gcs_req r = {.method = "PUT",
			    .url = w->session,
			    .body = "",
			    .body_len = 0,
			    .content_range = "bytes */*",
			    .once = 1};
	int rc = gcs_request(w->st, c, &r, &resp);
	if (!rc && resp.status == 308) {
		char *range = http_response_header(&resp, "Range");
		rc = gcs_range_persisted(held, range);
		free(range);
	} else if (!rc && objstore_ok(&resp)) {
		atomic_store(&w->finalized, 1);
		*held = atomic_load(&w->total_plus1) ? atomic_load(&w->total_plus1) - 1 : w->sent;
	} else {
		rc = gcs_fail(w->st, w->where, "upload status", rc, &resp);
	}
	http_response_dispose(&resp);
	return rc;
}

static void backoff(const struct http_retry *p, int attempt, long retry_after_s)
{
	long ms = p->base_ms << (attempt < 10 ? attempt : 10);
	if (ms > p->max_ms)
		ms = p->max_ms;
	ms = ms / 2 + rand() % (ms / 2 + 1);
	if (retry_after_s >= 0 && retry_after_s * 1000 < p->max_ms)
		ms = retry_after_s * 1000;
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Sends data[0..len), which starts at byte `at` of the object, as chunks of
 * the session; final: the object ends with it. Resumes from what the
 * server says it holds after a broken or refused request. */
static int send_chunk(struct gcs_writer *w, struct http_client *c, uint64_t at, const uint8_t *data,
		      size_t len, int final, const char *what)
{
	struct gcs_store *s = w->st;
	uint64_t total = at + len, held = at;
	int rc = 0;
	for (int attempt = 0;; attempt++) {
		char range[96];
		size_t off = (size_t)(held - at);
		if (len - off == 0)
			snprintf(range, sizeof(range), "bytes */%llu", (unsigned long long)total);
		else if (final)
			snprintf(range, sizeof(range), "bytes %llu-%llu/%llu",
				 (unsigned long long)held, (unsigned long long)(total - 1),
				 (unsigned long long)total);
		else
			snprintf(range, sizeof(range), "bytes %llu-%llu/*",
				 (unsigned long long)held, (unsigned long long)(total - 1));
		struct http_response resp;
		http_response_init(&resp);
		struct gcs_req r = {.method = "PUT",
				    .url = w->session,
				    .body = (const char *)data + off,
				    .body_len = len - off,
				    .content_range = range,
				    .once = 1};
		rc = gcs_request(s, c, &r, &resp);
		long status = rc ? 0 : resp.status;
		if (!rc && final && objstore_ok(&resp)) {
			uint64_t size = 0;
			if (gcs_object_size(&size, resp.body.ptr, resp.body.len) == 0 &&
			    size != total)
				rc = err_set(E_STORE,
					     "%s: %s: the server stored %llu bytes, not %llu",
					     w->where, what, (unsigned long long)size,
					     (unsigned long long)total);
			else
				atomic_store(&w->finalized, 1);
		} else if (!rc && status == 308) {
			/* The server holds up to its Range: the chunk is done (not
			 * the last), or the rest is sent again. */
			char *rh = http_response_header(&resp, "Range");
			uint64_t now = 0;
			rc = gcs_range_persisted(&now, rh);
			free(rh);
			if (!rc && now == total && !final) {
				http_response_dispose(&resp);
				return 0;
			}
			if (!rc && (now < held || now > total))
				rc =
				    err_set(E_STORE,
					    "%s: %s: the server says it holds %llu bytes, but %llu "
					    "were acknowledged and %llu sent",
					    w->where, what, (unsigned long long)now,
					    (unsigned long long)held, (unsigned long long)total);
			else if (!rc && now == held && attempt + 1 >= s->retry.attempts)
				rc = err_set(E_STORE,
					     "%s: %s: the server kept none of the last %llu bytes "
					     "sent, %d times",
					     w->where, what, (unsigned long long)(total - held),
					     s->retry.attempts);
			http_response_dispose(&resp);
			if (rc)
				return rc;
			held = now;
			continue;
		} else if (!rc && w->create && status == 412) {
			rc = objstore_exists(w->where, what, 412, "conditionNotMet", "object");
		} else if (rc == E_UNAVAILABLE || rc == E_TIMEOUT ||
			   http_status_retryable(status)) {
			long after = rc ? -1 : resp.retry_after_s;
			/* No retry after a SIGTERM: the grace period is for the clean-up. */
			if (attempt + 1 < s->retry.attempts && !atomic_load(&stage_interrupted)) {
				log_info("%s: %s failed (%s); asking the server what it holds",
					 w->where, what,
					 rc		 ? err_msg()
					 : status == 429 ? "HTTP 429"
							 : "HTTP 5xx");
				http_response_dispose(&resp);
				backoff(&s->retry, attempt, after);
				uint64_t now = 0;
				int qrc = query_persisted(w, c, &now);
				if (qrc == 0 && atomic_load(&w->finalized) && final)
					return 0;
				if (qrc == 0 && now >= at && now <= total)
					held = now;
				continue;
			}
			rc = gcs_fail(s, w->where, what, rc, &resp);
		} else if (!rc && objstore_ok(&resp)) {
			rc = err_set(
			    E_STORE,
			    "%s: %s: the server finished the upload before its last chunk "
			    "(HTTP %ld); the endpoint is not GCS's JSON API: check endpoint=",
			    w->where, what, status);
		} else {
			rc = gcs_fail(s, w->where, what, rc, &resp);
			if (rc == E_NOTFOUND)
				rc = err_set(E_STORE,
					     "%s (the upload session is gone: it expired or was "
					     "cancelled; run the backup again)",
					     err_msg());
		}
		http_response_dispose(&resp);
		return rc;
	}
}

static int upload_part(void *ctx, struct http_client *h, int part_no, const uint8_t *data,
		       size_t len, char id[PARTS_ID_MAX])
{
	struct gcs_writer *w = ctx;
	char what[48];
	snprintf(what, sizeof(what), "PUT chunk %d", part_no);
	uint64_t known = atomic_load(&w->total_plus1);
	int final = known && w->sent + len == known - 1;
	int rc = send_chunk(w, h, w->sent, data, len, final, what);
	if (!rc) {
		w->sent += len;
		snprintf(id, PARTS_ID_MAX, "%llu", (unsigned long long)w->sent);
	}
	return rc;
}

/* The last chunk knows it is the last (and says the size). */
static void last_chunk(void *ctx, uint64_t total)
{
	struct gcs_writer *w = ctx;
	atomic_store(&w->total_plus1, total + 1);
}

static int finalize(void *ctx, struct http_client *h, const struct parts *parts)
{
	struct gcs_writer *w = ctx;
	if (atomic_load(&w->finalized))
		return 0;
	/* The stream ended on a chunk boundary. */
	return send_chunk(w, h, parts_bytes(parts), (const uint8_t *)"", 0, 1, "finalize upload");
}

static void cancel_upload(void *ctx, struct http_client *h, const struct parts *parts)
{
	struct gcs_writer *w = ctx;
	(void)parts;
	if (atomic_load(&w->finalized))
		return;
	struct http_response resp;
	http_response_init(&resp);
	struct gcs_req r = {.method = "DELETE", .url = w->session};
	int rc = gcs_request(w->st, h, &r, &resp);
	/* GCS answers a cancelled session with 499. */
	if (rc || (!objstore_ok(&resp) && resp.status != 499 && resp.status != 404)) {
		gcs_fail(w->st, w->where, "cancel resumable upload", rc, &resp);
		log_warn("%s; GCS drops the upload's bytes after a week", err_msg());
	} else {
		log_debug("%s: resumable upload cancelled", w->where);
	}
	http_response_dispose(&resp);
}

static void gw_free(void *ctx)
{
	struct gcs_writer *w = ctx;
	free(w->session);
	free(w->okey);
	free(w->where);
	free(w);
}

/* Chunks go one after another: one worker, one more buffer filling. */
static const struct objstore_writer_ops gcs_writer_ops = {
    .name = "gcs-writer",
    .begin = start_session,
    .begin_early = 1,
    .put_part = upload_part,
    .last = last_chunk,
    .complete = finalize,
    .abort = cancel_upload,
    .free = gw_free,
    .stored = "stored",
    .unit = "chunk",
};

static int gcs_writer(struct store *st, const char *key, unsigned flags, struct stage **out)
{
	struct gcs_store *s = (struct gcs_store *)st;
	struct gcs_writer *w = xcalloc(1, sizeof(*w));
	w->st = s;
	w->create = (flags & STORE_CREATE) != 0;
	w->okey = object_key(s, key);
	w->where = store_location(st, key);
	*out = objstore_writer_new(&gcs_writer_ops, w, w->where, s->cfg.part_size, 1);
	return 0;
}

/* --- reading ------------------------------------------------------------- */

struct get_ctx {
	struct gcs_store *s;
	const char *okey;
};

static int get_send(void *ctx, const char *range, const char *if_version,
		    int (*on_data)(const char *p, size_t n, void *ud), void *ud,
		    struct http_response *resp)
{
	struct get_ctx *g = ctx;
	/* A resumed read must come from the same generation of the object. */
	char *q = if_version ? xasprintf("alt=media&ifGenerationMatch=%s", if_version)
			     : xstrdup("alt=media");
	char *url = object_url(g->s, g->okey, q);
	struct gcs_req r = {
	    .method = "GET", .url = url, .range = range, .on_data = on_data, .ud = ud};
	int rc = gcs_request(g->s, g->s->http, &r, resp);
	free(url);
	free(q);
	return rc;
}

static int get_fail(void *ctx, const char *where, const char *what, int rc,
		    const struct http_response *resp)
{
	return gcs_fail(((struct get_ctx *)ctx)->s, where, what, rc, resp);
}

static int gcs_read(struct store *st, const char *key, struct stage *sink)
{
	struct gcs_store *s = (struct gcs_store *)st;
	char *okey = object_key(s, key), *where = store_location(st, key);
	struct get_ctx ctx = {s, okey};
	struct objstore_get g = {get_send,     get_fail, "x-goog-generation",
				 "generation", "GET",	 &ctx};
	int rc = objstore_read(&g, where, sink);
	free(okey);
	free(where);
	return rc;
}

static int gcs_stat(struct store *st, const char *key, uint64_t *size)
{
	struct gcs_store *s = (struct gcs_store *)st;
	char *okey = object_key(s, key), *where = store_location(st, key);
	char *url = object_url(s, okey, "fields=size");
	struct http_response resp;
	http_response_init(&resp);
	struct gcs_req r = {.method = "GET", .url = url};
	int rc = gcs_request(s, s->http, &r, &resp);
	if (!rc && resp.status == 404)
		rc = err_set(E_NOTFOUND, "%s does not exist", where);
	else if (rc || !objstore_ok(&resp))
		rc = gcs_fail(s, where, "GET metadata", rc, &resp);
	else if (gcs_object_size(size, resp.body.ptr, resp.body.len))
		rc = err_set(E_STORE, "%s: GET metadata: the reply has no size", where);
	http_response_dispose(&resp);
	free(url);
	free(okey);
	free(where);
	return rc;
}

struct list_ctx {
	store_list_cb cb;
	void *ud;
	const char *want;
	size_t strip;
};

static int on_item(const char *name, uint64_t size, void *ud)
{
	struct list_ctx *l = ud;
	if (strlen(name) <= l->strip || strncmp(name, l->want, strlen(l->want)) != 0)
		return 0;
	struct store_entry e = {name + l->strip, size};
	return l->cb(&e, l->ud);
}

static int gcs_list(struct store *st, const char *prefix, store_list_cb cb, void *ud)
{
	struct gcs_store *s = (struct gcs_store *)st;
	const char *root = s->cfg.prefix;
	char *want =
	    *root ? xasprintf("%s/%s", root, prefix ? prefix : "") : xstrdup(prefix ? prefix : "");
	struct list_ctx l = {cb, ud, want, *root ? strlen(root) + 1 : 0};
	char *token = NULL;
	struct http_response resp;
	int rc = 0;
	http_response_init(&resp);
	for (int page = 1; !rc; page++) {
		struct buf url;
		buf_init(&url, (size_t)-1);
		buf_addf(&url, "%s/storage/v1/b/", s->cfg.endpoint);
		text_pct_encode(&url, s->cfg.bucket, 0);
		buf_addf(&url,
			 "/o?maxResults=%d&fields=items(name%%2Csize)%%2CnextPageToken&prefix=",
			 s->cfg.max_keys);
		text_pct_encode(&url, want, 0);
		if (token) {
			buf_adds(&url, "&pageToken=");
			text_pct_encode(&url, token, 0);
		}
		struct gcs_req r = {.method = "GET", .url = buf_str(&url)};
		rc = gcs_request(s, s->http, &r, &resp);
		buf_dispose(&url);
		if (rc || !objstore_ok(&resp)) {
			char what[48];
			snprintf(what, sizeof(what), "objects.list page %d", page);
			rc = gcs_fail(s, s->base.display, what, rc, &resp);
			if (rc == E_NOTFOUND)
				rc =
				    err_set(E_STORE, "%s; create the bucket or fix the storage URL",
					    err_msg());
			break;
		}
		free(token);
		token = NULL;
		if ((rc = gcs_list_parse(&token, resp.body.ptr, resp.body.len, on_item, &l)))
			break;
		if (!token)
			break;
	}
	http_response_dispose(&resp);
	free(token);
	free(want);
	return rc;
}

static int gcs_remove(struct store *st, const char *key)
{
	struct gcs_store *s = (struct gcs_store *)st;
	char *okey = object_key(s, key), *where = store_location(st, key);
	char *url = object_url(s, okey, NULL);
	struct http_response resp;
	http_response_init(&resp);
	struct gcs_req r = {.method = "DELETE", .url = url};
	int rc = gcs_request(s, s->http, &r, &resp);
	if (rc || (!objstore_ok(&resp) && resp.status != 404))
		rc = gcs_fail(s, where, "DELETE", rc, &resp);
	http_response_dispose(&resp);
	free(url);
	free(okey);
	free(where);
	return rc;
}

/* A resumable upload has no part limit; an object holds at most 5 TiB. */
static void gcs_limits(const struct store *base, struct store_limits *out)
{
	const struct gcs_store *s = (const struct gcs_store *)base;
	*out = (struct store_limits){s->cfg.part_size, 1, 0, S3_MAX_OBJECT, "chunk"};
}

const struct store_ops store_gs_ops = {
    .scheme = "gs",
    .open = gcs_open,
    .writer = gcs_writer,
    .read = gcs_read,
    .stat = gcs_stat,
    .list = gcs_list,
    .remove = gcs_remove,
    .limits = gcs_limits,
    .free = gcs_free,
};
