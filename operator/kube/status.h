/* Decoding the API server's error replies (metav1.Status) into err codes and
 * messages. Pure. */
#ifndef LIFEBOAT_KUBE_STATUS_H
#define LIFEBOAT_KUBE_STATUS_H

#include <stddef.h>

/* Sets the thread's error from an HTTP status and a reply body (a Status
 * object, or anything else) and returns the code:
 *   400 -> E_INVALID, 401/403 -> E_FORBIDDEN, 404 -> E_NOTFOUND,
 *   409 AlreadyExists -> E_EXISTS, other 409 -> E_CONFLICT, 410 -> E_GONE,
 *   422 -> E_INVALID (field causes listed), 429 and 5xx -> E_UNAVAILABLE,
 *   anything else -> E_IO.
 * The message is "<what>: <reason>: <message>[; field: cause ...]". */
int kube_status_error(long http_status, const char *body, size_t len, const char *what);

#endif
