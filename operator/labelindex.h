/* Objects by namespace and the value of one label: the DatabaseBackups of
 * each schedule (label lifeboat.dev/schedule), without walking the backup
 * cache. Fed from the informer's handlers; thread-safe. */
#ifndef LIFEBOAT_LABELINDEX_H
#define LIFEBOAT_LABELINDEX_H

#include <stddef.h>

struct json_object;
struct labelindex;

/* label is borrowed (a string literal). */
struct labelindex *labelindex_new(const char *label);
void labelindex_free(struct labelindex *x); /* NULL is a no-op */

/* An object added or changed: filed under its label's value (moved when the
 * value changed, dropped when the label went). */
void labelindex_observe(struct labelindex *x, struct json_object *obj);
/* An object deleted. */
void labelindex_forget(struct labelindex *x, struct json_object *obj);
/* The names filed under ns/value: *names gets a new array of new strings
 * (free both with labelindex_names_free). Returns how many. */
size_t labelindex_get(struct labelindex *x, const char *ns, const char *value, char ***names);
void labelindex_names_free(char **names, size_t n);

#endif
