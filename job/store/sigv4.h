/* AWS Signature Version 4, pure: canonical request, string to sign, signing
 * key and Authorization header from what the caller gives (time included).
 * No I/O; the S3 backend and the unit tests are its callers. */
#ifndef LIFEBOAT_SIGV4_H
#define LIFEBOAT_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;

/* A header to sign: the name in any case, the value as sent. */
struct sigv4_header {
	const char *name;
	const char *value;
};

/* A query parameter, NOT encoded (the signer encodes both parts). A NULL
 * value is a parameter without "=" ("?uploads"), signed as "uploads=". */
struct sigv4_param {
	const char *name;
	const char *value;
};

struct sigv4_request {
	const char *method;
	/* The path exactly as sent: already URI-encoded, "/" when empty.
	 * S3 signs it as it is (no normalization, no second encoding). */
	const char *path;
	const struct sigv4_param *query;
	size_t nquery;
	/* Every header to sign, host and x-amz-date included. Names are
	 * lowercased, values trimmed and inner runs of spaces squeezed;
	 * repeated names are joined with "," in the order given. */
	const struct sigv4_header *headers;
	size_t nheaders;
	/* Lowercase hex SHA-256 of the payload, or "UNSIGNED-PAYLOAD". */
	const char *payload_hash;
};

struct sigv4_credentials {
	const char *access_key;
	const char *secret_key;
	const char *region;  /* "us-east-1" */
	const char *service; /* "s3" */
};

#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED "UNSIGNED-PAYLOAD"

/* Appends s[0..n) URI-encoded as SigV4 wants: A-Z a-z 0-9 - . _ ~ kept,
 * every other byte as %XX (uppercase hex); "/" kept when keep_slash (object
 * key paths), encoded otherwise (query names and values). Returns 0 or
 * E_TOOBIG from the buffer. */
int sigv4_uri_encode(struct buf *out, const char *s, size_t n, int keep_slash);
/* The canonical query string: each name and value encoded, sorted by name
 * then value (bytewise), joined with "&". Also usable as the URL's query. */
int sigv4_canonical_query(struct buf *out, const struct sigv4_param *q, size_t n);
/* The six-part canonical request. E_INVALID for a missing method or path,
 * a header name that is empty or not a token, or no payload hash. */
int sigv4_canonical_request(struct buf *out, const struct sigv4_request *r);
/* "host;x-amz-content-sha256;x-amz-date": the signed header names. */
int sigv4_signed_headers(struct buf *out, const struct sigv4_request *r);
/* "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of creq>"; scope is
 * "<yyyymmdd>/<region>/<service>/aws4_request". */
int sigv4_string_to_sign(struct buf *out, const char *amz_date, const char *scope,
			 const char *canonical_request);
/* kSigning = HMAC chain over "AWS4"+secret, date (yyyymmdd), region,
 * service, "aws4_request". */
void sigv4_signing_key(uint8_t out[32], const char *secret, const char *date8, const char *region,
		       const char *service);
/* The full Authorization header value for r signed at amz_date
 * ("20130524T000000Z"). The caller must have put the same amz_date in an
 * x-amz-date header of r. E_INVALID names what is missing or malformed. */
int sigv4_authorization(struct buf *out, const struct sigv4_request *r,
			const struct sigv4_credentials *c, const char *amz_date);
/* "YYYYMMDDTHHMMSSZ" in UTC. */
void sigv4_amz_date(char out[17], time_t now);
/* Lowercase hex SHA-256 of p[0..n). */
void sigv4_sha256_hex(char out[65], const void *p, size_t n);

#endif
