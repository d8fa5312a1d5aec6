"""Discovery and OpenAPI v3 documents.

Owns /version, /api, /apis, /apis/<g>, /api/v1 and /apis/<g>/<v>
(APIVersions, APIGroupList, APIGroup, APIResourceList with verbs,
shortNames, categories, singularName, subresources), and OpenAPI v3:
/openapi/v3 (the path index with per-document hashes) and
/openapi/v3/{api/v1,apis/<g>/<v>} with a path per endpoint whose `patch`
operations carry `x-kubernetes-group-version-kind` and a `fieldValidation`
query parameter (kubectl checks for it before it relies on server-side
validation). Component schemas come from CRD schemas (so `kubectl explain`
works for custom resources); built-in kinds get no component schema, so
kubectl computes strategic merge patches from its compiled-in types.
"""

import re

VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "gitCommit": "lifeboat-test-apiserver",
           "gitTreeState": "clean", "buildDate": "2024-12-11T00:00:00Z", "goVersion": "go1.23.3",
           "compiler": "gc", "platform": "linux/amd64"}

OBJECT_META_REF = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META_REF = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
PATCH_REF = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"


def version_priority(v):
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first."""
    m = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", v)
    if not m:
        return (3, 0, 0, v)
    major = int(m.group(1))
    stage = {"alpha": 2, "beta": 1, None: 0}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, v)


def api_versions(host):
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}


def _group(name, versions):
    vs = sorted(versions, key=version_priority)
    entries = [{"groupVersion": "%s/%s" % (name, v), "version": v} for v in vs]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list(registry):
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group(g, vs) for g, vs in registry.groups()]}


def api_group(registry, name):
    for g, vs in registry.groups():
        if g == name:
            d = _group(g, vs)
            d.update({"kind": "APIGroup", "apiVersion": "v1"})
            return d
    return None


def resource_list(registry, group, version):
    types = [rt for rt in registry.all() if rt.group == group and rt.version == version]
    if not types:
        return None
    resources = []
    for rt in sorted(types, key=lambda r: r.resource):
        r = {"name": rt.resource, "singularName": rt.singular, "namespaced": rt.namespaced, "kind": rt.kind,
             "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
             "storageVersionHash": registry.digest(rt.storage_key)[:12]}
        if rt.short_names:
            r["shortNames"] = rt.short_names
        if rt.categories:
            r["categories"] = rt.categories
        resources.append(r)
        for sub in rt.subresources:
            verbs = {"status": ["get", "patch", "update"], "log": ["get"], "finalize": ["update"]}[sub]
            resources.append({"name": "%s/%s" % (rt.resource, sub), "singularName": "", "namespaced": rt.namespaced,
                              "kind": rt.kind, "verbs": verbs})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": types[0].gv, "resources": resources}


# --- OpenAPI v3 ---------------------------------------------------------------

def gv_paths(registry):
    out = {"api/v1": "/openapi/v3/api/v1"}
    for g, vs in registry.groups():
        for v in vs:
            out["apis/%s/%s" % (g, v)] = "/openapi/v3/apis/%s/%s" % (g, v)
    return out


def openapi_index(registry):
    return {"paths": {k: {"serverRelativeURL": "%s?hash=%s" % (url, registry.digest(k))}
                      for k, url in gv_paths(registry).items()}}


def _schema_name(rt):
    parts = rt.group.split(".") if rt.group else ["core"]
    if rt.group and not rt.group.endswith(".k8s.io") and rt.group not in ("batch",):
        prefix = ".".join(reversed(parts))
    elif rt.group:
        prefix = "io.k8s.api." + parts[0]
    else:
        prefix = "io.k8s.api.core"
    return "%s.%s.%s" % (prefix, rt.version, rt.kind)


def _param(name, where="query", typ="string", desc="", required=False):
    p = {"name": name, "in": where, "description": desc or name, "schema": {"type": typ, "uniqueItems": True}}
    if required:
        p["required"] = True
    return p


WRITE_PARAMS = [
    _param("dryRun", desc="When present, indicates that modifications should not be persisted."),
    _param("fieldManager", desc="fieldManager is a name associated with the actor or entity that is making these "
                                "changes."),
    _param("fieldValidation", desc="fieldValidation instructs the server on how to handle objects in the request "
                                   "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: "
                                   "Ignore, Warn (default), Strict."),
]
LIST_PARAMS = [_param(n) for n in ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
                                   "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds",
                                   "watch")]


def _patch_types(rt):
    """Strategic merge patch is offered for built-in kinds only: kubectl
    reads this list to choose between it and a JSON merge patch."""
    types = ["application/apply-patch+yaml", "application/json-patch+json", "application/merge-patch+json"]
    if getattr(rt, "schema", None) is None:
        types.append("application/strategic-merge-patch+json")
    return types


def _op(action, rt, op_id, params, body=False, response_ref=None, patch=False):
    op = {"tags": [rt.gv.replace("/", "_")], "description": "%s %s" % (action, rt.kind), "operationId": op_id,
          "parameters": list(params),
          "responses": {"200": {"description": "OK", "content": {"application/json": {
              "schema": {"$ref": response_ref}}}}} if response_ref else {"200": {"description": "OK"}},
          "x-kubernetes-action": action,
          "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind}}
    if body:
        types = ["application/json"] if not patch else _patch_types(rt)
        ref = response_ref if not patch else PATCH_REF
        op["requestBody"] = {"content": {t: {"schema": {"$ref": ref}} for t in types}, "required": True}
    if patch:
        op["parameters"].append(_param("force", typ="boolean", desc="Force is going to \"force\" Apply requests."))
    return op


def openapi_doc(registry, group, version):
    types = [rt for rt in registry.all() if rt.group == group and rt.version == version]
    if not types:
        return None
    paths, schemas = {}, {
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": OBJECT_META,
        "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta": {
            "description": "ListMeta describes metadata that synthetic resources must have.", "type": "object",
            "properties": {"continue": {"type": "string"}, "remainingItemCount": {"type": "integer"},
                           "resourceVersion": {"type": "string"}}},
        "io.k8s.apimachinery.pkg.apis.meta.v1.Patch": {"description": "Patch is provided to give a concrete name "
                                                                      "and type to the Kubernetes PATCH request body.",
                                                       "type": "object"},
    }
    base = "/api/v1" if not group else "/apis/%s/%s" % (group, version)
    for rt in types:
        name = _schema_name(rt)
        ref = "#/components/schemas/" + name
        camel = "".join(p.capitalize() for p in re.split(r"[.\-]", rt.group)) + version.capitalize()
        scope = "Namespaced" if rt.namespaced else ""
        coll = base + ("/namespaces/{namespace}/" if rt.namespaced else "/") + rt.resource
        item = coll + "/{name}"
        nsp = [_param("namespace", "path", required=True)] if rt.namespaced else []
        namep = [_param("name", "path", required=True)]
        paths[coll] = {"get": _op("list", rt, "list%s%s%s" % (camel, scope, rt.kind), LIST_PARAMS),
                       "post": _op("post", rt, "create%s%s%s" % (camel, scope, rt.kind), WRITE_PARAMS, True, ref),
                       "delete": _op("deletecollection", rt, "deletecollection%s%s%s" % (camel, scope, rt.kind),
                                     LIST_PARAMS),
                       "parameters": nsp}
        paths[item] = {"get": _op("get", rt, "read%s%s%s" % (camel, scope, rt.kind), [], response_ref=ref),
                       "put": _op("put", rt, "replace%s%s%s" % (camel, scope, rt.kind), WRITE_PARAMS, True, ref),
                       "patch": _op("patch", rt, "patch%s%s%s" % (camel, scope, rt.kind), WRITE_PARAMS, True, ref,
                                    patch=True),
                       "delete": _op("delete", rt, "delete%s%s%s" % (camel, scope, rt.kind), WRITE_PARAMS),
                       "parameters": namep + nsp}
        if "status" in rt.subresources:
            paths[item + "/status"] = {
                "get": _op("get", rt, "read%s%s%sStatus" % (camel, scope, rt.kind), [], response_ref=ref),
                "put": _op("put", rt, "replace%s%s%sStatus" % (camel, scope, rt.kind), WRITE_PARAMS, True, ref),
                "patch": _op("patch", rt, "patch%s%s%sStatus" % (camel, scope, rt.kind), WRITE_PARAMS, True, ref,
                             patch=True),
                "parameters": namep + nsp}
        if rt.namespaced:
            paths[base + "/" + rt.resource] = {"get": _op("list", rt, "list%s%sForAllNamespaces" % (camel, rt.kind),
                                                          LIST_PARAMS)}
        sch = getattr(rt, "schema", None)
        if sch is not None:
            schemas[name] = cr_schema(rt, sch)
            schemas[name + "List"] = {
                "description": "%s is a list of %s" % (rt.list_kind, rt.kind), "type": "object",
                "required": ["items"],
                "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                               "items": {"type": "array", "items": {"$ref": ref}},
                               "metadata": {"allOf": [{"$ref": LIST_META_REF}]}},
                "x-kubernetes-group-version-kind": [{"group": rt.group, "version": rt.version,
                                                     "kind": rt.list_kind}]}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": paths,
            "components": {"schemas": schemas}}


def cr_schema(rt, sch):
    s = dict(sch)
    props = dict(s.get("properties") or {})
    props["apiVersion"] = {"description": "APIVersion defines the versioned schema of this representation of an "
                                          "object.", "type": "string"}
    props["kind"] = {"description": "Kind is a string value representing the REST resource this object "
                                    "represents.", "type": "string"}
    props["metadata"] = {"description": "Standard object's metadata. More info: https://git.k8s.io/community/"
                                        "contributors/devel/sig-architecture/api-conventions.md#metadata",
                         "allOf": [{"$ref": OBJECT_META_REF}]}
    s["properties"] = props
    s.setdefault("type", "object")
    s["x-kubernetes-group-version-kind"] = [{"group": rt.group, "version": rt.version, "kind": rt.kind}]
    return s


OBJECT_META = {
    "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects users "
                   "must create.",
    "type": "object",
    "properties": {
        "annotations": {"type": "object", "additionalProperties": {"type": "string", "default": ""},
                        "description": "Annotations is an unstructured key value map stored with a resource."},
        "creationTimestamp": {"type": "string", "format": "date-time",
                              "description": "CreationTimestamp is a timestamp representing the server time when "
                                             "this object was created."},
        "deletionGracePeriodSeconds": {"type": "integer", "format": "int64",
                                       "description": "Number of seconds allowed for this object to gracefully "
                                                      "terminate."},
        "deletionTimestamp": {"type": "string", "format": "date-time",
                              "description": "DeletionTimestamp is RFC 3339 date and time at which this resource "
                                             "will be deleted."},
        "finalizers": {"type": "array", "items": {"type": "string", "default": ""},
                       "description": "Must be empty before the object is deleted from the registry.",
                       "x-kubernetes-list-type": "set"},
        "generateName": {"type": "string", "description": "GenerateName is an optional prefix, used by the server, "
                                                          "to generate a unique name."},
        "generation": {"type": "integer", "format": "int64",
                       "description": "A sequence number representing a specific generation of the desired state."},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "default": ""},
                   "description": "Map of string keys and values that can be used to organize and categorize "
                                  "objects."},
        "name": {"type": "string", "description": "Name must be unique within a namespace."},
        "namespace": {"type": "string", "description": "Namespace defines the space within which each name must be "
                                                      "unique."},
        "ownerReferences": {"type": "array", "description": "List of objects depended by this object.",
                            "items": {"type": "object", "required": ["apiVersion", "kind", "name", "uid"],
                                      "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                                     "name": {"type": "string"}, "uid": {"type": "string"},
                                                     "controller": {"type": "boolean"},
                                                     "blockOwnerDeletion": {"type": "boolean"}}},
                            "x-kubernetes-list-map-keys": ["uid"], "x-kubernetes-list-type": "map"},
        "resourceVersion": {"type": "string", "description": "An opaque value that represents the internal version "
                                                            "of this object."},
        "uid": {"type": "string", "description": "UID is the unique in time and space value for this object."},
    },
}
