/* The operator's HTTP endpoints (libwebsockets, on a thread of their own):
 *   GET /healthz  200 "ok" while the main loop's heartbeat is fresh; 500
 *                 with the reason once it is older than stale_ms
 *   GET /readyz   200 "ok" once the caches have synced; 503 "caches not
 *                 synced" before, and 503 "shutting down" once shutdown began
 *   GET /metrics  the registry's text exposition (Content-Type: text/plain;
 *                 version=0.0.4)
 * anything else 404, any other method 405 (with Allow: GET). The probes are
 * served on health_addr and /metrics on metrics_addr; when both are the same
 * address one listener serves all three. */
#ifndef LIFEBOAT_SERVE_H
#define LIFEBOAT_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct metrics;

#define SERVE_DEFAULT_STALE_MS 30000

struct serve_options {
	/* "host:port": host an IPv4 address, or empty for every IPv4 and IPv6
	 * address (":8081"); IPv6 host addresses are refused (libwebsockets
	 * 4.1 binds those only by interface name); port 0 lets the
	 * kernel pick (see serve_port). NULL, "" or "0" turns the listener off. */
	const char *health_addr;
	const char *metrics_addr;
	struct metrics *metrics; /* borrowed; NULL: /metrics is 404 */
	int64_t stale_ms;	 /* 0: SERVE_DEFAULT_STALE_MS */
	/* Monotonic milliseconds for the heartbeat; NULL: CLOCK_MONOTONIC. */
	int64_t (*now_ms)(void *ud);
	void *clock_ud;
};

struct serve;

/* Binds the listeners and starts the server thread. The heartbeat starts
 * fresh. Returns 0 and *out (stop and free with serve_free), or E_INVALID
 * (a malformed address, naming the flag's value) or E_IO (cannot listen:
 * the address, and why, e.g. "address already in use"). */
int serve_new(struct serve **out, const struct serve_options *opt);
/* Stops serving (connections are closed) and joins the thread; returns
 * within about a second. Idempotent; call it from any thread but the
 * server's own. */
void serve_stop(struct serve *s);
/* serve_stop, then frees. NULL is a no-op. */
void serve_free(struct serve *s);

/* The port a listener is bound to (useful after port 0), or -1 when off. */
enum serve_listener { SERVE_HEALTH, SERVE_METRICS };
int serve_port(const struct serve *s, enum serve_listener which);

/* Thread-safe state the operator updates. */
void serve_heartbeat(struct serve *s);
void serve_set_synced(struct serve *s, int synced);
void serve_set_shutting_down(struct serve *s);

/* Pure: splits "host:port" into host (without brackets; "" for all
 * addresses) and port. Returns 0, 1 when the listener is off (NULL, "",
 * "0"), E_INVALID naming the value, or E_UNSUPPORTED for an IPv6 host. */
int serve_parse_addr(const char *addr, char *host, size_t hostsz, int *port);

/* Why host:port cannot be listened on ("Address already in use"), asked of
 * the kernel directly: libwebsockets only says that it failed. Writes into
 * out and returns it. */
const char *serve_listen_error(const char *host, int port, char *out, size_t outsz);

/* What the router needs to answer, as a snapshot. */
struct serve_probe {
	int64_t now_ms, heartbeat_ms, stale_ms;
	int synced, shutting_down;
};
enum serve_routes { SERVE_ROUTE_PROBES = 1, SERVE_ROUTE_METRICS = 2 };
struct serve_reply {
	int status;
	const char *content_type; /* static */
	const char *allow;	  /* "GET" for 405, else NULL */
	struct buf body;	  /* caller disposes */
};
/* Pure but for /metrics, which renders the registry: the reply to method
 * and path (query already removed) on a listener serving routes (a mask of
 * serve_routes). reply->body must be initialised by the caller. */
void serve_route(const char *method, const char *path, unsigned routes,
		 const struct serve_probe *probe, struct metrics *metrics,
		 struct serve_reply *reply);

#endif
