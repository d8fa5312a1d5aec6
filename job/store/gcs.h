/* The pure half of the GCS JSON API backend: service-account key files, the
 * signed JWT exchanged for an access token (RFC 7523), the token endpoint's
 * reply and when to refresh it, and the JSON API's replies (object lists,
 * errors, a resumable upload's persisted range). No I/O: job/store/store_gcs.c
 * does the requests. */
#ifndef LIFEBOAT_GCS_H
#define LIFEBOAT_GCS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define GCS_SCOPE "https://www.googleapis.com/auth/devstorage.read_write"
#define GCS_DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
/* Resumable upload chunks other than the last are multiples of this. */
#define GCS_CHUNK_GRANULE ((size_t)256 * 1024)

/* What a service-account key file ("type": "service_account") holds. Every
 * string is owned; private_key_pem is wiped by gcs_key_dispose. */
struct gcs_key {
	char *client_email;
	char *private_key_pem;
	char *private_key_id; /* may be NULL */
	char *token_uri;      /* the key's, else GCS_DEFAULT_TOKEN_URI */
};

/* Parses a key file's text. E_INVALID names `source` (the file) and the
 * field at fault, never a value of the key. */
int gcs_key_parse(struct gcs_key *out, const char *json, size_t len, const char *source);
void gcs_key_dispose(struct gcs_key *k);

/* The assertion for the token request: header.claims.signature, RS256 with
 * the key's private key; iat = now, exp = now + 3600, aud = token_uri.
 * E_INVALID when the private key is not a usable RSA key. Owned. */
int gcs_jwt(char **out, const struct gcs_key *k, const char *scope, time_t now);

/* The token endpoint's 200 reply. access_token is owned (wipe it). */
struct gcs_token {
	char *access_token;
	long expires_in; /* seconds */
};
/* E_STORE naming what is missing. */
int gcs_token_parse(struct gcs_token *out, const char *json, size_t len);
/* The time to fetch a new token for one obtained at `obtained` that lives
 * expires_in seconds: a quarter of its life early, at most 5 minutes, at
 * least 1 second. A life longer than a day counts as a day. */
time_t gcs_token_refresh_at(time_t obtained, long expires_in);

/* An error reply {"error": {"code", "message", "errors": [{"reason"}]}}:
 * owned reason and message (NULL when absent, or when it is not JSON). */
void gcs_error_parse(char **reason, char **message, const char *json, size_t len);

/* One page of objects.list: cb for each item (name, size); *next_token gets
 * nextPageToken (owned; NULL on the last page). E_STORE for a malformed page;
 * a non-zero cb return stops and is returned. */
typedef int (*gcs_list_cb)(const char *name, uint64_t size, void *ud);
int gcs_list_parse(char **next_token, const char *json, size_t len, gcs_list_cb cb, void *ud);

/* An object resource's "size" (a decimal string). E_STORE when absent. */
int gcs_object_size(uint64_t *out, const char *json, size_t len);

/* Bytes a resumable upload holds, from a 308 reply's Range header
 * ("bytes=0-N" holds N+1; no header holds 0). E_STORE when malformed. */
int gcs_range_persisted(uint64_t *out, const char *range_header);

/* base64url without padding (RFC 4648 section 5). Owned. */
char *gcs_base64url(const uint8_t *p, size_t n);

#endif
