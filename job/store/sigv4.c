/* SigV4 signing as AWS documents it (the signing process and its test
 * suite): pure string building and HMAC-SHA256, nothing else. */
#include "job/store/sigv4.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/text.h"
#include "common/xmalloc.h"

#define ALGORITHM "AWS4-HMAC-SHA256"

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

int sigv4_uri_encode(struct buf *out, const char *s, size_t n, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/')) {
			rc = buf_add(out, &s[i], 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			rc = buf_add(out, e, 3);
		}
	}
	return rc;
}

struct enc_param {
	char *name, *value;
};

static int cmp_param(const void *a, const void *b)
{
	const struct enc_param *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->value, y->value);
}

static char *encoded(const char *s)
{
	struct buf b;
	buf_init(&b, (size_t)-1);
	sigv4_uri_encode(&b, s, strlen(s), 0);
	if (!b.ptr)
		return xstrdup("");
	return buf_take(&b);
}

int sigv4_canonical_query(struct buf *out, const struct sigv4_param *q, size_t n)
{
	if (n == 0)
		return 0;
	struct enc_param *v = xcalloc(n, sizeof(*v));
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		v[i].name = encoded(q[i].name ? q[i].name : "");
		v[i].value = encoded(q[i].value ? q[i].value : "");
	}
	/* Encoded forms sort by byte value: what AWS specifies. */
	qsort(v, n, sizeof(*v), cmp_param);
	for (size_t i = 0; i < n && !rc; i++)
		rc = buf_addf(out, "%s%s=%s", i ? "&" : "", v[i].name, v[i].value);
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].value);
	}
	free(v);
	return rc;
}

/* A header after canonicalisation: lowercase name, squeezed value. */
struct canon_header {
	char *name;
	char *value;
	size_t order; /* position given, so equal names keep their order */
};

static int cmp_header(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int token_char(unsigned char c)
{
	return c > 32 && c < 127 && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

/* Trims the value and squeezes runs of spaces and tabs into one space. */
static char *squeeze(const char *v)
{
	size_t n = strlen(v);
	char *out = xmalloc(n + 1);
	size_t k = 0;
	int space = 0;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			space = 1;
			continue;
		}
		if (space && k > 0)
			out[k++] = ' ';
		space = 0;
		out[k++] = c;
	}
	out[k] = '\0';
	return out;
}

static void free_headers(struct canon_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

/* Sorted canonical headers, or E_INVALID naming the bad one. */
static int canon_headers(struct canon_header **out, const struct sigv4_request *r)
{
	struct canon_header *h = xcalloc(r->nheaders ? r->nheaders : 1, sizeof(*h));
	for (size_t i = 0; i < r->nheaders; i++) {
		const char *name = r->headers[i].name;
		if (!name || !*name || !r->headers[i].value) {
			free_headers(h, i);
			return err_set(E_INVALID, "sigv4: header %zu has no name or no value",
				       i + 1);
		}
		h[i].name = xstrdup(name);
		for (char *p = h[i].name; *p; p++) {
			if (!token_char((unsigned char)*p)) {
				int rc =
				    err_set(E_INVALID,
					    "sigv4: header name \"%s\" is not an HTTP token", name);
				free_headers(h, i + 1);
				return rc;
			}
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		}
		h[i].value = squeeze(r->headers[i].value);
		h[i].order = i;
	}
	qsort(h, r->nheaders, sizeof(*h), cmp_header);
	*out = h;
	return 0;
}

static int add_signed_names(struct buf *out, const struct canon_header *h, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0)
			continue;
		rc = buf_addf(out, "%s%s", i ? ";" : "", h[i].name);
	}
	return rc;
}

int sigv4_signed_headers(struct buf *out, const struct sigv4_request *r)
{
	struct canon_header *h = NULL;
	int rc = canon_headers(&h, r);
	if (rc)
		return rc;
	rc = add_signed_names(out, h, r->nheaders);
	free_headers(h, r->nheaders);
	return rc;
}

int sigv4_canonical_request(struct buf *out, const struct sigv4_request *r)
{
	struct canon_header *h = NULL;
	int rc;
	if (!r->method || !*r->method)
		return err_set(E_INVALID, "sigv4: no method");
	if (!r->path)
		return err_set(E_INVALID, "sigv4: no path");
	if (!r->payload_hash || !*r->payload_hash)
		return err_set(E_INVALID, "sigv4: no payload hash (use \"%s\" when unsigned)",
			       SIGV4_UNSIGNED);
	if ((rc = canon_headers(&h, r)))
		return rc;
	if ((rc = buf_addf(out, "%s\n%s\n", r->method, *r->path ? r->path : "/")) ||
	    (rc = sigv4_canonical_query(out, r->query, r->nquery)) || (rc = buf_adds(out, "\n")))
		goto done;
	for (size_t i = 0; i < r->nheaders && !rc; i++) {
		if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0)
			rc = buf_addf(out, ",%s", h[i].value);
		else
			rc = buf_addf(out, "%s%s:%s", i ? "\n" : "", h[i].name, h[i].value);
	}
	if (rc || (rc = buf_adds(out, "\n\n")) || (rc = add_signed_names(out, h, r->nheaders)))
		goto done;
	rc = buf_addf(out, "\n%s", r->payload_hash);
done:
	free_headers(h, r->nheaders);
	return rc;
}

void sigv4_sha256_hex(char out[65], const void *p, size_t n)
{
	uint8_t d[32];
	unsigned int len = 0;
	if (EVP_Digest(p, n, d, &len, EVP_sha256(), NULL) != 1)
		abort();
	text_hex(out, d, 32);
}

int sigv4_string_to_sign(struct buf *out, const char *amz_date, const char *scope,
			 const char *canonical_request)
{
	char h[65];
	sigv4_sha256_hex(h, canonical_request, strlen(canonical_request));
	return buf_addf(out, ALGORITHM "\n%s\n%s\n%s", amz_date, scope, h);
}

static void hmac(uint8_t out[32], const void *key, size_t keylen, const char *msg)
{
	unsigned int len = 32;
	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), out,
		  &len))
		abort();
}

void sigv4_signing_key(uint8_t out[32], const char *secret, const char *date8, const char *region,
		       const char *service)
{
	char *k = xasprintf("AWS4%s", secret);
	uint8_t a[32], b[32];
	hmac(a, k, strlen(k), date8);
	hmac(b, a, 32, region);
	hmac(a, b, 32, service);
	hmac(out, a, 32, "aws4_request");
	OPENSSL_cleanse(k, strlen(k));
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	free(k);
}

/* "20130524T000000Z": 8 digits, T, 6 digits, Z. */
static int valid_amz_date(const char *d)
{
	if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
		return 0;
	for (int i = 0; i < 15; i++)
		if (i != 8 && (d[i] < '0' || d[i] > '9'))
			return 0;
	return 1;
}

int sigv4_authorization(struct buf *out, const struct sigv4_request *r,
			const struct sigv4_credentials *c, const char *amz_date)
{
	struct buf creq, sts, names;
	char *scope = NULL;
	uint8_t key[32], sig[32];
	char sighex[65];
	int rc = 0;
	buf_init(&creq, (size_t)-1);
	buf_init(&sts, (size_t)-1);
	buf_init(&names, (size_t)-1);
	if (!c->access_key || !*c->access_key || !c->secret_key || !*c->secret_key) {
		rc = err_set(E_INVALID, "sigv4: no access key or secret key");
		goto done;
	}
	if (!c->region || !*c->region || !c->service || !*c->service || strchr(c->region, '/') ||
	    strchr(c->service, '/')) {
		rc = err_set(E_INVALID,
			     "sigv4: the region and service must be non-empty, without \"/\"");
		goto done;
	}
	if (!valid_amz_date(amz_date)) {
		rc = err_set(E_INVALID, "sigv4: x-amz-date \"%s\" is not YYYYMMDDTHHMMSSZ",
			     amz_date ? amz_date : "");
		goto done;
	}
	char date8[9];
	memcpy(date8, amz_date, 8);
	date8[8] = '\0';
	scope = xasprintf("%s/%s/%s/aws4_request", date8, c->region, c->service);
	if ((rc = sigv4_canonical_request(&creq, r)) ||
	    (rc = sigv4_string_to_sign(&sts, amz_date, scope, buf_str(&creq))) ||
	    (rc = sigv4_signed_headers(&names, r)))
		goto done;
	sigv4_signing_key(key, c->secret_key, date8, c->region, c->service);
	unsigned int len = 32;
	if (!HMAC(EVP_sha256(), key, 32, (const unsigned char *)buf_str(&sts), sts.len, sig, &len))
		abort();
	text_hex(sighex, sig, 32);
	rc = buf_addf(out, ALGORITHM " Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		      c->access_key, scope, buf_str(&names), sighex);
done:
	OPENSSL_cleanse(key, sizeof(key));
	buf_dispose(&creq);
	buf_dispose(&sts);
	buf_dispose(&names);
	free(scope);
	return rc;
}

void sigv4_amz_date(char out[17], time_t now)
{
	struct tm tm;
	gmtime_r(&now, &tm);
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		memcpy(out, "19700101T000000Z", 17);
}
