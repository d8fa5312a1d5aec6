/* Tests for job/store/gcs.c (the pure core of the GCS JSON API backend:
 * service-account key files, the RS256 JWT of the token exchange, token
 * replies and refresh times, list and error replies, upload ranges) and the
 * part of job/store/store_gcs.c that needs no network (opening).
 *
 * The JWT is checked the way Google's token endpoint checks it: split at the
 * dots, base64url-decoded, and its signature verified with the public half
 * of a key made here (OpenSSL's EVP_DigestVerify, independent of the signing
 * code). tests/storage/gcs.sh checks the same JWT against a token endpoint
 * written with python3-cryptography. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"
#include "job/store/gcs.h"
#include "job/store/store.h"

static EVP_PKEY *make_key(const char *type)
{
	EVP_PKEY *k = strcmp(type, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)
					       : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(k);
	return k;
}

static char *pem_of(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL), 1);
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	char *out = xmalloc((size_t)n + 1);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	BIO_free(b);
	return out;
}

/* A key file's text with the given private key PEM (JSON-escaped). */
static char *key_json(const char *type, const char *pem, const char *token_uri)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "project_id", json_object_new_string("acme"));
	json_object_object_add(o, "private_key_id", json_object_new_string("kid-123"));
	json_object_object_add(o, "private_key", json_object_new_string(pem));
	json_object_object_add(o, "client_email",
			       json_object_new_string("backup@acme.iam.gserviceaccount.com"));
	if (token_uri)
		json_object_object_add(o, "token_uri", json_object_new_string(token_uri));
	char *s = xstrdup(json_object_to_json_string(o));
	json_object_put(o);
	return s;
}

static void key_parse__reads_a_service_account_key(void **state)
{
	(void)state;
	EVP_PKEY *k = make_key("RSA");
	char *pem = pem_of(k), *text = key_json("service_account", pem, NULL);
	struct gcs_key key = {0};
	assert_int_equal(gcs_key_parse(&key, text, strlen(text), "key.json"), 0);
	assert_string_equal(key.client_email, "backup@acme.iam.gserviceaccount.com");
	assert_string_equal(key.private_key_pem, pem);
	assert_string_equal(key.private_key_id, "kid-123");
	assert_string_equal(key.token_uri, GCS_DEFAULT_TOKEN_URI);
	gcs_key_dispose(&key);
	assert_null(key.private_key_pem);
	free(text);
	text = key_json("service_account", pem, "http://127.0.0.1:9/token");
	assert_int_equal(gcs_key_parse(&key, text, strlen(text), "key.json"), 0);
	assert_string_equal(key.token_uri, "http://127.0.0.1:9/token");
	gcs_key_dispose(&key);
	free(text);
	free(pem);
	EVP_PKEY_free(k);
}

static void key_parse__names_the_field_at_fault_never_the_key(void **state)
{
	(void)state;
	struct gcs_key key = {0};
	const char *pem = "-----BEGIN PRIVATE KEY-----\nSECRETBYTES\n-----END PRIVATE KEY-----\n";
	assert_int_equal(gcs_key_parse(&key, "nope", 4, "k.json"), E_INVALID);
	assert_non_null(strstr(err_msg(), "k.json is not a service-account key file"));
	char *t = key_json("authorized_user", pem, NULL);
	assert_int_equal(gcs_key_parse(&key, t, strlen(t), "k.json"), E_INVALID);
	assert_non_null(
	    strstr(err_msg(), "\"type\" is \"authorized_user\", not \"service_account\""));
	assert_null(strstr(err_msg(), "SECRETBYTES"));
	free(t);
	t = key_json("service_account", "not a pem", NULL);
	assert_int_equal(gcs_key_parse(&key, t, strlen(t), "k.json"), E_INVALID);
	assert_non_null(strstr(err_msg(), "\"private_key\" is missing or not a PEM private key"));
	free(t);
	t = key_json("service_account", pem, "http://evil.example/token");
	assert_int_equal(gcs_key_parse(&key, t, strlen(t), "k.json"), E_INVALID);
	assert_non_null(strstr(err_msg(), "\"token_uri\" must be an https:// URL"));
	free(t);
	const char *no_email = "{\"type\":\"service_account\",\"private_key\":\"x\"}";
	assert_int_equal(gcs_key_parse(&key, no_email, strlen(no_email), "k.json"), E_INVALID);
	assert_non_null(strstr(err_msg(), "\"client_email\" is missing"));
	assert_null(key.client_email); /* set only on success */
}

static uint8_t *b64url_decode(const char *s, size_t n, size_t *outlen)
{
	char *t = xmalloc(n + 4);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		t[k++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	while (k % 4)
		t[k++] = '=';
	uint8_t *out = xmalloc(k);
	int len = EVP_DecodeBlock(out, (const unsigned char *)t, (int)k);
	assert_true(len >= 0);
	size_t pad = 0;
	for (size_t i = k; i > 0 && t[i - 1] == '='; i--)
		pad++;
	*outlen = (size_t)len - pad;
	free(t);
	return out;
}

static struct json_object *decode_part(const char *s, size_t n)
{
	size_t len = 0;
	uint8_t *raw = b64url_decode(s, n, &len);
	char *text = xmalloc(len + 1);
	memcpy(text, raw, len);
	text[len] = '\0';
	struct json_object *o = json_tokener_parse(text);
	assert_non_null(o);
	free(raw);
	free(text);
	return o;
}

static void jwt__is_rs256_with_googles_claims_and_verifies(void **state)
{
	(void)state;
	EVP_PKEY *k = make_key("RSA");
	char *pem = pem_of(k), *text = key_json("service_account", pem, "https://t.example/token");
	struct gcs_key key = {0};
	assert_int_equal(gcs_key_parse(&key, text, strlen(text), "key.json"), 0);
	char *jwt = NULL;
	assert_int_equal(gcs_jwt(&jwt, &key, GCS_SCOPE, 1800000000), 0);
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	assert_non_null(d2);
	assert_null(strchr(d2 + 1, '.'));
	assert_null(strpbrk(jwt, "+/="));
	struct json_object *h = decode_part(jwt, (size_t)(d1 - jwt));
	struct json_object *c = decode_part(d1 + 1, (size_t)(d2 - d1 - 1));
	struct json_object *v;
	assert_true(json_object_object_get_ex(h, "alg", &v));
	assert_string_equal(json_object_get_string(v), "RS256");
	assert_true(json_object_object_get_ex(h, "kid", &v));
	assert_string_equal(json_object_get_string(v), "kid-123");
	assert_true(json_object_object_get_ex(c, "iss", &v));
	assert_string_equal(json_object_get_string(v), "backup@acme.iam.gserviceaccount.com");
	assert_true(json_object_object_get_ex(c, "aud", &v));
	assert_string_equal(json_object_get_string(v), "https://t.example/token");
	assert_true(json_object_object_get_ex(c, "scope", &v));
	assert_string_equal(json_object_get_string(v), GCS_SCOPE);
	assert_true(json_object_object_get_ex(c, "iat", &v));
	assert_int_equal(json_object_get_int64(v), 1800000000);
	assert_true(json_object_object_get_ex(c, "exp", &v));
	assert_int_equal(json_object_get_int64(v), 1800003600);
	json_object_put(h);
	json_object_put(c);

	size_t siglen = 0;
	uint8_t *sig = b64url_decode(d2 + 1, strlen(d2 + 1), &siglen);
	assert_int_equal(siglen, 256);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(
	    EVP_DigestVerify(md, sig, siglen, (const uint8_t *)jwt, (size_t)(d2 - jwt)), 1);
	/* One byte of the claims changed: the signature no longer verifies. */
	jwt[d1 - jwt + 3] ^= 1;
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_not_equal(
	    EVP_DigestVerify(md, sig, siglen, (const uint8_t *)jwt, (size_t)(d2 - jwt)), 1);
	EVP_MD_CTX_free(md);
	free(sig);
	free(jwt);
	gcs_key_dispose(&key);
	free(text);
	free(pem);
	EVP_PKEY_free(k);
}

static void jwt__refuses_a_key_that_is_not_rsa(void **state)
{
	(void)state;
	EVP_PKEY *k = make_key("EC");
	char *pem = pem_of(k), *text = key_json("service_account", pem, NULL);
	struct gcs_key key = {0};
	assert_int_equal(gcs_key_parse(&key, text, strlen(text), "key.json"), 0);
	char *jwt = NULL;
	assert_int_equal(gcs_jwt(&jwt, &key, GCS_SCOPE, 1), E_INVALID);
	assert_non_null(strstr(err_msg(), "not an RSA key"));
	assert_null(jwt);
	gcs_key_dispose(&key);
	free(text);
	free(pem);
	EVP_PKEY_free(k);
	char email[] = "e",
	     junk_pem[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	     uri[] = "https://t";
	struct gcs_key junk = {
	    .client_email = email, .private_key_pem = junk_pem, .token_uri = uri};
	assert_int_equal(gcs_jwt(&jwt, &junk, GCS_SCOPE, 1), E_INVALID);
	assert_non_null(strstr(err_msg(), "not a readable PEM private key"));
}

static void token_parse__access_token_and_lifetime(void **state)
{
	(void)state;
	struct gcs_token t = {0};
	const char *good =
	    "{\"access_token\":\"ya29.abc\",\"expires_in\":3599,\"token_type\":\"Bearer\"}";
	assert_int_equal(gcs_token_parse(&t, good, strlen(good)), 0);
	assert_string_equal(t.access_token, "ya29.abc");
	assert_int_equal(t.expires_in, 3599);
	free(t.access_token);
	const char *bad[][2] = {
	    {"{\"expires_in\":3599}", "no access_token"},
	    {"{\"access_token\":\"x\",\"expires_in\":3599,\"token_type\":\"MAC\"}", "not Bearer"},
	    {"{\"access_token\":\"x\"}", "no positive expires_in"},
	    {"{\"access_token\":\"x\",\"expires_in\":\"3599\"}", "no positive expires_in"},
	    {"[1]", "not a JSON object"},
	    {"{\"access_token\":\"x\",", "not a JSON object"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gcs_token u = {0};
		assert_int_equal(gcs_token_parse(&u, bad[i][0], strlen(bad[i][0])), E_STORE);
		assert_non_null(strstr(err_msg(), bad[i][1]));
		assert_null(u.access_token);
	}
}

static void refresh_at__a_quarter_early_at_most_five_minutes(void **state)
{
	(void)state;
	assert_int_equal(gcs_token_refresh_at(1000, 3600), 1000 + 3300);
	assert_int_equal(gcs_token_refresh_at(1000, 600), 1000 + 450);
	assert_int_equal(gcs_token_refresh_at(1000, 8), 1000 + 6);
	assert_int_equal(gcs_token_refresh_at(1000, 3), 1000 + 2);
	assert_int_equal(gcs_token_refresh_at(1000, 1), 1000);
}

/* The token endpoint's expires_in is the server's number: one past a day
 * counts as a day, so the refresh time cannot overflow (found by
 * tests/fuzz, target gcs_json). */
static void refresh_at__a_lifetime_past_a_day_counts_as_a_day(void **state)
{
	(void)state;
	assert_int_equal(gcs_token_refresh_at(1000, 86400), 1000 + 86400 - 300);
	assert_int_equal(gcs_token_refresh_at(1000, 86401), 1000 + 86400 - 300);
	assert_int_equal(gcs_token_refresh_at(1000, LONG_MAX), 1000 + 86400 - 300);
}

static void error_parse__json_api_and_token_endpoint_forms(void **state)
{
	(void)state;
	char *r = NULL, *m = NULL;
	const char *api =
	    "{\"error\":{\"code\":403,\"message\":\"backup@x does not have "
	    "storage.objects.create access\",\"errors\":[{\"reason\":\"forbidden\"}]}}";
	gcs_error_parse(&r, &m, api, strlen(api));
	assert_string_equal(r, "forbidden");
	assert_string_equal(m, "backup@x does not have storage.objects.create access");
	free(r);
	free(m);
	const char *tok =
	    "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT Signature.\"}";
	gcs_error_parse(&r, &m, tok, strlen(tok));
	assert_string_equal(r, "invalid_grant");
	assert_string_equal(m, "Invalid JWT Signature.");
	free(r);
	free(m);
	gcs_error_parse(&r, &m, "<html>502</html>", 16);
	assert_null(r);
	assert_null(m);
	gcs_error_parse(&r, &m, NULL, 0);
	assert_null(r);
	assert_null(m);
}

struct seen {
	char names[8][64];
	uint64_t sizes[8];
	int n, stop_at;
};

static int collect(const char *name, uint64_t size, void *ud)
{
	struct seen *s = ud;
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
	s->sizes[s->n++] = size;
	return s->n == s->stop_at ? 7 : 0;
}

static void list_parse__items_sizes_and_page_token(void **state)
{
	(void)state;
	const char *page = "{\"kind\":\"storage#objects\",\"nextPageToken\":\"p/b\",\"items\":["
			   "{\"name\":\"p/a\",\"size\":\"12\"},{\"name\":\"p/"
			   "b\",\"size\":\"18446744073709551615\"}]}";
	struct seen s = {.stop_at = -1};
	char *next = NULL;
	assert_int_equal(gcs_list_parse(&next, page, strlen(page), collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.names[0], "p/a");
	assert_int_equal(s.sizes[0], 12);
	assert_true(s.sizes[1] == UINT64_MAX);
	assert_string_equal(next, "p/b");
	free(next);
	/* The last page of an empty listing: no items, no token. */
	struct seen e = {.stop_at = -1};
	next = (char *)"unset";
	assert_int_equal(gcs_list_parse(&next, "{\"kind\":\"storage#objects\"}", 26, collect, &e),
			 0);
	assert_null(next);
	assert_int_equal(e.n, 0);
	/* The callback's non-zero value stops the walk and is returned. */
	struct seen st = {.stop_at = 1};
	assert_int_equal(gcs_list_parse(&next, page, strlen(page), collect, &st), 7);
	assert_int_equal(st.n, 1);
	const char *bad[] = {"{\"items\":{}}",
			     "{\"items\":[{\"name\":\"a\"}]}",
			     "{\"items\":[{\"name\":\"a\",\"size\":12}]}",
			     "{\"items\":[{\"name\":\"a\",\"size\":\"-1\"}]}",
			     "{\"items\":[{\"size\":\"1\"}]}",
			     "[]",
			     "{\"items\":["};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seen b = {.stop_at = -1};
		assert_int_equal(gcs_list_parse(&next, bad[i], strlen(bad[i]), collect, &b),
				 E_STORE);
	}
}

static void object_size__decimal_string(void **state)
{
	(void)state;
	uint64_t n = 0;
	assert_int_equal(gcs_object_size(&n, "{\"size\":\"5242880\"}", 18), 0);
	assert_int_equal(n, 5242880);
	assert_int_equal(gcs_object_size(&n, "{\"size\":5}", 10), E_STORE);
	assert_int_equal(gcs_object_size(&n, "{\"size\":\"5x\"}", 13), E_STORE);
	assert_int_equal(gcs_object_size(&n, "", 0), E_STORE);
}

static void range_persisted__from_a_308s_range(void **state)
{
	(void)state;
	uint64_t n = 99;
	assert_int_equal(gcs_range_persisted(&n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(gcs_range_persisted(&n, "bytes=0-262143"), 0);
	assert_int_equal(n, 262144);
	const char *bad[] = {"bytes=1-5", "bytes=0-", "bytes=0-5x", "items=0-5", "bytes=0--5",
			     /* the end past any size: end + 1 would wrap */
			     "bytes=0-18446744073709551615", "bytes=0-99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gcs_range_persisted(&n, bad[i]), E_STORE);
}

static void base64url__no_padding_url_alphabet(void **state)
{
	(void)state;
	char *s = gcs_base64url((const uint8_t *)"\xfb\xff", 2);
	assert_string_equal(s, "-_8");
	free(s);
	s = gcs_base64url((const uint8_t *)"{\"alg\":\"RS256\"}", 15);
	assert_string_equal(s, "eyJhbGciOiJSUzI1NiJ9");
	free(s);
	s = gcs_base64url((const uint8_t *)"", 0);
	assert_string_equal(s, "");
	free(s);
}

static void open__key_file_errors_and_mixed_credentials(void **state)
{
	(void)state;
	char dir[] = "/tmp/lifeboat-gcs-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[64];
	snprintf(path, sizeof(path), "%s/key.json", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"type\":\"authorized_user\"}", f);
	fclose(f);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
	struct store *st = NULL;
	assert_int_equal(store_open(&st, "gs://bucket/p"), E_INVALID);
	assert_non_null(strstr(err_msg(), "not \"service_account\""));
	setenv("AWS_ACCESS_KEY_ID", "GOOG1EXAMPLE", 1);
	assert_int_equal(store_open(&st, "gs://bucket/p"), E_INVALID);
	assert_non_null(strstr(err_msg(), "both GOOGLE_APPLICATION_CREDENTIALS"));
	unsetenv("AWS_ACCESS_KEY_ID");
	setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json", 1);
	assert_int_equal(store_open(&st, "gs://bucket/p"), E_INVALID);
	assert_non_null(strstr(err_msg(), "/nonexistent/key.json cannot be read"));
	assert_int_equal(store_open(&st, "gs://bucket/p?partSize=6000000"), E_INVALID);
	assert_non_null(strstr(err_msg(), "not a multiple of 256KiB"));
	assert_int_equal(store_open(&st, "gs://bucket/p?sse=AES256"), E_INVALID);
	assert_non_null(strstr(err_msg(), "sse= and kmsKeyId= are S3 parameters"));
	assert_null(st);
	unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(key_parse__reads_a_service_account_key),
	    cmocka_unit_test(key_parse__names_the_field_at_fault_never_the_key),
	    cmocka_unit_test(jwt__is_rs256_with_googles_claims_and_verifies),
	    cmocka_unit_test(jwt__refuses_a_key_that_is_not_rsa),
	    cmocka_unit_test(token_parse__access_token_and_lifetime),
	    cmocka_unit_test(refresh_at__a_quarter_early_at_most_five_minutes),
	    cmocka_unit_test(refresh_at__a_lifetime_past_a_day_counts_as_a_day),
	    cmocka_unit_test(error_parse__json_api_and_token_endpoint_forms),
	    cmocka_unit_test(list_parse__items_sizes_and_page_token),
	    cmocka_unit_test(object_size__decimal_string),
	    cmocka_unit_test(range_persisted__from_a_308s_range),
	    cmocka_unit_test(base64url__no_padding_url_alphabet),
	    cmocka_unit_test(open__key_file_errors_and_mixed_credentials),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
