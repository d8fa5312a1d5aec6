"""Request bodies in Kubernetes' protobuf encoding, for a few core kinds.

kubectl's generator commands (`kubectl create configmap|secret|namespace|
serviceaccount`) go through client-go's typed clients, which send
`application/vnd.kubernetes.protobuf`. This module owns decoding those
bodies (the `k8s\\0` + runtime.Unknown envelope, then the message) into the
JSON shape, using the field numbers of k8s.io/api/core/v1/generated.proto
for ConfigMap, Secret, Namespace and ServiceAccount with their ObjectMeta.
Other kinds raise ValueError (the server then answers 415). Replies are
always JSON, which those clients accept.
"""

import base64
import struct

MAGIC = b"k8s\x00"

# message name -> {field number: (json name, kind, repeated)}; kind is a
# scalar type or the name of another message; "map:K:V" for maps.
MESSAGES = {
    "Unknown": {1: ("typeMeta", "TypeMeta", False), 2: ("raw", "bytes", False),
                3: ("contentEncoding", "string", False), 4: ("contentType", "string", False)},
    "TypeMeta": {1: ("apiVersion", "string", False), 2: ("kind", "string", False)},
    "ObjectMeta": {1: ("name", "string", False), 2: ("generateName", "string", False),
                   3: ("namespace", "string", False), 5: ("uid", "string", False),
                   6: ("resourceVersion", "string", False), 7: ("generation", "int", False),
                   10: ("deletionGracePeriodSeconds", "int", False), 11: ("labels", "map:string:string", False),
                   12: ("annotations", "map:string:string", False),
                   13: ("ownerReferences", "OwnerReference", True), 14: ("finalizers", "string", True)},
    "OwnerReference": {1: ("kind", "string", False), 3: ("name", "string", False), 4: ("uid", "string", False),
                       5: ("apiVersion", "string", False), 6: ("controller", "bool", False),
                       7: ("blockOwnerDeletion", "bool", False)},
    "ConfigMap": {1: ("metadata", "ObjectMeta", False), 2: ("data", "map:string:string", False),
                  3: ("binaryData", "map:string:bytes", False), 4: ("immutable", "bool", False)},
    "Secret": {1: ("metadata", "ObjectMeta", False), 2: ("data", "map:string:bytes", False),
               3: ("type", "string", False), 4: ("stringData", "map:string:string", False),
               5: ("immutable", "bool", False)},
    "Namespace": {1: ("metadata", "ObjectMeta", False), 2: ("spec", "NamespaceSpec", False)},
    "NamespaceSpec": {1: ("finalizers", "string", True)},
    "ServiceAccount": {1: ("metadata", "ObjectMeta", False), 2: ("secrets", "ObjectReference", True),
                       3: ("imagePullSecrets", "LocalObjectReference", True),
                       4: ("automountServiceAccountToken", "bool", False)},
    "ObjectReference": {1: ("kind", "string", False), 2: ("namespace", "string", False),
                        3: ("name", "string", False), 4: ("uid", "string", False),
                        5: ("apiVersion", "string", False)},
    "LocalObjectReference": {1: ("name", "string", False)},
}


def _varint(buf, i):
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf):
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wire == 1:
            val, i = struct.unpack("<q", buf[i:i + 8])[0], i + 8
        elif wire == 5:
            val, i = struct.unpack("<i", buf[i:i + 4])[0], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield num, wire, val


def _scalar(kind, val):
    if kind == "string":
        return val.decode("utf-8")
    if kind == "bytes":
        return base64.b64encode(val).decode()
    if kind == "bool":
        return bool(val)
    if kind == "int":
        return val - (1 << 64) if val >= 1 << 63 else val
    return decode_message(kind, val)


def decode_message(name, buf):
    spec = MESSAGES[name]
    out = {}
    for num, wire, val in _fields(buf):
        if num not in spec:
            continue
        field, kind, repeated = spec[num]
        if kind.startswith("map:"):
            _, kk, vk = kind.split(":")
            entry = {n: v for n, _, v in _fields(val)}
            out.setdefault(field, {})[_scalar(kk, entry.get(1, b""))] = _scalar(vk, entry.get(2, b""))
        elif repeated:
            out.setdefault(field, []).append(_scalar(kind, val))
        else:
            out[field] = _scalar(kind, val)
    return out


def decode(body):
    """Returns the object of a protobuf-encoded request body."""
    if not body.startswith(MAGIC):
        raise ValueError("missing the k8s protobuf prefix")
    unknown = decode_message("Unknown", body[len(MAGIC):])
    tm = unknown.get("typeMeta") or {}
    kind = tm.get("kind", "")
    if kind not in ("ConfigMap", "Secret", "Namespace", "ServiceAccount"):
        raise ValueError("protobuf bodies of kind %r are not supported by the test API server; send JSON" % kind)
    obj = decode_message(kind, base64.b64decode(unknown.get("raw", "")))
    obj["apiVersion"] = tm.get("apiVersion", "v1")
    obj["kind"] = kind
    return obj
