/* manifest.json serialisation and strict parsing with json-c. */
#include "job/model/manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/text.h"
#include "common/err.h"
#include "common/xmalloc.h"

void manifest_init(struct manifest *m)
{
	memset(m, 0, sizeof(*m));
	m->format_version = MANIFEST_FORMAT_VERSION;
}

void manifest_dispose(struct manifest *m)
{
	for (size_t i = 0; i < m->nobjects; i++)
		free(m->objects[i].key);
	free(m->objects);
	char **strs[] = {&m->namespace_,   &m->name,	 &m->tool_version,  &m->format,
			 &m->compression,  &m->cipher,	 &m->s2k,	    &m->server_version,
			 &m->dump_version, &m->database, &m->schema_version};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	free(m->files.key);
	manifest_init(m);
}

const char *manifest_stream_sha256(const struct manifest *m)
{
	if (m->stream_sha256[0] || m->nobjects == 0)
		return m->stream_sha256;
	return m->objects[0].sha256;
}

uint64_t manifest_stored_size(const struct manifest *m)
{
	uint64_t n = 0;
	for (size_t i = 0; i < m->nobjects; i++)
		n += m->objects[i].size;
	return n;
}

int manifest_add_object(struct manifest *m, const char *key, uint64_t size, const char *sha256)
{
	if (m->nobjects >= MANIFEST_MAX_OBJECTS)
		return err_set(E_TOOBIG, "manifest: more than %d objects", MANIFEST_MAX_OBJECTS);
	if (m->nobjects == m->objects_cap) {
		m->objects_cap = m->objects_cap ? m->objects_cap * 2 : 2;
		m->objects = xrealloc(m->objects, m->objects_cap * sizeof(*m->objects));
	}
	struct manifest_object *o = &m->objects[m->nobjects++];
	o->key = xstrdup(key);
	o->size = size;
	snprintf(o->sha256, sizeof(o->sha256), "%s", sha256);
	return 0;
}

void manifest_time_format(char out[32], time_t t)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int manifest_time_parse(time_t *out, const char *text)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
	char canon[32] = "";
	time_t t = 0;
	if (end && !*end) {
		t = timegm(&tm);
		manifest_time_format(canon, t);
	}
	/* strptime also takes " 2026-1-2T3:4:5Z" and normalises Feb 31 and
	 * second 60: only the canonical text, formatted back, is accepted. */
	if (!end || *end || strcmp(canon, text) != 0)
		return err_set(E_INVALID,
			       "\"%s\" is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)", text);
	*out = t;
	return 0;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : json_object_new_null());
}

static void add_time(struct json_object *o, const char *k, time_t t)
{
	char s[32];
	manifest_time_format(s, t);
	add_str(o, k, s);
}

int manifest_to_json(const struct manifest *m, struct buf *out)
{
	struct json_object *root = json_object_new_object();
	json_object_object_add(root, "formatVersion", json_object_new_int(m->format_version));
	add_str(root, "namespace", m->namespace_);
	add_str(root, "name", m->name);
	add_str(root, "toolVersion", m->tool_version);
	add_time(root, "createdAt", m->created_at);
	add_time(root, "completedAt", m->completed_at);
	add_str(root, "format", m->format);

	struct json_object *comp = json_object_new_object();
	add_str(comp, "algorithm", m->compression);
	json_object_object_add(comp, "level", json_object_new_int(m->compression_level));
	if (m->compression_auto) {
		add_str(comp, "mode", "auto");
		struct json_object *bounds = json_object_new_array();
		json_object_array_add(bounds, json_object_new_int(m->compression_lo));
		json_object_array_add(bounds, json_object_new_int(m->compression_hi));
		json_object_object_add(comp, "bounds", bounds);
	}
	if (m->compression_nlevels) {
		struct json_object *levels = json_object_new_array();
		for (size_t i = 0; i < m->compression_nlevels; i++) {
			struct json_object *l = json_object_new_object();
			json_object_object_add(l, "level",
					       json_object_new_int(m->compression_levels[i].level));
			json_object_object_add(
			    l, "plaintextBytes",
			    json_object_new_int64((int64_t)m->compression_levels[i].bytes));
			json_object_array_add(levels, l);
		}
		json_object_object_add(comp, "levels", levels);
	}
	json_object_object_add(root, "compression", comp);

	struct json_object *objs = json_object_new_array();
	for (size_t i = 0; i < m->nobjects; i++) {
		struct json_object *o = json_object_new_object();
		add_str(o, "key", m->objects[i].key);
		json_object_object_add(o, "size",
				       json_object_new_int64((int64_t)m->objects[i].size));
		add_str(o, "sha256", m->objects[i].sha256);
		json_object_array_add(objs, o);
	}
	json_object_object_add(root, "objects", objs);
	if (m->nobjects > 1) {
		struct json_object *st = json_object_new_object();
		json_object_object_add(st, "size",
				       json_object_new_int64((int64_t)manifest_stored_size(m)));
		add_str(st, "sha256", manifest_stream_sha256(m));
		json_object_object_add(root, "stream", st);
	}

	struct json_object *plain = json_object_new_object();
	json_object_object_add(plain, "size", json_object_new_int64((int64_t)m->plaintext_size));
	add_str(plain, "sha256", m->plaintext_sha256);
	json_object_object_add(root, "plaintext", plain);

	struct json_object *enc = json_object_new_object();
	json_object_object_add(enc, "enabled", json_object_new_boolean(m->encrypted));
	if (m->encrypted) {
		add_str(enc, "standard", "OpenPGP (RFC 4880) symmetric, SEIPD with MDC");
		add_str(enc, "cipher", m->cipher);
		add_str(enc, "s2k", m->s2k);
		json_object_object_add(enc, "s2kCount", json_object_new_int64(m->s2k_count));
	}
	json_object_object_add(root, "encryption", enc);

	struct json_object *pg = json_object_new_object();
	add_str(pg, "serverVersion", m->server_version);
	json_object_object_add(pg, "serverVersionNum", json_object_new_int(m->server_version_num));
	add_str(pg, "dumpVersion", m->dump_version);
	json_object_object_add(root, "postgresql", pg);

	struct json_object *db = json_object_new_object();
	add_str(db, "name", m->database);
	json_object_object_add(db, "sizeBytes", json_object_new_int64((int64_t)m->database_size));
	json_object_object_add(db, "tableCount", json_object_new_int64(m->table_count));
	json_object_object_add(db, "rowEstimate", json_object_new_int64(m->row_estimate));
	add_str(db, "schemaVersion", m->schema_version);
	json_object_object_add(root, "database", db);

	if (m->files.key) {
		struct json_object *f = json_object_new_object();
		add_str(f, "object", m->files.key);
		json_object_object_add(f, "size", json_object_new_int64((int64_t)m->files.size));
		add_str(f, "sha256", m->files.sha256);
		json_object_object_add(f, "count", json_object_new_int64((int64_t)m->files.count));
		json_object_object_add(f, "plaintextSize",
				       json_object_new_int64((int64_t)m->files.plaintext_size));
		add_str(f, "plaintextSha256", m->files.plaintext_sha256);
		json_object_object_add(root, "files", f);
	}

	const char *text =
	    json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
						     JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = buf_adds(out, text);
	if (!rc)
		rc = buf_adds(out, "\n");
	json_object_put(root);
	return rc;
}

/* --- parsing: every accessor names the field it failed on --- */

static int get(struct json_object **out, struct json_object *o, const char *path, const char *k,
	       enum json_type type, int required)
{
	struct json_object *v = NULL;
	*out = NULL;
	if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return err_set(E_INTEGRITY, "manifest: field %s%s is missing", path, k);
		return 0;
	}
	/* json-c parses integers that fit as int; accept them where doubles are absent. */
	if (!json_object_is_type(v, type))
		return err_set(E_INTEGRITY, "manifest: field %s%s has the wrong type (want %s)",
			       path, k, json_type_to_name(type));
	*out = v;
	return 0;
}

static int get_str(char **out, struct json_object *o, const char *path, const char *k, int required)
{
	struct json_object *v;
	int rc = get(&v, o, path, k, json_type_string, required);
	if (rc)
		return rc;
	/* A NUL inside would silently cut the text short. */
	if (v && strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return err_set(E_INTEGRITY, "manifest: field %s%s contains a NUL character", path,
			       k);
	*out = v ? xstrdup(json_object_get_string(v)) : NULL;
	return 0;
}

static int get_u64(uint64_t *out, struct json_object *o, const char *path, const char *k,
		   int required);

/* compression.mode, .bounds and .levels (zstd:auto; absent before it). */
static int parse_compression_extra(struct manifest *m, struct json_object *comp)
{
	struct json_object *v;
	int rc;
	if ((rc = get(&v, comp, "compression.", "mode", json_type_string, 0)))
		return rc;
	if (v) {
		if (strcmp(json_object_get_string(v), "auto") != 0)
			return err_set(E_INTEGRITY,
				       "manifest: field compression.mode must be auto, "
				       "got \"%s\"",
				       json_object_get_string(v));
		m->compression_auto = 1;
		if ((rc = get(&v, comp, "compression.", "bounds", json_type_array, 1)))
			return rc;
		if (json_object_array_length(v) != 2 ||
		    !json_object_is_type(json_object_array_get_idx(v, 0), json_type_int) ||
		    !json_object_is_type(json_object_array_get_idx(v, 1), json_type_int))
			return err_set(E_INTEGRITY,
				       "manifest: field compression.bounds must be two levels");
		m->compression_lo = json_object_get_int(json_object_array_get_idx(v, 0));
		m->compression_hi = json_object_get_int(json_object_array_get_idx(v, 1));
	}
	if ((rc = get(&v, comp, "compression.", "levels", json_type_array, 0)) || !v)
		return rc;
	size_t n = json_object_array_length(v);
	if (n > MANIFEST_MAX_LEVELS)
		return err_set(E_INTEGRITY,
			       "manifest: field compression.levels has %zu entries, "
			       "at most %d",
			       n, MANIFEST_MAX_LEVELS);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i), *lv;
		uint64_t bytes;
		char at[64];
		snprintf(at, sizeof(at), "compression.levels[%zu].", i);
		if (!json_object_is_type(e, json_type_object))
			return err_set(E_INTEGRITY,
				       "manifest: field compression.levels[%zu] must be an object",
				       i);
		if ((rc = get(&lv, e, at, "level", json_type_int, 1)) ||
		    (rc = get_u64(&bytes, e, at, "plaintextBytes", 1)))
			return rc;
		m->compression_levels[i].level = json_object_get_int(lv);
		m->compression_levels[i].bytes = bytes;
	}
	m->compression_nlevels = n;
	return 0;
}

static int get_u64(uint64_t *out, struct json_object *o, const char *path, const char *k,
		   int required)
{
	struct json_object *v;
	int rc = get(&v, o, path, k, json_type_int, required);
	if (rc)
		return rc;
	if (!v) {
		*out = 0;
		return 0;
	}
	int64_t x = json_object_get_int64(v);
	if (x < 0)
		return err_set(E_INTEGRITY, "manifest: field %s%s must not be negative", path, k);
	*out = (uint64_t)x;
	return 0;
}

static int get_i64(int64_t *out, struct json_object *o, const char *path, const char *k)
{
	struct json_object *v;
	int rc = get(&v, o, path, k, json_type_int, 0);
	if (rc)
		return rc;
	*out = v ? json_object_get_int64(v) : 0;
	return 0;
}

static int get_time(time_t *out, struct json_object *o, const char *k)
{
	char *s = NULL;
	int rc = get_str(&s, o, "", k, 1);
	if (rc)
		return rc;
	rc = manifest_time_parse(out, s);
	if (rc)
		rc = err_set(E_INTEGRITY, "manifest: field %s: %s", k, err_msg());
	free(s);
	return rc;
}

static int get_sha(char out[65], struct json_object *o, const char *path, const char *k)
{
	char *s = NULL;
	int rc = get_str(&s, o, path, k, 1);
	if (rc)
		return rc;
	if (!text_is_sha256_hex(s))
		rc = err_set(E_INTEGRITY, "manifest: field %s%s is not 64 lowercase hex digits",
			     path, k);
	else
		memcpy(out, s, 65);
	free(s);
	return rc;
}

/* An object name inside the backup folder, nothing more. */
static int plain_key(const char *key)
{
	return key[0] && !strchr(key, '/') && strcmp(key, "..") != 0 && strcmp(key, ".") != 0;
}

static int parse_files(struct manifest *m, struct json_object *root)
{
	struct json_object *sub;
	struct manifest_files *f = &m->files;
	int rc;
	if ((rc = get(&sub, root, "", "files", json_type_object, 0)) || !sub)
		return rc;
	if ((rc = get_str(&f->key, sub, "files.", "object", 1)))
		return rc;
	if (!plain_key(f->key))
		return err_set(E_INTEGRITY,
			       "manifest: field files.object must be a plain object name in the "
			       "backup folder");
	for (size_t i = 0; i < m->nobjects; i++)
		if (strcmp(m->objects[i].key, f->key) == 0)
			return err_set(E_INTEGRITY,
				       "manifest: field files.object names the dump object \"%s\"",
				       f->key);
	if ((rc = get_u64(&f->size, sub, "files.", "size", 1)) ||
	    (rc = get_sha(f->sha256, sub, "files.", "sha256")) ||
	    (rc = get_u64(&f->count, sub, "files.", "count", 1)) ||
	    (rc = get_u64(&f->plaintext_size, sub, "files.", "plaintextSize", 1)) ||
	    (rc = get_sha(f->plaintext_sha256, sub, "files.", "plaintextSha256")))
		return rc;
	return 0;
}

static int parse_into(struct manifest *m, struct json_object *root)
{
	struct json_object *v, *sub;
	int rc;
	uint64_t u;
	if (!json_object_is_type(root, json_type_object))
		return err_set(E_INTEGRITY, "manifest: top level is not a JSON object");
	if ((rc = get(&v, root, "", "formatVersion", json_type_int, 1)))
		return rc;
	m->format_version = json_object_get_int(v);
	if (m->format_version != MANIFEST_FORMAT_VERSION)
		return err_set(
		    E_UNSUPPORTED,
		    "manifest: formatVersion %d is not supported by lifeboat %s (which reads "
		    "%d); use a newer lifeboat",
		    m->format_version, LIFEBOAT_VERSION, MANIFEST_FORMAT_VERSION);
	if ((rc = get_str(&m->namespace_, root, "", "namespace", 1)) ||
	    (rc = get_str(&m->name, root, "", "name", 1)) ||
	    (rc = get_str(&m->tool_version, root, "", "toolVersion", 0)) ||
	    (rc = get_time(&m->created_at, root, "createdAt")) ||
	    (rc = get_time(&m->completed_at, root, "completedAt")) ||
	    (rc = get_str(&m->format, root, "", "format", 1)))
		return rc;
	if (strcmp(m->format, "custom") != 0 && strcmp(m->format, "plain") != 0)
		return err_set(E_INTEGRITY,
			       "manifest: field format must be custom or plain, got \"%s\"",
			       m->format);

	if ((rc = get(&sub, root, "", "compression", json_type_object, 1)) ||
	    (rc = get_str(&m->compression, sub, "compression.", "algorithm", 1)))
		return rc;
	if ((rc = get(&v, sub, "compression.", "level", json_type_int, 0)))
		return rc;
	m->compression_level = v ? json_object_get_int(v) : 0;
	if ((rc = parse_compression_extra(m, sub)))
		return rc;

	if ((rc = get(&sub, root, "", "objects", json_type_array, 1)))
		return rc;
	size_t n = json_object_array_length(sub);
	if (n == 0 || n > MANIFEST_MAX_OBJECTS)
		return err_set(E_INTEGRITY,
			       "manifest: field objects must list 1 to %d objects, has %zu",
			       MANIFEST_MAX_OBJECTS, n);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(sub, i);
		char path[32], sha[65];
		char *key = NULL;
		snprintf(path, sizeof(path), "objects[%zu].", i);
		if (!json_object_is_type(o, json_type_object))
			return err_set(E_INTEGRITY, "manifest: field objects[%zu] is not an object",
				       i);
		if ((rc = get_str(&key, o, path, "key", 1)))
			return rc;
		if (!plain_key(key)) {
			free(key);
			return err_set(
			    E_INTEGRITY,
			    "manifest: field %skey must be a plain object name in the backup "
			    "folder",
			    path);
		}
		if ((rc = get_u64(&u, o, path, "size", 1)) ||
		    (rc = get_sha(sha, o, path, "sha256"))) {
			free(key);
			return rc;
		}
		manifest_add_object(m, key, u, sha);
		free(key);
	}
	/* Several objects: their concatenation's size and SHA-256. */
	if ((rc = get(&sub, root, "", "stream", json_type_object, n > 1)))
		return rc;
	if (sub) {
		if ((rc = get_u64(&u, sub, "stream.", "size", 1)) ||
		    (rc = get_sha(m->stream_sha256, sub, "stream.", "sha256")))
			return rc;
		if (u != manifest_stored_size(m))
			return err_set(
			    E_INTEGRITY,
			    "manifest: field stream.size is %llu, but the objects hold %llu "
			    "bytes",
			    (unsigned long long)u, (unsigned long long)manifest_stored_size(m));
		if (n == 1 && strcmp(m->stream_sha256, m->objects[0].sha256) != 0)
			return err_set(E_INTEGRITY,
				       "manifest: field stream.sha256 is %s, but the one object's "
				       "sha256 is %s",
				       m->stream_sha256, m->objects[0].sha256);
	}

	if ((rc = get(&sub, root, "", "plaintext", json_type_object, 1)) ||
	    (rc = get_u64(&m->plaintext_size, sub, "plaintext.", "size", 1)) ||
	    (rc = get_sha(m->plaintext_sha256, sub, "plaintext.", "sha256")))
		return rc;

	if ((rc = get(&sub, root, "", "encryption", json_type_object, 1)) ||
	    (rc = get(&v, sub, "encryption.", "enabled", json_type_boolean, 1)))
		return rc;
	m->encrypted = json_object_get_boolean(v);
	if (m->encrypted) {
		if ((rc = get_str(&m->cipher, sub, "encryption.", "cipher", 0)) ||
		    (rc = get_str(&m->s2k, sub, "encryption.", "s2k", 0)) ||
		    (rc = get_u64(&u, sub, "encryption.", "s2kCount", 0)))
			return rc;
		if (u > UINT32_MAX)
			return err_set(E_INTEGRITY,
				       "manifest: field encryption.s2kCount is out of range");
		m->s2k_count = (uint32_t)u;
	}

	if ((rc = get(&sub, root, "", "postgresql", json_type_object, 1)) ||
	    (rc = get_str(&m->server_version, sub, "postgresql.", "serverVersion", 1)) ||
	    (rc = get_str(&m->dump_version, sub, "postgresql.", "dumpVersion", 1)))
		return rc;
	if ((rc = get(&v, sub, "postgresql.", "serverVersionNum", json_type_int, 0)))
		return rc;
	m->server_version_num = v ? json_object_get_int(v) : 0;

	if ((rc = get(&sub, root, "", "database", json_type_object, 1)) ||
	    (rc = get_str(&m->database, sub, "database.", "name", 1)) ||
	    (rc = get_u64(&m->database_size, sub, "database.", "sizeBytes", 0)) ||
	    (rc = get_i64(&m->table_count, sub, "database.", "tableCount")) ||
	    (rc = get_i64(&m->row_estimate, sub, "database.", "rowEstimate")) ||
	    (rc = get_str(&m->schema_version, sub, "database.", "schemaVersion", 0)))
		return rc;
	return parse_files(m, root);
}

int manifest_parse(struct manifest *out, const char *text, size_t len)
{
	struct manifest m;
	manifest_init(&m);
	int rc = 0;
	if (len > MANIFEST_MAX_BYTES)
		return err_set(E_INTEGRITY, "manifest: %zu bytes is larger than the %d allowed",
			       len, MANIFEST_MAX_BYTES);
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root = json_tokener_parse_ex(tok, text, (int)len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	if (!root || jerr != json_tokener_success) {
		rc = err_set(E_INTEGRITY, "manifest: not valid JSON (%s at offset %zu)",
			     jerr == json_tokener_continue ? "unexpected end"
							   : json_tokener_error_desc(jerr),
			     json_tokener_get_parse_end(tok));
		goto done;
	}
	if (json_tokener_get_parse_end(tok) < len) {
		for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
			if (text[i] == '\0' || !strchr(" \t\r\n", text[i])) {
				rc = err_set(E_INTEGRITY,
					     "manifest: trailing data after the JSON object");
				goto done;
			}
	}
	rc = parse_into(&m, root);
done:
	json_object_put(root);
	json_tokener_free(tok);
	if (rc) {
		manifest_dispose(&m);
		return rc;
	}
	*out = m;
	return 0;
}
