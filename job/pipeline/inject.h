/* A stage that inserts SQL right after the first "BEGIN;" line of a script,
 * so it runs inside the script's own transaction (restore --clean uses it). */
#ifndef LIFEBOAT_INJECT_H
#define LIFEBOAT_INJECT_H

#include "job/pipeline/stage.h"

#define INJECT_SCAN_MAX (64 * 1024)

/* sql is copied. E_INTEGRITY at write/finish when no "BEGIN;" line appears in
 * the first INJECT_SCAN_MAX bytes. */
struct stage *inject_new(const char *sql, struct stage *next);

#endif
