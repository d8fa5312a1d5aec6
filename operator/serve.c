/* The HTTP endpoints: a pure router (serve_route) and a thin libwebsockets
 * shell, one context with a vhost per listener, served by one thread. */
#include "operator/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "operator/metrics.h"

#define METRICS_BODY_MAX (64u * 1024 * 1024)
#define PROBE_BODY_MAX 4096
#define CHUNK 16384

static const char TEXT[] = "text/plain; charset=utf-8";
static const char EXPOSITION[] = "text/plain; version=0.0.4; charset=utf-8";

/* --- the pure part --- */

int serve_parse_addr(const char *addr, char *host, size_t hostsz, int *port)
{
	if (!addr || !*addr || !strcmp(addr, "0"))
		return 1;
	if (addr[0] == '[')
		return err_set(
		    E_UNSUPPORTED,
		    "address \"%s\": an IPv6 host address cannot be bound here (libwebsockets "
		    "4.1 binds IPv6 only by interface); use \":PORT\" for every IPv4 and IPv6 "
		    "address, or an IPv4 address",
		    addr);
	const char *colon = strrchr(addr, ':');
	if (!colon)
		return err_set(E_INVALID,
			       "address \"%s\": use host:port (\"127.0.0.1:8081\", \":8081\")",
			       addr);
	size_t hlen = (size_t)(colon - addr);
	if (memchr(addr, ':', hlen))
		return err_set(E_INVALID, "address \"%s\": the host must be an IPv4 address", addr);
	char tmp[INET_ADDRSTRLEN];
	struct in_addr a4;
	if (hlen >= sizeof(tmp) || hlen >= hostsz)
		return err_set(E_INVALID, "address \"%s\": the host must be an IPv4 address", addr);
	memcpy(tmp, addr, hlen);
	tmp[hlen] = '\0';
	if (hlen && inet_pton(AF_INET, tmp, &a4) != 1)
		return err_set(E_INVALID,
			       "address \"%s\": the host must be an IPv4 address, not a name",
			       addr);
	long v = 0;
	if (!colon[1])
		return err_set(E_INVALID, "address \"%s\": no port after the colon", addr);
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9' || v > 65535)
			return err_set(E_INVALID,
				       "address \"%s\": the port must be a number 0-65535", addr);
		v = v * 10 + (*p - '0');
	}
	if (v > 65535)
		return err_set(E_INVALID, "address \"%s\": the port must be a number 0-65535",
			       addr);
	memcpy(host, tmp, hlen + 1);
	*port = (int)v;
	return 0;
}

static void reply_text(struct serve_reply *r, int status, const char *text)
{
	r->status = status;
	r->content_type = TEXT;
	buf_reset(&r->body);
	if (buf_adds(&r->body, text))
		buf_reset(&r->body);
}

void serve_route(const char *method, const char *path, unsigned routes,
		 const struct serve_probe *probe, struct metrics *metrics,
		 struct serve_reply *reply)
{
	static const struct {
		const char *path;
		unsigned route;
	} known[] = {{"/healthz", SERVE_ROUTE_PROBES},
		     {"/readyz", SERVE_ROUTE_PROBES},
		     {"/metrics", SERVE_ROUTE_METRICS}};
	int which = -1;
	reply->allow = NULL;
	for (int i = 0; i < 3; i++)
		if (path && !strcmp(path, known[i].path) && (routes & known[i].route) &&
		    (known[i].route != SERVE_ROUTE_METRICS || metrics))
			which = i;
	if (which < 0) {
		reply_text(reply, 404, "not found");
		return;
	}
	if (!method || strcmp(method, "GET")) {
		reply_text(reply, 405, "method not allowed: use GET");
		reply->allow = "GET";
		return;
	}
	if (which == 0) {
		int64_t age = probe->now_ms - probe->heartbeat_ms;
		if (age <= probe->stale_ms) {
			reply_text(reply, 200, "ok");
		} else {
			char why[160];
			snprintf(why, sizeof(why),
				 "heartbeat stale: the main loop last reported %.1f s ago (limit "
				 "%.1f s)",
				 (double)age / 1000, (double)probe->stale_ms / 1000);
			reply_text(reply, 500, why);
		}
	} else if (which == 1) {
		if (probe->shutting_down)
			reply_text(reply, 503, "shutting down");
		else if (!probe->synced)
			reply_text(reply, 503, "caches not synced");
		else
			reply_text(reply, 200, "ok");
	} else {
		buf_reset(&reply->body);
		if (metrics_render(metrics, &reply->body)) {
			char why[256];
			snprintf(why, sizeof(why), "cannot render the metrics: %s", err_msg());
			reply_text(reply, 500, why);
		} else {
			reply->status = 200;
			reply->content_type = EXPOSITION;
		}
	}
}

/* --- the libwebsockets shell --- */

struct listener {
	struct serve *s;
	unsigned routes;
	struct lws_vhost *vh;
	char host[64];
	int port;
	int bound_port;
	const char *vhost_name; /* lws keeps the pointer */
};

struct serve {
	struct lws_context *ctx;
	pthread_t thread;
	int running;
	atomic_int stop;
	pthread_mutex_t stop_lock;
	struct listener l[2];
	int nl;
	int health_idx, metrics_idx; /* into l, or -1 */
	struct metrics *metrics;
	int64_t stale_ms;
	int64_t (*now_ms)(void *ud);
	void *clock_ud;
	_Atomic int64_t heartbeat_ms;
	atomic_int synced, shutting_down;
};

/* One HTTP transaction in flight on a connection. */
struct session {
	struct serve_reply reply;
	size_t sent;
	int headers_done, active, await_body;
};

static int64_t now_of(const struct serve *s)
{
	if (s->now_ms)
		return s->now_ms(s->clock_ud);
	return clock_mono_ms();
}

static void session_end(struct session *ss)
{
	if (ss && ss->active) {
		buf_dispose(&ss->reply.body);
		ss->active = 0;
	}
}

static const char *method_name(int m)
{
	static const char *const names[] = {"GET",   "POST",   "OPTIONS", "PUT",
					    "PATCH", "DELETE", "CONNECT", "HEAD"};
	return m >= 0 && m < (int)(sizeof(names) / sizeof(names[0])) ? names[m] : "UNKNOWN";
}

static int on_http(struct lws *wsi, struct session *ss, const char *path)
{
	struct listener *l = lws_get_vhost_user(lws_get_vhost(wsi));
	struct serve *s = l->s;
	char *uri = NULL;
	int ulen = 0;
	int m = lws_http_get_uri_and_method(wsi, &uri, &ulen);
	struct serve_probe probe = {
	    .now_ms = now_of(s),
	    .heartbeat_ms = atomic_load(&s->heartbeat_ms),
	    .stale_ms = s->stale_ms,
	    .synced = atomic_load(&s->synced),
	    .shutting_down = atomic_load(&s->shutting_down),
	};
	session_end(ss);
	memset(ss, 0, sizeof(*ss));
	buf_init(&ss->reply.body,
		 l->routes & SERVE_ROUTE_METRICS ? METRICS_BODY_MAX : PROBE_BODY_MAX);
	ss->active = 1;
	serve_route(method_name(m), path, l->routes, &probe, s->metrics, &ss->reply);
	/* A request with a body is answered once lws has read it (and dropped
	 * it: nothing here takes one); answering earlier makes lws close the
	 * connection without a reply. */
	char cl[32] = "";
	if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
	    strtoll(cl, NULL, 10) > 0)
		ss->await_body = 1;
	else
		lws_callback_on_writable(wsi);
	return 0;
}

static int on_writeable(struct lws *wsi, struct session *ss)
{
	unsigned char buf[LWS_PRE + CHUNK];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	if (!ss->active)
		return 0;
	if (!ss->headers_done) {
		if (lws_add_http_common_headers(wsi, (unsigned int)ss->reply.status,
						ss->reply.content_type, ss->reply.body.len, &p,
						end))
			return 1;
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
						(const unsigned char *)"no-store", 8, &p, end))
			return 1;
		if (ss->reply.allow &&
		    lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
						(const unsigned char *)ss->reply.allow,
						(int)strlen(ss->reply.allow), &p, end))
			return 1;
		if (lws_finalize_write_http_header(wsi, start, &p, end))
			return 1;
		ss->headers_done = 1;
		if (ss->reply.body.len) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	} else {
		size_t n = ss->reply.body.len - ss->sent;
		if (n > CHUNK)
			n = CHUNK;
		memcpy(start, ss->reply.body.ptr + ss->sent, n);
		ss->sent += n;
		int last = ss->sent == ss->reply.body.len;
		if (lws_write(wsi, start, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) !=
		    (int)n)
			return 1;
		if (!last) {
			lws_callback_on_writable(wsi);
			return 0;
		}
	}
	session_end(ss);
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct session *ss = user;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return on_http(wsi, ss, in);
	case LWS_CALLBACK_HTTP_BODY:
		return 0; /* nothing here takes a body: ignored */
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (ss && ss->active && ss->await_body) {
			ss->await_body = 0;
			lws_callback_on_writable(wsi);
		}
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return ss ? on_writeable(wsi, ss) : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		session_end(ss);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
    {"lifeboat-http", callback, sizeof(struct session), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void lws_emit(int level, const char *line)
{
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	log_msg(level == LLL_ERR ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN, "libwebsockets: %.*s", (int)n,
		line);
}

static void *serve_main(void *arg)
{
	struct serve *s = arg;
	while (!atomic_load(&s->stop))
		if (lws_service(s->ctx, 0) < 0)
			break;
	return NULL;
}

const char *serve_listen_error(const char *host, int port, char *out, size_t outsz)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (*host)
		inet_pton(AF_INET, host, &a.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	snprintf(out, outsz, "libwebsockets could not listen");
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1))
			snprintf(out, outsz, "%s", strerror(errno));
		close(fd);
	}
	return out;
}

static int add_listener(struct serve *s, const char *addr, unsigned routes, int *idx)
{
	char host[64];
	int port, rc = serve_parse_addr(addr, host, sizeof(host), &port);
	*idx = -1;
	if (rc == 1)
		return 0;
	if (rc)
		return rc;
	for (int i = 0; i < s->nl; i++)
		if (!strcmp(s->l[i].host, host) && s->l[i].port == port) {
			s->l[i].routes |= routes;
			*idx = i;
			return 0;
		}
	struct listener *l = &s->l[s->nl];
	l->s = s;
	l->routes = routes;
	snprintf(l->host, sizeof(l->host), "%s", host);
	l->port = port;
	*idx = s->nl++;
	return 0;
}

static int create_vhosts(struct serve *s)
{
	for (int i = 0; i < s->nl; i++) {
		struct listener *l = &s->l[i];
		struct lws_context_creation_info vi;
		static const char *const names[] = {"listener0", "listener1"};
		memset(&vi, 0, sizeof(vi));
		l->vhost_name = names[i];
		vi.vhost_name = l->vhost_name;
		vi.port = l->port;
		vi.iface = l->host[0] ? l->host : NULL;
		vi.protocols = protocols;
		vi.user = l;
		vi.keepalive_timeout = 5;
		vi.server_string = "lifeboat-operator";
		/* An IPv4 host gets a plain IPv4 socket; ":PORT" a dual-stack one. */
		if (l->host[0])
			vi.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
		l->vh = lws_create_vhost(s->ctx, &vi);
		if (!l->vh) {
			char why[128];
			return err_set(E_IO, "cannot listen on %s:%d: %s", l->host, l->port,
				       serve_listen_error(l->host, l->port, why, sizeof(why)));
		}
		l->bound_port = lws_get_vhost_listen_port(l->vh);
	}
	return 0;
}

int serve_new(struct serve **out, const struct serve_options *opt)
{
	struct serve *s = xcalloc(1, sizeof(*s));
	int rc;
	pthread_mutex_init(&s->stop_lock, NULL);
	s->metrics = opt->metrics;
	s->stale_ms = opt->stale_ms > 0 ? opt->stale_ms : SERVE_DEFAULT_STALE_MS;
	s->now_ms = opt->now_ms;
	s->clock_ud = opt->clock_ud;
	atomic_store(&s->heartbeat_ms, now_of(s));
	rc = add_listener(s, opt->health_addr, SERVE_ROUTE_PROBES, &s->health_idx);
	if (rc)
		rc = err_wrap("--health-addr");
	if (!rc) {
		rc = add_listener(s, opt->metrics_addr, SERVE_ROUTE_METRICS, &s->metrics_idx);
		if (rc)
			rc = err_wrap("--metrics-addr");
	}
	if (rc || !s->nl)
		goto done;

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_emit);
	struct lws_context_creation_info ci;
	memset(&ci, 0, sizeof(ci));
	ci.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	ci.port = CONTEXT_PORT_NO_LISTEN;
	ci.gid = -1;
	ci.uid = -1;
	s->ctx = lws_create_context(&ci);
	if (!s->ctx) {
		rc = err_set(E_IO, "libwebsockets: cannot create a context");
		goto done;
	}
	rc = create_vhosts(s);
	if (rc)
		goto done;
	if (pthread_create(&s->thread, NULL, serve_main, s)) {
		rc = err_set(E_IO, "cannot start the HTTP server thread");
		goto done;
	}
	s->running = 1;
done:
	if (rc) {
		if (s->ctx)
			lws_context_destroy(s->ctx);
		pthread_mutex_destroy(&s->stop_lock);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void serve_stop(struct serve *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->stop_lock);
	if (s->running) {
		atomic_store(&s->stop, 1);
		lws_cancel_service(s->ctx);
		pthread_join(s->thread, NULL);
		s->running = 0;
	}
	if (s->ctx) {
		lws_context_destroy(s->ctx);
		s->ctx = NULL;
	}
	pthread_mutex_unlock(&s->stop_lock);
}

void serve_free(struct serve *s)
{
	if (!s)
		return;
	serve_stop(s);
	pthread_mutex_destroy(&s->stop_lock);
	free(s);
}

int serve_port(const struct serve *s, enum serve_listener which)
{
	int i = which == SERVE_HEALTH ? s->health_idx : s->metrics_idx;
	return i < 0 ? -1 : s->l[i].bound_port;
}

void serve_heartbeat(struct serve *s)
{
	atomic_store(&s->heartbeat_ms, now_of(s));
}

void serve_set_synced(struct serve *s, int synced)
{
	atomic_store(&s->synced, synced ? 1 : 0);
}

void serve_set_shutting_down(struct serve *s)
{
	atomic_store(&s->shutting_down, 1);
}
