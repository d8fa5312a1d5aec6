"""API errors as kube-apiserver reports them.

Owns `ApiError` (an exception that becomes a meta/v1 `Status` reply) and
`FieldError` (one entry of an Invalid error's `details.causes`), with the
exact message shapes of k8s.io/apimachinery's field errors, e.g.
`spec.format: Unsupported value: "zip": supported values: "custom", "plain"`.
"""

import json

# field.ErrorType -> (cause reason, message prefix)
FIELD_ERROR_TYPES = {
    "NotFound": ("FieldValueNotFound", "Not found"),
    "Required": ("FieldValueRequired", "Required value"),
    "Duplicate": ("FieldValueDuplicate", "Duplicate value"),
    "Invalid": ("FieldValueInvalid", "Invalid value"),
    "NotSupported": ("FieldValueNotSupported", "Unsupported value"),
    "Forbidden": ("FieldValueForbidden", "Forbidden"),
    "TooLong": ("FieldValueTooLong", "Too long"),
    "TooMany": ("FieldValueTooMany", "Too many"),
    "Internal": ("InternalError", "Internal error"),
    "TypeInvalid": ("FieldValueTypeInvalid", "Invalid value"),
}

# Error types whose message leaves the bad value out.
_VALUELESS = ("Required", "Forbidden", "TooLong", "Internal")


def go_value(value):
    """Formats a bad value the way field.Error.ErrorBody does."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class FieldError:
    """One validation failure at a field path (`spec.storage.s3.bucket`)."""

    def __init__(self, etype, field, value=None, detail=""):
        self.type = etype
        self.field = field
        self.value = value
        self.detail = detail

    def body(self):
        reason, text = FIELD_ERROR_TYPES[self.type]
        s = text if self.type in _VALUELESS else "%s: %s" % (text, go_value(self.value))
        if self.detail:
            s += ": " + self.detail
        return s

    def message(self):
        return "%s: %s" % (self.field, self.body()) if self.field else self.body()

    def cause(self):
        return {"reason": FIELD_ERROR_TYPES[self.type][0], "message": self.body(), "field": self.field}


def required(field, detail=""):
    return FieldError("Required", field, None, detail)


def invalid(field, value, detail=""):
    return FieldError("Invalid", field, value, detail)


def not_supported(field, value, allowed):
    detail = "supported values: " + ", ".join(json.dumps(str(a)) for a in allowed) if allowed else ""
    return FieldError("NotSupported", field, value, detail)


def forbidden(field, detail):
    return FieldError("Forbidden", field, "", detail)


class ApiError(Exception):
    """An error reply: HTTP code plus a meta/v1 Status body."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            st["details"] = self.details
        if not self.reason:
            del st["reason"]
        return st


def _details(name, group, kind, **extra):
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    if kind:
        d["kind"] = kind
    d.update(extra)
    return d


def qualified(group, resource):
    return resource + "." + group if group else resource


def not_found(group, resource, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (qualified(group, resource), name),
                    _details(name, group, resource))


def already_exists(group, resource, name):
    return ApiError(409, "AlreadyExists", '%s "%s" already exists' % (qualified(group, resource), name),
                    _details(name, group, resource))


def conflict(group, resource, name, why):
    return ApiError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s'
                    % (qualified(group, resource), name, why), _details(name, group, resource))


def stale(group, resource, name):
    return conflict(group, resource, name,
                    "the object has been modified; please apply your changes to the latest version and try again")


def invalid_object(group, kind, name, errs):
    """422 Invalid from a list of FieldError, worded like errors.NewInvalid."""
    msgs = [e.message() for e in errs]
    agg = msgs[0] if len(msgs) == 1 else "[" + ", ".join(msgs) + "]"
    return ApiError(422, "Invalid", '%s "%s" is invalid: %s' % (qualified(group, kind), name, agg),
                    _details(name, group, kind, causes=[e.cause() for e in errs]))


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def method_not_allowed(message="the server does not allow this method on the requested resource"):
    return ApiError(405, "MethodNotAllowed", message)


def unsupported_media(ctype, accepted):
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    + ", ".join(accepted), _details(None, None, None))


def gone(message):
    return ApiError(410, "Expired", message)


def forbidden_error(group, resource, name, message):
    return ApiError(403, "Forbidden", message, _details(name, group, resource))


def internal(message):
    return ApiError(500, "InternalError", "Internal error occurred: " + message)
