/* Fuzz target: manifest.json text into manifest_parse (job/model/manifest.c), the
 * parser of an untrusted object every restore, verify and listing reads.
 * Properties: the error is one manifest.h documents; what parses
 * re-serialises with manifest_to_json, parses again to an equal manifest,
 * and serialises again to the same text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/err.h"
#include "job/model/manifest.h"
#include "tests/fuzz/fuzz.h"

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void check_equal(const struct manifest *a, const struct manifest *b)
{
	FUZZ_CHECK(a->format_version == b->format_version, "formatVersion");
	FUZZ_CHECK(same_str(a->namespace_, b->namespace_), "namespace");
	FUZZ_CHECK(same_str(a->name, b->name), "name");
	FUZZ_CHECK(same_str(a->tool_version, b->tool_version), "toolVersion");
	FUZZ_CHECK(a->created_at == b->created_at, "createdAt %lld, %lld", (long long)a->created_at,
		   (long long)b->created_at);
	FUZZ_CHECK(a->completed_at == b->completed_at, "completedAt");
	FUZZ_CHECK(same_str(a->format, b->format), "format");
	FUZZ_CHECK(same_str(a->compression, b->compression), "compression.algorithm");
	FUZZ_CHECK(a->compression_level == b->compression_level, "compression.level");
	FUZZ_CHECK(a->nobjects == b->nobjects, "objects: %zu, %zu", a->nobjects, b->nobjects);
	for (size_t i = 0; i < a->nobjects; i++) {
		FUZZ_CHECK(same_str(a->objects[i].key, b->objects[i].key), "objects[%zu].key", i);
		FUZZ_CHECK(a->objects[i].size == b->objects[i].size, "objects[%zu].size", i);
		FUZZ_CHECK(strcmp(a->objects[i].sha256, b->objects[i].sha256) == 0,
			   "objects[%zu].sha256", i);
	}
	FUZZ_CHECK(strcmp(manifest_stream_sha256(a), manifest_stream_sha256(b)) == 0,
		   "the stream's sha256: %s, then %s", manifest_stream_sha256(a),
		   manifest_stream_sha256(b));
	FUZZ_CHECK(manifest_stored_size(a) == manifest_stored_size(b), "the stored size");
	FUZZ_CHECK(a->plaintext_size == b->plaintext_size, "plaintext.size");
	FUZZ_CHECK(strcmp(a->plaintext_sha256, b->plaintext_sha256) == 0, "plaintext.sha256");
	FUZZ_CHECK(a->encrypted == b->encrypted, "encryption.enabled");
	FUZZ_CHECK(same_str(a->cipher, b->cipher), "encryption.cipher");
	FUZZ_CHECK(same_str(a->s2k, b->s2k), "encryption.s2k");
	FUZZ_CHECK(a->s2k_count == b->s2k_count, "encryption.s2kCount");
	FUZZ_CHECK(same_str(a->server_version, b->server_version), "postgresql.serverVersion");
	FUZZ_CHECK(a->server_version_num == b->server_version_num, "postgresql.serverVersionNum");
	FUZZ_CHECK(same_str(a->dump_version, b->dump_version), "postgresql.dumpVersion");
	FUZZ_CHECK(same_str(a->database, b->database), "database.name");
	FUZZ_CHECK(a->database_size == b->database_size, "database.sizeBytes");
	FUZZ_CHECK(a->table_count == b->table_count, "database.tableCount");
	FUZZ_CHECK(a->row_estimate == b->row_estimate, "database.rowEstimate");
	FUZZ_CHECK(same_str(a->schema_version, b->schema_version), "database.schemaVersion");
	FUZZ_CHECK(same_str(a->files.key, b->files.key), "files.object");
	if (a->files.key) {
		FUZZ_CHECK(a->files.size == b->files.size && a->files.count == b->files.count &&
			       a->files.plaintext_size == b->files.plaintext_size &&
			       strcmp(a->files.sha256, b->files.sha256) == 0 &&
			       strcmp(a->files.plaintext_sha256, b->files.plaintext_sha256) == 0,
			   "files");
	}
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
	struct manifest m, again;
	struct buf text, text2;
	int rc = manifest_parse(&m, (const char *)data, size);

	if (fuzz_debug())
		fprintf(stderr, "manifest_parse: %d %s\n", rc, rc ? err_msg() : "");
	FUZZ_CHECK(rc == 0 || rc == E_INTEGRITY || rc == E_UNSUPPORTED,
		   "manifest_parse returned %d, which manifest.h does not document", rc);
	if (rc)
		return 0;
	buf_init(&text, (size_t)-1);
	buf_init(&text2, (size_t)-1);
	FUZZ_CHECK(manifest_to_json(&m, &text) == 0, "manifest_to_json");
	rc = manifest_parse(&again, buf_str(&text), text.len);
	FUZZ_CHECK(rc == 0, "what manifest_to_json wrote does not parse: %s", buf_str(&text));
	check_equal(&m, &again);
	FUZZ_CHECK(manifest_to_json(&again, &text2) == 0, "manifest_to_json");
	FUZZ_CHECK(text.len == text2.len && memcmp(text.ptr, text2.ptr, text.len) == 0,
		   "serialised twice, the texts differ:\n%s\n%s", buf_str(&text), buf_str(&text2));
	manifest_dispose(&m);
	manifest_dispose(&again);
	buf_dispose(&text);
	buf_dispose(&text2);
	return 0;
}
