/* `lifeboat show`: one backup's manifest (and its verification), or one
 * restore's audit record, read from storage alone, as aligned lines or JSON. */
#include "job/cmd/show.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "job/model/artifact.h"
#include "job/model/audit.h"
#include "job/cmd/job.h"
#include "job/model/manifest.h"
#include "job/cmd/result.h"
#include "job/store/store.h"

struct line {
	char *key;
	const char *value; /* borrowed from the JSON */
};

struct lines {
	struct line *v;
	size_t n, cap;
};

static void lines_add(struct lines *ls, char *key, const char *value)
{
	if (ls->n == ls->cap) {
		ls->cap = ls->cap ? ls->cap * 2 : 32;
		ls->v = xrealloc(ls->v, ls->cap * sizeof(*ls->v));
	}
	ls->v[ls->n].key = key;
	ls->v[ls->n].value = value;
	ls->n++;
}

static void flatten(struct lines *ls, const char *path, struct json_object *o)
{
	enum json_type t = o ? json_object_get_type(o) : json_type_null;
	if (t == json_type_object && json_object_object_length(o) > 0) {
		json_object_object_foreach(o, k, v)
		{
			char *p = *path ? xasprintf("%s.%s", path, k) : xstrdup(k);
			flatten(ls, p, v);
			free(p);
		}
	} else if (t == json_type_array && json_object_array_length(o) > 0) {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			char *p = xasprintf("%s[%zu]", path, i);
			flatten(ls, p, json_object_array_get_idx(o, i));
			free(p);
		}
	} else {
		const char *v = t == json_type_null || t == json_type_object || t == json_type_array
				    ? "-"
				    : json_object_get_string(o);
		lines_add(ls, xstrdup(path), v);
	}
}

int show_render(struct buf *out, struct json_object *o)
{
	struct lines ls = {0};
	int rc = 0;
	if (!o || !json_object_is_type(o, json_type_object))
		return err_set(E_INVALID, "show: not a JSON object; nothing to render");
	if (json_object_object_length(o) > 0) /* "{}" is no line, not ": -" */
		flatten(&ls, "", o);
	size_t width = 0;
	for (size_t i = 0; i < ls.n; i++)
		if (strlen(ls.v[i].key) > width)
			width = strlen(ls.v[i].key);
	for (size_t i = 0; i < ls.n && !rc; i++)
		rc = buf_addf(out, "%s:%*s %s\n", ls.v[i].key, (int)(width - strlen(ls.v[i].key)),
			      "", ls.v[i].value);
	for (size_t i = 0; i < ls.n; i++)
		free(ls.v[i].key);
	free(ls.v);
	return rc;
}

/* The JSON of the object at key, or NULL (and *rc set) when unreadable. */
static struct json_object *get_json(struct store *st, const char *key, size_t max, int *rc)
{
	struct buf b;
	struct json_object *j = NULL;
	buf_init(&b, max);
	*rc = store_get(st, key, &b);
	if (!*rc) {
		j = json_tokener_parse(buf_str(&b));
		if (!j || !json_object_is_type(j, json_type_object)) {
			char *where = store_location(st, key);
			*rc = err_set(E_INTEGRITY,
				      "%s is not a JSON object; the object is corrupt or "
				      "was replaced",
				      where);
			free(where);
			json_object_put(j);
			j = NULL;
		}
	}
	buf_dispose(&b);
	return j;
}

static int show_backup(struct store *st, const struct job_opts *o, struct json_object **out)
{
	struct manifest m;
	struct buf text;
	char *vkey = NULL, *folder = NULL, *loc = NULL;
	int rc = artifact_load_manifest(&m, st, o->namespace_, o->name);
	if (rc)
		return rc;
	buf_init(&text, MANIFEST_MAX_BYTES * 2);
	if ((rc = manifest_to_json(&m, &text)))
		goto done;
	struct json_object *j = json_tokener_parse(buf_str(&text));
	folder = artifact_key(o->namespace_, o->name, NULL);
	loc = store_location(st, folder);
	result_add_str(j, "location", loc);
	uint64_t stored = 0;
	for (size_t i = 0; i < m.nobjects; i++)
		stored += m.objects[i].size;
	if (m.files.key)
		stored += m.files.size;
	json_object_object_add(j, "storedBytes", json_object_new_int64((int64_t)stored));
	vkey = artifact_key(o->namespace_, o->name, ARTIFACT_VERIFIED);
	int vrc;
	struct json_object *v = get_json(st, vkey, 64 * 1024, &vrc);
	if (vrc && vrc != E_NOTFOUND)
		log_warn("the verification record cannot be read: %s", err_msg());
	if (!v) {
		v = json_object_new_object();
		json_object_object_add(v, "verified", json_object_new_boolean(0));
	} else {
		json_object_object_add(v, "verified", json_object_new_boolean(1));
	}
	json_object_object_add(j, "verification", v);
	*out = j;
done:
	buf_dispose(&text);
	manifest_dispose(&m);
	free(vkey);
	free(folder);
	free(loc);
	return rc;
}

struct find {
	const char *leaf; /* "NAME.json" */
	char *key;
	int many;
};

static int find_record(const struct store_entry *e, void *ud)
{
	struct find *f = ud;
	const char *slash = strrchr(e->key, '/');
	if (!audit_is_key(e->key) || !slash || strcmp(slash + 1, f->leaf) != 0)
		return 0;
	/* Names repeat across months only when reused; show the newest key. */
	if (f->key) {
		f->many = 1;
		if (strcmp(e->key, f->key) <= 0)
			return 0;
		free(f->key);
	}
	f->key = xstrdup(e->key);
	return 0;
}

static int show_record(struct store *st, const struct job_opts *o, struct json_object **out)
{
	struct find f = {0};
	char *leaf = xasprintf("%s.json", o->restore_name);
	char *prefix = xasprintf("%s/%s/", o->namespace_, AUDIT_FOLDER);
	int rc;
	f.leaf = leaf;
	if ((rc = store_list(st, prefix, find_record, &f)))
		goto done;
	if (!f.key) {
		char *where = store_location(st, prefix);
		rc = err_set(
		    E_NOTFOUND,
		    "no audit record of restore %s/%s under %s; `lifeboat audit --storage %s` "
		    "lists the records the storage holds",
		    o->namespace_, o->restore_name, where, st->display);
		free(where);
		goto done;
	}
	if (f.many)
		log_warn("several audit records named %s under %s: showing %s", leaf, prefix,
			 f.key);
	struct json_object *j = get_json(st, f.key, AUDIT_MAX_BYTES, &rc);
	if (rc == E_TOOBIG) {
		char *where = store_location(st, f.key);
		rc = err_set(E_INTEGRITY, "%s is larger than %d bytes: it is not an audit record",
			     where, AUDIT_MAX_BYTES);
		free(where);
	}
	if (j) {
		char *where = store_location(st, f.key);
		result_add_str(j, "location", where);
		free(where);
		*out = j;
	}
done:
	free(f.key);
	free(leaf);
	free(prefix);
	return rc;
}

int show_run(const struct job_opts *o, struct json_object *result)
{
	struct store *st = NULL;
	struct json_object *j = NULL;
	struct buf text;
	int rc;
	buf_init(&text, 4 * 1024 * 1024);
	int as_json = o->output && strcmp(o->output, "json") == 0;
	if (o->output && !as_json && strcmp(o->output, "table") != 0)
		return err_set(E_INVALID, "--output \"%s\": use table or json", o->output);
	if (!!o->name == !!o->restore_name)
		return err_set(E_INVALID, "show: give --name (a backup) or --restore-name (a "
					  "restore's audit record), not both or neither");
	if ((rc = artifact_check_namespace(o->namespace_, "--namespace")) ||
	    (o->name && (rc = artifact_check_name(o->name, "--name"))) ||
	    (o->restore_name && (rc = artifact_check_name(o->restore_name, "--restore-name"))) ||
	    (rc = store_open(&st, o->storage)))
		goto done;
	if ((rc = o->name ? show_backup(st, o, &j) : show_record(st, o, &j)))
		goto done;
	if (as_json) {
		const char *s = json_object_to_json_string_ext(
		    j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			   JSON_C_TO_STRING_NOSLASHESCAPE);
		printf("%s\n", s);
	} else {
		if ((rc = show_render(&text, j)))
			goto done;
		fputs(buf_str(&text), stdout);
	}
	fflush(stdout);
	struct json_object *loc;
	if (json_object_object_get_ex(j, "location", &loc))
		result_add_str(result, "location", json_object_get_string(loc));
done:
	json_object_put(j);
	buf_dispose(&text);
	store_free(st);
	return rc;
}
