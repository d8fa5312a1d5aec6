/* Tests for job/model/folders.c: grouping a listing's keys into backup folders. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xmalloc.h"
#include "job/model/folders.h"

/* Folder i of the generated listing: its namespace, name and leaves. */
#define NS_COUNT 7
static void folder_names(size_t i, char ns[32], char name[64])
{
	snprintf(ns, 32, "ns-%zu", i % NS_COUNT);
	/* Names that share prefixes and differ only late. */
	snprintf(name, 64, "nightly-%06zu%s", i / NS_COUNT, i % 3 ? "" : "-a");
}

static const char *const leaves[] = {"db.dump.zst.pgp", "manifest.json", "verified.json",
				     "files.tar.zst.pgp"};

/* Folder i holds leaves [0, nleaves(i)): a dump always, a manifest for most,
 * a verdict for some, a files archive for a few. */
static size_t nleaves(size_t i)
{
	return i % 10 == 0 ? 1 : i % 5 == 0 ? 4 : i % 2 ? 2 : 3;
}

static uint64_t leaf_size(size_t i, size_t leaf)
{
	return (uint64_t)i * 1000 + leaf * 7 + 1;
}

struct key {
	char *text;
	uint64_t size;
};

static void folders__groups_many_keys_listed_in_any_order(void **state)
{
	(void)state;
	const size_t n = 30000;
	size_t nkeys = 0;
	for (size_t i = 0; i < n; i++)
		nkeys += nleaves(i);
	struct key *keys = calloc(nkeys, sizeof(*keys));
	assert_non_null(keys);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		char ns[32], name[64], text[160];
		folder_names(i, ns, name);
		for (size_t l = 0; l < nleaves(i); l++) {
			snprintf(text, sizeof(text), "%s/%s/%s", ns, name, leaves[l]);
			keys[k].text = xstrdup(text);
			keys[k].size = leaf_size(i, l);
			k++;
		}
	}
	/* A fixed shuffle: storage lists in no order this code may rely on. */
	unsigned seed = 7;
	for (size_t i = nkeys - 1; i > 0; i--) {
		size_t j = (size_t)rand_r(&seed) % (i + 1);
		struct key t = keys[i];
		keys[i] = keys[j];
		keys[j] = t;
	}
	struct folders *fs = folders_new(n);
	for (size_t i = 0; i < nkeys; i++)
		assert_int_equal(folders_add(fs, keys[i].text, keys[i].size), 0);
	size_t got = 0;
	const struct folder *v = folders_sorted(fs, &got);
	assert_int_equal(got, n);
	for (size_t i = 1; i < got; i++) {
		int c = strcmp(v[i - 1].ns, v[i].ns);
		if (c > 0 || (c == 0 && strcmp(v[i - 1].name, v[i].name) >= 0))
			fail_msg("not sorted at %zu: %s/%s then %s/%s", i, v[i - 1].ns,
				 v[i - 1].name, v[i].ns, v[i].name);
	}
	/* Each generated folder is there once, with its own counts. */
	size_t seen = 0;
	for (size_t i = 0; i < got; i++) {
		const struct folder *f = &v[i];
		size_t ns_i, seq;
		assert_int_equal(sscanf(f->ns, "ns-%zu", &ns_i), 1);
		assert_int_equal(sscanf(f->name, "nightly-%zu", &seq), 1);
		size_t idx = seq * NS_COUNT + ns_i;
		char ns[32], name[64];
		folder_names(idx, ns, name);
		assert_string_equal(f->ns, ns);
		assert_string_equal(f->name, name);
		uint64_t bytes = 0;
		for (size_t l = 0; l < nleaves(idx); l++)
			bytes += leaf_size(idx, l);
		assert_int_equal(f->objects, nleaves(idx));
		assert_int_equal(f->bytes, bytes);
		assert_int_equal(f->has_manifest, nleaves(idx) >= 2);
		assert_int_equal(f->has_verified, nleaves(idx) >= 3);
		seen++;
	}
	assert_int_equal(seen, n);
	folders_free(fs);
	for (size_t i = 0; i < nkeys; i++)
		free(keys[i].text);
	free(keys);
}

static void folders__ignores_keys_outside_the_layout(void **state)
{
	(void)state;
	static const char *const ignored[] = {
	    "",
	    "loose-object",
	    "ns/leaf",
	    "ns/name/sub/leaf",
	    "ns/name/sub/",
	    "ns/_restores/r1.json",
	    "ns/_restores/2026/12/r1.json",
	    "ns/_anything/manifest.json",
	};
	struct folders *fs = folders_new(10);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		assert_int_equal(folders_add(fs, ignored[i], 5), 0);
	size_t n = 99;
	folders_sorted(fs, &n);
	assert_int_equal(n, 0);
	assert_int_equal(folders_add(fs, "ns/b_/manifest.json", 5), 0);
	const struct folder *v = folders_sorted(fs, &n);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "b_");
	assert_true(v[0].has_manifest);
	folders_free(fs);
}

/* "a/bc" and "ab/c" share their bytes but for the slash; names that are
 * prefixes of each other are different folders. */
static void folders__similar_names_stay_apart(void **state)
{
	(void)state;
	static const char *const keys[] = {"a/bc/x",
					   "ab/c/x",
					   "a/b/x",
					   "a/b2/x",
					   "a/b/manifest.json",
					   "ab/c/y",
					   "a/bc/verified.json"};
	struct folders *fs = folders_new(100);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(folders_add(fs, keys[i], i + 1), 0);
	size_t n = 0;
	const struct folder *v = folders_sorted(fs, &n);
	assert_int_equal(n, 4);
	static const struct {
		const char *ns, *name;
		uint64_t objects, bytes;
		int manifest, verified;
	} want[] = {
	    {"a", "b", 2, 3 + 5, 1, 0},
	    {"a", "b2", 1, 4, 0, 0},
	    {"a", "bc", 2, 1 + 7, 0, 1},
	    {"ab", "c", 2, 2 + 6, 0, 0},
	};
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].ns, want[i].ns);
		assert_string_equal(v[i].name, want[i].name);
		assert_int_equal(v[i].objects, want[i].objects);
		assert_int_equal(v[i].bytes, want[i].bytes);
		assert_int_equal(v[i].has_manifest, want[i].manifest);
		assert_int_equal(v[i].has_verified, want[i].verified);
	}
	folders_free(fs);
}

/* The cap is on folders, not on objects: with exactly max backups, every
 * object of each is counted (a later object of a folder already seen once
 * failed the listing), and only a new folder past max is refused. */
static void folders__cap_counts_folders_not_objects(void **state)
{
	(void)state;
	struct folders *fs = folders_new(3);
	static const char *const keys[] = {
	    "n/a/db.dump",	 "n/b/db.dump",	      "n/c/db.dump",	   "n/a/manifest.json",
	    "n/b/manifest.json", "n/c/manifest.json", "n/c/verified.json",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_int_equal(folders_add(fs, keys[i], 10), 0);
	assert_int_equal(folders_add(fs, "n/d/db.dump", 10), E_TOOBIG);
	assert_non_null(strstr(err_msg(), "more than 3 backups in one listing"));
	assert_non_null(strstr(err_msg(), "--namespace"));
	/* Still refused, and the folders before it still count. */
	assert_int_equal(folders_add(fs, "m/a/db.dump", 10), E_TOOBIG);
	assert_int_equal(folders_add(fs, "n/a/verified.json", 10), 0);
	size_t n = 0;
	const struct folder *v = folders_sorted(fs, &n);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].objects, 3);
	assert_true(v[0].has_verified && v[0].has_manifest);
	assert_int_equal(v[2].objects, 3);
	folders_free(fs);

	fs = folders_new(0);
	assert_int_equal(folders_add(fs, "n/a/db.dump", 1), E_TOOBIG);
	assert_int_equal(folders_add(fs, "n/_restores/r.json", 1), 0);
	folders_free(fs);
}

/* Sorting rebuilds the index: adds after it find the same folders. */
static void folders__adds_after_sorting_find_the_same_folders(void **state)
{
	(void)state;
	struct folders *fs = folders_new(1000);
	char key[64];
	for (int i = 999; i >= 0; i--) {
		snprintf(key, sizeof(key), "ns/b%03d/db.dump", i);
		assert_int_equal(folders_add(fs, key, 1), 0);
	}
	size_t n = 0;
	folders_sorted(fs, &n);
	assert_int_equal(n, 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "ns/b%03d/manifest.json", i);
		assert_int_equal(folders_add(fs, key, 2), 0);
	}
	const struct folder *v = folders_sorted(fs, &n);
	assert_int_equal(n, 1000);
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "b%03zu", i);
		assert_string_equal(v[i].name, key);
		assert_int_equal(v[i].objects, 2);
		assert_int_equal(v[i].bytes, 3);
		assert_true(v[i].has_manifest);
	}
	folders_free(fs);
	folders_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(folders__groups_many_keys_listed_in_any_order),
	    cmocka_unit_test(folders__ignores_keys_outside_the_layout),
	    cmocka_unit_test(folders__similar_names_stay_apart),
	    cmocka_unit_test(folders__cap_counts_folders_not_objects),
	    cmocka_unit_test(folders__adds_after_sorting_find_the_same_folders),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
