/* Tests for operator/webhook_serve.c: the router's table; the errors of
 * webhook_serve_new (address, folder, unreadable, garbage or mismatched PEM
 * files, a port in use); the real server on 127.0.0.1 over TLS with libcurl
 * (reviews, 400, 404, 405, 411, 413, 415, keep-alive); and certificate
 * rotation, both the way the kubelet swaps a Secret volume (a ..data
 * symlink renamed over) and by plain renames, with a half-written pair that
 * must not replace the good one. Certificates are made here with OpenSSL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/http.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "operator/serve.h"
#include "operator/webhook.h"
#include "operator/webhook_serve.h"

#define REVIEW                                                                                     \
	"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{"       \
	"\"uid\":\"u-42\",\"operation\":\"CREATE\",\"resource\":{\"group\":\"lifeboat.dev\","      \
	"\"version\":\"v1alpha1\",\"resource\":\"databaserestores\"},\"namespace\":\"prod\","      \
	"\"name\":\"r1\",\"userInfo\":{\"username\":\"alice\",\"groups\":[\"dba\"]},"              \
	"\"object\":{\"metadata\":{\"name\":\"r1\"},\"spec\":{\"confirm\":\"app\"}}}}"

/* --- the router --- */

static void webhook_serve_route__table(void **state)
{
	(void)state;
	static const struct {
		const char *method, *path, *ct;
		long long len;
		int rc, status;
		const char *body; /* prefix */
	} cases[] = {
	    {"POST", "/mutate-databaserestore", "application/json", 100, 0, 0, ""},
	    {"POST", "/mutate-databaserestore", "application/json; charset=utf-8", 100, 0, 0, ""},
	    {"POST", "/mutate-databaserestore", "Application/JSON", 100, 0, 0, ""},
	    {"POST", "/mutate-databaserestore", " application/json ;x=y", 100, 0, 0, ""},
	    {"POST", "/mutate-databaserestore", "application/json", 0, 0, 0, ""},
	    {"POST", "/mutate-databaserestore", "application/json", 1024 * 1024, 0, 0, ""},
	    {"POST", "/mutate-databaserestore", "application/json", 1024 * 1024 + 1, 1, 413,
	     "request body too large: 1048577 bytes; an AdmissionReview may have at most 1048576"},
	    {"POST", "/mutate-databaserestore", "application/json", -1, 1, 411, "length required"},
	    {"POST", "/mutate-databaserestore", "application/jsonx", 10, 1, 415,
	     "unsupported media type \"application/jsonx\""},
	    {"POST", "/mutate-databaserestore", "application/yaml", 10, 1, 415,
	     "unsupported media type"},
	    {"POST", "/mutate-databaserestore", "text/plain", 10, 1, 415, "unsupported media type"},
	    {"POST", "/mutate-databaserestore", NULL, 10, 1, 415, "unsupported media type \"\""},
	    {"GET", "/mutate-databaserestore", NULL, -1, 1, 405, "method not allowed: use POST"},
	    {"PUT", "/mutate-databaserestore", "application/json", 10, 1, 405,
	     "method not allowed"},
	    {"DELETE", "/mutate-databaserestore", NULL, -1, 1, 405, "method not allowed"},
	    {NULL, "/mutate-databaserestore", NULL, -1, 1, 405, "method not allowed"},
	    {"POST", "/mutate-databaserestore/", "application/json", 10, 1, 404, "not found"},
	    {"POST", "/mutate", "application/json", 10, 1, 404, "not found"},
	    {"POST", "/", "application/json", 10, 1, 404, "not found"},
	    {"GET", "/healthz", NULL, -1, 1, 404,
	     "not found: the webhook is POST /mutate-databaserestore"},
	    {"POST", NULL, "application/json", 10, 1, 404, "not found"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct serve_reply r;
		memset(&r, 0, sizeof(r));
		buf_init(&r.body, 4096);
		int rc = webhook_serve_route(cases[i].method, cases[i].path, cases[i].ct,
					     cases[i].len, WEBHOOK_BODY_MAX, &r);
		if (rc != cases[i].rc ||
		    (rc && (r.status != cases[i].status ||
			    strncmp(buf_str(&r.body), cases[i].body, strlen(cases[i].body)))))
			fail_msg("case %zu (%s %s %s %lld): rc %d, %d \"%s\"", i,
				 cases[i].method ? cases[i].method : "(null)",
				 cases[i].path ? cases[i].path : "(null)",
				 cases[i].ct ? cases[i].ct : "(null)", cases[i].len, rc, r.status,
				 buf_str(&r.body));
		if (rc && r.status == 405)
			assert_string_equal(r.allow, "POST");
		else
			assert_null(r.allow);
		if (rc)
			assert_string_equal(r.content_type, "text/plain; charset=utf-8");
		buf_dispose(&r.body);
	}
}

/* --- certificates --- */

struct pem {
	char *crt, *key;
};

static void pem_free(struct pem *p)
{
	free(p->crt);
	free(p->key);
}

static char *bio_string(BIO *b)
{
	char *data = NULL;
	long n = BIO_get_mem_data(b, &data);
	char *s = xmalloc((size_t)n + 1);
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	return s;
}

/* A self-signed P-256 certificate for IP 127.0.0.1 (its own CA for the
 * client), valid from now - 1 h for `days`. */
static struct pem make_pem(const char *cn, int days)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	assert_non_null(k);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)(time(NULL) & 0x7fffffff) ^ (long)cn[0]);
	X509_set_version(x, 2);
	X509_gmtime_adj(X509_getm_notBefore(x), days > 0 ? -3600 : (long)days * 86400 - 86400);
	X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400);
	X509_set_pubkey(x, k);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "IP:127.0.0.1");
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);
	BIO *bc = BIO_new(BIO_s_mem()), *bk = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(bc, x);
	PEM_write_bio_PrivateKey(bk, k, NULL, NULL, 0, NULL, NULL);
	struct pem p = {bio_string(bc), bio_string(bk)};
	BIO_free(bc);
	BIO_free(bk);
	X509_free(x);
	EVP_PKEY_free(k);
	return p;
}

/* Writes text to path atomically (a temporary file renamed over). */
static void write_file(const char *path, const char *text)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path), 0);
	free(tmp);
}

static char *join(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void write_pair(const char *dir, const struct pem *p)
{
	char *c = join(dir, "tls.crt"), *k = join(dir, "tls.key");
	write_file(c, p->crt);
	write_file(k, p->key);
	free(c);
	free(k);
}

static char *temp_dir(void)
{
	char *d = xstrdup("/tmp/lifeboat-test-webhook.XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

static void remove_tree(const char *dir)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* --- a client --- */

struct got {
	int rc;
	long status;
	char *body, *ctype, *allow, *conn;
};

static void got_free(struct got *g)
{
	free(g->body);
	free(g->ctype);
	free(g->allow);
	free(g->conn);
}

/* One request; h NULL for a fresh client (a new TLS handshake). */
static struct got post(struct http_client *h, int port, const char *ca, const char *method,
		       const char *path, const char *ctype, const char *body, size_t len)
{
	struct http_client *own = h ? NULL : http_client_new();
	char url[160], hdr[160];
	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);
	snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype ? ctype : "");
	const char *hdrs[] = {hdr, NULL};
	struct http_tls tls = {.ca_pem = ca};
	struct http_response resp;
	http_response_init(&resp);
	struct http_request req = {.method = method,
				   .url = url,
				   .headers = ctype ? hdrs : NULL,
				   .body = body,
				   .body_len = len,
				   .tls = &tls,
				   .timeout_ms = 10000,
				   .connect_timeout_ms = 2000};
	struct got g;
	memset(&g, 0, sizeof(g));
	g.rc = http_do(h ? h : own, &req, &resp);
	if (!g.rc) {
		g.status = resp.status;
		g.body = xstrdup(buf_str(&resp.body));
		g.ctype = http_response_header(&resp, "Content-Type");
		g.allow = http_response_header(&resp, "Allow");
		g.conn = http_response_header(&resp, "Connection");
	}
	http_response_dispose(&resp);
	http_client_free(own);
	return g;
}

static struct got review(struct http_client *h, int port, const char *ca)
{
	return post(h, port, ca, "POST", "/mutate-databaserestore?timeout=10s", "application/json",
		    REVIEW, strlen(REVIEW));
}

struct server {
	char *dir;
	struct pem pem;
	struct webhook_serve *w;
	int port;
};

static void server_start(struct server *s)
{
	memset(s, 0, sizeof(*s));
	s->dir = temp_dir();
	s->pem = make_pem("webhook-a", 2);
	write_pair(s->dir, &s->pem);
	struct webhook_serve_options o = {.addr = "127.0.0.1:0", .cert_dir = s->dir};
	if (webhook_serve_new(&s->w, &o))
		fail_msg("webhook_serve_new: %s", err_msg());
	assert_non_null(s->w);
	assert_int_equal(webhook_serve_start(s->w), 0);
	assert_int_equal(webhook_serve_start(s->w), 0); /* a second start does nothing */
	s->port = webhook_serve_port(s->w);
	assert_true(s->port > 0);
}

static void server_stop(struct server *s)
{
	webhook_serve_free(s->w);
	remove_tree(s->dir);
	free(s->dir);
	pem_free(&s->pem);
}

/* --- webhook_serve_new --- */

static void webhook_serve__off_is_null(void **state)
{
	(void)state;
	static const char *const off[] = {NULL, "", "0"};
	for (size_t i = 0; i < 3; i++) {
		struct webhook_serve *w = (struct webhook_serve *)&w;
		struct webhook_serve_options o = {.addr = off[i], .cert_dir = NULL};
		assert_int_equal(webhook_serve_new(&w, &o), 0);
		assert_null(w);
	}
	assert_int_equal(webhook_serve_start(NULL), 0);
	assert_int_equal(webhook_serve_port(NULL), -1);
	webhook_serve_stop(NULL);
	webhook_serve_free(NULL);
	struct webhook_serve_stats st;
	webhook_serve_get_stats(NULL, &st);
	assert_int_equal(st.reviews, 0);
}

static void webhook_serve_new__errors_name_the_flag_and_file(void **state)
{
	(void)state;
	char *dir = temp_dir();
	struct pem a = make_pem("a", 2), b = make_pem("b", 2);
	char *crt = join(dir, "tls.crt"), *key = join(dir, "tls.key");
	struct webhook_serve *w = NULL;
	struct webhook_serve_options o = {.addr = "127.0.0.1:0", .cert_dir = dir};

	struct webhook_serve_options bad_addr = {.addr = "localhost:9443", .cert_dir = dir};
	assert_int_equal(webhook_serve_new(&w, &bad_addr), E_INVALID);
	assert_non_null(strstr(err_msg(), "--webhook-addr"));
	assert_non_null(strstr(err_msg(), "localhost:9443"));
	struct webhook_serve_options no_dir = {.addr = "127.0.0.1:0"};
	assert_int_equal(webhook_serve_new(&w, &no_dir), E_INVALID);
	assert_non_null(strstr(err_msg(), "--webhook-cert-dir"));

	/* Nothing in the folder. */
	assert_int_equal(webhook_serve_new(&w, &o), E_TLS);
	assert_non_null(strstr(err_msg(), "--webhook-cert-dir"));
	assert_non_null(strstr(err_msg(), crt));
	assert_non_null(strstr(err_msg(), "No such file or directory"));
	/* A certificate but no key. */
	write_file(crt, a.crt);
	assert_int_equal(webhook_serve_new(&w, &o), E_TLS);
	assert_non_null(strstr(err_msg(), key));
	/* Garbage. */
	write_file(key, a.key);
	write_file(crt, "not a certificate\n");
	assert_int_equal(webhook_serve_new(&w, &o), E_TLS);
	assert_non_null(strstr(err_msg(), "holds no PEM certificate"));
	/* The key where the certificate belongs. */
	write_file(crt, a.key);
	assert_int_equal(webhook_serve_new(&w, &o), E_TLS);
	assert_non_null(strstr(err_msg(), "holds no PEM certificate"));
	/* The certificate where the key belongs. */
	write_file(crt, a.crt);
	write_file(key, a.crt);
	assert_int_equal(webhook_serve_new(&w, &o), E_TLS);
	assert_non_null(strstr(err_msg(), "holds no PEM private key"));
	/* Another certificate's key. */
	write_file(key, b.key);
	assert_int_equal(webhook_serve_new(&w, &o), E_TLS);
	if (!strstr(err_msg(), "does not match the certificate"))
		fail_msg("%s", err_msg());
	/* A folder in place of the file. */
	unlink(key);
	assert_int_equal(mkdir(key, 0700), 0);
	assert_int_equal(webhook_serve_new(&w, &o), E_TLS);
	assert_non_null(strstr(err_msg(), "not a file"));
	rmdir(key);
	/* A corrupt second certificate in the chain. */
	write_file(key, a.key);
	char *chain =
	    xasprintf("%s-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", a.crt);
	write_file(crt, chain);
	assert_int_equal(webhook_serve_new(&w, &o), E_TLS);
	assert_non_null(strstr(err_msg(), "a certificate after the first does not parse"));
	free(chain);
	/* A chain of two good ones loads. */
	chain = xasprintf("%s%s", a.crt, b.crt);
	write_file(crt, chain);
	assert_int_equal(webhook_serve_new(&w, &o), 0);
	webhook_serve_free(w);
	free(chain);

	/* A port in use. */
	write_pair(dir, &a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	socklen_t sl = sizeof(sa);
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	char addr[64];
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sa.sin_port));
	struct webhook_serve_options busy = {.addr = addr, .cert_dir = dir};
	assert_int_equal(webhook_serve_new(&w, &busy), E_IO);
	if (!strstr(err_msg(), "Address already in use") || !strstr(err_msg(), addr))
		fail_msg("%s", err_msg());
	close(fd);

	pem_free(&a);
	pem_free(&b);
	free(crt);
	free(key);
	remove_tree(dir);
	free(dir);
}

/* --- over TLS --- */

static void webhook_serve__answers_over_tls(void **state)
{
	(void)state;
	struct server s;
	server_start(&s);
	struct http_client *h = http_client_new();

	struct got g = review(h, s.port, s.pem.crt);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.ctype, "application/json");
	assert_non_null(strstr(g.body, "\"uid\":\"u-42\""));
	assert_non_null(strstr(g.body, "\"allowed\":true"));
	assert_non_null(strstr(g.body, "\"patchType\":\"JSONPatch\""));
	got_free(&g);

	/* The rest of the table, on the same connection (keep-alive). */
	static const struct {
		const char *method, *path, *ctype, *body;
		long status;
		const char *want;
	} cases[] = {
	    {"GET", "/mutate-databaserestore", NULL, NULL, 405, "method not allowed: use POST"},
	    {"POST", "/validate", "application/json", REVIEW, 404, "not found"},
	    {"POST", "/mutate-databaserestore", "text/plain", REVIEW, 415,
	     "unsupported media type"},
	    {"POST", "/mutate-databaserestore", "application/json", "{\"kind\":1}", 400,
	     "malformed AdmissionReview: review.apiVersion: missing"},
	    {"POST", "/mutate-databaserestore", "application/json", "\xff\xfe", 400,
	     "malformed AdmissionReview: the review is not JSON: invalid UTF-8 at byte 0"},
	    {"POST", "/mutate-databaserestore", "application/json", REVIEW, 200, "{\"apiVersion\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		g = post(h, s.port, s.pem.crt, cases[i].method, cases[i].path, cases[i].ctype,
			 cases[i].body, cases[i].body ? strlen(cases[i].body) : 0);
		if (g.rc || g.status != cases[i].status ||
		    strncmp(g.body, cases[i].want, strlen(cases[i].want)))
			fail_msg("case %zu: rc %d, %ld \"%s\"", i, g.rc, g.status,
				 g.body ? g.body : err_msg());
		if (g.status == 405)
			assert_string_equal(g.allow, "POST");
		got_free(&g);
	}
	/* A body past the limit: 413 from the Content-Length, the body
	 * drained so that the client (sending it all: no Expect) sees it. */
	size_t big = WEBHOOK_BODY_MAX + 1;
	char *junk = xmalloc(big);
	memset(junk, '{', big);
	g = post(h, s.port, s.pem.crt, "POST", "/mutate-databaserestore", "application/json", junk,
		 big);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.status, 413);
	assert_non_null(strstr(g.body, "request body too large: 1048577 bytes"));
	assert_null(g.conn);
	got_free(&g);
	free(junk);
	/* ... and the connection goes on. */
	g = review(h, s.port, s.pem.crt);
	assert_int_equal(g.status, 200);
	got_free(&g);
	/* An empty POST: reviewed and malformed. */
	g = post(h, s.port, s.pem.crt, "POST", "/mutate-databaserestore", "application/json", "",
		 0);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.status, 400);
	got_free(&g);

	/* Plain HTTP to the TLS port gets no answer. */
	struct http_client *plain = http_client_new();
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/mutate-databaserestore", s.port);
	struct http_response resp;
	http_response_init(&resp);
	struct http_request req = {.method = "GET", .url = url, .timeout_ms = 5000};
	int rc = http_do(plain, &req, &resp);
	assert_true(rc != 0 || resp.status != 200);
	http_response_dispose(&resp);
	http_client_free(plain);
	/* A client that does not trust the certificate is refused. */
	struct pem other = make_pem("other", 2);
	g = review(NULL, s.port, other.crt);
	assert_int_equal(g.rc, E_TLS);
	got_free(&g);
	pem_free(&other);

	struct webhook_serve_stats st;
	webhook_serve_get_stats(s.w, &st);
	assert_int_equal(st.reviews, 3);
	assert_int_equal(st.patched, 3);
	assert_int_equal(st.denied, 0);
	assert_int_equal(st.malformed, 3);
	assert_int_equal(st.refused, 4); /* 405, 404, 415, 413 */
	assert_int_equal(st.cert_loads, 1);
	assert_int_equal(st.cert_load_failures, 0);

	http_client_free(h);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	webhook_serve_stop(s.w);
	webhook_serve_stop(s.w); /* idempotent */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	assert_int_equal(webhook_serve_start(s.w), 0); /* does not restart */
	g = review(NULL, s.port, s.pem.crt);
	assert_true(g.rc != 0);
	got_free(&g);
	server_stop(&s);
}

/* The certificate a fresh handshake is served: which CA verifies it. */
static int served_by(int port, const char *ca)
{
	struct got g = review(NULL, port, ca);
	int ok = g.rc == 0 && g.status == 200;
	got_free(&g);
	return ok;
}

/* The kubelet updates a Secret volume by writing a new timestamped folder
 * and renaming a ..data symlink over the old one; tls.crt and tls.key are
 * symlinks into ..data. */
static void kubelet_swap(const char *dir, const char *gen, const struct pem *p)
{
	char *sub = join(dir, gen), *tmp = join(dir, "..data_tmp"), *data = join(dir, "..data");
	assert_int_equal(mkdir(sub, 0755), 0);
	write_pair(sub, p);
	assert_int_equal(symlink(gen, tmp), 0);
	assert_int_equal(rename(tmp, data), 0);
	free(sub);
	free(tmp);
	free(data);
}

static void webhook_serve__reloads_a_rotated_secret(void **state)
{
	(void)state;
	char *dir = temp_dir();
	struct pem a = make_pem("webhook-a", 2), b = make_pem("webhook-b", 2),
		   c = make_pem("webhook-c", 2);
	kubelet_swap(dir, "..2026_01_01_00_00_00.1", &a);
	char *crt = join(dir, "tls.crt"), *key = join(dir, "tls.key");
	assert_int_equal(symlink("..data/tls.crt", crt), 0);
	assert_int_equal(symlink("..data/tls.key", key), 0);
	struct webhook_serve *w = NULL;
	struct webhook_serve_options o = {.addr = "127.0.0.1:0", .cert_dir = dir};
	assert_int_equal(webhook_serve_new(&w, &o), 0);
	assert_int_equal(webhook_serve_start(w), 0);
	int port = webhook_serve_port(w);
	struct http_client *kept = http_client_new();
	struct got g = review(kept, port, a.crt);
	assert_int_equal(g.status, 200);
	got_free(&g);

	assert_true(served_by(port, a.crt));
	assert_false(served_by(port, b.crt));
	kubelet_swap(dir, "..2026_02_01_00_00_00.2", &b);
	assert_true(served_by(port, b.crt));
	assert_false(served_by(port, a.crt));
	/* A connection made before the rotation goes on. */
	g = review(kept, port, a.crt);
	assert_int_equal(g.rc, 0);
	assert_int_equal(g.status, 200);
	got_free(&g);
	struct webhook_serve_stats st;
	webhook_serve_get_stats(w, &st);
	assert_int_equal(st.cert_loads, 2);
	assert_int_equal(st.cert_load_failures, 0);

	/* Half a rotation by hand: c's certificate with b's key. The good
	 * pair stays, once counted as a failure however many handshakes. */
	unlink(crt);
	unlink(key);
	write_file(crt, c.crt);
	write_file(key, b.key);
	assert_true(served_by(port, b.crt));
	assert_true(served_by(port, b.crt));
	webhook_serve_get_stats(w, &st);
	assert_int_equal(st.cert_loads, 2);
	assert_int_equal(st.cert_load_failures, 1);
	/* Garbage written in place of the key: still b, one more failure. */
	write_file(key, "-----BEGIN PRIVATE KEY-----\ngarbage\n");
	assert_true(served_by(port, b.crt));
	webhook_serve_get_stats(w, &st);
	assert_int_equal(st.cert_load_failures, 2);
	/* Files gone for a moment: still b. */
	unlink(key);
	assert_true(served_by(port, b.crt));
	/* The key arrives: c. */
	write_file(key, c.key);
	assert_true(served_by(port, c.crt));
	assert_false(served_by(port, b.crt));
	webhook_serve_get_stats(w, &st);
	assert_int_equal(st.cert_loads, 3);
	assert_int_equal(st.cert_load_failures, 2);
	/* The same files rewritten with the same content: a new inode, loaded
	 * again (harmless), still c. */
	write_pair(dir, &c);
	assert_true(served_by(port, c.crt));

	http_client_free(kept);
	webhook_serve_free(w);
	pem_free(&a);
	pem_free(&b);
	pem_free(&c);
	free(crt);
	free(key);
	remove_tree(dir);
	free(dir);
}

/* An expired certificate still loads (a rotation may fix it) and is served. */
static void webhook_serve__expired_certificate_is_served(void **state)
{
	(void)state;
	char *dir = temp_dir();
	struct pem old = make_pem("expired", -1);
	write_pair(dir, &old);
	struct webhook_serve *w = NULL;
	struct webhook_serve_options o = {.addr = "127.0.0.1:0", .cert_dir = dir};
	assert_int_equal(webhook_serve_new(&w, &o), 0);
	assert_int_equal(webhook_serve_start(w), 0);
	struct got g = review(NULL, webhook_serve_port(w), old.crt);
	assert_int_equal(g.rc, E_TLS); /* a client rightly refuses it */
	got_free(&g);
	webhook_serve_free(w);
	pem_free(&old);
	remove_tree(dir);
	free(dir);
}

int main(void)
{
	log_set_level(LOG_LEVEL_ERROR);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(webhook_serve_route__table),
	    cmocka_unit_test(webhook_serve__off_is_null),
	    cmocka_unit_test(webhook_serve_new__errors_name_the_flag_and_file),
	    cmocka_unit_test(webhook_serve__answers_over_tls),
	    cmocka_unit_test(webhook_serve__reloads_a_rotated_secret),
	    cmocka_unit_test(webhook_serve__expired_certificate_is_served),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
