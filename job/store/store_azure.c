/* The azure:// backend: Azure Blob block blobs over the REST API. Uploads
 * stream as Put Block (job/parts: bounded memory, blocks in flight) and only
 * Put Block List makes the object visible; an unfinished upload commits
 * nothing. Signing, parsing and XML live in azure.c (pure). */
#include "job/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http.h"
#include "common/jobenv.h"
#include "common/log.h"
#include "common/text.h"
#include "common/xmalloc.h"
#include "job/store/azure.h"
#include "job/store/objstore.h"
#include "job/pipeline/parts.h"

#define META_TIMEOUT_MS 60000L
#define STALL_SECONDS 60L
#define LIST_PAGE "5000"
#define SECRET_FILE_MAX (64 * 1024)
#define CA_FILE_MAX (4u * 1024 * 1024)
#define MAX_HEADERS 16
#define CA_HOW "caFile= in the storage URL"

struct azure_store {
	struct store base;
	struct azure_url u;
	char *account;
	char *endpoint;	 /* scheme://host[:port][/path], no trailing slash */
	char *base_path; /* the endpoint's path ("/devstoreaccount1" or "") */
	uint8_t *key;	 /* the decoded account key, or NULL (SAS) */
	size_t keylen;
	char *sas; /* the SAS query, or NULL */
	char *ca_pem;
	struct http_tls tls;
	struct http_retry retry;
	struct http_client *http; /* the opening thread's: stat, list, read, remove */
};

/* A create-only write's own random value, kept as blob metadata: a retried
 * request that meets the blob its first try made recognises it by this. */
#define META_WRITE_HEADER "x-ms-meta-lifeboatwrite"

/* One REST call. */
struct call {
	const char *op; /* "Put Block 3", for messages */
	const char *method;
	const char *blob;  /* full blob name, or NULL for a container call */
	const char *query; /* encoded, without '?', or NULL */
	const char *content_type, *content_md5, *range, *if_match;
	int if_none_match;		  /* If-None-Match: * (create only) */
	const char *meta_write;		  /* x-ms-meta-lifeboatwrite, or NULL */
	const char *xms_name, *xms_value; /* one extra x-ms-* header, or NULL */
	const uint8_t *body;
	size_t body_len;
	int has_body;
	int (*on_data)(const char *p, size_t n, void *ud);
	void *ud;
	long timeout_ms;
	int raw; /* transport failures as http_do_retry returns them */
};

/* The full blob name of a key: "<prefix>/<key>". */
static char *blob_of(const struct azure_store *st, const char *key)
{
	return *st->u.prefix ? xasprintf("%s/%s", st->u.prefix, key) : xstrdup(key);
}

/* Tells the callback's errors from the transfer's own. */
struct tramp {
	int (*fn)(const char *p, size_t n, void *ud);
	void *ud;
	int stopped;
};

static int trampoline(const char *p, size_t n, void *ud)
{
	struct tramp *t = ud;
	int rc = t->fn(p, n, t->ud);
	if (rc)
		t->stopped = 1;
	return rc;
}

/* Sends c with retries. Returns 0 with resp set (any status), the on_data
 * callback's error, or E_STORE for a transport failure after the retries,
 * naming where and the operation. */
static int azure_do(struct azure_store *st, struct http_client *h, const struct call *c,
		    const char *where, struct http_response *resp)
{
	struct buf path, url;
	char date[32], len[24], *auth = NULL, *log_url = NULL, *full_url = NULL;
	struct azure_header hv[MAX_HEADERS];
	char *lines[MAX_HEADERS];
	const char *hl[MAX_HEADERS + 2];
	size_t nh = 0, nl = 0;
	struct tramp tr = {c->on_data, c->ud, 0};
	int rc = 0;

	buf_init(&path, 64 * 1024);
	buf_init(&url, 128 * 1024);
	buf_adds(&path, st->base_path);
	buf_add(&path, "/", 1);
	buf_adds(&path, st->u.container);
	if (c->blob) {
		buf_add(&path, "/", 1);
		text_pct_encode(&path, c->blob, 1);
	}
	buf_addf(&url, "%s%s", st->endpoint, buf_str(&path) + strlen(st->base_path));
	if (c->query && *c->query)
		buf_addf(&url, "?%s", c->query);
	log_url = xstrdup(buf_str(&url));
	if (st->sas)
		buf_addf(&url, "%s%s", c->query && *c->query ? "&" : "?", st->sas);
	full_url = buf_take(&url);

	azure_http_date(date, time(NULL));
	hv[nh++] = (struct azure_header){"x-ms-date", date};
	hv[nh++] = (struct azure_header){"x-ms-version", AZURE_API_VERSION};
	if (c->has_body) {
		snprintf(len, sizeof(len), "%zu", c->body_len);
		hv[nh++] = (struct azure_header){"Content-Length", len};
		/* Always explicit: libcurl would send a form type of its own. */
		hv[nh++] = (struct azure_header){
		    "Content-Type", c->content_type ? c->content_type : "application/octet-stream"};
	}
	if (c->content_md5)
		hv[nh++] = (struct azure_header){"Content-MD5", c->content_md5};
	if (c->range)
		hv[nh++] = (struct azure_header){"Range", c->range};
	if (c->if_match)
		hv[nh++] = (struct azure_header){"If-Match", c->if_match};
	if (c->if_none_match)
		hv[nh++] = (struct azure_header){"If-None-Match", "*"};
	if (c->meta_write)
		hv[nh++] = (struct azure_header){META_WRITE_HEADER, c->meta_write};
	if (c->xms_name)
		hv[nh++] = (struct azure_header){c->xms_name, c->xms_value};
	if (st->key) {
		struct azure_sign_input in = {c->method, st->account, buf_str(&path),
					      c->query,	 hv,	      nh};
		if ((rc = azure_sign(&auth, &in, st->key, st->keylen))) {
			rc = err_set(E_STORE, "%s: %s: cannot sign the request: %s", where, c->op,
				     err_msg());
			goto done;
		}
		hv[nh++] = (struct azure_header){"Authorization", auth};
	}
	for (size_t i = 0; i < nh; i++) {
		/* libcurl sends Content-Length itself (the value signed above). */
		if (strcmp(hv[i].name, "Content-Length") == 0)
			continue;
		lines[nl] = xasprintf("%s: %s", hv[i].name, hv[i].value);
		hl[nl] = lines[nl];
		nl++;
	}
	hl[nl] = "User-Agent: lifeboat/" LIFEBOAT_VERSION;
	hl[nl + 1] = NULL;

	struct http_request req = {
	    .method = c->method,
	    .url = full_url,
	    .log_url = log_url,
	    .headers = hl,
	    .body = c->has_body ? (c->body ? (const char *)c->body : "") : NULL,
	    .body_len = c->body_len,
	    .tls = &st->tls,
	    .timeout_ms = c->timeout_ms,
	    .stall_seconds = STALL_SECONDS,
	    .on_data = c->on_data ? trampoline : NULL,
	    .ud = &tr,
	    .max_body = 32u * 1024 * 1024,
	};
	rc = http_do_retry(h, &req, resp, &st->retry, NULL);
	/* Transport failures (refused, reset, timed out, TLS, a reply past
	 * max_body) after the retries, in the form every object store uses;
	 * the callback's own errors pass through untouched. */
	if (rc && !tr.stopped && !c->raw)
		rc = objstore_fail(where, c->op, rc, st->retry.attempts, CA_HOW, NULL);
done:
	for (size_t i = 0; i < nl; i++)
		free(lines[i]);
	free(auth);
	free(log_url);
	if (st->sas)
		OPENSSL_cleanse(full_url, strlen(full_url));
	free(full_url);
	buf_dispose(&path);
	buf_dispose(&url);
	return rc;
}

/* The error of a reply that is not the expected one: E_STORE naming where,
 * the operation, the status, Azure's error code and message, and what to
 * do about it. */
static int azure_fail(const struct azure_store *st, const char *where, const char *op,
		      const struct http_response *resp)
{
	char *hcode = http_response_header(resp, "x-ms-error-code");
	char *xcode = NULL, *msg = NULL;
	azure_error_parse(&xcode, &msg, resp->body.ptr, resp->body.len);
	const char *code = hcode ? hcode : xcode;
	const char *hint = "";
	char extra[256] = "";
	if (code && strcmp(code, "ContainerNotFound") == 0) {
		snprintf(extra, sizeof(extra),
			 "create container \"%s\" in account %s first (lifeboat never creates it)",
			 st->u.container, st->account);
		hint = extra;
	} else if (resp->status == 403 || (code && strstr(code, "Authentication"))) {
		hint = st->key
			   ? "check that AZURE_STORAGE_KEY (or the connection string's AccountKey) "
			     "is a key of this account, and the machine's clock"
			   : "check that the SAS token is valid, unexpired and allows read, write, "
			     "list and delete on this container";
	}
	struct objstore_reply r = {resp->status, code, msg, hint, E_STORE};
	int rc = objstore_fail(where, op, 0, st->retry.attempts, NULL, &r);
	free(hcode);
	free(xcode);
	free(msg);
	return rc;
}

/* --- opening --- */

/* A secret from the variable var or the first line of the file its _FILE
 * variable names; heap string or NULL. Never logged. */
static int secret_env(char **out, enum jobenv_var var, enum jobenv_var file_var)
{
	*out = NULL;
	const char *v = getenv(jobenv_name(var));
	if (v && *v) {
		*out = xstrdup(v);
		return 0;
	}
	const char *fname = jobenv_name(file_var);
	const char *path = getenv(fname);
	char *text = NULL;
	if (!path || !*path)
		return 0;
	int rc = objstore_read_file(&text, path, SECRET_FILE_MAX, fname);
	if (rc)
		return rc;
	size_t n = strcspn(text, "\r\n");
	while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t'))
		n--;
	if (n == 0)
		rc = err_set(E_INVALID, "%s=%s: the file's first line is empty", fname, path);
	else
		*out = xstrndup(text, n);
	objstore_free_secret(text);
	return rc;
}

static void azure_free(struct store *base)
{
	struct azure_store *st = (struct azure_store *)base;
	if (!st)
		return;
	http_client_free(st->http);
	azure_url_dispose(&st->u);
	free(st->account);
	free(st->endpoint);
	free(st->base_path);
	if (st->key) {
		OPENSSL_cleanse(st->key, st->keylen);
		free(st->key);
	}
	objstore_free_secret(st->sas);
	free(st->ca_pem);
	free(st->base.display);
	free(st);
}

static int read_ca(char **out, const char *path)
{
	char *pem = NULL;
	int rc = objstore_read_file(&pem, path, CA_FILE_MAX, "storage URL: caFile");
	if (rc)
		return rc;
	if (!strstr(pem, "-----BEGIN CERTIFICATE-----")) {
		free(pem);
		return err_set(E_INVALID, "storage URL: caFile %s holds no PEM certificate", path);
	}
	*out = pem;
	return 0;
}

static int azure_open(struct store **out, const char *url)
{
	struct azure_store *st = xcalloc(1, sizeof(*st));
	struct azure_conn conn;
	char *conn_str = NULL, *key = NULL, *sas = NULL;
	int rc;

	memset(&conn, 0, sizeof(conn)); /* azure_conn_dispose is safe on it */
	st->base.ops = &store_azure_ops;
	if ((rc = azure_url_parse(&st->u, url)))
		goto done;
	st->base.display = *st->u.prefix ? xasprintf("azure://%s/%s", st->u.container, st->u.prefix)
					 : xasprintf("azure://%s", st->u.container);
	if ((rc = secret_env(&conn_str, JOBENV_AZURE_STORAGE_CONNECTION_STRING,
			     JOBENV_AZURE_STORAGE_CONNECTION_STRING_FILE)))
		goto done;
	if (conn_str) {
		if ((rc = azure_conn_parse(&conn, conn_str))) {
			err_wrap("%s", jobenv_name(JOBENV_AZURE_STORAGE_CONNECTION_STRING));
			goto done;
		}
	}
	if ((rc = secret_env(&key, JOBENV_AZURE_STORAGE_KEY, JOBENV_AZURE_STORAGE_KEY_FILE)) ||
	    (rc = secret_env(&sas, JOBENV_AZURE_STORAGE_SAS_TOKEN,
			     JOBENV_AZURE_STORAGE_SAS_TOKEN_FILE)))
		goto done;
	if (!key && conn.key) {
		key = conn.key;
		conn.key = NULL;
	}
	if (!sas && conn.sas) {
		sas = conn.sas;
		conn.sas = NULL;
	}

	const char *account = st->u.account;
	if (!account)
		account = conn.account;
	const char *env_account = getenv(jobenv_name(JOBENV_AZURE_STORAGE_ACCOUNT));
	if (!account && env_account && *env_account)
		account = env_account;
	if (!account) {
		rc = err_set(E_INVALID,
			     "storage URL %s names no storage account: add ?account=NAME (or set "
			     "AZURE_STORAGE_ACCOUNT, or a connection string with AccountName)",
			     st->base.display);
		goto done;
	}
	if (st->u.account && conn.account && strcmp(st->u.account, conn.account) != 0) {
		rc = err_set(
		    E_INVALID,
		    "storage URL %s: account=%s, but AZURE_STORAGE_CONNECTION_STRING is for "
		    "account %s; use one account",
		    st->base.display, st->u.account, conn.account);
		goto done;
	}
	if ((rc = azure_check_account(account, "storage account")))
		goto done;
	st->account = xstrdup(account);

	if (st->u.endpoint)
		st->endpoint = xstrdup(st->u.endpoint);
	else if (conn.blob_endpoint)
		st->endpoint = xstrdup(conn.blob_endpoint);
	else if (conn.suffix)
		st->endpoint = xasprintf("%s://%s.blob.%s", conn.protocol ? conn.protocol : "https",
					 st->account, conn.suffix);
	else
		st->endpoint = xasprintf("https://%s.blob.core.windows.net", st->account);
	const char *host = strstr(st->endpoint, "://") + 3;
	const char *slash = strchr(host, '/');
	st->base_path = xstrdup(slash ? slash : "");
	if (strncmp(st->endpoint, "http://", 7) == 0 && strncmp(host, "127.", 4) != 0 &&
	    strncmp(host, "localhost", 9) != 0 && strncmp(host, "[::1]", 5) != 0)
		log_warn(
		    "storage endpoint %s is plain http: data and SAS tokens travel unencrypted",
		    st->endpoint);

	if (key) {
		if (azure_base64_decode(&st->key, &st->keylen, key) != 0) {
			rc = err_set(E_INVALID,
				     "the Azure account key (AZURE_STORAGE_KEY or the "
				     "connection string's AccountKey) is not valid base64: "
				     "copy the key from the storage account's Access keys");
			goto done;
		}
	} else if (sas) {
		const char *s = sas[0] == '?' ? sas + 1 : sas;
		if (!strstr(s, "sig=") || strpbrk(s, " \t\r\n#")) {
			rc = err_set(E_INVALID,
				     "the Azure SAS token (AZURE_STORAGE_SAS_TOKEN or the "
				     "connection string's SharedAccessSignature) is not a "
				     "query string with a sig= parameter");
			goto done;
		}
		st->sas = xstrdup(s);
	} else {
		rc = err_set(E_INVALID,
			     "no Azure credentials for %s: set AZURE_STORAGE_KEY, "
			     "AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING "
			     "(or NAME_FILE for a file holding it)",
			     st->base.display);
		goto done;
	}
	if (st->u.ca_file && (rc = read_ca(&st->ca_pem, st->u.ca_file)))
		goto done;
	st->tls.ca_pem = st->ca_pem;
	st->retry = (struct http_retry){st->u.retries, 500, 30000};
	st->http = http_client_new();
	log_debug("storage %s: account %s, endpoint %s, %s", st->base.display, st->account,
		  st->endpoint, st->key ? "shared key" : "SAS token");
done:
	objstore_free_secret(conn_str);
	objstore_free_secret(key);
	objstore_free_secret(sas);
	azure_conn_dispose(&conn); /* zero-safe: all zeros unless parsed */
	if (rc)
		azure_free(&st->base);
	else
		*out = &st->base;
	return rc;
}

/* --- the writer: Put Block x N + Put Block List, or one Put Blob --- */

/* The Azure dialect of an objstore writer. */
struct azure_writer {
	struct azure_store *st;
	char *blob;
	char *where;
	int create;	/* STORE_CREATE */
	char nonce[33]; /* its META_WRITE_HEADER value */
};

/* A create-only commit answered 409 or 412: the blob exists. If it carries
 * this write's own value (a retried request whose first try succeeded), it
 * is this write's; else another writer made it. */
static int create_conflict(struct azure_writer *w, struct http_client *h, const char *op,
			   const struct http_response *r)
{
	struct http_response resp;
	http_response_init(&resp);
	struct call c = {.op = "Get Blob Properties",
			 .method = "HEAD",
			 .blob = w->blob,
			 .timeout_ms = META_TIMEOUT_MS};
	int rc = azure_do(w->st, h, &c, w->where, &resp);
	char *v = !rc && resp.status == 200 ? http_response_header(&resp, META_WRITE_HEADER) : NULL;
	int ours = v && strcmp(v, w->nonce) == 0;
	free(v);
	http_response_dispose(&resp);
	if (ours)
		return 0;
	return objstore_exists(w->where, op, r->status, NULL, "blob");
}

static int commit_status(struct azure_writer *w, struct http_client *h, const char *op,
			 const struct http_response *r)
{
	if (r->status == 201)
		return 0;
	if (w->create && (r->status == 409 || r->status == 412))
		return create_conflict(w, h, op, r);
	return azure_fail(w->st, w->where, op, r);
}

static int put_block(void *ctx, struct http_client *h, int part_no, const uint8_t *data, size_t len,
		     char id[PARTS_ID_MAX])
{
	struct azure_writer *w = ctx;
	char bid[AZURE_BLOCK_ID_LEN + 1], md5[25], op[48], query[64];
	if (part_no > AZURE_BLOCKS_MAX || (uint64_t)len > AZURE_BLOCK_BYTES_MAX)
		return err_set(
		    E_STORE,
		    "%s: block %d of %zu bytes is past what one blob holds (%d blocks of "
		    "at most 4000 MiB); split the database into several backups",
		    w->where, part_no, len, AZURE_BLOCKS_MAX);
	azure_block_id(bid, part_no);
	azure_content_md5(md5, data, len);
	snprintf(op, sizeof(op), "Put Block %d", part_no);
	struct buf q;
	buf_init(&q, sizeof(query));
	buf_adds(&q, "comp=block&blockid=");
	text_pct_encode(&q, bid, 0);
	snprintf(query, sizeof(query), "%s", buf_str(&q));
	buf_dispose(&q);
	struct call c = {.op = op,
			 .method = "PUT",
			 .blob = w->blob,
			 .query = query,
			 .content_md5 = md5,
			 .body = data,
			 .body_len = len,
			 .has_body = 1};
	struct http_response resp;
	http_response_init(&resp);
	int rc = azure_do(w->st, h, &c, w->where, &resp);
	if (!rc && resp.status != 201)
		rc = azure_fail(w->st, w->where, op, &resp);
	http_response_dispose(&resp);
	if (!rc)
		snprintf(id, PARTS_ID_MAX, "%s", bid);
	return rc;
}

/* Put Blob: the whole blob in one request. */
static int put_blob(void *ctx, struct http_client *h, const uint8_t *data, size_t len)
{
	struct azure_writer *w = ctx;
	struct http_response resp;
	char md5[25];
	http_response_init(&resp);
	azure_content_md5(md5, data ? data : (const uint8_t *)"", len);
	struct call c = {.op = "Put Blob",
			 .method = "PUT",
			 .blob = w->blob,
			 .content_md5 = md5,
			 .if_none_match = w->create,
			 .meta_write = w->create ? w->nonce : NULL,
			 .xms_name = "x-ms-blob-type",
			 .xms_value = "BlockBlob",
			 .body = data,
			 .body_len = len,
			 .has_body = 1};
	int rc = azure_do(w->st, h, &c, w->where, &resp);
	if (!rc)
		rc = commit_status(w, h, "Put Blob", &resp);
	http_response_dispose(&resp);
	return rc;
}

/* Put Block List: the blocks become the blob. */
static int put_block_list(void *ctx, struct http_client *h, const struct parts *parts)
{
	struct azure_writer *w = ctx;
	struct http_response resp;
	int count = parts_count(parts);
	char *xml = azure_block_list_xml(count);
	char op[48];
	http_response_init(&resp);
	snprintf(op, sizeof(op), "Put Block List (%d blocks)", count);
	struct call c = {.op = op,
			 .method = "PUT",
			 .blob = w->blob,
			 .query = "comp=blocklist",
			 .content_type = "application/xml",
			 .if_none_match = w->create,
			 .meta_write = w->create ? w->nonce : NULL,
			 .body = (const uint8_t *)xml,
			 .body_len = strlen(xml),
			 .has_body = 1};
	int rc = azure_do(w->st, h, &c, w->where, &resp);
	if (!rc)
		rc = commit_status(w, h, op, &resp);
	free(xml);
	http_response_dispose(&resp);
	return rc;
}

static void abandon(void *ctx, struct http_client *h, const struct parts *parts)
{
	struct azure_writer *w = ctx;
	(void)h;
	(void)parts;
	/* Nothing was committed; the service discards the uncommitted blocks
	 * (after a week). */
	log_debug("%s: upload abandoned; no block list committed", w->where);
}

static void aw_free(void *ctx)
{
	struct azure_writer *w = ctx;
	free(w->blob);
	free(w->where);
	free(w);
}

static const struct objstore_writer_ops azure_writer_ops = {
    .name = "azure-writer",
    .put_whole = put_blob,
    .put_part = put_block,
    .complete = put_block_list,
    .abort = abandon,
    .free = aw_free,
    .stored = "committed",
    .unit = "block",
};

static int azure_writer(struct store *base, const char *key, unsigned flags, struct stage **out)
{
	struct azure_store *st = (struct azure_store *)base;
	struct azure_writer *w = xcalloc(1, sizeof(*w));
	w->create = (flags & STORE_CREATE) != 0;
	if (w->create) {
		uint8_t raw[16];
		if (RAND_bytes(raw, sizeof(raw)) != 1) {
			free(w);
			return err_set(E_IO, "cannot draw random bytes for a create-only write");
		}
		text_hex(w->nonce, raw, sizeof(raw));
	}
	w->st = st;
	w->blob = blob_of(st, key);
	w->where = store_location(base, key);
	*out =
	    objstore_writer_new(&azure_writer_ops, w, w->where, st->u.block_size, st->u.parallel);
	return 0;
}

/* --- reading: Get Blob streamed, resumed with a Range after a break --- */

struct get_ctx {
	struct azure_store *st;
	const char *blob;
	const char *where;
};

static int get_send(void *ctx, const char *range, const char *if_version,
		    int (*on_data)(const char *p, size_t n, void *ud), void *ud,
		    struct http_response *resp)
{
	struct get_ctx *g = ctx;
	struct call c = {.op = range ? "Get Blob (resumed)" : "Get Blob",
			 .method = "GET",
			 .blob = g->blob,
			 .range = range,
			 .if_match = if_version,
			 .on_data = on_data,
			 .ud = ud,
			 .raw = 1};
	return azure_do(g->st, g->st->http, &c, g->where, resp);
}

static int get_fail(void *ctx, const char *where, const char *what, int rc,
		    const struct http_response *resp)
{
	struct get_ctx *g = ctx;
	if (rc)
		return objstore_fail(where, what, rc, g->st->retry.attempts, CA_HOW, NULL);
	char *code = resp->status == 404 ? http_response_header(resp, "x-ms-error-code") : NULL;
	if (code && strcmp(code, "BlobNotFound") == 0)
		rc = E_NOTFOUND;
	else
		rc = azure_fail(g->st, where, what, resp);
	free(code);
	return rc;
}

static int azure_read(struct store *base, const char *key, struct stage *sink)
{
	struct azure_store *st = (struct azure_store *)base;
	char *blob = blob_of(st, key), *where = store_location(base, key);
	struct get_ctx ctx = {st, blob, where};
	struct objstore_get g = {get_send, get_fail, "ETag", "ETag", "Get Blob", &ctx};
	int rc = objstore_read(&g, where, sink);
	free(blob);
	free(where);
	return rc;
}

static int azure_stat(struct store *base, const char *key, uint64_t *size)
{
	struct azure_store *st = (struct azure_store *)base;
	char *blob = blob_of(st, key), *where = store_location(base, key);
	struct http_response resp;
	http_response_init(&resp);
	struct call c = {.op = "Get Blob Properties",
			 .method = "HEAD",
			 .blob = blob,
			 .timeout_ms = META_TIMEOUT_MS};
	int rc = azure_do(st, st->http, &c, where, &resp);
	if (!rc && resp.status == 200) {
		char *len = http_response_header(&resp, "Content-Length");
		char *end = NULL;
		errno = 0;
		unsigned long long v = len ? strtoull(len, &end, 10) : 0;
		if (!len || errno || end == len || *end)
			rc = err_set(E_STORE,
				     "%s: Get Blob Properties: no valid Content-Length in "
				     "the reply",
				     where);
		else
			*size = (uint64_t)v;
		free(len);
	} else if (!rc && resp.status == 404) {
		char *code = http_response_header(&resp, "x-ms-error-code");
		if (code && strcmp(code, "ContainerNotFound") == 0)
			rc = azure_fail(st, where, c.op, &resp);
		else
			rc = err_set(E_NOTFOUND, "%s does not exist", where);
		free(code);
	} else if (!rc) {
		rc = azure_fail(st, where, c.op, &resp);
	}
	http_response_dispose(&resp);
	free(blob);
	free(where);
	return rc;
}

struct lister {
	const struct azure_store *st;
	store_list_cb cb;
	void *ud;
	int stopped; /* the callback's value, when it stopped the listing */
};

static int on_blob(const char *name, uint64_t size, void *ud)
{
	struct lister *l = ud;
	const char *key = name;
	size_t plen = strlen(l->st->u.prefix);
	if (plen) {
		if (strncmp(name, l->st->u.prefix, plen) != 0 || name[plen] != '/')
			return 0; /* not ours: the service filtered by prefix already */
		key = name + plen + 1;
	}
	struct store_entry e = {key, size};
	return l->stopped = l->cb(&e, l->ud);
}

static int azure_list(struct store *base, const char *prefix, store_list_cb cb, void *ud)
{
	struct azure_store *st = (struct azure_store *)base;
	struct lister l = {st, cb, ud, 0};
	struct buf want, q;
	struct http_response resp;
	char *marker = NULL, *where = NULL;
	int rc = 0;
	/* A prefix is a folder ("ns/"): "ns" must not match "ns2/...". */
	buf_init(&want, 64 * 1024);
	buf_init(&q, 256 * 1024);
	if (*st->u.prefix)
		buf_addf(&want, "%s/", st->u.prefix);
	if (prefix && *prefix) {
		buf_adds(&want, prefix);
		if (prefix[strlen(prefix) - 1] != '/')
			buf_add(&want, "/", 1);
	}
	where = store_location(base, prefix ? prefix : "");
	http_response_init(&resp);
	for (int page = 1;; page++) {
		buf_reset(&q);
		buf_adds(&q, "restype=container&comp=list&maxresults=" LIST_PAGE);
		if (want.len) {
			buf_adds(&q, "&prefix=");
			text_pct_encode(&q, buf_str(&want), 0);
		}
		if (marker) {
			buf_adds(&q, "&marker=");
			text_pct_encode(&q, marker, 0);
		}
		char op[40];
		snprintf(op, sizeof(op), "List Blobs (page %d)", page);
		struct call c = {
		    .op = op, .method = "GET", .query = buf_str(&q), .timeout_ms = META_TIMEOUT_MS};
		if ((rc = azure_do(st, st->http, &c, where, &resp)))
			break;
		if (resp.status != 200) {
			rc = azure_fail(st, where, op, &resp);
			break;
		}
		char *next = NULL;
		rc = azure_list_parse(&next, resp.body.ptr, resp.body.len, on_blob, &l);
		if (rc && !l.stopped)
			err_wrap("%s: %s", where, op);
		free(marker);
		marker = next;
		if (rc || !marker)
			break;
	}
	http_response_dispose(&resp);
	free(marker);
	free(where);
	buf_dispose(&want);
	buf_dispose(&q);
	return rc;
}

static int azure_remove(struct store *base, const char *key)
{
	struct azure_store *st = (struct azure_store *)base;
	char *blob = blob_of(st, key), *where = store_location(base, key);
	struct http_response resp;
	http_response_init(&resp);
	struct call c = {.op = "Delete Blob",
			 .method = "DELETE",
			 .blob = blob,
			 .xms_name = "x-ms-delete-snapshots",
			 .xms_value = "include",
			 .timeout_ms = META_TIMEOUT_MS};
	int rc = azure_do(st, st->http, &c, where, &resp);
	if (!rc && resp.status != 202 && resp.status != 200) {
		char *code = http_response_header(&resp, "x-ms-error-code");
		if (!(resp.status == 404 && code && strcmp(code, "BlobNotFound") == 0))
			rc = azure_fail(st, where, c.op, &resp);
		free(code);
	}
	http_response_dispose(&resp);
	free(blob);
	free(where);
	return rc;
}

static void azure_limits(const struct store *base, struct store_limits *out)
{
	const struct azure_store *st = (const struct azure_store *)base;
	*out =
	    (struct store_limits){st->u.block_size, st->u.parallel, AZURE_BLOCKS_MAX, 0, "block"};
}

const struct store_ops store_azure_ops = {
    .scheme = "azure",
    .open = azure_open,
    .writer = azure_writer,
    .read = azure_read,
    .stat = azure_stat,
    .list = azure_list,
    .remove = azure_remove,
    .limits = azure_limits,
    .free = azure_free,
};
