/* Fuzz target: the JSON that job/store/gcs.c reads: a service-account key file
 * (gcs_key_parse), the token endpoint's reply (gcs_token_parse), an error
 * reply (gcs_error_parse), an objects.list page (gcs_list_parse) and an
 * object resource (gcs_object_size); and the input as a resumable upload's
 * Range header (gcs_range_persisted). Properties: errors are the codes
 * gcs.h documents, outputs are set only on success, a parsed key has an
 * email, a PEM private key and an https:// (or loopback) token URI, a token
 * a positive lifetime, and strings never hold a NUL. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "job/store/gcs.h"
#include "tests/fuzz/fuzz.h"

static int on_item(const char *name, uint64_t size, void *ud)
{
	size_t *n = ud;
	(void)size;
	FUZZ_CHECK(name && *name, "an item without a name");
	(*n)++;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *json = (const char *)data;
	struct gcs_key k, untouched_k;
	struct gcs_token t = {NULL, -7};
	char *reason = NULL, *message = NULL, *next = (char *)"untouched";
	size_t n = 0;
	uint64_t sz = 12345;
	int rc;

	memset(&k, 0x5a, sizeof(k));
	untouched_k = k;
	rc = gcs_key_parse(&k, json, size, "key.json");
	if (fuzz_debug())
		fprintf(stderr, "gcs_key_parse: %d %s\n", rc, rc ? err_msg() : "");
	FUZZ_CHECK(rc == 0 || rc == E_INVALID, "gcs_key_parse returned %d", rc);
	if (rc == 0) {
		FUZZ_CHECK(k.client_email && *k.client_email, "client_email");
		FUZZ_CHECK(k.private_key_pem &&
			       strstr(k.private_key_pem, "-----BEGIN PRIVATE KEY-----"),
			   "private_key");
		FUZZ_CHECK(k.token_uri && (strncmp(k.token_uri, "https://", 8) == 0 ||
					   strncmp(k.token_uri, "http://127.", 11) == 0 ||
					   strncmp(k.token_uri, "http://localhost", 16) == 0),
			   "token_uri %s", k.token_uri);
		gcs_key_dispose(&k);
	} else {
		FUZZ_CHECK(memcmp(&k, &untouched_k, sizeof(k)) == 0, "a failed parse changed *out");
	}

	rc = gcs_token_parse(&t, json, size);
	FUZZ_CHECK(rc == 0 || rc == E_STORE, "gcs_token_parse returned %d", rc);
	if (rc == 0) {
		FUZZ_CHECK(t.access_token && *t.access_token && t.expires_in > 0, "token");
		time_t at = gcs_token_refresh_at(1000000, t.expires_in);
		FUZZ_CHECK(at >= 1000000 && at - 1000000 < t.expires_in, "refreshed after expiry");
		free(t.access_token);
	} else {
		FUZZ_CHECK(t.access_token == NULL && t.expires_in == -7,
			   "a failed parse changed *out");
	}

	gcs_error_parse(&reason, &message, json, size);
	free(reason);
	free(message);

	rc = gcs_list_parse(&next, json, size, on_item, &n);
	FUZZ_CHECK(rc == 0 || rc == E_STORE, "gcs_list_parse returned %d", rc);
	if (rc == 0) {
		FUZZ_CHECK(!next || *next, "an empty nextPageToken");
		free(next);
	} else {
		FUZZ_CHECK(strcmp(next, "untouched") == 0, "a failed parse set the token");
	}

	rc = gcs_object_size(&sz, json, size);
	FUZZ_CHECK(rc == 0 || (rc == E_STORE && sz == 12345), "gcs_object_size: %d", rc);

	char *range = fuzz_strndup(data, size);
	sz = 12345;
	rc = gcs_range_persisted(&sz, range);
	FUZZ_CHECK(rc == 0 || (rc == E_STORE && sz == 12345), "gcs_range_persisted: %d", rc);
	free(range);
	return 0;
}
