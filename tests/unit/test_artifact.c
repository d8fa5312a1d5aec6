/* Tests for job/model/artifact.c: name validation, the storage layout and loading
 * a backup's manifest. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/xmalloc.h"
#include "job/model/artifact.h"
#include "job/store/store.h"

static char *repeat(char c, size_t n)
{
	char *s = xmalloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void artifact_check_name__accepts_dns_subdomains(void **state)
{
	(void)state;
	static const char *const ok[] = {
	    "a", "0", "nightly", "nightly-20261121", "app.v2", "a.b.c", "x-1.y-2", "9lives",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (artifact_check_name(ok[i], "--name") != 0)
			fail_msg("rejected \"%s\": %s", ok[i], err_msg());
	char *longest = repeat('a', 253);
	assert_int_equal(artifact_check_name(longest, "--name"), 0);
	free(longest);
}

static void artifact_check_name__rejects_others_naming_the_flag(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",	 "Nightly", "night_ly", "-nightly", "nightly-", ".nightly", "nightly.", "a/b", "..",
	    ".", "a b",	    "a..b",	"a.-b",	    "a-.b",	"é",	    "a\nb",	"a:b", "a*",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear();
		if (artifact_check_name(bad[i], "--name") != E_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(strstr(err_msg(), "--name"));
	}
	assert_int_equal(artifact_check_name(NULL, "--name"), E_INVALID);
	assert_non_null(strstr(err_msg(), "--name is required"));
	char *too_long = repeat('a', 254);
	assert_int_equal(artifact_check_name(too_long, "spec.name"), E_INVALID);
	assert_non_null(strstr(err_msg(), "spec.name"));
	assert_non_null(strstr(err_msg(), "253"));
	free(too_long);
}

static void artifact_check_namespace__accepts_dns_labels(void **state)
{
	(void)state;
	static const char *const ok[] = {"a", "default", "team-a", "0x", "a1-b2-c3"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (artifact_check_namespace(ok[i], "--namespace") != 0)
			fail_msg("rejected \"%s\": %s", ok[i], err_msg());
	char *longest = repeat('n', 63);
	assert_int_equal(artifact_check_namespace(longest, "--namespace"), 0);
	free(longest);
}

static void artifact_check_namespace__rejects_others_naming_the_flag(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "", "Default", "team_a", "-team", "team-", "a.b", "a/b", "..", ".", " a", "a ", "ü",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear();
		if (artifact_check_namespace(bad[i], "--namespace") != E_INVALID)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_non_null(strstr(err_msg(), "--namespace"));
	}
	char *too_long = repeat('n', 64);
	assert_int_equal(artifact_check_namespace(too_long, "--namespace"), E_INVALID);
	assert_non_null(strstr(err_msg(), "63"));
	free(too_long);
	err_clear();
	assert_int_equal(artifact_check_namespace(NULL, "--namespace"), E_INVALID);
	assert_non_null(strstr(err_msg(), "--namespace"));
}

static void artifact_dump_leaf__combines_format_compression_and_encryption(void **state)
{
	(void)state;
	static const struct {
		const char *format, *suffix;
		int encrypted;
		const char *attempt, *want;
	} cases[] = {
	    {"custom", "", 0, NULL, "db.dump"},
	    {"custom", ".zst", 0, NULL, "db.dump.zst"},
	    {"custom", ".gz", 1, NULL, "db.dump.gz.pgp"},
	    {"custom", ".zst", 1, NULL, "db.dump.zst.pgp"},
	    {"plain", "", 0, NULL, "db.sql"},
	    {"plain", ".gz", 0, NULL, "db.sql.gz"},
	    {"plain", "", 1, NULL, "db.sql.pgp"},
	    {"plain", ".zst", 1, NULL, "db.sql.zst.pgp"},
	    {"custom", ".zst", 1, "0a1b2c3d", "db-0a1b2c3d.dump.zst.pgp"},
	    {"plain", "", 0, "ffffffff", "db-ffffffff.sql"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *leaf = artifact_dump_leaf(cases[i].format, cases[i].suffix,
						cases[i].encrypted, cases[i].attempt);
		assert_string_equal(leaf, cases[i].want);
		free(leaf);
	}
}

static void artifact_files_leaf__names_the_archive_with_its_attempt(void **state)
{
	(void)state;
	char *leaf = artifact_files_leaf(".zst", 1, NULL);
	assert_string_equal(leaf, "files.tar.zst.pgp");
	free(leaf);
	leaf = artifact_files_leaf(".zst", 1, "12345678");
	assert_string_equal(leaf, "files-12345678.tar.zst.pgp");
	free(leaf);
	leaf = artifact_files_leaf("", 0, "abcdef01");
	assert_string_equal(leaf, "files-abcdef01.tar");
	free(leaf);
}

static void artifact_attempt_id__is_hex_and_differs_between_calls(void **state)
{
	(void)state;
	char a[ARTIFACT_ATTEMPT_LEN + 1], b[ARTIFACT_ATTEMPT_LEN + 1];
	assert_int_equal(artifact_attempt_id(a), 0);
	assert_int_equal(strlen(a), ARTIFACT_ATTEMPT_LEN);
	assert_int_equal(strspn(a, "0123456789abcdef"), ARTIFACT_ATTEMPT_LEN);
	/* 32 random bits: equal ids in 16 draws would be a broken source. */
	int differed = 0;
	for (int i = 0; i < 16 && !differed; i++) {
		assert_int_equal(artifact_attempt_id(b), 0);
		differed = strcmp(a, b) != 0;
	}
	assert_true(differed);
}

static void artifact_key__joins_namespace_name_and_leaf(void **state)
{
	(void)state;
	char *k = artifact_key("team-a", "nightly-1", ARTIFACT_MANIFEST);
	assert_string_equal(k, "team-a/nightly-1/manifest.json");
	free(k);
	k = artifact_key("ns", "n", "db.dump.zst.pgp");
	assert_string_equal(k, "ns/n/db.dump.zst.pgp");
	free(k);
	/* No leaf: the backup's folder. */
	k = artifact_key("ns", "n", NULL);
	assert_string_equal(k, "ns/n/");
	free(k);
}

/* --- artifact_load_manifest over a file:// store in a temporary folder --- */

struct fixture {
	char dir[64];
	struct store *st;
};

static int setup_store(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/lifeboat-test-artifact-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	char *url = xasprintf("file://%s", f->dir);
	int rc = store_open(&f->st, url);
	free(url);
	*state = f;
	return rc;
}

struct keys {
	char *v[64];
	size_t n;
};

static int collect_cb(const struct store_entry *e, void *ud)
{
	struct keys *k = ud;
	if (k->n == sizeof(k->v) / sizeof(k->v[0]))
		return 1;
	k->v[k->n++] = xstrdup(e->key);
	return 0;
}

static int teardown_store(void **state)
{
	struct fixture *f = *state;
	struct keys k = {.n = 0};
	store_list(f->st, "", collect_cb, &k);
	for (size_t i = 0; i < k.n; i++) {
		store_remove(f->st, k.v[i]);
		free(k.v[i]);
	}
	store_free(f->st);
	int rc = rmdir(f->dir);
	free(f);
	return rc;
}

static void put_text(struct store *st, const char *key, const char *text)
{
	assert_int_equal(store_put(st, key, text, strlen(text)), 0);
}

static void put_valid_manifest(struct store *st, const char *key)
{
	struct manifest m;
	manifest_init(&m);
	m.namespace_ = xstrdup("ns");
	m.name = xstrdup("n");
	m.created_at = 1700000000;
	m.completed_at = 1700000060;
	m.format = xstrdup("custom");
	m.compression = xstrdup("zstd");
	m.compression_level = 3;
	assert_int_equal(
	    manifest_add_object(&m, "db.dump.zst", 10,
				"0000000000000000000000000000000000000000000000000000000000000000"),
	    0);
	memset(m.plaintext_sha256, 'a', 64);
	m.server_version = xstrdup("15.18");
	m.dump_version = xstrdup("15.18");
	m.database = xstrdup("app");
	struct buf b;
	buf_init(&b, MANIFEST_MAX_BYTES);
	assert_int_equal(manifest_to_json(&m, &b), 0);
	put_text(st, key, buf_str(&b));
	buf_dispose(&b);
	manifest_dispose(&m);
}

static void artifact_load_manifest__reads_a_complete_backup(void **state)
{
	struct fixture *f = *state;
	put_valid_manifest(f->st, "ns/n/manifest.json");
	struct manifest m;
	assert_int_equal(artifact_load_manifest(&m, f->st, "ns", "n"), 0);
	assert_string_equal(m.name, "n");
	assert_string_equal(m.objects[0].key, "db.dump.zst");
	manifest_dispose(&m);
}

static void artifact_load_manifest__missing_backup_is_notfound_with_a_hint(void **state)
{
	struct fixture *f = *state;
	struct manifest m;
	/* A dump object alone is an incomplete backup. */
	put_text(f->st, "ns/half/db.dump.zst", "x");
	assert_int_equal(artifact_load_manifest(&m, f->st, "ns", "half"), E_NOTFOUND);
	assert_non_null(strstr(err_msg(), "ns/half"));
	assert_non_null(strstr(err_msg(), "lifeboat list"));
	assert_int_equal(artifact_load_manifest(&m, f->st, "ns", "none"), E_NOTFOUND);
}

static void artifact_load_manifest__rejects_malformed_manifest_naming_where(void **state)
{
	struct fixture *f = *state;
	struct manifest m;
	put_text(f->st, "ns/bad/manifest.json", "{\"formatVersion\": 1}");
	assert_int_equal(artifact_load_manifest(&m, f->st, "ns", "bad"), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "ns/bad/manifest.json"));
	assert_non_null(strstr(err_msg(), "namespace"));

	put_text(f->st, "ns/junk/manifest.json", "\x89PNG\r\n");
	assert_int_equal(artifact_load_manifest(&m, f->st, "ns", "junk"), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "ns/junk/manifest.json"));
}

static void artifact_load_manifest__rejects_oversized_manifest(void **state)
{
	struct fixture *f = *state;
	struct manifest m;
	char *big = repeat(' ', MANIFEST_MAX_BYTES + 1);
	put_text(f->st, "ns/big/manifest.json", big);
	free(big);
	assert_int_equal(artifact_load_manifest(&m, f->st, "ns", "big"), E_INTEGRITY);
	assert_non_null(strstr(err_msg(), "ns/big/manifest.json"));
	assert_non_null(strstr(err_msg(), "larger than"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(artifact_check_name__accepts_dns_subdomains),
	    cmocka_unit_test(artifact_check_name__rejects_others_naming_the_flag),
	    cmocka_unit_test(artifact_check_namespace__accepts_dns_labels),
	    cmocka_unit_test(artifact_check_namespace__rejects_others_naming_the_flag),
	    cmocka_unit_test(artifact_dump_leaf__combines_format_compression_and_encryption),
	    cmocka_unit_test(artifact_files_leaf__names_the_archive_with_its_attempt),
	    cmocka_unit_test(artifact_attempt_id__is_hex_and_differs_between_calls),
	    cmocka_unit_test(artifact_key__joins_namespace_name_and_leaf),
	    cmocka_unit_test_setup_teardown(artifact_load_manifest__reads_a_complete_backup,
					    setup_store, teardown_store),
	    cmocka_unit_test_setup_teardown(
		artifact_load_manifest__missing_backup_is_notfound_with_a_hint, setup_store,
		teardown_store),
	    cmocka_unit_test_setup_teardown(
		artifact_load_manifest__rejects_malformed_manifest_naming_where, setup_store,
		teardown_store),
	    cmocka_unit_test_setup_teardown(artifact_load_manifest__rejects_oversized_manifest,
					    setup_store, teardown_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
