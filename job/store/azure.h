/* The pure core of the Azure Blob backend (store_azure.c does the I/O): the
 * storage URL and connection strings, SharedKey signing, block ids, and the
 * few XML replies we read. No I/O; the clock comes in as an argument. */
#ifndef LIFEBOAT_AZURE_H
#define LIFEBOAT_AZURE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf;

/* The x-ms-version every request carries (Azurite needs
 * --skipApiVersionCheck for versions newer than it knows). */
#define AZURE_API_VERSION "2021-08-06"
#define AZURE_BLOCK_SIZE_DEFAULT (8u * 1024 * 1024)
#define AZURE_BLOCK_SIZE_MIN (64u * 1024)
#define AZURE_BLOCK_SIZE_MAX (1024u * 1024 * 1024)
#define AZURE_PARALLEL_DEFAULT 2
#define AZURE_RETRIES_DEFAULT 5
/* Block ids: base64 of a zero-padded 6-digit number, all the same length. */
#define AZURE_BLOCK_ID_LEN 8
#define AZURE_BLOCKS_MAX 50000
/* The service's largest block (from version 2019-12-12). */
#define AZURE_BLOCK_BYTES_MAX (4000ull * 1024 * 1024)

/* azure://CONTAINER/PREFIX?account=NAME&endpoint=URL&blockSize=8MiB&parallel=2
 * &retries=5&caFile=PATH, parsed. Every string is owned. */
struct azure_url {
	char *container;
	char *prefix;	/* "" or "a/b" (no leading or trailing slash) */
	char *account;	/* NULL when the URL has none (a connection string may) */
	char *endpoint; /* NULL when the URL has none; else no trailing slash */
	char *ca_file;	/* NULL: the system CA store */
	size_t block_size;
	int parallel;
	int retries;
};

/* E_INVALID naming the part that is wrong. */
int azure_url_parse(struct azure_url *out, const char *url);
void azure_url_dispose(struct azure_url *u);

/* An Azure connection string ("AccountName=..;AccountKey=..;..."), parsed.
 * Owned strings, NULL when absent; key is wiped by dispose. */
struct azure_conn {
	char *account;
	char *key; /* base64, as given */
	char *sas; /* without a leading '?' */
	char *blob_endpoint;
	char *protocol; /* DefaultEndpointsProtocol */
	char *suffix;	/* EndpointSuffix */
};

/* E_INVALID for a malformed string; the message never quotes values. */
int azure_conn_parse(struct azure_conn *out, const char *s);
void azure_conn_dispose(struct azure_conn *c);

/* Account names: 3-24 lowercase letters and digits. 0 or E_INVALID. */
int azure_check_account(const char *account, const char *what);
/* Container names: 3-63 of [a-z0-9-], starting with a letter or digit, no
 * "--", not ending in '-'. 0 or E_INVALID. */
int azure_check_container(const char *container, const char *what);

/* Standard base64 with padding. encode returns a heap string. decode
 * returns 0 and a heap buffer, or E_INVALID on bad input. */
char *azure_base64(const uint8_t *p, size_t n);
int azure_base64_decode(uint8_t **out, size_t *outlen, const char *s);

/* RFC 1123 date for x-ms-date: "Sun, 22 Nov 2026 01:11:09 GMT". */
void azure_http_date(char out[32], time_t now);

/* The block id of block number n (1-based, < 1,000,000), NUL-terminated. */
void azure_block_id(char out[AZURE_BLOCK_ID_LEN + 1], int n);

struct azure_header {
	const char *name;
	const char *value;
};

/* One request as SharedKey sees it. */
struct azure_sign_input {
	const char *method;
	const char *account;
	const char *path;  /* the URL's path, percent-encoded as sent: "/c/a%20b" */
	const char *query; /* the URL's query, encoded, without '?'; NULL or "" for none */
	const struct azure_header *headers; /* every header sent */
	size_t nheaders;
};

/* The string-to-sign of the 2009-09-19+ SharedKey scheme (Content-Length
 * empty when 0, as from version 2015-02-21). E_INVALID on a malformed
 * query (bad percent-escape). */
int azure_string_to_sign(struct buf *out, const struct azure_sign_input *in);
/* "SharedKey ACCOUNT:SIGNATURE", heap string; key is the decoded account
 * key. 0 or E_INVALID. */
int azure_sign(char **out, const struct azure_sign_input *in, const uint8_t *key, size_t keylen);

/* Content-MD5 value: base64 of the MD5 of the bytes (24 characters). */
void azure_content_md5(char out[25], const uint8_t *p, size_t n);

/* The Put Block List body for blocks 1..count, heap string. */
char *azure_block_list_xml(int count);

/* --- the XML replies --- */

/* Called for each <Blob> of a List Blobs reply; non-zero stops the walk and
 * is returned. name is borrowed for the call. */
typedef int (*azure_blob_cb)(const char *name, uint64_t size, void *ud);

/* Walks a List Blobs reply. *next_marker (heap, or NULL when the listing
 * is complete) is set only on success. E_STORE for malformed XML. */
int azure_list_parse(char **next_marker, const char *xml, size_t len, azure_blob_cb cb, void *ud);

/* An <Error><Code>..</Code><Message>..</Message></Error> reply: heap
 * strings (the message's first line), NULL when absent or malformed. */
void azure_error_parse(char **code, char **message, const char *xml, size_t len);

/* The text of the first element named tag inside [p, p+len), entities
 * decoded, heap string; NULL when absent or malformed. */
char *azure_xml_text(const char *p, size_t len, const char *tag);

#endif
