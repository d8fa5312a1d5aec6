/* Helpers the operator/api and jobspec tests share: JSON from text, edits of
 * a JSON tree by dotted path, and a seeded mutator for the fuzz loops.
 * Header-only (static functions), since every tests/unit/test_*.c is its own
 * program. */
#ifndef LIFEBOAT_TEST_API_TESTLIB_H
#define LIFEBOAT_TEST_API_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

static inline struct json_object *tl_json(const char *text)
{
	if (!text) {
		fprintf(stderr, "test JSON: no text (a testdata file that could not be read?)\n");
		abort();
	}
	if (strcmp(text, "null") == 0)
		return NULL;
	struct json_object *o = json_tokener_parse(text);
	if (!o) {
		fprintf(stderr, "test JSON does not parse: %s\n", text);
		abort();
	}
	return o;
}

/* Sets root.a.b.c to the JSON text value (creating objects on the way), or
 * deletes it when value is NULL. Keys are separated by '.'; a key holding
 * a dot cannot be named (set its parent map whole instead). */
static inline void tl_set(struct json_object *root, const char *path, const char *value)
{
	char *copy = strdup(path), *save = NULL;
	struct json_object *o = root;
	char *key = strtok_r(copy, ".", &save);
	for (char *next; (next = strtok_r(NULL, ".", &save)); key = next) {
		struct json_object *child = NULL;
		if (!json_object_object_get_ex(o, key, &child) ||
		    !json_object_is_type(child, json_type_object)) {
			child = json_object_new_object();
			json_object_object_add(o, key, child);
		}
		o = child;
	}
	if (value)
		json_object_object_add(o, key, tl_json(value));
	else
		json_object_object_del(o, key);
	free(copy);
}

/* Values a mutation puts in place of a node: types, bounds, shapes. */
static const char *const tl_palette[] = {
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1",
    "65536",
    "2147483648",
    "9223372036854775807",
    "99999999999999999999",
    "-9223372036854775808",
    "1.5",
    "1e308",
    "\"\"",
    "\"a\"",
    "\"A_B\"",
    "\"..\"",
    "\".\"",
    "\"/\"",
    "\"a//b\"",
    "\"x\\u0000y\"",
    "\"\\n\"",
    "\"lifeboat.dev/x\"",
    "\"verify-full\"",
    "\"zstd:20\"",
    "\"gzip:0\"",
    "\"aws:kms\"",
    "\"Delete\"",
    "\"Exists\"",
    "\"NoExecute\"",
    "\"[::1]\"",
    "\"http://h\"",
    "\"https://h/p\"",
    "\"https://[::1]:9000\"",
    "\"https://a_b:99999/\"",
    "\"http://h.:0\"",
    "\"https://:9000\"",
    "\"a b/c+d%20\"",
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"",
    "{}",
    "[]",
    "[1]",
    "[{}]",
    "[\"a\"]",
    "{\"name\":\"x\"}",
    "{\"name\":\"x\",\"key\":\"y\"}",
    "{\"a\":\"b\"}",
    "{\"x\":1}",
};

/* Every node of the tree, in document order, for picking one at random. */
struct tl_nodes {
	struct json_object *parent[512];
	char *key[512];	   /* object member (borrowed from the tree), or NULL */
	size_t index[512]; /* array element when key is NULL */
	size_t n;
};

static inline void tl_collect(struct tl_nodes *ns, struct json_object *o)
{
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, k, v)
		{
			if (ns->n < 512) {
				ns->parent[ns->n] = o;
				ns->key[ns->n] = k;
				ns->n++;
			}
			if (v)
				tl_collect(ns, v);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			if (ns->n < 512) {
				ns->parent[ns->n] = o;
				ns->key[ns->n] = NULL;
				ns->index[ns->n] = i;
				ns->n++;
			}
			struct json_object *v = json_object_array_get_idx(o, i);
			if (v)
				tl_collect(ns, v);
		}
	}
}

/* One random edit: replace a node with a palette value, delete a member, or
 * add an unknown member to an object. Returns the tree (root is kept). */
static inline void tl_mutate(struct json_object *root, unsigned *seed)
{
	struct tl_nodes ns;
	ns.n = 0;
	tl_collect(&ns, root);
	if (ns.n == 0)
		return;
	size_t pick = (size_t)rand_r(seed) % ns.n;
	const char *value =
	    tl_palette[(size_t)rand_r(seed) % (sizeof(tl_palette) / sizeof(tl_palette[0]))];
	int op = rand_r(seed) % 6;
	struct json_object *parent = ns.parent[pick];
	if (ns.key[pick]) {
		char *key = strdup(ns.key[pick]);
		if (op == 0)
			json_object_object_del(parent, key);
		else if (op == 1)
			json_object_object_add(parent, "unknownField", tl_json(value));
		else
			json_object_object_add(parent, key, tl_json(value));
		free(key);
	} else {
		json_object_array_put_idx(parent, ns.index[pick], tl_json(value));
	}
}

#endif
