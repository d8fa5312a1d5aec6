/* The pure half of the S3 backend: storage URL parsing, request URLs, the
 * shared-credentials file format and a small XML extractor for S3 replies.
 * No I/O: job/store/store_s3.c does the requests. */
#ifndef LIFEBOAT_S3_H
#define LIFEBOAT_S3_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define S3_MIN_PART_SIZE ((size_t)5 * 1024 * 1024)
#define S3_MAX_PART_SIZE ((size_t)5 * 1024 * 1024 * 1024)
#define S3_DEFAULT_PART_SIZE ((size_t)8 * 1024 * 1024)
#define S3_DEFAULT_IN_FLIGHT 2
/* One object: at most this many parts, and 5 TiB. */
#define S3_MAX_PARTS 10000u
#define S3_MAX_OBJECT ((uint64_t)5 * 1024 * 1024 * 1024 * 1024)

/* What an s3:// or gs:// URL says. Every string is owned (NULL = unset). */
struct s3_config {
	char *scheme; /* "s3" or "gs" */
	char *bucket;
	char *prefix;	/* no leading or trailing "/"; "" for the bucket root */
	char *endpoint; /* "https://host[:port]", no path, no trailing "/" */
	char *host;	/* what goes in the Host header: "host[:port]" of endpoint,
			 * with "bucket." in front for virtual-hosted style */
	int virtual_style;
	char *region;
	char *sse; /* "AES256" or "aws:kms" */
	char *kms_key_id;
	char *storage_class;
	char *ca_bundle; /* a file name */
	size_t part_size;
	int in_flight;
	int max_attempts;   /* per request, >= 1 */
	long stall_seconds; /* a transfer under 1 byte/s this long is dropped */
	int max_keys;	    /* ListObjectsV2 page size */
};

/* Parses url. env_region (AWS_REGION or AWS_DEFAULT_REGION, may be NULL) is
 * the region when the URL names none. E_INVALID names what is wrong; the
 * message never repeats the query string's values beyond the one at fault. */
int s3_config_parse(struct s3_config *out, const char *url, const char *env_region);
void s3_config_dispose(struct s3_config *c);
/* "s3://bucket/prefix": for messages and results; never holds credentials. */
char *s3_config_display(const struct s3_config *c);
/* The full object key for a store key: "prefix/key" (or "key"). */
char *s3_config_object_key(const struct s3_config *c, const char *key);
/* The request path (URI-encoded, as sent and as signed) for an object key,
 * or for the bucket when object_key is NULL. */
char *s3_config_path(const struct s3_config *c, const char *object_key);

/* "5MiB", "8388608", "16 MiB", "1GiB": bytes. E_INVALID when malformed. */
int s3_parse_size(uint64_t *out, const char *s);

/* Keys from an AWS shared credentials file (~/.aws/credentials): the
 * [profile] section's aws_access_key_id, aws_secret_access_key and
 * aws_session_token. Owned strings; E_NOTFOUND when the profile or its keys
 * are missing. */
struct s3_credentials {
	char *access_key;
	char *secret_key;
	char *session_token;
};
int s3_credentials_parse(struct s3_credentials *out, const char *text, const char *profile);
/* Wipes and frees. */
void s3_credentials_dispose(struct s3_credentials *c);

/* XML: a span of the reply text. */
struct s3_span {
	const char *p;
	size_t n;
};

/* Finds the next element <tag>...</tag> (also <tag attr="..">) at or after
 * *pos in xml[0..len); sets *content to what lies between the tags and
 * moves *pos past the closing tag. Returns 1 when found, 0 when not (or
 * when the document is cut short). Never reads outside xml[0..len). */
int s3_xml_next(const char *xml, size_t len, size_t *pos, const char *tag, struct s3_span *content);
/* The first <tag> anywhere in span, decoded (entities, CDATA); NULL when
 * absent. Owned by the caller. */
char *s3_xml_text(struct s3_span in, const char *tag);
/* Decodes &amp; &lt; &gt; &quot; &apos; &#N; &#xN; and CDATA sections; an
 * unknown or malformed entity is kept as it is. Owned by the caller. */
char *s3_xml_decode(const char *p, size_t n);
/* Appends s with & < > " ' escaped. */
int s3_xml_escape(struct buf *out, const char *s);

#endif
