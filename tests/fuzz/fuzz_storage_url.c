/* Fuzz target: the storage URL parsers and what else a user writes into a
 * Secret or a flag: s3:// and gs:// URLs (s3_config_parse, then the
 * display form, object keys and request paths built from the result),
 * azure:// URLs (azure_url_parse), Azure connection strings
 * (azure_conn_parse), sizes ("16 MiB", s3_parse_size) and AWS shared
 * credentials files (s3_credentials_parse). The input is a C string (up to
 * its first NUL), as these get it. Properties: errors are E_INVALID (and
 * E_NOTFOUND for a credentials file without the profile); a parsed S3 URL
 * has a bucket, a prefix without slashes at its ends, an endpoint without
 * a trailing slash, and settings within their documented ranges; the
 * display form carries no query (credentials never show); an Azure URL has
 * a valid container and its block size and parallelism in range. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "job/store/azure.h"
#include "job/store/s3.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

static void s3_url(const char *url, const char *env_region)
{
	struct s3_config c;
	memset(&c, 0, sizeof(c));
	int rc = s3_config_parse(&c, url, env_region);
	if (fuzz_debug())
		fprintf(stderr, "s3_config_parse: %d %s\n", rc, rc ? err_msg() : "");
	FUZZ_CHECK(rc == 0 || rc == E_INVALID, "s3_config_parse returned %d", rc);
	if (rc)
		return;
	size_t pn = strlen(c.prefix), en = strlen(c.endpoint);
	FUZZ_CHECK(c.scheme && (strcmp(c.scheme, "s3") == 0 || strcmp(c.scheme, "gs") == 0),
		   "scheme");
	FUZZ_CHECK(c.bucket && *c.bucket, "bucket");
	FUZZ_CHECK(pn == 0 || (c.prefix[0] != '/' && c.prefix[pn - 1] != '/'), "prefix \"%s\"",
		   c.prefix);
	FUZZ_CHECK(en > 0 && c.endpoint[en - 1] != '/', "endpoint \"%s\"", c.endpoint);
	FUZZ_CHECK(c.host && *c.host && c.region && *c.region, "host and region");
	FUZZ_CHECK(c.part_size >= S3_MIN_PART_SIZE && c.part_size <= S3_MAX_PART_SIZE,
		   "partSize %zu", c.part_size);
	FUZZ_CHECK(c.in_flight >= 1 && c.max_attempts >= 1 && c.max_keys >= 1 &&
		       c.stall_seconds >= 1,
		   "inFlight %d, maxAttempts %d, maxKeys %d, stallTimeout %ld", c.in_flight,
		   c.max_attempts, c.max_keys, c.stall_seconds);
	char *d = s3_config_display(&c), *k = s3_config_object_key(&c, "ns/name/manifest.json");
	char *p = s3_config_path(&c, k), *b = s3_config_path(&c, NULL);
	FUZZ_CHECK(!strchr(d, '?'), "the display form \"%s\" has a query", d);
	FUZZ_CHECK(p[0] == '/' && b[0] == '/', "request paths \"%s\", \"%s\"", p, b);
	free(d);
	free(k);
	free(p);
	free(b);
	s3_config_dispose(&c);
}

static void azure(const char *s)
{
	struct azure_url u;
	struct azure_conn c;
	memset(&u, 0, sizeof(u));
	int rc = azure_url_parse(&u, s);
	FUZZ_CHECK(rc == 0 || rc == E_INVALID, "azure_url_parse returned %d", rc);
	if (rc == 0) {
		size_t pn = strlen(u.prefix);
		FUZZ_CHECK(azure_check_container(u.container, "container") == 0, "container \"%s\"",
			   u.container);
		FUZZ_CHECK(pn == 0 || (u.prefix[0] != '/' && u.prefix[pn - 1] != '/'),
			   "prefix \"%s\"", u.prefix);
		FUZZ_CHECK(!u.account || azure_check_account(u.account, "account") == 0, "account");
		FUZZ_CHECK(!u.endpoint || u.endpoint[strlen(u.endpoint) - 1] != '/', "endpoint");
		FUZZ_CHECK(u.block_size >= AZURE_BLOCK_SIZE_MIN &&
			       u.block_size <= AZURE_BLOCK_SIZE_MAX,
			   "blockSize %zu", u.block_size);
		FUZZ_CHECK(u.parallel >= 1 && u.retries >= 0, "parallel %d, retries %d", u.parallel,
			   u.retries);
		azure_url_dispose(&u);
	}
	memset(&c, 0, sizeof(c));
	rc = azure_conn_parse(&c, s);
	FUZZ_CHECK(rc == 0 || rc == E_INVALID, "azure_conn_parse returned %d", rc);
	if (rc == 0)
		azure_conn_dispose(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	struct s3_credentials cr;
	uint64_t n = 77;
	int rc;

	s3_url(s, NULL);
	s3_url(s, "eu-north-1");
	azure(s);
	rc = s3_parse_size(&n, s);
	FUZZ_CHECK(rc == 0 || (rc == E_INVALID && n == 77), "s3_parse_size: %d", rc);
	memset(&cr, 0, sizeof(cr));
	rc = s3_credentials_parse(&cr, s, "default");
	FUZZ_CHECK(rc == 0 || rc == E_NOTFOUND || rc == E_INVALID, "s3_credentials_parse: %d", rc);
	if (rc == 0) {
		FUZZ_CHECK(cr.access_key && cr.secret_key, "credentials without both keys");
		s3_credentials_dispose(&cr);
	}
	free(s);
	return 0;
}
