#!/usr/bin/env python3
"""Lifeboat's test Kubernetes API server: the entry point.

Owns the command line, the optional TLS set-up (a CA and a server
certificate made with the `openssl` CLI in a temporary folder), the
kubeconfig it can write, start-up (store, registry, the built-in
namespaces, controllers, the Job stand-in, the HTTP server) and shutdown
(SIGTERM/SIGINT kill every child process group, then exit).

    python3 tests/apiserver/apiserver.py --port PORT [--tls]
        [--image-map IMAGE=BINARY ...] [--volumes-dir DIR] [--log FILE]
        [--write-kubeconfig PATH] [--token TOKEN] [--require-token]

Prints "apiserver: listening on http(s)://127.0.0.1:PORT" once it serves.
Python 3 standard library only. See README.md beside this file.
"""

import argparse
import atexit
import base64
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import controllers  # noqa: E402
import jobs  # noqa: E402
import kinds  # noqa: E402
import server  # noqa: E402
import store as storemod  # noqa: E402

CRD_KEY = "apiextensions.k8s.io/customresourcedefinitions"


def make_certs(folder):
    """A throwaway CA and a server certificate for 127.0.0.1/localhost."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ca_key, ca_crt = os.path.join(folder, "ca.key"), os.path.join(folder, "ca.crt")
    key, csr, crt = (os.path.join(folder, n) for n in ("server.key", "server.csr", "server.crt"))
    ext = os.path.join(folder, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n")
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", ca_key,
        "-out", ca_crt, "-days", "2", "-subj", "/CN=lifeboat-test-ca")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", csr,
        "-subj", "/CN=lifeboat-test-apiserver")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-out", crt, "-days", "2",
        "-extfile", ext)
    return ca_crt, crt, key


def write_kubeconfig(path, url, ca_pem, token):
    cluster = "    server: %s\n" % url
    if ca_pem:
        cluster += "    certificate-authority-data: %s\n" % base64.b64encode(ca_pem.encode()).decode()
    user = "    token: %s\n" % token if token else "    {}\n"
    text = ("apiVersion: v1\nkind: Config\nclusters:\n- name: lifeboat-test\n  cluster:\n%s"
            "users:\n- name: lifeboat-test\n  user:\n%s"
            "contexts:\n- name: lifeboat-test\n  context:\n    cluster: lifeboat-test\n    user: lifeboat-test\n"
            "    namespace: default\ncurrent-context: lifeboat-test\npreferences: {}\n" % (cluster, user))
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Lifeboat's test Kubernetes API server")
    ap.add_argument("--port", type=int, required=True, help="loopback port to listen on (0: any free port)")
    ap.add_argument("--tls", action="store_true", help="serve https with a generated certificate")
    ap.add_argument("--image-map", action="append", default=[], metavar="IMAGE=BINARY",
                    help="run containers of IMAGE (with or without tag; * for any) as BINARY")
    ap.add_argument("--volumes-dir", help="where PersistentVolumeClaims live (<dir>/<namespace>/<claim>)")
    ap.add_argument("--work-dir", help="where pods' files go (default: a temporary folder)")
    ap.add_argument("--log", help="append a line per request (and server errors) to FILE")
    ap.add_argument("--write-kubeconfig", metavar="PATH", help="write a kubeconfig for this server")
    ap.add_argument("--token", help="bearer token for the kubeconfig (default: random)")
    ap.add_argument("--require-token", action="store_true", help="refuse requests without the bearer token (401)")
    ap.add_argument("--history", type=int, default=1000, help="watch events kept per resource (older: 410 Gone)")
    ap.add_argument("--bookmark-interval", type=float, default=10.0, help="seconds between watch BOOKMARKs")
    ap.add_argument("--job-backoff", type=float, default=0.5, help="seconds before the first pod retry (doubles)")
    ap.add_argument("--max-process-seconds", type=float, default=900, help="hard limit for any container process")
    ap.add_argument("--pass-env", action="append", default=[], metavar="NAME",
                    help="also pass this variable of the server's environment to container processes")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    tmp = tempfile.mkdtemp(prefix="lifeboat-apiserver-")
    atexit.register(shutil.rmtree, tmp, True)
    log_lock = threading.Lock()
    log_file = open(args.log, "a", buffering=1) if args.log else None

    def log(msg):
        with log_lock:
            if log_file:
                log_file.write(msg.rstrip("\n") + "\n")
            else:
                sys.stderr.write("apiserver: " + msg.rstrip("\n") + "\n")

    token = args.token or secrets.token_hex(16)
    ssl_ctx, ca_pem = None, ""
    if args.tls:
        ca_crt, crt, key = make_certs(tmp)
        with open(ca_crt) as f:
            ca_pem = f.read()
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.load_cert_chain(crt, key)
        ssl_ctx.set_alpn_protocols(["http/1.1"])

    registry = kinds.Registry()
    st = storemod.Store(registry, history_size=args.history)

    def crd_hook(etype, key, obj, old):
        if key != CRD_KEY:
            return
        if etype == "DELETED":
            registry.drop_crd(obj["metadata"]["name"])
        else:
            registry.set_crd(obj)
    st.hooks.append(crd_hook)

    ctl = controllers.Controllers(st, registry, log)
    volumes = args.volumes_dir or os.path.join(tmp, "volumes")
    os.makedirs(volumes, exist_ok=True)
    image_map = {}
    for item in args.image_map:
        image, _, binary = item.partition("=")
        if not image or not binary:
            sys.exit("apiserver: --image-map wants IMAGE=BINARY, got %r" % item)
        image_map[image] = os.path.abspath(binary) if os.path.exists(binary) else binary
    srv = server.Server(("127.0.0.1", args.port), None, ssl_ctx)
    port = srv.server_address[1]
    job_ctl = jobs.JobController(st, registry, log, args.work_dir or os.path.join(tmp, "pods-root"), volumes,
                                 image_map, port, token, ca_pem, args.max_process_seconds, args.job_backoff,
                                 args.pass_env)
    ns_rt = registry.find("", "v1", "namespaces")
    ctl.start()
    job_ctl.start()
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        st.create(ns_rt, "", {"metadata": {"name": ns}}, {"internal": True})
    scheme = "https" if args.tls else "http"
    url = "%s://127.0.0.1:%d" % (scheme, port)
    srv.app = server.App(st, registry, job_ctl, log, "127.0.0.1:%d" % port, token, args.require_token,
                         args.bookmark_interval, log if log_file else None)
    if args.write_kubeconfig:
        write_kubeconfig(args.write_kubeconfig, url, ca_pem, token)

    def stop(signum, frame):
        job_ctl.shutdown()
        threading.Thread(target=srv.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("apiserver: listening on %s" % url, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        job_ctl.shutdown()
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
