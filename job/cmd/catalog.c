/* `lifeboat list`, `lifeboat delete` and `lifeboat audit`: what the storage
 * holds, found from storage alone; removal manifest-first (a half-deleted
 * backup never looks complete); the restores' audit records, newest first. */
#include "job/cmd/job.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "job/model/artifact.h"
#include "job/model/audit.h"
#include "job/model/folders.h"
#include "job/model/manifest.h"
#include "job/cmd/result.h"
#include "job/store/store.h"

#define LIST_MAX 100000

/* Groups keys "ns/name/leaf" into folders. */
static int collect(const struct store_entry *e, void *ud)
{
	return folders_add(ud, e->key, e->size);
}

static void human_size(char out[16], uint64_t n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, 16, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

/* Reads verified.json's time, or "" when absent or unreadable. */
static void verified_time(char out[32], struct store *st, const struct folder *f)
{
	out[0] = '\0';
	if (!f->has_verified)
		return;
	char *key = artifact_key(f->ns, f->name, ARTIFACT_VERIFIED);
	struct buf b;
	buf_init(&b, 4096);
	if (store_get(st, key, &b) == 0) {
		struct json_object *root = json_tokener_parse(buf_str(&b)), *t;
		if (root && json_object_object_get_ex(root, "time", &t))
			snprintf(out, 32, "%s", json_object_get_string(t));
		json_object_put(root);
	}
	buf_dispose(&b);
	free(key);
}

/* Prints it as the next element of a pretty-printed array, as json-c would
 * print the whole array (each line two spaces deeper; a JSON string holds no
 * raw newline): items are streamed, not held, 100,000 of them. */
static void print_element(struct json_object *it, int first)
{
	const char *p = json_object_to_json_string_ext(it, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE);
	fputs(first ? "\n" : ",\n", stdout);
	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) + 1 : strlen(p);
		fputs("  ", stdout);
		fwrite(p, 1, n, stdout);
		p += n;
	}
}

/* One listed folder: its table row, or its JSON element when it is set. */
static void list_folder(struct store *st, const struct folder *f, struct json_object *it)
{
	struct manifest m;
	char created[32] = "-", size[16], vtime[32];
	const char *status = "Complete", *enc = "-";
	uint64_t bytes = f->bytes;
	verified_time(vtime, st, f);
	if (it) {
		result_add_str(it, "namespace", f->ns);
		result_add_str(it, "name", f->name);
	}
	if (!f->has_manifest) {
		status = "Incomplete (no manifest: an interrupted or failed backup)";
	} else if (artifact_load_manifest(&m, st, f->ns, f->name) != 0) {
		status = "Unreadable manifest";
		if (it)
			result_add_str(it, "error", err_msg());
	} else {
		manifest_time_format(created, m.created_at);
		enc = m.encrypted ? "yes" : "no";
		bytes = manifest_stored_size(&m);
		if (it)
			result_add_manifest(it, &m, NULL);
		manifest_dispose(&m);
	}
	if (!it) {
		human_size(size, bytes);
		printf("%-16s %-40s %-20s %10s %-9s %-20s %s\n", f->ns, f->name, created, size, enc,
		       vtime[0] ? vtime : "no", status);
		return;
	}
	result_add_str(it, "status",
		       !f->has_manifest			 ? "Incomplete"
		       : strcmp(status, "Complete") == 0 ? "Complete"
							 : "Unreadable");
	if (vtime[0])
		result_add_str(it, "verifiedAt", vtime);
	/* What the folder takes in storage, manifest and verdict included:
	 * the bytes `lifeboat delete` frees. */
	json_object_object_add(it, "storedBytes", json_object_new_int64((int64_t)f->bytes));
	json_object_object_add(it, "storedObjects", json_object_new_int64((int64_t)f->objects));
}

/* What list and audit check first: --output, --namespace, then the storage
 * opened. *as_json says which output. */
static int open_listing(const struct job_opts *o, struct store **st, int *as_json)
{
	int rc;
	*as_json = o->output && strcmp(o->output, "json") == 0;
	if (o->output && !*as_json && strcmp(o->output, "table") != 0)
		return err_set(E_INVALID, "--output \"%s\": use table or json", o->output);
	if (o->namespace_ && (rc = artifact_check_namespace(o->namespace_, "--namespace")))
		return rc;
	return store_open(st, o->storage);
}

int list_run(const struct job_opts *o, struct json_object *result)
{
	struct store *st = NULL;
	struct folders *fs = NULL;
	int rc;
	int as_json;
	if ((rc = open_listing(o, &st, &as_json)))
		return rc;
	fs = folders_new(LIST_MAX);
	char *prefix = o->namespace_ ? xasprintf("%s/", o->namespace_) : xstrdup("");
	rc = store_list(st, prefix, collect, fs);
	free(prefix);
	if (rc)
		goto done;
	size_t nfolders = 0;
	const struct folder *folders = folders_sorted(fs, &nfolders);
	if (as_json)
		fputs("[", stdout);
	else
		printf("%-16s %-40s %-20s %10s %-9s %-20s %s\n", "NAMESPACE", "NAME", "CREATED",
		       "SIZE", "ENCRYPTED", "VERIFIED", "STATUS");
	for (size_t i = 0; i < nfolders; i++) {
		struct json_object *it = as_json ? json_object_new_object() : NULL;
		list_folder(st, &folders[i], it);
		if (it)
			print_element(it, i == 0);
		json_object_put(it);
	}
	if (as_json)
		fputs("\n]\n", stdout);
	json_object_object_add(result, JOBRESULT_COUNT, json_object_new_int64((int64_t)nfolders));
done:
	folders_free(fs);
	store_free(st);
	return rc;
}

struct keys {
	char **v;
	size_t n, cap;
	uint64_t bytes; /* the listed objects' sizes, summed */
};

static int collect_keys(const struct store_entry *e, void *ud)
{
	struct keys *k = ud;
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 8;
		k->v = xrealloc(k->v, k->cap * sizeof(*k->v));
	}
	k->v[k->n++] = xstrdup(e->key);
	k->bytes += e->size;
	return 0;
}

/* Listing passes of a delete at most (job/cmd/catalog.c, delete_run). */
#define DELETE_ROUNDS 3

int delete_run(const struct job_opts *o, struct json_object *result)
{
	struct store *st = NULL;
	struct keys keys = {0};
	char *mkey = NULL, *prefix = NULL;
	int rc;
	if ((rc = artifact_check_name(o->name, "--name")) ||
	    (rc = artifact_check_namespace(o->namespace_, "--namespace")) ||
	    (rc = store_open(&st, o->storage)))
		goto done;
	prefix = artifact_key(o->namespace_, o->name, NULL);
	if ((rc = store_list(st, prefix, collect_keys, &keys)))
		goto done;
	if (keys.n == 0) {
		char *where = store_location(st, prefix);
		rc = err_set(E_NOTFOUND, "no backup %s/%s at %s: nothing to delete", o->namespace_,
			     o->name, where);
		free(where);
		goto done;
	}
	/* The manifest goes first: from then on the backup is no longer complete. */
	mkey = artifact_key(o->namespace_, o->name, ARTIFACT_MANIFEST);
	if ((rc = store_remove(st, mkey)))
		goto done;
	/* A listing may miss keys (an emulator that pages out of file-system
	 * order, an eventually consistent store): list again until empty. */
	for (size_t from = 0, round = 1;; round++) {
		for (size_t i = from; i < keys.n; i++)
			if (strcmp(keys.v[i], mkey) != 0 && (rc = store_remove(st, keys.v[i])))
				goto done;
		from = keys.n;
		if (round == DELETE_ROUNDS)
			break;
		if ((rc = store_list(st, prefix, collect_keys, &keys)))
			goto done;
		if (keys.n == from)
			break;
		log_info("delete: %zu more objects of %s/%s listed after pass %zu", keys.n - from,
			 o->namespace_, o->name, round);
	}
	json_object_object_add(result, JOBRESULT_DELETED_OBJECTS,
			       json_object_new_int64((int64_t)keys.n));
	json_object_object_add(result, JOBRESULT_FREED_BYTES,
			       json_object_new_int64((int64_t)keys.bytes));
	char freed[16];
	human_size(freed, keys.bytes);
	log_info("deleted backup %s/%s: freed %" PRIu64 " bytes (%s) in %zu objects", o->namespace_,
		 o->name, keys.bytes, freed, keys.n);
done:
	for (size_t i = 0; i < keys.n; i++)
		free(keys.v[i]);
	free(keys.v);
	free(mkey);
	free(prefix);
	store_free(st);
	return rc;
}

/* --- audit --- */

/* The keys of the audit records found. */
struct records {
	char **keys;
	size_t n, cap;
};

static int collect_audit(const struct store_entry *e, void *ud)
{
	struct records *rs = ud;
	if (!audit_is_key(e->key))
		return 0;
	if (rs->n >= LIST_MAX)
		return err_set(E_TOOBIG, "more than %d audit records in one listing", LIST_MAX);
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 16;
		rs->keys = xrealloc(rs->keys, rs->cap * sizeof(*rs->keys));
	}
	rs->keys[rs->n++] = xstrdup(e->key);
	return 0;
}

/* Sorting moves the summary, its JSON, key and error together. */
struct record_row {
	struct audit_summary s;
	struct json_object *json;
	char *key;
	char *error;
};

static int cmp_row(const void *a, const void *b)
{
	const struct record_row *x = a, *y = b;
	int c = audit_summary_cmp(&x->s, &y->s);
	return c ? c : strcmp(x->key, y->key);
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

int audit_run(const struct job_opts *o, struct json_object *result)
{
	struct store *st = NULL;
	struct records rs;
	struct record_row *rows = NULL;
	int rc;
	memset(&rs, 0, sizeof(rs));
	int as_json;
	if ((rc = open_listing(o, &st, &as_json)))
		return rc;
	char *prefix =
	    o->namespace_ ? xasprintf("%s/%s/", o->namespace_, AUDIT_FOLDER) : xstrdup("");
	rc = store_list(st, prefix, collect_audit, &rs);
	free(prefix);
	if (rc)
		goto done;
	rows = xcalloc(rs.n + 1, sizeof(*rows));
	for (size_t i = 0; i < rs.n; i++) {
		struct buf b;
		buf_init(&b, AUDIT_MAX_BYTES);
		rows[i].key = rs.keys[i];
		rs.keys[i] = NULL;
		int grc = store_get(st, rows[i].key, &b);
		if (grc == E_TOOBIG)
			grc = err_set(E_INTEGRITY, "larger than %d bytes: not an audit record",
				      AUDIT_MAX_BYTES);
		if (!grc)
			grc = audit_summary_parse(&rows[i].s, &rows[i].json, buf_str(&b), b.len);
		if (grc) {
			/* One bad record must not hide the others. */
			char *where = store_location(st, rows[i].key);
			rows[i].error = xasprintf("%s: %s", where, err_msg());
			log_warn("audit record %s cannot be read: %s", where, err_msg());
			free(where);
		}
		buf_dispose(&b);
	}
	if (rs.n)
		qsort(rows, rs.n, sizeof(*rows), cmp_row);
	struct json_object *items = json_object_new_array();
	if (!as_json)
		printf("%-20s %-16s %-32s %-10s %-40s %-16s %s\n", "TIME", "NAMESPACE", "RESTORE",
		       "OUTCOME", "BACKUP", "TARGET", "REQUESTED BY");
	for (size_t i = 0; i < rs.n; i++) {
		struct record_row *row = &rows[i];
		if (as_json) {
			struct json_object *it =
			    row->json ? json_object_get(row->json) : json_object_new_object();
			if (!row->json) {
				char *where = store_location(st, row->key);
				result_add_str(it, "location", where);
				result_add_str(it, "error", row->error);
				free(where);
			}
			json_object_array_add(items, it);
			continue;
		}
		char when[32] = "-";
		if (row->s.start_time)
			manifest_time_format(when, row->s.start_time);
		if (row->error)
			printf("%-20s %-16s %-32s %-10s %s\n", when, "-", row->key, "Unreadable",
			       row->error);
		else
			printf("%-20s %-16s %-32s %-10s %-40s %-16s %s\n", when,
			       or_dash(row->s.namespace_), or_dash(row->s.name),
			       or_dash(row->s.outcome), or_dash(row->s.backup),
			       or_dash(row->s.database), or_dash(row->s.requested_by));
	}
	if (as_json)
		printf("%s\n", json_object_to_json_string_ext(
				   items, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
					      JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(items);
	json_object_object_add(result, JOBRESULT_COUNT, json_object_new_int64((int64_t)rs.n));
done:
	for (size_t i = 0; rows && i < rs.n; i++) {
		audit_summary_dispose(&rows[i].s);
		json_object_put(rows[i].json);
		free(rows[i].key);
		free(rows[i].error);
	}
	free(rows);
	for (size_t i = 0; i < rs.n; i++)
		free(rs.keys[i]);
	free(rs.keys);
	store_free(st);
	return rc;
}
