/* GCS's pure core: service-account keys, the RS256 JWT for the token
 * exchange, and the JSON API's replies, with no I/O. */
#include "job/store/gcs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"

/* The document in json[0..len) as an object, or NULL. */
static struct json_object *parse_object(const char *json, size_t len)
{
	if (!json || len == 0 || len > (size_t)INT32_MAX)
		return NULL;
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root = json_tokener_parse_ex(tok, json, (int)len);
	if (root && (json_tokener_get_error(tok) != json_tokener_success ||
		     !json_object_is_type(root, json_type_object))) {
		json_object_put(root);
		root = NULL;
	}
	json_tokener_free(tok);
	return root;
}

/* A non-empty string member, borrowed; NULL when absent or of another type. */
static const char *string_of(struct json_object *o, const char *name)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	const char *s = json_object_get_string(v);
	/* An embedded NUL would make the C string differ from the JSON one. */
	if (!s || !*s || strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return s;
}

void gcs_key_dispose(struct gcs_key *k)
{
	if (k->private_key_pem) {
		OPENSSL_cleanse(k->private_key_pem, strlen(k->private_key_pem));
		free(k->private_key_pem);
	}
	free(k->client_email);
	free(k->private_key_id);
	free(k->token_uri);
	memset(k, 0, sizeof(*k));
}

int gcs_key_parse(struct gcs_key *out, const char *json, size_t len, const char *source)
{
	struct json_object *root = parse_object(json, len);
	int rc = 0;
	if (!root)
		return err_set(E_INVALID,
			       "%s is not a service-account key file: it is not a JSON object "
			       "(download a JSON key: IAM > Service accounts > Keys > Add key)",
			       source);
	const char *type = string_of(root, "type");
	const char *email = string_of(root, "client_email");
	const char *pem = string_of(root, "private_key");
	const char *kid = string_of(root, "private_key_id");
	const char *uri = string_of(root, "token_uri");
	if (!type || strcmp(type, "service_account") != 0)
		rc = err_set(E_INVALID,
			     "%s: \"type\" is %s%s%s, not \"service_account\": give a "
			     "service account's JSON key (user credentials and workload identity "
			     "configurations are not read)",
			     source, type ? "\"" : "missing", type ? type : "", type ? "\"" : "");
	else if (!email)
		rc = err_set(E_INVALID, "%s: \"client_email\" is missing or empty", source);
	else if (!pem || !strstr(pem, "-----BEGIN PRIVATE KEY-----"))
		rc = err_set(E_INVALID,
			     "%s: \"private_key\" is missing or not a PEM private key "
			     "(-----BEGIN PRIVATE KEY-----)",
			     source);
	else if (uri && strncmp(uri, "https://", 8) != 0 && strncmp(uri, "http://127.", 11) != 0 &&
		 strncmp(uri, "http://localhost", 16) != 0)
		rc = err_set(E_INVALID,
			     "%s: \"token_uri\" must be an https:// URL (http:// only to a "
			     "loopback test server)",
			     source);
	if (!rc) {
		out->client_email = xstrdup(email);
		out->private_key_pem = xstrdup(pem);
		out->private_key_id = kid ? xstrdup(kid) : NULL;
		out->token_uri = xstrdup(uri ? uri : GCS_DEFAULT_TOKEN_URI);
	}
	/* json-c keeps its own copy of the key: wipe it before it is freed. */
	struct json_object *v;
	if (json_object_object_get_ex(root, "private_key", &v) &&
	    json_object_is_type(v, json_type_string)) {
		char *p = (char *)json_object_get_string(v);
		OPENSSL_cleanse(p, (size_t)json_object_get_string_len(v));
	}
	json_object_put(root);
	return rc;
}

char *gcs_base64url(const uint8_t *p, size_t n)
{
	char *out = xmalloc((n + 2) / 3 * 4 + 1);
	int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *c = out; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	return out;
}

static char *b64url_json(struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE);
	return gcs_base64url((const uint8_t *)s, strlen(s));
}

int gcs_jwt(char **out, const struct gcs_key *k, const char *scope, time_t now)
{
	struct json_object *hdr = json_object_new_object(), *claims = json_object_new_object();
	json_object_object_add(hdr, "alg", json_object_new_string("RS256"));
	json_object_object_add(hdr, "typ", json_object_new_string("JWT"));
	if (k->private_key_id)
		json_object_object_add(hdr, "kid", json_object_new_string(k->private_key_id));
	json_object_object_add(claims, "iss", json_object_new_string(k->client_email));
	json_object_object_add(claims, "scope", json_object_new_string(scope));
	json_object_object_add(claims, "aud", json_object_new_string(k->token_uri));
	json_object_object_add(claims, "iat", json_object_new_int64((int64_t)now));
	json_object_object_add(claims, "exp", json_object_new_int64((int64_t)now + 3600));
	char *h = b64url_json(hdr), *c = b64url_json(claims), *sig = NULL;
	char *input = xasprintf("%s.%s", h, c);
	json_object_put(hdr);
	json_object_put(claims);
	free(h);
	free(c);

	int rc = 0;
	BIO *bio = BIO_new_mem_buf(k->private_key_pem, -1);
	EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	if (!bio || !md)
		abort();
	if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
		rc = err_set(E_INVALID, "the service-account key's private_key is %s",
			     pkey ? "not an RSA key" : "not a readable PEM private key");
		goto done;
	}
	if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) != 1 ||
	    EVP_DigestSign(md, NULL, &rawlen, (const uint8_t *)input, strlen(input)) != 1) {
		rc = err_set(E_INVALID, "the service-account key cannot sign (RS256)");
		goto done;
	}
	raw = xmalloc(rawlen);
	if (EVP_DigestSign(md, raw, &rawlen, (const uint8_t *)input, strlen(input)) != 1) {
		rc = err_set(E_INVALID, "the service-account key cannot sign (RS256)");
		goto done;
	}
	sig = gcs_base64url(raw, rawlen);
	*out = xasprintf("%s.%s", input, sig);
done:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	free(raw);
	free(sig);
	free(input);
	return rc;
}

int gcs_token_parse(struct gcs_token *out, const char *json, size_t len)
{
	struct json_object *root = parse_object(json, len), *v;
	int rc = 0;
	if (!root)
		return err_set(E_STORE, "the token endpoint's reply is not a JSON object");
	const char *tok = string_of(root, "access_token");
	const char *type = string_of(root, "token_type");
	long expires = 0;
	if (json_object_object_get_ex(root, "expires_in", &v) &&
	    json_object_is_type(v, json_type_int))
		expires = (long)json_object_get_int64(v);
	if (!tok)
		rc = err_set(E_STORE, "the token endpoint's reply has no access_token");
	else if (type && strcasecmp(type, "Bearer") != 0)
		rc = err_set(E_STORE,
			     "the token endpoint's reply has token_type \"%s\", not Bearer", type);
	else if (expires <= 0)
		rc = err_set(E_STORE, "the token endpoint's reply has no positive expires_in");
	else
		*out = (struct gcs_token){xstrdup(tok), expires};
	if (json_object_object_get_ex(root, "access_token", &v) &&
	    json_object_is_type(v, json_type_string))
		OPENSSL_cleanse((char *)json_object_get_string(v),
				(size_t)json_object_get_string_len(v));
	json_object_put(root);
	return rc;
}

time_t gcs_token_refresh_at(time_t obtained, long expires_in)
{
	/* The server's number: obtained + expires_in must not overflow. */
	if (expires_in > 86400)
		expires_in = 86400;
	long early = expires_in / 4;
	if (early > 300)
		early = 300;
	if (early < 1)
		early = 1;
	return obtained + expires_in - early;
}

void gcs_error_parse(char **reason, char **message, const char *json, size_t len)
{
	*reason = *message = NULL;
	struct json_object *root = parse_object(json, len), *err, *errors;
	if (!root)
		return;
	if (json_object_object_get_ex(root, "error", &err) &&
	    json_object_is_type(err, json_type_object)) {
		const char *m = string_of(err, "message");
		*message = m ? xstrdup(m) : NULL;
		if (json_object_object_get_ex(err, "errors", &errors) &&
		    json_object_is_type(errors, json_type_array) &&
		    json_object_array_length(errors) > 0) {
			struct json_object *first = json_object_array_get_idx(errors, 0);
			const char *r = json_object_is_type(first, json_type_object)
					    ? string_of(first, "reason")
					    : NULL;
			*reason = r ? xstrdup(r) : NULL;
		}
	} else if (json_object_is_type(root, json_type_object)) {
		/* The token endpoint: {"error": "invalid_grant", "error_description": ".."} */
		const char *r = string_of(root, "error"), *d = string_of(root, "error_description");
		*reason = r ? xstrdup(r) : NULL;
		*message = d ? xstrdup(d) : NULL;
	}
	json_object_put(root);
}

/* A decimal string member as a number. */
static int size_of(uint64_t *out, struct json_object *o)
{
	const char *s = string_of(o, "size");
	char *end = NULL;
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

int gcs_list_parse(char **next_token, const char *json, size_t len, gcs_list_cb cb, void *ud)
{
	struct json_object *root = parse_object(json, len), *items;
	int rc = 0;
	if (!root)
		return err_set(E_STORE, "objects.list: the reply is not a JSON object");
	if (json_object_object_get_ex(root, "items", &items)) {
		if (!json_object_is_type(items, json_type_array)) {
			rc = err_set(E_STORE, "objects.list: \"items\" is not an array");
			goto done;
		}
		size_t n = json_object_array_length(items);
		for (size_t i = 0; i < n && !rc; i++) {
			struct json_object *it = json_object_array_get_idx(items, i);
			const char *name = json_object_is_type(it, json_type_object)
					       ? string_of(it, "name")
					       : NULL;
			uint64_t size = 0;
			if (!name || size_of(&size, it))
				rc = err_set(E_STORE,
					     "objects.list: item %zu has no name or no size", i);
			else
				rc = cb(name, size, ud);
		}
	}
	if (!rc) {
		const char *t = string_of(root, "nextPageToken");
		*next_token = t ? xstrdup(t) : NULL;
	}
done:
	json_object_put(root);
	return rc;
}

int gcs_object_size(uint64_t *out, const char *json, size_t len)
{
	struct json_object *root = parse_object(json, len);
	int rc = root && size_of(out, root) == 0
		     ? 0
		     : err_set(E_STORE, "the object resource has no size");
	json_object_put(root);
	return rc;
}

int gcs_range_persisted(uint64_t *out, const char *range_header)
{
	if (!range_header || !*range_header) {
		*out = 0;
		return 0;
	}
	unsigned long long end = 0;
	int used = 0;
	/* sscanf saturates at ULLONG_MAX past it: that end, whose + 1 wraps,
	 * is no size either. */
	if (sscanf(range_header, "bytes=0-%llu%n", &end, &used) != 1 ||
	    range_header[used] != '\0' || range_header[8] < '0' || range_header[8] > '9' ||
	    end >= UINT64_MAX)
		return err_set(E_STORE, "the upload's Range header \"%.60s\" is not bytes=0-N",
			       range_header);
	*out = (uint64_t)end + 1;
	return 0;
}
