/* The admission webhook's HTTPS listener: a pure router (webhook_serve_route),
 * the serving certificate kept current from its files, and a thin
 * libwebsockets shell around operator/webhook.c. */
#include "operator/webhook_serve.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "operator/serve.h"
#include "operator/webhook.h"

#define CHUNK 16384
#define PEM_MAX (1024 * 1024) /* a certificate chain or key file */
#define REPLY_MAX (4u * 1024 * 1024)
#define DRAIN_MAX (16ll * 1024 * 1024) /* a refused body up to this is read, not cut */

static const char TEXT[] = "text/plain; charset=utf-8";
static const char JSON[] = "application/json";

/* --- the pure part --- */

static void reply_text(struct serve_reply *r, int status, const char *text)
{
	r->status = status;
	r->content_type = TEXT;
	buf_reset(&r->body);
	if (buf_adds(&r->body, text))
		buf_reset(&r->body);
}

/* Whether a Content-Type header names application/json (parameters such
 * as charset allowed, case-insensitive). */
static int is_json(const char *ct)
{
	static const char want[] = "application/json";
	if (!ct)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, sizeof(want) - 1))
		return 0;
	ct += sizeof(want) - 1;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int webhook_serve_route(const char *method, const char *path, const char *content_type,
			long long content_length, size_t body_max, struct serve_reply *reply)
{
	char why[192];
	reply->allow = NULL;
	if (!path || strcmp(path, WEBHOOK_PATH)) {
		reply_text(reply, 404, "not found: the webhook is POST " WEBHOOK_PATH);
		return 1;
	}
	if (!method || strcmp(method, "POST")) {
		reply_text(reply, 405, "method not allowed: use POST");
		reply->allow = "POST";
		return 1;
	}
	if (content_length < 0) {
		reply_text(reply, 411,
			   "length required: send the AdmissionReview with a Content-Length");
		return 1;
	}
	if ((unsigned long long)content_length > body_max) {
		snprintf(
		    why, sizeof(why),
		    "request body too large: %lld bytes; an AdmissionReview may have at most %zu",
		    content_length, body_max);
		reply_text(reply, 413, why);
		return 1;
	}
	if (!is_json(content_type)) {
		snprintf(why, sizeof(why),
			 "unsupported media type \"%.64s\": send the AdmissionReview as "
			 "application/json",
			 content_type ? content_type : "");
		reply_text(reply, 415, why);
		return 1;
	}
	return 0;
}

/* --- the serving certificate --- */

struct file_sig {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct pair {
	X509 *leaf;
	STACK_OF(X509) * chain;
	EVP_PKEY *key;
	struct file_sig crt_sig, key_sig;
	int have_sig;
};

static void pair_dispose(struct pair *p)
{
	X509_free(p->leaf);
	if (p->chain)
		sk_X509_pop_free(p->chain, X509_free);
	EVP_PKEY_free(p->key);
	memset(p, 0, sizeof(*p));
}

static int sig_equal(const struct file_sig *a, const struct file_sig *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void sig_of(struct file_sig *s, const struct stat *st)
{
	memset(s, 0, sizeof(*s));
	s->dev = st->st_dev;
	s->ino = st->st_ino;
	s->size = st->st_size;
	s->mtime = st->st_mtim;
}

/* OpenSSL's first queued error, for messages; the queue is cleared. */
static const char *ssl_why(char *out, size_t outsz)
{
	unsigned long e = ERR_peek_error();
	if (e)
		ERR_error_string_n(e, out, outsz);
	else
		snprintf(out, outsz, "no PEM data found");
	ERR_clear_error();
	return out;
}

/* Reads path whole, with the signature of what was read. */
static int read_file(struct buf *out, struct file_sig *sig, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	if (fd < 0)
		return err_set(E_TLS, "cannot read %s: %s; mount the webhook's TLS Secret there",
			       path, strerror(errno));
	if (fstat(fd, &st)) {
		rc = err_set(E_TLS, "cannot read %s: %s", path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = err_set(E_TLS, "cannot read %s: not a file", path);
		goto done;
	}
	sig_of(sig, &st);
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = err_set(E_TLS, "cannot read %s: %s", path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		if (buf_add(out, chunk, (size_t)n)) {
			rc = err_set(E_TLS,
				     "%s is larger than %d bytes: not a PEM certificate or key",
				     path, PEM_MAX);
			goto done;
		}
	}
done:
	close(fd);
	return rc;
}

/* Loads dir/tls.crt and dir/tls.key into *out (set only on success). */
static int pair_load(struct pair *out, const char *dir)
{
	struct pair p;
	struct buf crt, key;
	char *crt_path = xasprintf("%s/tls.crt", dir), *key_path = xasprintf("%s/tls.key", dir);
	char why[256];
	BIO *bio = NULL;
	int rc;
	memset(&p, 0, sizeof(p));
	buf_init(&crt, PEM_MAX);
	buf_init(&key, PEM_MAX);
	ERR_clear_error();
	rc = read_file(&crt, &p.crt_sig, crt_path);
	if (!rc)
		rc = read_file(&key, &p.key_sig, key_path);
	if (rc)
		goto done;
	p.have_sig = 1;
	bio = BIO_new_mem_buf(crt.ptr ? crt.ptr : "", (int)crt.len);
	p.leaf = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (!p.leaf) {
		rc = err_set(E_TLS,
			     "%s holds no PEM certificate (%s); it must start with the serving "
			     "certificate, then any intermediates",
			     crt_path, ssl_why(why, sizeof(why)));
		goto done;
	}
	p.chain = sk_X509_new_null();
	for (;;) {
		X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (!x)
			break;
		sk_X509_push(p.chain, x);
	}
	/* The end of the PEM data is reported as an error: not one. */
	unsigned long e = ERR_peek_last_error();
	if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		rc = err_set(E_TLS, "%s: a certificate after the first does not parse: %s",
			     crt_path, ssl_why(why, sizeof(why)));
		goto done;
	}
	ERR_clear_error();
	BIO_free(bio);
	bio = BIO_new_mem_buf(key.ptr ? key.ptr : "", (int)key.len);
	p.key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	if (!p.key) {
		rc =
		    err_set(E_TLS, "%s holds no PEM private key (%s); an unencrypted key is needed",
			    key_path, ssl_why(why, sizeof(why)));
		goto done;
	}
	if (X509_check_private_key(p.leaf, p.key) != 1) {
		rc = err_set(E_TLS,
			     "%s does not match the certificate in %s (%s); the Secret must hold a "
			     "certificate and its own key",
			     key_path, crt_path, ssl_why(why, sizeof(why)));
		goto done;
	}
	*out = p;
	memset(&p, 0, sizeof(p));
done:
	BIO_free(bio);
	ERR_clear_error();
	if (key.ptr)
		OPENSSL_cleanse(key.ptr, key.len);
	buf_dispose(&key);
	buf_dispose(&crt);
	pair_dispose(&p);
	free(crt_path);
	free(key_path);
	return rc;
}

/* The certificate's subject and notAfter, for the log. */
static void describe(const struct pair *p, char *subject, size_t subsz, char *until, size_t untsz)
{
	X509_NAME_oneline(X509_get_subject_name(p->leaf), subject, (int)subsz);
	BIO *b = BIO_new(BIO_s_mem());
	until[0] = '\0';
	if (b && ASN1_TIME_print(b, X509_get0_notAfter(p->leaf))) {
		int n = BIO_read(b, until, (int)untsz - 1);
		until[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
}

static void log_loaded(const struct pair *p, const char *dir, int reloaded)
{
	char subject[256], until[64];
	describe(p, subject, sizeof(subject), until, sizeof(until));
	log_kv(LOG_LEVEL_INFO,
	       reloaded ? "webhook: serving certificate reloaded"
			: "webhook: serving certificate loaded",
	       "cert_dir", dir, "subject", subject, "not_after", until, NULL);
	if (X509_cmp_current_time(X509_get0_notAfter(p->leaf)) < 0)
		log_kv(LOG_LEVEL_WARN, "webhook: the serving certificate has expired", "cert_dir",
		       dir, "not_after", until, NULL);
	else if (X509_cmp_current_time(X509_get0_notBefore(p->leaf)) > 0)
		log_kv(LOG_LEVEL_WARN, "webhook: the serving certificate is not valid yet",
		       "cert_dir", dir, "subject", subject, NULL);
}

/* --- the libwebsockets shell --- */

struct webhook_serve {
	struct lws_context *ctx;
	struct lws_vhost *vh;
	pthread_t thread;
	int running, started;
	atomic_int stop;
	pthread_mutex_t lock; /* start and stop */
	char host[64];
	int port, bound_port;
	char *cert_dir, *crt_path, *key_path;
	size_t body_max;
	/* Touched by the server thread only, once it runs. */
	struct pair cur;
	struct file_sig failed_crt, failed_key; /* the last pair that did not load */
	int have_failed;
	_Atomic uint64_t reviews, patched, denied, malformed, refused, cert_loads, cert_failures;
};

/* One HTTP transaction in flight on a connection. */
struct session {
	struct serve_reply reply;
	struct buf body;
	size_t sent;
	int active, reading, await_body, headers_done, close_after;
};

static void session_end(struct session *ss)
{
	if (ss && ss->active) {
		buf_dispose(&ss->reply.body);
		buf_dispose(&ss->body);
		ss->active = 0;
	}
}

/* Re-reads the pair when either file changed since it was loaded (or since
 * a replacement failed to load). Server thread only. */
static void maybe_reload(struct webhook_serve *w)
{
	struct stat a, b;
	struct file_sig sa, sb;
	if (stat(w->crt_path, &a) || stat(w->key_path, &b))
		return; /* mid-swap, or gone: keep serving what we have */
	sig_of(&sa, &a);
	sig_of(&sb, &b);
	if (sig_equal(&sa, &w->cur.crt_sig) && sig_equal(&sb, &w->cur.key_sig))
		return;
	if (w->have_failed && sig_equal(&sa, &w->failed_crt) && sig_equal(&sb, &w->failed_key))
		return;
	struct pair p;
	int rc = pair_load(&p, w->cert_dir);
	if (rc) {
		w->have_failed = 1;
		w->failed_crt = sa;
		w->failed_key = sb;
		atomic_fetch_add(&w->cert_failures, 1);
		log_kv(LOG_LEVEL_WARN,
		       "webhook: cannot reload the serving certificate; still serving the previous "
		       "one",
		       "cert_dir", w->cert_dir, "error", err_msg(), NULL);
		return;
	}
	pair_dispose(&w->cur);
	w->cur = p;
	w->have_failed = 0;
	atomic_fetch_add(&w->cert_loads, 1);
	log_loaded(&w->cur, w->cert_dir, 1);
}

/* OpenSSL asks for the certificate of each new handshake. */
static int cert_cb(SSL *ssl, void *arg)
{
	struct webhook_serve *w = arg;
	maybe_reload(w);
	if (SSL_use_certificate(ssl, w->cur.leaf) != 1 ||
	    SSL_use_PrivateKey(ssl, w->cur.key) != 1 || SSL_set1_chain(ssl, w->cur.chain) != 1) {
		ERR_clear_error();
		return 0;
	}
	return 1;
}

static void peer_of(struct lws *wsi, char *out, size_t outsz)
{
	out[0] = '\0';
	if (!lws_get_peer_simple(wsi, out, outsz))
		snprintf(out, outsz, "?");
}

static const char *method_name(int m)
{
	static const char *const names[] = {"GET",   "POST",   "OPTIONS", "PUT",
					    "PATCH", "DELETE", "CONNECT", "HEAD"};
	return m >= 0 && m < (int)(sizeof(names) / sizeof(names[0])) ? names[m] : "UNKNOWN";
}

static void log_refused(struct lws *wsi, const char *method, const char *path, int status,
			const char *why)
{
	char peer[64], code[8];
	peer_of(wsi, peer, sizeof(peer));
	snprintf(code, sizeof(code), "%d", status);
	log_kv(LOG_LEVEL_WARN, "webhook: refused a request", "status", code, "method", method,
	       "path", path, "peer", peer, "error", why, NULL);
}

static int on_http(struct lws *wsi, struct session *ss, const char *path)
{
	struct webhook_serve *w = lws_get_vhost_user(lws_get_vhost(wsi));
	char *uri = NULL;
	int ulen = 0;
	const char *method = method_name(lws_http_get_uri_and_method(wsi, &uri, &ulen));
	char ct[256] = "", cl[32] = "";
	long long len = -1;
	session_end(ss);
	memset(ss, 0, sizeof(*ss));
	buf_init(&ss->reply.body, REPLY_MAX);
	buf_init(&ss->body, w->body_max);
	ss->active = 1;
	int have_ct = lws_hdr_copy(wsi, ct, sizeof(ct), WSI_TOKEN_HTTP_CONTENT_TYPE) > 0;
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0) {
		char *end = NULL;
		errno = 0;
		len = strtoll(cl, &end, 10);
		if (errno || end == cl || *end || len < 0)
			len = (long long)w->body_max + 1; /* unreadable: as too big, and close */
	}
	if (webhook_serve_route(method, path, have_ct ? ct : NULL, len, w->body_max, &ss->reply)) {
		atomic_fetch_add(&w->refused, 1);
		log_refused(wsi, method, path, ss->reply.status, buf_str(&ss->reply.body));
		/* The body of a refused request is read and dropped before the
		 * answer (answering earlier makes lws close the connection
		 * without a reply, and a client still sending sees a reset); a
		 * body past DRAIN_MAX is not worth reading: answer at once and
		 * close. Without a length the connection cannot be reused. */
		if (ss->reply.status == 411 || len > DRAIN_MAX)
			ss->close_after = 1;
		if (len > 0 && !ss->close_after)
			ss->await_body = 1;
		else
			lws_callback_on_writable(wsi);
		return 0;
	}
	ss->reading = 1;
	if (len > 0)
		ss->await_body = 1;
	else
		lws_callback_on_writable(wsi); /* an empty body: reviewed (and refused) now */
	return 0;
}

static void review(struct lws *wsi, struct webhook_serve *w, struct session *ss)
{
	struct webhook_outcome o;
	char peer[64];
	int rc =
	    webhook_review(&ss->reply.body, &o, ss->body.ptr ? ss->body.ptr : "", ss->body.len);
	buf_dispose(&ss->body);
	if (rc) {
		atomic_fetch_add(&w->malformed, 1);
		peer_of(wsi, peer, sizeof(peer));
		log_kv(LOG_LEVEL_WARN, "webhook: malformed AdmissionReview", "peer", peer, "error",
		       err_msg(), NULL);
		char *why = xasprintf("malformed AdmissionReview: %s", err_msg());
		reply_text(&ss->reply, rc == E_TOOBIG ? 413 : 400, why);
		free(why);
		return;
	}
	ss->reply.status = 200;
	ss->reply.content_type = JSON;
	atomic_fetch_add(&w->reviews, 1);
	if (o.verdict == WEBHOOK_PATCHED) {
		atomic_fetch_add(&w->patched, 1);
		log_kv(LOG_LEVEL_INFO, "webhook: recorded who created a DatabaseRestore",
		       "namespace", o.namespace_, "name", o.name, "requested_by", o.value, "uid",
		       o.uid, NULL);
	} else if (o.verdict == WEBHOOK_DENIED) {
		atomic_fetch_add(&w->denied, 1);
		log_kv(LOG_LEVEL_INFO, "webhook: refused a change of " WEBHOOK_ANNOTATION,
		       "namespace", o.namespace_, "name", o.name, "user", o.username, "value",
		       o.value, "uid", o.uid, NULL);
	} else {
		log_kv(LOG_LEVEL_DEBUG, "webhook: allowed", "operation", o.operation, "namespace",
		       o.namespace_, "name", o.name, "uid", o.uid, NULL);
	}
	webhook_outcome_dispose(&o);
}

static int on_body(struct lws *wsi, struct webhook_serve *w, struct session *ss, const void *in,
		   size_t len)
{
	if (!ss->reading)
		return 0; /* a refused request's body: dropped */
	if (buf_add(&ss->body, in, len)) {
		/* More than Content-Length said (or a chunked body): too big. */
		char why[128];
		ss->reading = 0;
		ss->await_body = 0;
		ss->close_after = 1;
		buf_dispose(&ss->body);
		snprintf(why, sizeof(why),
			 "request body too large: an AdmissionReview may have at most %zu bytes",
			 w->body_max);
		reply_text(&ss->reply, 413, why);
		atomic_fetch_add(&w->refused, 1);
		log_refused(wsi, "POST", WEBHOOK_PATH, 413, why);
		lws_callback_on_writable(wsi);
	}
	return 0;
}

static int on_writeable(struct lws *wsi, struct webhook_serve *w, struct session *ss)
{
	unsigned char buf[LWS_PRE + CHUNK];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	if (!ss->active || ss->await_body)
		return 0;
	if (ss->reading) {
		ss->reading = 0;
		review(wsi, w, ss);
	}
	if (!ss->headers_done) {
		if (lws_add_http_common_headers(wsi, (unsigned int)ss->reply.status,
						ss->reply.content_type, ss->reply.body.len, &p,
						end))
			return 1;
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
						(const unsigned char *)"no-store", 8, &p, end))
			return 1;
		if (ss->reply.allow &&
		    lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
						(const unsigned char *)ss->reply.allow,
						(int)strlen(ss->reply.allow), &p, end))
			return 1;
		if (ss->close_after &&
		    lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
						(const unsigned char *)"close", 5, &p, end))
			return 1;
		if (lws_finalize_write_http_header(wsi, start, &p, end))
			return 1;
		ss->headers_done = 1;
		if (ss->reply.body.len) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	} else {
		size_t n = ss->reply.body.len - ss->sent;
		if (n > CHUNK)
			n = CHUNK;
		memcpy(start, ss->reply.body.ptr + ss->sent, n);
		ss->sent += n;
		int last = ss->sent == ss->reply.body.len;
		if (lws_write(wsi, start, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
		    (int)n)
			return 1;
		if (!last) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	}
	int close_after = ss->close_after;
	session_end(ss);
	if (close_after)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct session *ss = user;
	struct webhook_serve *w = NULL;
	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: {
		/* user is the vhost's SSL_CTX, in the vhost. */
		SSL_CTX *ctx = user;
		w = lws_get_vhost_user(in);
		if (!ctx || !w)
			return 0;
		SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
		SSL_CTX_set_cert_cb(ctx, cert_cb, w);
		return 0;
	}
	case LWS_CALLBACK_HTTP:
		return on_http(wsi, ss, in);
	case LWS_CALLBACK_HTTP_BODY:
		w = lws_get_vhost_user(lws_get_vhost(wsi));
		return ss && ss->active ? on_body(wsi, w, ss, in, len) : 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (ss && ss->active && ss->await_body) {
			ss->await_body = 0;
			lws_callback_on_writable(wsi);
		}
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		w = lws_get_vhost_user(lws_get_vhost(wsi));
		return ss ? on_writeable(wsi, w, ss) : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		session_end(ss);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
    {"lifeboat-webhook", callback, sizeof(struct session), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_emit(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_msg(level == LLL_ERR ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN, "libwebsockets: %.*s", (int)n,
		line);
}

static void *serve_main(void *arg)
{
	struct webhook_serve *w = arg;
	while (!atomic_load(&w->stop))
		if (lws_service(w->ctx, 0) < 0)
			break;
	return NULL;
}

static void destroy(struct webhook_serve *w)
{
	if (w->ctx)
		lws_context_destroy(w->ctx);
	w->ctx = NULL;
	pair_dispose(&w->cur);
}

int webhook_serve_new(struct webhook_serve **out, const struct webhook_serve_options *opt)
{
	char host[64];
	int port, rc = serve_parse_addr(opt->addr, host, sizeof(host), &port);
	if (rc == 1) {
		*out = NULL;
		return 0;
	}
	if (rc)
		return err_wrap("--webhook-addr");
	if (!opt->cert_dir || !*opt->cert_dir)
		return err_set(E_INVALID,
			       "--webhook-cert-dir: no folder given; the webhook on %s "
			       "needs the folder holding tls.crt and tls.key",
			       opt->addr);

	struct webhook_serve *w = xcalloc(1, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	snprintf(w->host, sizeof(w->host), "%s", host);
	w->port = port;
	w->cert_dir = xstrdup(opt->cert_dir);
	w->crt_path = xasprintf("%s/tls.crt", opt->cert_dir);
	w->key_path = xasprintf("%s/tls.key", opt->cert_dir);
	w->body_max = opt->body_max ? opt->body_max : WEBHOOK_BODY_MAX;
	rc = pair_load(&w->cur, w->cert_dir);
	if (rc) {
		rc = err_wrap("--webhook-cert-dir %s", w->cert_dir);
		goto done;
	}
	atomic_store(&w->cert_loads, 1);
	log_loaded(&w->cur, w->cert_dir, 0);

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_emit);
	struct lws_context_creation_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	ci.port = CONTEXT_PORT_NO_LISTEN;
	ci.gid = -1;
	ci.uid = -1;
	ci.timeout_secs = 10; /* a peer that stalls mid-request */
	w->ctx = lws_create_context(&ci);
	if (!w->ctx) {
		rc = err_set(E_IO, "libwebsockets: cannot create a context for the webhook");
		goto done;
	}
	struct lws_context_creation_info vi;
	memset(&vi, 0, sizeof(vi));
	vi.vhost_name = "webhook";
	vi.port = port;
	vi.iface = host[0] ? w->host : NULL;
	vi.protocols = protocols;
	vi.user = w;
	vi.keepalive_timeout = 30;
	vi.server_string = "lifeboat-operator";
	vi.alpn = "http/1.1";
	/* The SSL_CTX is made by lws without a certificate: cert_cb gives
	 * each handshake the current one. */
	vi.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
	if (host[0])
		vi.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	w->vh = lws_create_vhost(w->ctx, &vi);
	if (!w->vh) {
		char why[128];
		rc = err_set(E_IO, "--webhook-addr: cannot listen on %s:%d: %s", host, port,
			     serve_listen_error(host, port, why, sizeof(why)));
		goto done;
	}
	w->bound_port = lws_get_vhost_listen_port(w->vh);
done:
	if (rc) {
		destroy(w);
		pthread_mutex_destroy(&w->lock);
		free(w->cert_dir);
		free(w->crt_path);
		free(w->key_path);
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int webhook_serve_start(struct webhook_serve *w)
{
	int rc = 0;
	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	if (!w->started && w->ctx) {
		if (pthread_create(&w->thread, NULL, serve_main, w))
			rc = err_set(E_IO, "cannot start the webhook server thread");
		else
			w->started = w->running = 1;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

int webhook_serve_port(const struct webhook_serve *w)
{
	return w ? w->bound_port : -1;
}

void webhook_serve_stop(struct webhook_serve *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->running) {
		atomic_store(&w->stop, 1);
		lws_cancel_service(w->ctx);
		pthread_join(w->thread, NULL);
		w->running = 0;
	}
	w->started = 1; /* never again */
	destroy(w);
	pthread_mutex_unlock(&w->lock);
}

void webhook_serve_free(struct webhook_serve *w)
{
	if (!w)
		return;
	webhook_serve_stop(w);
	pthread_mutex_destroy(&w->lock);
	free(w->cert_dir);
	free(w->crt_path);
	free(w->key_path);
	free(w);
}

void webhook_serve_get_stats(const struct webhook_serve *w, struct webhook_serve_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!w)
		return;
	out->reviews = atomic_load(&w->reviews);
	out->patched = atomic_load(&w->patched);
	out->denied = atomic_load(&w->denied);
	out->malformed = atomic_load(&w->malformed);
	out->refused = atomic_load(&w->refused);
	out->cert_loads = atomic_load(&w->cert_loads);
	out->cert_load_failures = atomic_load(&w->cert_failures);
}
