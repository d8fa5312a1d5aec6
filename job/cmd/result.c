/* Building and writing the command result JSON: the schema and its writers
 * are common/jobresult's; this file maps the job's own types onto them and
 * does the writing. */
#include "job/cmd/result.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "common/err.h"
#include "common/jobresult.h"
#include "common/xmalloc.h"
#include "job/model/manifest.h"

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

/* The writer only reads what it is given: these borrow the manifest's text. */
static char *borrow(const char *s)
{
	return (char *)(uintptr_t)s;
}

/* "none", "gzip:6", "zstd:3", or for zstd:auto the levels it used:
 * "zstd:auto(1)", "zstd:auto(1-3)". */
static void compression_text(char *out, size_t size, const struct manifest *m)
{
	if (strcmp(m->compression, "none") == 0 || m->compression_level <= 0) {
		snprintf(out, size, "%s", m->compression);
		return;
	}
	if (!m->compression_auto) {
		snprintf(out, size, "%s:%d", m->compression, m->compression_level);
		return;
	}
	int lo = m->compression_level, hi = m->compression_level;
	for (size_t i = 0; i < m->compression_nlevels; i++) {
		if (m->compression_levels[i].level < lo)
			lo = m->compression_levels[i].level;
		if (m->compression_levels[i].level > hi)
			hi = m->compression_levels[i].level;
	}
	if (lo == hi)
		snprintf(out, size, "%s:auto(%d)", m->compression, lo);
	else
		snprintf(out, size, "%s:auto(%d-%d)", m->compression, lo, hi);
}

void result_add_manifest(struct json_object *result, const struct manifest *m, const char *location)
{
	char compression[64];
	compression_text(compression, sizeof(compression), m);
	struct jobresult_object *objs = xcalloc(m->nobjects + 1, sizeof(*objs));
	for (size_t i = 0; i < m->nobjects; i++) {
		objs[i].key = borrow(m->objects[i].key);
		objs[i].size = (struct jobresult_int){(int64_t)m->objects[i].size, 1};
		objs[i].sha256 = borrow(m->objects[i].sha256);
	}
	struct jobresult_artifact a = {
	    .location = borrow(location),
	    .objects = objs,
	    .nobjects = m->nobjects,
	    .plaintext_size = {(int64_t)m->plaintext_size, 1},
	    .plaintext_sha256 = borrow(m->plaintext_sha256),
	    .encrypted = {m->encrypted, 1},
	    .format = borrow(m->format),
	    .compression = compression,
	    .created_at = {m->created_at, 1},
	};
	if (m->files.key)
		a.files = (struct jobresult_files){
		    .object = borrow(m->files.key),
		    .size = {(int64_t)m->files.size, 1},
		    .sha256 = borrow(m->files.sha256),
		    .count = {(int64_t)m->files.count, 1},
		};
	/* The dump as stored: one object, or the concatenation of several. */
	if (m->nobjects > 0) {
		a.size = (struct jobresult_int){(int64_t)manifest_stored_size(m), 1};
		a.sha256 = borrow(manifest_stream_sha256(m));
	}
	jobresult_add_artifact(result, &a);
	free(objs);

	struct jobresult_database d = {
	    .name = borrow(m->database),
	    .server_version = borrow(m->server_version),
	    .dump_version = borrow(m->dump_version),
	    .size_bytes = {(int64_t)m->database_size, 1},
	    .table_count = {m->table_count, 1},
	    .row_estimate = {m->row_estimate, 1},
	    .schema_version = borrow(m->schema_version),
	};
	jobresult_add_database(result, &d);
}

int result_emit(struct json_object *result, int to_stdout, const char *path)
{
	const char *text = jobresult_render(result);
	if (to_stdout) {
		fputs(text, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	if (path && *path) {
		FILE *f = fopen(path, "w");
		if (!f)
			return err_set(E_IO, "cannot write the result to %s: %s", path,
				       strerror(errno));
		fputs(text, f);
		if (fclose(f) != 0)
			return err_set(E_IO, "cannot write the result to %s: %s", path,
				       strerror(errno));
	}
	return 0;
}
