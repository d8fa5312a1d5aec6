/* Uploading one stream as numbered parts (S3 multipart, Azure blocks) with a
 * bounded number in flight: memory is part size x (in_flight + 1), whatever
 * the stream's length. Backends supply the per-part upload; this module owns
 * buffering, the worker threads, part sizes and the first error.
 *
 * A SIGTERM or SIGINT (stage_interrupted) stops an upload begun before it:
 * no part is started after it, parts_write and parts_finish fail with
 * interrupt_error, and the transfers under way are abandoned by libcurl
 * (common/http.h: http_set_interrupt). One begun after it (a clean-up's
 * small write) runs as usual. */
#ifndef LIFEBOAT_PARTS_H
#define LIFEBOAT_PARTS_H

#include <stddef.h>
#include <stdint.h>

#define PARTS_ID_MAX 256

struct parts_backend {
	/* Runs on worker thread `worker` (0 .. in_flight-1): upload part
	 * part_no (1-based) and write its identifier (ETag, block id) into id.
	 * Returns 0 or a negative err code with err_set (thread-local: the
	 * module copies the message). */
	int (*upload)(void *ctx, int worker, int part_no, const uint8_t *data, size_t len,
		      char id[PARTS_ID_MAX]);
};

struct parts;

/* part_size: every part's (the last may be shorter); in_flight >= 1 worker
 * threads. The size never grows: an object that would pass the backend's
 * part limit is cut by the caller (job/pipeline/split.h, job/pipeline/parts_plan.h). */
struct parts *parts_new(const struct parts_backend *b, void *ctx, size_t part_size, int in_flight);
/* Buffers bytes; a full part is handed to a worker (waiting for a free one).
 * Returns the first upload error seen so far, with its message. */
int parts_write(struct parts *p, const uint8_t *data, size_t n);
/* Nothing dispatched yet and everything fits one buffer: the caller may do
 * a single PUT of parts_pending() instead (then parts_finish is not needed). */
int parts_single(const struct parts *p);
const uint8_t *parts_pending(const struct parts *p, size_t *len);
/* Uploads the last (short) part and waits for all; 0 or the first error. */
int parts_finish(struct parts *p);
int parts_count(const struct parts *p);
/* The identifier of part part_no (1-based) after a successful finish. */
const char *parts_id(const struct parts *p, int part_no);
uint64_t parts_bytes(const struct parts *p);
/* Abandons the upload: parts handed over but not started are dropped, none
 * is started any more, and the uploads under way are waited for. Then
 * parts_write and parts_finish fail (E_IO, or the first error). */
void parts_abort(struct parts *p);
/* parts_abort, then stops the workers and frees everything. */
void parts_free(struct parts *p);

#endif
