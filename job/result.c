/* Building and writing the command result JSON. */
#include "result.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json.h>

#include "../common/err.h"
#include "manifest.h"

void result_add_str(struct json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

void result_add_time(struct json_object *o, const char *key, time_t t)
{
	char s[32];
	manifest_time_format(s, t);
	result_add_str(o, key, s);
}

void result_add_manifest(struct json_object *result, const struct manifest *m, const char *location)
{
	struct json_object *a = json_object_new_object();
	result_add_str(a, "location", location);
	struct json_object *objs = json_object_new_array();
	for (size_t i = 0; i < m->nobjects; i++) {
		struct json_object *o = json_object_new_object();
		result_add_str(o, "key", m->objects[i].key);
		json_object_object_add(o, "size", json_object_new_int64((int64_t)m->objects[i].size));
		result_add_str(o, "sha256", m->objects[i].sha256);
		json_object_array_add(objs, o);
	}
	json_object_object_add(a, "objects", objs);
	if (m->nobjects > 0) {
		json_object_object_add(a, "size", json_object_new_int64((int64_t)m->objects[0].size));
		result_add_str(a, "sha256", m->objects[0].sha256);
	}
	json_object_object_add(a, "plaintextSize", json_object_new_int64((int64_t)m->plaintext_size));
	result_add_str(a, "plaintextSha256", m->plaintext_sha256);
	json_object_object_add(a, "encrypted", json_object_new_boolean(m->encrypted));
	result_add_str(a, "format", m->format);
	result_add_str(a, "compression", m->compression);
	result_add_time(a, "createdAt", m->created_at);
	json_object_object_add(result, "artifact", a);

	struct json_object *d = json_object_new_object();
	result_add_str(d, "name", m->database);
	result_add_str(d, "serverVersion", m->server_version);
	result_add_str(d, "dumpVersion", m->dump_version);
	json_object_object_add(d, "sizeBytes", json_object_new_int64((int64_t)m->database_size));
	json_object_object_add(d, "tableCount", json_object_new_int64(m->table_count));
	json_object_object_add(d, "rowEstimate", json_object_new_int64(m->row_estimate));
	if (m->schema_version)
		result_add_str(d, "schemaVersion", m->schema_version);
	json_object_object_add(result, "database", d);
}

static const char *render(struct json_object *result)
{
	return json_object_to_json_string_ext(result, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
}

int result_emit(struct json_object *result, int to_stdout, const char *path)
{
	const char *text = render(result);
	struct json_object *msg = NULL;
	/* Over the cap: shorten the message, then drop the object list. */
	if (strlen(text) > RESULT_MAX_BYTES && json_object_object_get_ex(result, "message", &msg)) {
		char shortened[1024];
		snprintf(shortened, sizeof(shortened), "%.1000s", json_object_get_string(msg));
		result_add_str(result, "message", shortened);
		text = render(result);
	}
	struct json_object *art = NULL;
	if (strlen(text) > RESULT_MAX_BYTES && json_object_object_get_ex(result, "artifact", &art)) {
		json_object_object_del(art, "objects");
		text = render(result);
	}
	if (to_stdout) {
		fputs(text, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	if (path && *path) {
		FILE *f = fopen(path, "w");
		if (!f)
			return err_set(E_IO, "cannot write the result to %s: %s", path, strerror(errno));
		fputs(text, f);
		if (fclose(f) != 0)
			return err_set(E_IO, "cannot write the result to %s: %s", path, strerror(errno));
	}
	return 0;
}
