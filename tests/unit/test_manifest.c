/* Tests for job/model/manifest.c: serialisation, strict parsing of untrusted
 * manifest.json text, and the time helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"
#include "job/model/manifest.h"

static const char sha_a[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static const char sha_b[] = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/* A manifest with every field set to something other than its default. */
static void fill(struct manifest *m, int encrypted)
{
	manifest_init(m);
	m->namespace_ = xstrdup("team-a");
	m->name = xstrdup("nightly-20261121");
	m->tool_version = xstrdup("0.1.0");
	m->created_at = 1763683200;
	m->completed_at = 1763683321;
	m->format = xstrdup("custom");
	m->compression = xstrdup("zstd");
	m->compression_level = 7;
	m->compression_auto = 1;
	m->compression_lo = 1;
	m->compression_hi = 9;
	m->compression_levels[0].level = 6;
	m->compression_levels[0].bytes = 1000;
	m->compression_levels[1].level = 7;
	m->compression_levels[1].bytes = 9876542210ull;
	m->compression_nlevels = 2;
	assert_int_equal(manifest_add_object(m, encrypted ? "db.dump.zst.pgp" : "db.dump.zst",
					     123456789012ull, sha_a),
			 0);
	assert_int_equal(manifest_add_object(m, "extra.bin", 0, sha_b), 0);
	memcpy(m->stream_sha256, sha_b, 65);
	m->plaintext_size = 9876543210ull;
	memcpy(m->plaintext_sha256, sha_b, 65);
	m->encrypted = encrypted;
	if (encrypted) {
		m->cipher = xstrdup("AES256");
		m->s2k = xstrdup("iterated-salted-sha256");
		m->s2k_count = 65011712;
	}
	m->server_version = xstrdup("15.18");
	m->server_version_num = 150018;
	m->dump_version = xstrdup("16.4");
	m->database = xstrdup("app");
	m->database_size = 1ull << 40;
	m->table_count = 42;
	m->row_estimate = -1; /* reltuples of never-analysed tables */
	m->schema_version = xstrdup("20261101_add_orders");
	if (encrypted) {
		m->files.key = xstrdup("files.tar.zst.pgp");
		m->files.size = 5000000000ull;
		memcpy(m->files.sha256, sha_b, 65);
		m->files.count = 3017;
		m->files.plaintext_size = 7000000000ull;
		memcpy(m->files.plaintext_sha256, sha_a, 65);
	}
}

static char *to_json(const struct manifest *m)
{
	struct buf b;
	buf_init(&b, MANIFEST_MAX_BYTES);
	assert_int_equal(manifest_to_json(m, &b), 0);
	return buf_take(&b);
}

static char *valid_text(void)
{
	struct manifest m;
	fill(&m, 1);
	char *t = to_json(&m);
	manifest_dispose(&m);
	return t;
}

static void assert_str_field(const char *got, const char *want)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(got, want);
}

static void assert_manifests_equal(const struct manifest *a, const struct manifest *b)
{
	assert_int_equal(a->format_version, b->format_version);
	assert_str_field(a->namespace_, b->namespace_);
	assert_str_field(a->name, b->name);
	assert_str_field(a->tool_version, b->tool_version);
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->completed_at, b->completed_at);
	assert_str_field(a->format, b->format);
	assert_str_field(a->compression, b->compression);
	assert_int_equal(a->compression_level, b->compression_level);
	assert_int_equal(a->compression_auto, b->compression_auto);
	assert_int_equal(a->compression_lo, b->compression_lo);
	assert_int_equal(a->compression_hi, b->compression_hi);
	assert_int_equal(a->compression_nlevels, b->compression_nlevels);
	for (size_t i = 0; i < a->compression_nlevels; i++) {
		assert_int_equal(a->compression_levels[i].level, b->compression_levels[i].level);
		assert_int_equal(a->compression_levels[i].bytes, b->compression_levels[i].bytes);
	}
	assert_string_equal(manifest_stream_sha256(a), manifest_stream_sha256(b));
	assert_int_equal(a->nobjects, b->nobjects);
	for (size_t i = 0; i < a->nobjects; i++) {
		assert_string_equal(a->objects[i].key, b->objects[i].key);
		assert_int_equal(a->objects[i].size, b->objects[i].size);
		assert_string_equal(a->objects[i].sha256, b->objects[i].sha256);
	}
	assert_int_equal(a->plaintext_size, b->plaintext_size);
	assert_string_equal(a->plaintext_sha256, b->plaintext_sha256);
	assert_int_equal(a->encrypted, b->encrypted);
	assert_str_field(a->cipher, b->cipher);
	assert_str_field(a->s2k, b->s2k);
	assert_int_equal(a->s2k_count, b->s2k_count);
	assert_str_field(a->server_version, b->server_version);
	assert_int_equal(a->server_version_num, b->server_version_num);
	assert_str_field(a->dump_version, b->dump_version);
	assert_str_field(a->database, b->database);
	assert_int_equal(a->database_size, b->database_size);
	assert_int_equal(a->table_count, b->table_count);
	assert_int_equal(a->row_estimate, b->row_estimate);
	assert_str_field(a->schema_version, b->schema_version);
	assert_str_field(a->files.key, b->files.key);
	if (a->files.key) {
		assert_int_equal(a->files.size, b->files.size);
		assert_string_equal(a->files.sha256, b->files.sha256);
		assert_int_equal(a->files.count, b->files.count);
		assert_int_equal(a->files.plaintext_size, b->files.plaintext_size);
		assert_string_equal(a->files.plaintext_sha256, b->files.plaintext_sha256);
	}
}

/* Parses text (exactly len bytes, copied so ASan sees any overread) and
 * returns the code; a success is disposed. */
static int parse_len(const char *text, size_t len)
{
	char *copy = xmalloc(len ? len : 1);
	memcpy(copy, text, len);
	struct manifest m;
	memset(&m, 0xa5, sizeof(m));
	err_clear();
	int rc = manifest_parse(&m, copy, len);
	free(copy);
	if (rc == 0) {
		manifest_dispose(&m);
	} else {
		/* The output is set only on success. */
		unsigned char *p = (unsigned char *)&m;
		for (size_t i = 0; i < sizeof(m); i++)
			if (p[i] != 0xa5)
				fail_msg("manifest_parse wrote its output on failure (%d)", rc);
	}
	return rc;
}

static int parse_text(const char *text)
{
	return parse_len(text, strlen(text));
}

static void expect_reject(const char *text, int code, const char *needle)
{
	int rc = parse_text(text);
	if (rc != code)
		fail_msg("want %d, got %d (%s) for \"%s\" in: %.100s...", code, rc, err_msg(),
			 needle, text);
	if (!strstr(err_msg(), needle))
		fail_msg("message lacks \"%s\": %s", needle, err_msg());
}

/* --- editing valid JSON: "compression.level", "objects[1].sha256" --- */

/* Walks to the parent of the last path component; returns that name. */
static struct json_object *walk(struct json_object *root, const char *path, char last[64])
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	struct json_object *cur = root;
	char *save = NULL;
	char *part = strtok_r(buf, ".", &save);
	for (;;) {
		char *next = strtok_r(NULL, ".", &save);
		if (!next) {
			snprintf(last, 64, "%s", part);
			return cur;
		}
		char *br = strchr(part, '[');
		if (br)
			*br = '\0';
		assert_true(json_object_object_get_ex(cur, part, &cur));
		if (br)
			cur = json_object_array_get_idx(cur, (size_t)atoi(br + 1));
		assert_non_null(cur);
		part = next;
	}
}

/* The valid manifest with the field at path replaced by v (NULL: deleted).
 * Takes ownership of v. */
static char *with_field(const char *path, struct json_object *v)
{
	char *text = valid_text();
	struct json_object *root = json_tokener_parse(text);
	assert_non_null(root);
	char last[64];
	struct json_object *parent = walk(root, path, last);
	char *br = strchr(last, '[');
	if (br) {
		*br = '\0';
		struct json_object *arr;
		assert_true(json_object_object_get_ex(parent, last, &arr));
		assert_non_null(v);
		assert_int_equal(json_object_array_put_idx(arr, (size_t)atoi(br + 1), v), 0);
	} else if (v) {
		json_object_object_add(parent, last, v);
	} else {
		json_object_object_del(parent, last);
	}
	char *out = xstrdup(json_object_to_json_string(root));
	json_object_put(root);
	free(text);
	return out;
}

static void expect_field_rejected(const char *path, struct json_object *v, int code,
				  const char *needle)
{
	char *text = with_field(path, v);
	expect_reject(text, code, needle);
	free(text);
}

/* --- round trips --- */

static void manifest_parse__round_trip_preserves_every_field(void **state)
{
	(void)state;
	for (int encrypted = 0; encrypted <= 1; encrypted++) {
		struct manifest m, back;
		fill(&m, encrypted);
		char *text = to_json(&m);
		assert_int_equal(manifest_parse(&back, text, strlen(text)), 0);
		assert_manifests_equal(&back, &m);
		/* And serialising again gives the same text. */
		char *again = to_json(&back);
		assert_string_equal(again, text);
		free(again);
		free(text);
		manifest_dispose(&back);
		manifest_dispose(&m);
	}
}

static void manifest_parse__round_trip_keeps_absent_optional_fields_absent(void **state)
{
	(void)state;
	struct manifest m, back;
	fill(&m, 0);
	free(m.tool_version);
	m.tool_version = NULL;
	free(m.schema_version);
	m.schema_version = NULL;
	free(m.format);
	m.format = xstrdup("plain");
	free(m.compression);
	m.compression = xstrdup("none");
	m.compression_level = 0;
	char *text = to_json(&m);
	assert_int_equal(manifest_parse(&back, text, strlen(text)), 0);
	assert_manifests_equal(&back, &m);
	free(text);
	manifest_dispose(&back);
	manifest_dispose(&m);
}

static void manifest_parse__accepts_missing_optional_fields(void **state)
{
	(void)state;
	static const char *const optional[] = {
	    "toolVersion",
	    "compression.level",
	    "encryption.cipher",
	    "encryption.s2k",
	    "encryption.s2kCount",
	    "encryption.standard",
	    "postgresql.serverVersionNum",
	    "database.sizeBytes",
	    "database.tableCount",
	    "database.rowEstimate",
	    "database.schemaVersion",
	};
	for (size_t i = 0; i < sizeof(optional) / sizeof(optional[0]); i++) {
		char *text = with_field(optional[i], NULL);
		if (parse_text(text) != 0)
			fail_msg("without %s: %s", optional[i], err_msg());
		free(text);
		/* JSON null counts as absent. */
		text = with_field(optional[i], json_object_new_null());
		if (parse_text(text) != 0)
			fail_msg("with %s null: %s", optional[i], err_msg());
		free(text);
	}
	/* Unknown fields are ignored (newer writers may add some). */
	char *text = with_field("database.collation", json_object_new_string("C"));
	assert_int_equal(parse_text(text), 0);
	free(text);
}

/* --- not JSON, truncated, trailing data, size --- */

static void manifest_parse__rejects_text_that_is_not_a_json_object(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",	    " ",    "not json", "{",	    "}",	"{\"formatVersion\": 1",
	    "[]",   "null", "42",	"\"text\"", "{\"a\":}", "\xef\xbb\xbf{}",
	    "{}{}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse_text(bad[i]);
		if (rc != E_INTEGRITY)
			fail_msg("\"%s\": got %d", bad[i], rc);
		assert_non_null(strstr(err_msg(), "manifest"));
	}
	expect_reject("[]", E_INTEGRITY, "not a JSON object");
	expect_reject("not json", E_INTEGRITY, "not valid JSON");
	expect_reject("{}", E_INTEGRITY, "formatVersion");
	/* Binary junk, NUL bytes included. */
	static const char bin[] = "\x00\x01\xff{\"formatVersion\":1}";
	assert_int_equal(parse_len(bin, sizeof(bin) - 1), E_INTEGRITY);
}

static void manifest_parse__rejects_every_truncation(void **state)
{
	(void)state;
	char *text = valid_text();
	size_t full = strlen(text);
	while (full > 0 && strchr(" \n", text[full - 1]))
		full--;
	for (size_t len = 0; len < full; len++) {
		int rc = parse_len(text, len);
		if (rc != E_INTEGRITY)
			fail_msg("prefix of %zu/%zu bytes gave %d", len, full, rc);
	}
	assert_int_equal(parse_len(text, full), 0);
	free(text);
}

static void manifest_parse__rejects_trailing_data(void **state)
{
	(void)state;
	static const char *const tails[] = {"x", "{}", "null", "\n}", " 1", "//"};
	char *text = valid_text();
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		char *t = xasprintf("%s%s", text, tails[i]);
		expect_reject(t, E_INTEGRITY, "");
		free(t);
	}
	/* NUL bytes after the object are garbage too, not whitespace. */
	size_t n = strlen(text);
	char *t = xmalloc(n + 2);
	memcpy(t, text, n);
	t[n] = '\0';
	t[n + 1] = '\0';
	assert_int_equal(parse_len(t, n + 2), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "trailing data"));
	free(t);
	/* Trailing whitespace is fine. */
	t = xasprintf("%s \t\r\n\n", text);
	assert_int_equal(parse_text(t), 0);
	free(t);
	free(text);
}

static void manifest_parse__rejects_more_than_max_bytes(void **state)
{
	(void)state;
	char *text = valid_text();
	size_t n = strlen(text);
	char *big = xmalloc(MANIFEST_MAX_BYTES + 2);
	memcpy(big, text, n);
	memset(big + n, ' ', MANIFEST_MAX_BYTES + 1 - n);
	big[MANIFEST_MAX_BYTES + 1] = '\0';
	assert_int_equal(parse_len(big, MANIFEST_MAX_BYTES), 0);
	assert_int_equal(parse_len(big, MANIFEST_MAX_BYTES + 1), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "larger than"));
	free(big);
	free(text);
}

/* --- fields --- */

static void manifest_parse__rejects_missing_required_fields(void **state)
{
	(void)state;
	static const char *const required[] = {
	    "formatVersion",
	    "namespace",
	    "name",
	    "createdAt",
	    "completedAt",
	    "format",
	    "compression",
	    "compression.algorithm",
	    "objects",
	    "objects[0].key",
	    "objects[1].size",
	    "objects[0].sha256",
	    "plaintext",
	    "plaintext.size",
	    "plaintext.sha256",
	    "encryption",
	    "encryption.enabled",
	    "postgresql",
	    "postgresql.serverVersion",
	    "postgresql.dumpVersion",
	    "database",
	    "database.name",
	};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		expect_field_rejected(required[i], NULL, E_INTEGRITY, required[i]);
		expect_field_rejected(required[i], json_object_new_null(), E_INTEGRITY,
				      required[i]);
		assert_non_null(strstr(err_msg(), "missing"));
	}
}

static void manifest_parse__rejects_wrong_types(void **state)
{
	(void)state;
	static const struct {
		const char *path;
		const char *json; /* the replacement value */
	} cases[] = {
	    {"formatVersion", "\"1\""},
	    {"formatVersion", "1.0"},
	    {"formatVersion", "true"},
	    {"namespace", "5"},
	    {"name", "true"},
	    {"name", "[\"a\"]"},
	    {"toolVersion", "1"},
	    {"createdAt", "1763683200"},
	    {"completedAt", "[]"},
	    {"format", "{}"},
	    {"compression", "\"zstd\""},
	    {"compression.algorithm", "3"},
	    {"compression.level", "\"3\""},
	    {"compression.level", "3.5"},
	    {"compression.mode", "3"},
	    {"compression.mode", "\"fast\""},
	    {"compression.bounds", "\"1-6\""},
	    {"compression.bounds", "[1]"},
	    {"compression.bounds", "[1, \"6\"]"},
	    {"compression.levels", "{}"},
	    {"compression.levels[0]", "3"},
	    {"compression.levels[0].level", "\"1\""},
	    {"compression.levels[1].plaintextBytes", "-5"},
	    {"objects", "{}"},
	    {"objects", "\"db.dump\""},
	    {"objects[0]", "\"db.dump\""},
	    {"objects[1]", "[]"},
	    {"objects[0].key", "1"},
	    {"objects[0].size", "\"1\""},
	    {"objects[0].size", "1.5"},
	    {"objects[1].sha256", "1"},
	    {"plaintext", "[]"},
	    {"plaintext.size", "1e3"},
	    {"plaintext.sha256", "false"},
	    {"encryption", "true"},
	    {"encryption.enabled", "1"},
	    {"encryption.enabled", "\"true\""},
	    {"encryption.cipher", "9"},
	    {"encryption.s2k", "{}"},
	    {"encryption.s2kCount", "\"65011712\""},
	    {"postgresql", "\"15\""},
	    {"postgresql.serverVersion", "15"},
	    {"postgresql.serverVersionNum", "\"150018\""},
	    {"postgresql.dumpVersion", "15.18"},
	    {"database", "1"},
	    {"database.name", "[]"},
	    {"database.sizeBytes", "\"1\""},
	    {"database.tableCount", "1.5"},
	    {"database.rowEstimate", "\"x\""},
	    {"database.schemaVersion", "1"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *v = json_tokener_parse(cases[i].json);
		assert_non_null(v);
		expect_field_rejected(cases[i].path, v, E_INTEGRITY, cases[i].path);
	}
}

static void manifest_parse__rejects_bad_sha256(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",	 /* 63 */
	    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0", /* 65 */
	    "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",	 /* upper */
	    "0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef",	 /* g */
	    " 123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	    "0x23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	};
	static const char *const paths[] = {"objects[0].sha256", "objects[1].sha256",
					    "plaintext.sha256"};
	for (size_t p = 0; p < 3; p++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			expect_field_rejected(paths[p], json_object_new_string(bad[i]), E_INTEGRITY,
					      paths[p]);
			assert_non_null(strstr(err_msg(), "64 lowercase hex"));
		}
}

static void manifest_parse__rejects_object_keys_outside_the_folder(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "", ".", "..", "../db.dump", "a/b", "/etc/passwd", "db.dump/", "..\\/x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_field_rejected("objects[1].key", json_object_new_string(bad[i]), E_INTEGRITY,
				      "objects[1].key");
	/* A NUL inside the key must not cut it short into another name. */
	expect_field_rejected("objects[0].key", json_object_new_string_len("db.dump\0/../x", 13),
			      E_INTEGRITY, "objects[0].key");
	/* Dots inside a plain name are fine. */
	char *text = with_field("objects[1].key", json_object_new_string("..db.dump..zst"));
	assert_int_equal(parse_text(text), 0);
	free(text);
}

static struct json_object *object_entry(int i)
{
	struct json_object *o = json_object_new_object();
	char key[32];
	snprintf(key, sizeof(key), "part-%d", i);
	json_object_object_add(o, "key", json_object_new_string(key));
	json_object_object_add(o, "size", json_object_new_int64(i));
	json_object_object_add(o, "sha256", json_object_new_string(sha_a));
	return o;
}

/* A valid manifest with n objects (and, for several, their stream). */
static char *with_objects(int n)
{
	char *text = valid_text();
	struct json_object *root = json_tokener_parse(text);
	free(text);
	struct json_object *arr = json_object_new_array();
	for (int i = 0; i < n; i++)
		json_object_array_add(arr, object_entry(i));
	json_object_object_add(root, "objects", arr);
	json_object_object_del(root, "stream");
	if (n > 1) {
		struct json_object *st = json_object_new_object();
		json_object_object_add(st, "size", json_object_new_int64((int64_t)n * (n - 1) / 2));
		json_object_object_add(st, "sha256", json_object_new_string(sha_b));
		json_object_object_add(root, "stream", st);
	}
	text = xstrdup(json_object_to_json_string(root));
	json_object_put(root);
	return text;
}

static void manifest_parse__several_objects_need_their_stream(void **state)
{
	(void)state;
	char *text = with_objects(3);
	struct manifest m;
	assert_int_equal(manifest_parse(&m, text, strlen(text)), 0);
	assert_string_equal(manifest_stream_sha256(&m), sha_b);
	assert_int_equal(manifest_stored_size(&m), 3);
	manifest_dispose(&m);
	free(text);
	/* One object: the stream is that object. */
	text = with_objects(1);
	assert_int_equal(manifest_parse(&m, text, strlen(text)), 0);
	assert_string_equal(manifest_stream_sha256(&m), sha_a);
	manifest_dispose(&m);
	free(text);
	/* Several without "stream", or a stream.size that is not the sum. */
	text = with_objects(3);
	struct json_object *root = json_tokener_parse(text);
	free(text);
	json_object_object_del(root, "stream");
	expect_reject(json_object_to_json_string(root), E_INTEGRITY, "stream");
	struct json_object *st = json_object_new_object();
	json_object_object_add(st, "size", json_object_new_int64(4));
	json_object_object_add(st, "sha256", json_object_new_string(sha_b));
	json_object_object_add(root, "stream", st);
	expect_reject(json_object_to_json_string(root), E_INTEGRITY, "stream.size is 4");
	json_object_put(root);
	/* One object with a stream: the stream must be that object. */
	text = with_objects(1);
	root = json_tokener_parse(text);
	free(text);
	st = json_object_new_object();
	json_object_object_add(st, "size", json_object_new_int64(0));
	json_object_object_add(st, "sha256", json_object_new_string(sha_a));
	json_object_object_add(root, "stream", st);
	const char *same = json_object_to_json_string(root);
	assert_int_equal(manifest_parse(&m, same, strlen(same)), 0);
	manifest_dispose(&m);
	json_object_object_add(st, "sha256", json_object_new_string(sha_b));
	expect_reject(json_object_to_json_string(root), E_INTEGRITY, "stream.sha256");
	json_object_put(root);
}

static void manifest_parse__object_count_must_be_1_to_max(void **state)
{
	(void)state;
	char *text = with_objects(0);
	expect_reject(text, E_INTEGRITY, "objects");
	free(text);
	text = with_objects(MANIFEST_MAX_OBJECTS + 1);
	expect_reject(text, E_INTEGRITY, "objects");
	free(text);
	text = with_objects(1500);
	expect_reject(text, E_INTEGRITY, "objects");
	free(text);
	static const int ok[] = {1, MANIFEST_MAX_OBJECTS};
	for (size_t i = 0; i < 2; i++) {
		text = with_objects(ok[i]);
		struct manifest m;
		assert_int_equal(manifest_parse(&m, text, strlen(text)), 0);
		assert_int_equal(m.nobjects, ok[i]);
		char want[32];
		snprintf(want, sizeof(want), "part-%d", ok[i] - 1);
		assert_string_equal(m.objects[ok[i] - 1].key, want);
		manifest_dispose(&m);
		free(text);
	}
}

static void manifest_parse__rejects_negative_sizes(void **state)
{
	(void)state;
	static const char *const paths[] = {"objects[0].size", "objects[1].size", "plaintext.size",
					    "database.sizeBytes", "encryption.s2kCount"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		expect_field_rejected(paths[i], json_object_new_int64(-1), E_INTEGRITY, paths[i]);
		assert_non_null(strstr(err_msg(), "negative"));
		expect_field_rejected(paths[i], json_object_new_int64(INT64_MIN), E_INTEGRITY,
				      paths[i]);
	}
}

static void manifest_parse__rejects_out_of_range_s2k_count(void **state)
{
	(void)state;
	expect_field_rejected("encryption.s2kCount", json_object_new_int64(1ll << 32), E_INTEGRITY,
			      "encryption.s2kCount");
}

static void manifest_parse__rejects_bad_times(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "yesterday",
	    "2026-11-21",
	    "2026-11-21T01:02:03",
	    "2026-11-21 01:02:03Z",
	    "2026-11-21T01:02:03+00:00",
	    "2026-11-21T01:02:03.5Z",
	    "2026-11-21T01:02:03z",
	    "2026-13-01T00:00:00Z",
	    "2026-11-32T00:00:00Z",
	    "2026-02-31T00:00:00Z",
	    "2026-11-21T24:00:00Z",
	    "2026-11-21T00:60:00Z",
	    " 2026-11-21T01:02:03Z",
	    "2026-1-2T1:2:3Z",
	    "2026-11-21T01:02:03Zjunk",
	};
	static const char *const fields[] = {"createdAt", "completedAt"};
	for (size_t f = 0; f < 2; f++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			expect_field_rejected(fields[f], json_object_new_string(bad[i]),
					      E_INTEGRITY, fields[f]);
}

static void manifest_parse__rejects_unknown_format_version_as_unsupported(void **state)
{
	(void)state;
	static const int64_t bad[] = {0, 2, -1, 999, 1ll << 32};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_field_rejected("formatVersion", json_object_new_int64(bad[i]), E_UNSUPPORTED,
				      "formatVersion");
		assert_non_null(strstr(err_msg(), "newer lifeboat"));
	}
}

static void manifest_parse__rejects_unknown_dump_format(void **state)
{
	(void)state;
	static const char *const bad[] = {"", "directory", "tar", "Custom"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_field_rejected("format", json_object_new_string(bad[i]), E_INTEGRITY,
				      "format");
}

/* --- mutations --- */

static void manifest_parse__survives_random_byte_mutations(void **state)
{
	(void)state;
	char *text = valid_text();
	size_t n = strlen(text);
	char *mut = xmalloc(n);
	srand(20261121);
	int accepted = 0;
	for (int round = 0; round < 2000; round++) {
		memcpy(mut, text, n);
		size_t pos = (size_t)rand() % n;
		/* Half fully random bytes, half JSON-significant ones. */
		static const char special[] = "{}[]\":,\\ 0-9eE.\0\n/";
		mut[pos] = round % 2 ? (char)(rand() % 256)
				     : special[(size_t)rand() % (sizeof(special) - 1)];
		int rc = parse_len(mut, n);
		if (rc > 0)
			fail_msg("positive return %d", rc);
		accepted += rc == 0;
	}
	/* Some mutations are harmless (inside a string), most are not. */
	assert_true(accepted < 2000);
	/* Mutations of a truncated copy too. */
	for (int round = 0; round < 500; round++) {
		size_t len = 1 + (size_t)rand() % n;
		memcpy(mut, text, len);
		mut[(size_t)rand() % len] = (char)(rand() % 256);
		assert_true(parse_len(mut, len) <= 0);
	}
	free(mut);
	free(text);
}

/* --- helpers --- */

static void manifest_parse__checks_the_files_section(void **state)
{
	(void)state;
	/* The valid text has one; without it the manifest is still valid. */
	char *text = with_field("files", NULL);
	assert_int_equal(parse_text(text), 0);
	free(text);
	expect_field_rejected("files.object", json_object_new_string("../escape"), E_INTEGRITY,
			      "files.object");
	expect_field_rejected("files.object", json_object_new_string("a/b"), E_INTEGRITY,
			      "files.object");
	expect_field_rejected("files.object", json_object_new_string("db.dump.zst.pgp"),
			      E_INTEGRITY, "names the dump object");
	expect_field_rejected("files.object", NULL, E_INTEGRITY, "files.object is missing");
	expect_field_rejected("files.count", NULL, E_INTEGRITY, "files.count is missing");
	expect_field_rejected("files.count", json_object_new_int(-1), E_INTEGRITY,
			      "files.count must not be negative");
	expect_field_rejected("files.size", json_object_new_string("12"), E_INTEGRITY,
			      "files.size has the wrong type");
	expect_field_rejected("files.sha256", json_object_new_string("ABC"), E_INTEGRITY,
			      "files.sha256");
	expect_field_rejected("files.plaintextSha256", NULL, E_INTEGRITY,
			      "files.plaintextSha256 is missing");
	expect_field_rejected("files", json_object_new_array(), E_INTEGRITY,
			      "files has the wrong type");
}

static void manifest_add_object__caps_at_max_objects(void **state)
{
	(void)state;
	struct manifest m;
	manifest_init(&m);
	for (int i = 0; i < MANIFEST_MAX_OBJECTS; i++)
		assert_int_equal(manifest_add_object(&m, "k", (uint64_t)i, sha_a), 0);
	assert_int_equal(manifest_add_object(&m, "k", 0, sha_a), E_TOOBIG);
	assert_int_equal(m.nobjects, MANIFEST_MAX_OBJECTS);
	manifest_dispose(&m);
	assert_int_equal(m.nobjects, 0);
	assert_null(m.name);
	/* Disposing an empty manifest is harmless. */
	manifest_dispose(&m);
}

static void manifest_time__formats_and_parses_rfc3339_utc(void **state)
{
	(void)state;
	static const struct {
		time_t t;
		const char *text;
	} cases[] = {
	    {0, "1970-01-01T00:00:00Z"},
	    {1700000000, "2023-11-14T22:13:20Z"},
	    {951782400, "2000-02-29T00:00:00Z"},
	    {4102444799, "2099-12-31T23:59:59Z"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[32];
		manifest_time_format(out, cases[i].t);
		assert_string_equal(out, cases[i].text);
		time_t t = -1;
		assert_int_equal(manifest_time_parse(&t, cases[i].text), 0);
		assert_int_equal(t, cases[i].t);
	}
	time_t t = 77;
	assert_int_equal(manifest_time_parse(&t, "2026-02-29T00:00:00Z"), E_INVALID);
	assert_non_null(strstr(err_msg(), "2026-02-29T00:00:00Z"));
	assert_int_equal(t, 77);
}

/* Zero-safe disposal: an all-zero manifest (never loaded) needs no flag. */
static void manifest_dispose__zero_safe_and_idempotent(void **state)
{
	(void)state;
	struct manifest m, init;
	memset(&m, 0, sizeof(m));
	manifest_init(&init);
	manifest_dispose(&m);
	assert_memory_equal(&m, &init, sizeof(m));
	m.name = xstrdup("nightly");
	m.files.key = xstrdup("files.tar");
	assert_int_equal(manifest_add_object(&m, "db.dump", 1, "00"), 0);
	manifest_dispose(&m);
	assert_memory_equal(&m, &init, sizeof(m));
	manifest_dispose(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(manifest_dispose__zero_safe_and_idempotent),
	    cmocka_unit_test(manifest_parse__round_trip_preserves_every_field),
	    cmocka_unit_test(manifest_parse__round_trip_keeps_absent_optional_fields_absent),
	    cmocka_unit_test(manifest_parse__accepts_missing_optional_fields),
	    cmocka_unit_test(manifest_parse__rejects_text_that_is_not_a_json_object),
	    cmocka_unit_test(manifest_parse__rejects_every_truncation),
	    cmocka_unit_test(manifest_parse__rejects_trailing_data),
	    cmocka_unit_test(manifest_parse__rejects_more_than_max_bytes),
	    cmocka_unit_test(manifest_parse__rejects_missing_required_fields),
	    cmocka_unit_test(manifest_parse__rejects_wrong_types),
	    cmocka_unit_test(manifest_parse__rejects_bad_sha256),
	    cmocka_unit_test(manifest_parse__rejects_object_keys_outside_the_folder),
	    cmocka_unit_test(manifest_parse__object_count_must_be_1_to_max),
	    cmocka_unit_test(manifest_parse__several_objects_need_their_stream),
	    cmocka_unit_test(manifest_parse__rejects_negative_sizes),
	    cmocka_unit_test(manifest_parse__rejects_out_of_range_s2k_count),
	    cmocka_unit_test(manifest_parse__rejects_bad_times),
	    cmocka_unit_test(manifest_parse__rejects_unknown_format_version_as_unsupported),
	    cmocka_unit_test(manifest_parse__rejects_unknown_dump_format),
	    cmocka_unit_test(manifest_parse__survives_random_byte_mutations),
	    cmocka_unit_test(manifest_parse__checks_the_files_section),
	    cmocka_unit_test(manifest_add_object__caps_at_max_objects),
	    cmocka_unit_test(manifest_time__formats_and_parses_rfc3339_utc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
