/* The newest pod of each Job, by the Job's namespace and name: the pod cache
 * is keyed by pod name (random), and a reconcile must not walk every cached
 * pod to find its Job's. Fed from the pod informer's handlers; thread-safe.
 *
 * "Newest" is the latest metadata.creationTimestamp, ties broken by the pod
 * name (bytewise, larger wins), so every replica picks the same pod. A pod is
 * a Job's when it carries the label job-name (set by the Job controller). */
#ifndef LIFEBOAT_PODINDEX_H
#define LIFEBOAT_PODINDEX_H

struct json_object;
struct podindex;

struct podindex *podindex_new(void);
void podindex_free(struct podindex *x); /* NULL is a no-op */

/* A pod added or changed: it becomes its Job's entry when it is newer than
 * the one held (or is that one). Pods without job-name are ignored. */
void podindex_observe(struct podindex *x, struct json_object *pod);
/* A pod deleted. Returns 1 when it was its Job's entry (the entry is gone:
 * the caller offers the Job's remaining pods with podindex_observe), else 0. */
int podindex_forget(struct podindex *x, struct json_object *pod);
/* The name of the newest pod of Job ns/job (caller frees), or NULL. */
char *podindex_get(struct podindex *x, const char *ns, const char *job);
/* Jobs held (tests). */
unsigned long podindex_len(struct podindex *x);

#endif
