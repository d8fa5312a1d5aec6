/* The JSON result a command leaves for the operator (<= 4 KiB, the size of a
 * Kubernetes termination message) and for people (stdout). Its schema is
 * common/jobresult.h; these adapt the job's types to it. */
#ifndef LIFEBOAT_RESULT_H
#define LIFEBOAT_RESULT_H

#include <time.h>

struct json_object;
struct manifest;

#include "common/jobresult.h"

#define RESULT_MAX_BYTES JOBRESULT_MAX_BYTES

/* Adds "artifact" and "database" sections describing m to result. */
void result_add_manifest(struct json_object *result, const struct manifest *m,
			 const char *location);
void result_add_str(struct json_object *o, const char *key, const char *value);
void result_add_time(struct json_object *o, const char *key, time_t t);
/* Writes result (shrunk to RESULT_MAX_BYTES if needed, as jobresult_render
 * says) to stdout when to_stdout, and to path when path is non-NULL. */
int result_emit(struct json_object *result, int to_stdout, const char *path);

#endif
