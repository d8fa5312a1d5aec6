/* `lifeboat show`'s human form: a JSON object as aligned "key: value" lines.
 * Pure: formats text, no I/O. */
#ifndef LIFEBOAT_SHOW_H
#define LIFEBOAT_SHOW_H

#include "common/buf.h"

struct json_object;

/* Appends o flattened to out, one "path: value" line per leaf, the values
 * aligned: nested objects as "a.b", arrays as "a[0].b", null as "-", an
 * empty array or object as "-". o not an object gives E_INVALID; a full
 * buffer E_TOOBIG. */
int show_render(struct buf *out, struct json_object *o);

#endif
