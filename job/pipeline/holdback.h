/* A stage that passes on all but the last HOLDBACK_BYTES it was given. The
 * tail is released only by holdback_release: restore uses it to keep the
 * script's final COMMIT from psql until the whole artifact has been checked. */
#ifndef LIFEBOAT_HOLDBACK_H
#define LIFEBOAT_HOLDBACK_H

#include "job/pipeline/stage.h"

#define HOLDBACK_BYTES 4096

struct stage *holdback_new(struct stage *next);
/* Pure check of the held tail: 0 when it ends with "COMMIT;" followed only by
 * blank lines, "--" comments or psql's "\unrestrict KEY"; E_INTEGRITY otherwise. */
int holdback_check_commit(const struct stage *s);
/* Writes the held tail to next. Finish does NOT release it. */
int holdback_release(struct stage *s);

#endif
