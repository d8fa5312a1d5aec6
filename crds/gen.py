#!/usr/bin/env python3
"""crds/gen.py: builds the three CustomResourceDefinitions of lifeboat.dev
(crds/databasebackups.yaml, crds/backupschedules.yaml,
crds/databaserestores.yaml) from one definition of the blocks they share, so
the three files can never disagree about a database, storage, encryption or
jobTemplate block.

    crds/gen.py              write the three files next to this script, and
                             the field reference of docs/api.md (between its
                             BEGIN/END crds/gen.py reference markers)
    crds/gen.py --check      exit 1 (with a diff) when a file differs from what
                             this script makes; writes nothing
    crds/gen.py --json       print {file name: CRD object} as JSON (the tests
                             compare it with what a YAML parser reads back)
    crds/gen.py --markdown   print the field reference

Python 3 standard library only. The YAML writer below emits block style,
folds long descriptions (`>-`) and double-quotes every string that plain
YAML could misread, so no YAML library is needed to write the files.
"""

import difflib
import json
import os
import re
import sys

GROUP = "lifeboat.dev"
VERSION = "v1alpha1"

# --- patterns ---------------------------------------------------------------

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"
QUANTITY = (r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
            r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$")
LABEL_KEY = (r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
             r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
# A storage prefix or a folder inside a volume: folders separated by single
# slashes, an optional trailing slash, no control characters, no ? # or \.
REL_PATH = r"^[^/?#\\\x00-\x1f\x7f]+(/[^/?#\\\x00-\x1f\x7f]+)*/?$"
COMPRESSION = (r"^(zstd(:([1-9]|1[0-9]|auto(:([1-9]|1[0-9])-([1-9]|1[0-9]))?))?"
               r"|gzip(:[1-9])?|none)$")
MAX_AGE = r"^[1-9][0-9]{0,5}[hdw]$"
TIME_ZONE = r"^[A-Za-z][-A-Za-z0-9_+]*(/[A-Za-z0-9][-A-Za-z0-9_+]*){0,3}$"
SHA256 = r"^[0-9a-f]{64}$"
CONDITION_TYPE = (r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$")
CONDITION_REASON = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"

# --- schema constructors ----------------------------------------------------


def rule(expr, message=None, message_expression=None, field_path=None, reason=None):
    r = {"rule": expr}
    if message:
        r["message"] = message
    if message_expression:
        r["messageExpression"] = message_expression
    if field_path:
        r["fieldPath"] = field_path
    if reason:
        r["reason"] = reason
    return r


def string(desc, **kw):
    s = {"description": desc, "type": "string"}
    s.update(kw)
    return s


def integer(desc, fmt="int32", **kw):
    s = {"description": desc, "type": "integer", "format": fmt}
    s.update(kw)
    return s


def boolean(desc, **kw):
    s = {"description": desc, "type": "boolean"}
    s.update(kw)
    return s


def obj(desc, props, required=None, rules=None, **kw):
    s = {"description": desc, "type": "object"}
    s.update(kw)
    if required:
        s["required"] = list(required)
    s["properties"] = props
    if rules:
        s["x-kubernetes-validations"] = rules
    return s


def array(desc, items, max_items, list_type="atomic", map_keys=None, **kw):
    s = {"description": desc, "type": "array", "maxItems": max_items}
    s.update(kw)
    s["items"] = items
    s["x-kubernetes-list-type"] = list_type
    if map_keys:
        s["x-kubernetes-list-map-keys"] = map_keys
    return s


def string_map(desc, max_props, value_desc, key_rules=None, value_max=1024, value_pattern=None):
    v = string(value_desc, maxLength=value_max)
    if value_pattern:
        v["pattern"] = value_pattern
    s = {"description": desc, "type": "object", "maxProperties": max_props,
         "additionalProperties": v}
    if key_rules:
        s["x-kubernetes-validations"] = key_rules
    return s


def timestamp(desc):
    return string(desc, format="date-time")


def name_field(desc, max_len=253):
    return string(desc, minLength=1, maxLength=max_len, pattern=DNS_SUBDOMAIN)


# --- shared blocks ----------------------------------------------------------
# Each function returns a fresh dict, so one block appears identically in
# every place (and every file) that uses it. @shared marks the blocks that
# docs/api.md documents once: the mark ("__block__") is never written out.


def shared(name):
    def mark(make):
        def made(*args, **kw):
            node = make(*args, **kw)
            node["__block__"] = name
            return node
        return made
    return mark


def secret_name():
    return name_field("Name of the Secret, in the same namespace as this resource.")


def secret_key_field(desc, **kw):
    return string(desc, minLength=1, maxLength=253, pattern=SECRET_KEY, **kw)


def secret_key_ref(desc):
    """{name, key}: one key of a Secret in the resource's own namespace."""
    return obj(desc, {
        "name": secret_name(),
        "key": secret_key_field("Key within the Secret whose value is used."),
    }, required=["name", "key"], **{"x-kubernetes-map-type": "atomic"})


def rel_path(desc):
    return string(desc, minLength=1, maxLength=1024, pattern=REL_PATH,
                  **{"x-kubernetes-validations": [rule(
                      "!self.matches('(^|/)[.][.]?(/|$)')",
                      "must not contain a '.' or '..' folder")]})


def prefix_field(where):
    return rel_path(
        "Folder inside the %s under which backups are stored, as "
        "<prefix>/<namespace>/<backup name>/. Folders are separated by single slashes; "
        "no '.', '..', '?', '#', backslash or control characters. Default: none (the %s's "
        "root). Example: prod/app-db." % (where, where))


@shared("database")
def database_block(desc):
    """The database to dump, or the restore target."""
    return obj(desc, {
        "engine": string(
            "Database engine. Only postgresql is supported for now; the field exists so "
            "later engines can be added without a new API version. Default: postgresql.",
            enum=["postgresql"], default="postgresql"),
        "connectionSecretRef": secret_key_ref(
            "A Secret key holding a libpq connection string: a URI "
            "(postgresql://USER:PASSWORD@HOST:PORT/DBNAME?sslmode=require) or a keyword "
            "string (host=... dbname=...). The whole string is secret: it reaches the Job "
            "as an environment variable from the Secret, never through the operator. "
            "CloudNativePG's <cluster>-app Secret works as is: {name: app-db-app, key: uri}. "
            "Exactly one of connectionSecretRef and host."),
        "host": string(
            "Host name or IP address of the PostgreSQL server, e.g. a Service: "
            "app-db-rw.app.svc. Exactly one of host and connectionSecretRef; with host, "
            "user and database are required and the password comes from passwordSecretRef.",
            minLength=1, maxLength=253,
            pattern=r"^([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?|\[?[0-9A-Fa-f:.]+\]?)$"),
        "port": integer(
            "TCP port of the server. With connectionSecretRef it applies only when the "
            "connection string names no port (libpq's PGPORT). Default: 5432.",
            minimum=1, maximum=65535, default=5432),
        "user": string(
            "PostgreSQL role to connect as (with host). For backups it needs to read every "
            "table (pg_dump), for restores to create and drop the database's objects. "
            "Example: app.", minLength=1, maxLength=128),
        "passwordSecretRef": secret_key_ref(
            "A Secret key holding the password of user (with host). Optional: leave it out "
            "for password-less authentication. It reaches the Job as PGPASSWORD from the "
            "Secret; it is never put in a command line, a log or a status."),
        "database": string(
            "Name of the database: one database per backup. Required with host. With "
            "connectionSecretRef it is used only when the connection string names no "
            "database (libpq's PGDATABASE), but set it anyway: restores check confirm "
            "against it before launching anything, and kubectl get shows it. Example: app.",
            minLength=1, maxLength=63),
        "sslMode": string(
            "libpq sslmode: disable, allow, prefer, require, verify-ca or verify-full. "
            "verify-ca and verify-full need caSecretRef. With connectionSecretRef it applies "
            "only when the connection string sets no sslmode (PGSSLMODE). Default: prefer "
            "(libpq's own default: TLS when the server offers it, unverified). Use "
            "verify-full across untrusted networks.",
            enum=["disable", "allow", "prefer", "require", "verify-ca", "verify-full"],
            default="prefer"),
        "caSecretRef": secret_key_ref(
            "A Secret key holding the PEM certificate(s) of the CA that signed the server's "
            "certificate; mounted into the Job and given to libpq as sslrootcert. Needed "
            "for sslMode verify-ca and verify-full."),
        "connectTimeoutSeconds": integer(
            "Seconds to wait for the server to accept a connection before the Job fails "
            "with DatabaseError (PGCONNECT_TIMEOUT). Default: 10.",
            minimum=1, maximum=600, default=10),
        "schemaVersionQuery": string(
            "Optional SQL run read-only before each dump; its first value is recorded as "
            "the backup's schema version (status.database.schemaVersion) and compared on "
            "restore (see DatabaseRestore spec.schemaPolicy). Example: SELECT max(version) "
            "FROM schema_migrations.", minLength=1, maxLength=4096),
    }, rules=[
        rule("has(self.connectionSecretRef) != has(self.host)",
             message_expression="has(self.host) ? 'set exactly one of connectionSecretRef "
             "and host, not both: the connection string already says where the server is' "
             ": 'set exactly one of connectionSecretRef (a Secret holding a libpq URI) and "
             "host'"),
        rule("!has(self.connectionSecretRef) || (!has(self.user) && "
             "!has(self.passwordSecretRef))",
             "user and passwordSecretRef go with host; with connectionSecretRef the "
             "connection string carries them"),
        rule("!has(self.host) || has(self.user)",
             "user is required with host", field_path=".user", reason="FieldValueRequired"),
        rule("!has(self.host) || has(self.database)",
             "database is required with host", field_path=".database",
             reason="FieldValueRequired"),
        rule("!(self.sslMode in ['verify-ca', 'verify-full']) || has(self.caSecretRef)",
             "sslMode verify-ca and verify-full need caSecretRef (the CA that signed the "
             "server's certificate)", field_path=".caSecretRef", reason="FieldValueRequired"),
    ])


def s3_credentials(desc, session_token=True):
    props = {
        "name": secret_name(),
        "accessKeyIdKey": secret_key_field(
            "Key of the Secret holding the access key ID (AWS_ACCESS_KEY_ID in the Job). "
            "Default: AWS_ACCESS_KEY_ID.", default="AWS_ACCESS_KEY_ID"),
        "secretAccessKeyKey": secret_key_field(
            "Key of the Secret holding the secret access key (AWS_SECRET_ACCESS_KEY in the "
            "Job). Default: AWS_SECRET_ACCESS_KEY.", default="AWS_SECRET_ACCESS_KEY"),
    }
    if session_token:
        props["sessionTokenKey"] = secret_key_field(
            "Optional key of the Secret holding a session token for temporary credentials "
            "(AWS_SESSION_TOKEN in the Job). Whatever issues temporary credentials must keep "
            "the Secret fresh; lifeboat reads no instance roles or web identities.")
    return obj(desc, props, required=["name"], **{"x-kubernetes-map-type": "atomic"})


def ca_bundle(what):
    return secret_key_ref(
        "Optional Secret key holding PEM CA certificates to verify the %s endpoint's TLS "
        "certificate with, e.g. a private MinIO's CA. Default: the system CA store. TLS "
        "certificates are always verified." % what)


@shared("storage")
def storage_block(desc):
    return obj(desc, {
        "s3": obj(
            "Amazon S3 or an S3-compatible service (Backblaze B2, Cloudflare R2, MinIO, "
            "Wasabi, Ceph...). Each backup is the folder "
            "s3://<bucket>/<prefix>/<namespace>/<name>/ holding the dump object and "
            "manifest.json. Requests are signed with SigV4 and uploads are multipart, "
            "streamed. Example: {bucket: acme-db-backups, prefix: prod, region: eu-west-1, "
            "credentialsSecretRef: {name: backup-s3}}.", {
                "bucket": string(
                    "Name of the bucket; it must exist (lifeboat never creates it). 3-255 of "
                    "a-z, 0-9, '.', '-', '_', starting and ending with a letter or digit. "
                    "Example: acme-db-backups.", minLength=3, maxLength=255,
                    pattern=r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$"),
                "prefix": prefix_field("bucket"),
                "endpoint": string(
                    "URL of an S3-compatible service: https://host[:port], no path (http:// "
                    "only for a local test server). Default: AWS, "
                    "https://s3.<region>.amazonaws.com. Examples: "
                    "https://s3.us-west-004.backblazeb2.com, "
                    "https://<account>.r2.cloudflarestorage.com, https://minio.storage.svc:9000.",
                    maxLength=1024, pattern=r"^https?://[-A-Za-z0-9.:\[\]_]+/?$"),
                "region": string(
                    "Signing region of the bucket. Default: us-east-1. Examples: eu-west-1; "
                    "auto for Cloudflare R2; the bucket's region for B2 and Wasabi.",
                    minLength=1, maxLength=64, pattern=r"^[A-Za-z0-9_-]+$"),
                "forcePathStyle": boolean(
                    "true: address the bucket as https://host/<bucket>/key (path style). "
                    "false: lifeboat chooses, which is virtual-hosted style "
                    "(https://<bucket>.host/key) on AWS and path style with a custom "
                    "endpoint or a bucket name with dots. Default: false.", default=False),
                "serverSideEncryption": string(
                    "Ask the service to encrypt objects at rest as well: AES256 (SSE-S3, "
                    "SSE-B2) or aws:kms (SSE-KMS; see kmsKeyId). This is on top of "
                    "lifeboat's own OpenPGP encryption (spec.encryption). Default: none "
                    "(the bucket's default).", enum=["AES256", "aws:kms"]),
                "kmsKeyId": string(
                    "With serverSideEncryption aws:kms: the KMS key (ARN, ID or alias). "
                    "Default: the account's aws/s3 key.", minLength=1, maxLength=2048),
                "storageClass": string(
                    "Storage class of new objects, e.g. STANDARD_IA or GLACIER_IR. A class "
                    "that needs a restore before reading (GLACIER, DEEP_ARCHIVE) makes "
                    "verify and restore fail. Default: the bucket's default.",
                    minLength=1, maxLength=64, pattern=r"^[A-Z0-9_]+$"),
                "caSecretRef": ca_bundle("S3"),
                "credentialsSecretRef": s3_credentials(
                    "The Secret holding the access key (an AWS IAM key, a B2 application "
                    "key, an R2 API token's key pair, a MinIO user). The key needs "
                    "PutObject, GetObject, DeleteObject, AbortMultipartUpload on "
                    "<prefix>/* and ListBucket on the bucket. Example: {name: backup-s3} "
                    "with the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY."),
            }, required=["bucket", "credentialsSecretRef"], rules=[
                rule("!has(self.kmsKeyId) || (has(self.serverSideEncryption) && "
                     "self.serverSideEncryption == 'aws:kms')",
                     "kmsKeyId needs serverSideEncryption: aws:kms",
                     field_path=".kmsKeyId"),
            ]),
        "azure": obj(
            "Azure Blob Storage (block blobs), SharedKey or SAS. Each backup is the folder "
            "<container>/<prefix>/<namespace>/<name>/. Example: {container: backups, "
            "prefix: prod, accountName: acmebackups, credentialsSecretRef: {name: "
            "backup-azure, accountKeyKey: account-key}}.", {
                "container": string(
                    "Name of the blob container; it must exist (lifeboat never creates it). "
                    "3-63 lowercase letters, digits and single hyphens, starting and ending "
                    "with a letter or digit. Example: backups.", minLength=3, maxLength=63,
                    pattern=r"^[a-z0-9](-?[a-z0-9])+$"),
                "prefix": prefix_field("container"),
                "accountName": string(
                    "The storage account: 3-24 lowercase letters and digits. Required "
                    "unless the credentials are a connection string, which names the "
                    "account. Example: acmebackups.", minLength=3, maxLength=24,
                    pattern=r"^[a-z0-9]+$"),
                "endpoint": string(
                    "URL of the Blob service, for another cloud, a private endpoint or an "
                    "emulator. Default: https://<accountName>.blob.core.windows.net. "
                    "Example: http://azurite.test.svc:10000/devstoreaccount1.",
                    maxLength=1024, pattern=r"^https?://[^\s?#]+$"),
                "caSecretRef": ca_bundle("Blob service"),
                "credentialsSecretRef": obj(
                    "The Secret holding the credential, and which of its keys: exactly "
                    "one of accountKeyKey, sasTokenKey and connectionStringKey.", {
                        "name": secret_name(),
                        "accountKeyKey": secret_key_field(
                            "Key of the Secret holding an account key (base64, from the "
                            "account's Access keys): SharedKey signing "
                            "(AZURE_STORAGE_KEY in the Job)."),
                        "sasTokenKey": secret_key_field(
                            "Key of the Secret holding a SAS token (sv=...&sig=...) that "
                            "allows read, write, list and delete: sp=rwdl on a container "
                            "SAS (AZURE_STORAGE_SAS_TOKEN in the Job)."),
                        "connectionStringKey": secret_key_field(
                            "Key of the Secret holding a connection string: "
                            "AccountName=...;AccountKey=... or "
                            "BlobEndpoint=...;SharedAccessSignature=... "
                            "(AZURE_STORAGE_CONNECTION_STRING in the Job)."),
                    }, required=["name"], rules=[
                        rule("[has(self.accountKeyKey), has(self.sasTokenKey), "
                             "has(self.connectionStringKey)].filter(x, x).size() == 1",
                             message_expression="[has(self.accountKeyKey), "
                             "has(self.sasTokenKey), has(self.connectionStringKey)]"
                             ".filter(x, x).size() == 0 ? 'no credential key set: set exactly "
                             "one of accountKeyKey, sasTokenKey and connectionStringKey' : "
                             "'several credential keys set: set exactly one of accountKeyKey, "
                             "sasTokenKey and connectionStringKey'"),
                    ], **{"x-kubernetes-map-type": "atomic"}),
            }, required=["container", "credentialsSecretRef"], rules=[
                rule("has(self.accountName) || "
                     "has(self.credentialsSecretRef.connectionStringKey)",
                     "accountName is required unless the credentials are a connection "
                     "string (which names the account)", field_path=".accountName",
                     reason="FieldValueRequired"),
            ]),
        "gcs": obj(
            "Google Cloud Storage. With a service account's JSON key "
            "(credentialsSecretRef.serviceAccountKeyKey) through the JSON API with OAuth 2.0 "
            "access tokens; with an HMAC key (accessKeyIdKey, secretAccessKeyKey) through the "
            "S3-compatible XML API. Each backup is the folder "
            "gs://<bucket>/<prefix>/<namespace>/<name>/. Example: {bucket: "
            "acme-db-backups, prefix: prod, credentialsSecretRef: {name: backup-gcs, "
            "serviceAccountKeyKey: key.json}}.", {
                "bucket": string(
                    "Name of the bucket; it must exist. 3-222 of a-z, 0-9, '.', '-', '_', "
                    "starting and ending with a letter or digit. Example: acme-db-backups.",
                    minLength=3, maxLength=222, pattern=r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$"),
                "prefix": prefix_field("bucket"),
                "endpoint": string(
                    "URL of the Cloud Storage API: https://host[:port], no path (http:// only "
                    "for a local test server), e.g. a Private Service Connect endpoint. "
                    "Default: https://storage.googleapis.com.",
                    maxLength=1024, pattern=r"^https?://[-A-Za-z0-9.:\[\]_]+/?$"),
                "credentialsSecretRef": obj(
                    "The Secret holding the credential, in one of two forms: "
                    "serviceAccountKeyKey, the key of a service account's JSON key file (IAM > "
                    "Service accounts > Keys; the account needs roles/storage.objectAdmin on "
                    "the bucket), mounted into the Job as a file; or an HMAC key (Cloud "
                    "Storage > Settings > Interoperability) in accessKeyIdKey and "
                    "secretAccessKeyKey. Examples: {name: backup-gcs, serviceAccountKeyKey: "
                    "key.json}; {name: backup-gcs-hmac} with the keys AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY.", {
                        "name": secret_name(),
                        "serviceAccountKeyKey": secret_key_field(
                            "Key of the Secret holding a service account's JSON key file "
                            "(\"type\": \"service_account\"). Mounted read-only into the Job "
                            "and named by GOOGLE_APPLICATION_CREDENTIALS. Example: key.json."),
                        "accessKeyIdKey": secret_key_field(
                            "HMAC form: key of the Secret holding the access ID (GOOG1...). "
                            "Default, when serviceAccountKeyKey is not set: "
                            "AWS_ACCESS_KEY_ID."),
                        "secretAccessKeyKey": secret_key_field(
                            "HMAC form: key of the Secret holding the HMAC secret. Default, "
                            "when serviceAccountKeyKey is not set: AWS_SECRET_ACCESS_KEY."),
                    }, required=["name"], rules=[
                        rule("!has(self.serviceAccountKeyKey) || "
                             "(!has(self.accessKeyIdKey) && !has(self.secretAccessKeyKey))",
                             "serviceAccountKeyKey (a JSON key) and accessKeyIdKey or "
                             "secretAccessKeyKey (an HMAC key) are two forms of credentials: "
                             "set one", field_path=".serviceAccountKeyKey"),
                    ], **{"x-kubernetes-map-type": "atomic"}),
            }, required=["bucket", "credentialsSecretRef"]),
        "volume": obj(
            "A PersistentVolumeClaim in this namespace, mounted into the Job: each backup "
            "is the folder <subPath>/<namespace>/<name>/ on the volume. Use a volume that "
            "outlives the database's own disk (another storage class, zone or NFS server). "
            "Example: {claimName: db-backups, subPath: app}.", {
                "claimName": name_field(
                    "Name of the PersistentVolumeClaim, in the same namespace as this "
                    "resource. Example: db-backups."),
                "subPath": rel_path(
                    "Folder inside the volume that holds the backups; the Job mounts the "
                    "claim with this subPath, so it is created when missing. Default: the "
                    "volume's root. Example: app."),
            }, required=["claimName"]),
    }, rules=[
        rule("[has(self.s3), has(self.azure), has(self.gcs), has(self.volume)]"
             ".filter(x, x).size() == 1",
             message_expression="[has(self.s3), has(self.azure), has(self.gcs), "
             "has(self.volume)].filter(x, x).size() == 0 ? 'no storage backend set: set "
             "exactly one of s3, azure, gcs and volume' : 'several storage backends set: "
             "set exactly one of s3, azure, gcs and volume'"),
    ])


@shared("encryption")
def encryption_block(desc):
    return obj(desc, {
        "passphraseSecretRef": secret_key_ref(
            "A Secret key holding the passphrase; its first line is used, as gpg "
            "--passphrase-file reads it. Mounted into the Job as a file, never an argument. "
            "Keep a copy outside the cluster: without it the backups cannot be opened. "
            "Example: {name: backup-passphrase, key: passphrase}."),
    }, required=["passphraseSecretRef"])


def files_block(desc, path_desc):
    return obj(desc, {
        "claimName": name_field(
            "Name of the PersistentVolumeClaim holding the folder, in the same namespace as "
            "this resource. Example: app-uploads."),
        "path": rel_path(path_desc),
    }, required=["claimName"])


@shared("jobTemplate")
def job_template_block():
    label_rules = [
        rule("self.all(k, k.matches('%s'))" % LABEL_KEY.replace("\\", "\\\\"),
             "keys must be label keys: [prefix/]name, name at most 63 characters of "
             "letters, digits, '-', '_', '.'"),
        rule("self.all(k, !k.startsWith('lifeboat.dev/'))",
             "keys under lifeboat.dev/ are set by the operator"),
    ]
    annotation_rules = [
        rule("self.all(k, k.matches('%s'))" % LABEL_KEY.replace("\\", "\\\\"),
             "keys must be annotation keys: [prefix/]name, name at most 63 characters of "
             "letters, digits, '-', '_', '.'"),
        rule("self.all(k, !k.startsWith('lifeboat.dev/'))",
             "keys under lifeboat.dev/ are set by the operator"),
    ]
    quantity = {"description": "A quantity: 500m, 2, 256Mi, 1Gi.",
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "pattern": QUANTITY, "x-kubernetes-int-or-string": True}
    resource_list = lambda d: {"description": d, "type": "object", "maxProperties": 16,
                               "additionalProperties": quantity}
    return obj(
        "How the Job's pod runs: image, scheduling, resources, limits. Everything is "
        "optional; the operator's settings (--job-image, --job-service-account) and the "
        "defaults below fill the rest. The operator always adds its own hardening "
        "(non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp, no "
        "service-account token) and labels.", {
            "image": string(
                "Container image of the lifeboat job. Default: the operator's --job-image. "
                "Example: ghcr.io/acme/lifeboat:0.4.0.", minLength=1, maxLength=1024),
            "imagePullPolicy": string(
                "When to pull the image: Always, IfNotPresent or Never. Default: Kubernetes' "
                "own (Always for :latest, else IfNotPresent).",
                enum=["Always", "IfNotPresent", "Never"]),
            "imagePullSecrets": array(
                "Secrets with registry credentials for pulling the image.",
                obj("A Secret of type kubernetes.io/dockerconfigjson in this namespace.", {
                    "name": secret_name()}, required=["name"]),
                16, list_type="map", map_keys=["name"]),
            "serviceAccountName": name_field(
                "ServiceAccount the pod runs as; its token is not mounted (the job needs no "
                "Kubernetes API access). Default: the operator's --job-service-account, else "
                "the namespace's default."),
            "resources": obj(
                "CPU and memory for the job's container. lifeboat itself streams with fixed "
                "buffers (well under 64Mi whatever the database size); pg_dump and pg_restore "
                "in the same container need memory by the number of objects in the database. "
                "Example: "
                "{requests: {cpu: 250m, memory: 128Mi}, limits: {memory: 256Mi}}.", {
                    "requests": resource_list("Minimum resources: cpu, memory, "
                                              "ephemeral-storage."),
                    "limits": resource_list("Maximum resources: cpu, memory, "
                                            "ephemeral-storage."),
                }),
            "nodeSelector": string_map(
                "Labels a node must have to run the pod. Example: {kubernetes.io/arch: "
                "amd64}.", 32, "The label value the node must have.",
                key_rules=[label_rules[0]], value_max=63, value_pattern=LABEL_VALUE),
            "tolerations": array(
                "Taints the pod tolerates.",
                obj("One toleration, as in a pod spec.", {
                    "key": string("Taint key to match; empty with operator Exists matches "
                                  "every taint.", maxLength=316),
                    "operator": string("Exists or Equal. Default: Equal.",
                                       enum=["Exists", "Equal"]),
                    "value": string("Taint value to match (with Equal).", maxLength=63),
                    "effect": string("Taint effect to match: NoSchedule, PreferNoSchedule or "
                                     "NoExecute; empty matches all.",
                                     enum=["NoSchedule", "PreferNoSchedule", "NoExecute"]),
                    "tolerationSeconds": integer(
                        "With NoExecute: how long the pod stays bound after the taint "
                        "appears.", fmt="int64"),
                }), 32),
            "affinity": {
                "description": "Node and pod affinity, exactly as in a pod spec "
                               "(nodeAffinity, podAffinity, podAntiAffinity); copied into "
                               "the pod unchanged and validated when the Job is created.",
                "type": "object", "maxProperties": 3,
                "x-kubernetes-preserve-unknown-fields": True},
            "priorityClassName": name_field(
                "PriorityClass of the pod. Example: backup-low."),
            "podLabels": string_map(
                "Extra labels for the Job and its pod; keys under lifeboat.dev/ are the "
                "operator's.", 32, "Label value: at most 63 characters.",
                key_rules=label_rules, value_max=63, value_pattern=LABEL_VALUE),
            "podAnnotations": string_map(
                "Extra annotations for the pod. Example: {sidecar.istio.io/inject: "
                "\"false\"}.", 32, "Annotation value.", key_rules=annotation_rules,
                value_max=4096),
            "podSecurityContext": obj(
                "User and groups the pod runs as, e.g. to write to a volume owned by another "
                "group. The pod always runs as non-root (runAsNonRoot). Default: user and groups"
                " 65532.", {
                    "runAsUser": integer("UID of the job's process; 0 is refused.",
                                         fmt="int64", minimum=1, maximum=2147483647),
                    "runAsGroup": integer("Primary GID of the job's process.", fmt="int64",
                                          minimum=0, maximum=2147483647),
                    "fsGroup": integer("GID that owns mounted volumes (volume storage, files "
                                       "folders), so the job can write them.", fmt="int64",
                                       minimum=0, maximum=2147483647),
                    "supplementalGroups": array(
                        "More GIDs for the job's process.",
                        integer("A GID.", fmt="int64", minimum=0, maximum=2147483647), 16),
                }),
            "activeDeadlineSeconds": integer(
                "Seconds the Job may run in all before it is stopped and the resource fails "
                "with DeadlineExceeded. Default: 3600.", fmt="int64", minimum=1,
                maximum=2592000, default=3600),
            "backoffLimit": integer(
                "How many times a failed backup Job is retried. Default: 1. A restore Job is "
                "never retried whatever this says (backoffLimit 0: it may have started "
                "changing the target); on a DatabaseRestore this applies to its safety "
                "backup.", minimum=0, maximum=10, default=1),
            "ttlSecondsAfterFinished": integer(
                "Seconds after which a finished Job (and its pod and logs) is deleted; the "
                "resource and its status stay. Default: unset, the Job stays until the "
                "resource is deleted.", minimum=0, maximum=31536000),
            "logLevel": string(
                "Log level of the job: error, warning, info or debug (LIFEBOAT_LOG_LEVEL). "
                "Default: info.", enum=["error", "warning", "info", "debug"],
                default="info"),
        }, default={})


def backup_spec_props():
    """The properties of a DatabaseBackup spec (also BackupSchedule
    spec.backupTemplate.spec)."""
    return {
        "database": database_block(
            "The database to dump: where it is, how to connect, which database. Exactly one "
            "of connectionSecretRef and host. Example: {host: app-db-rw.app.svc, user: app, "
            "passwordSecretRef: {name: app-db, key: password}, database: app}."),
        "storage": storage_block(
            "Where the backup is stored: exactly one of s3, azure, gcs and volume. Every "
            "backend keeps the same layout (<prefix>/<namespace>/<name>/manifest.json plus "
            "the dump object), so lifeboat list can find backups from storage alone."),
        "encryption": encryption_block(
            "OpenPGP symmetric encryption (AES-256, iterated and salted S2K, MDC) of the "
            "dump before it leaves the pod: gpg --decrypt opens it with the passphrase, "
            "with or without lifeboat. Default: unset, the backup is stored unencrypted and "
            "a Warning event says so."),
        "format": string(
            "Dump format: custom (a pg_dump -Fc archive, restored with pg_restore) or plain "
            "(one BEGIN; ... COMMIT; SQL script, restorable with psql -1). Default: custom.",
            enum=["custom", "plain"], default="custom"),
        "compression": string(
            "Compression done by lifeboat (pg_dump itself runs with -Z0): zstd:auto (the "
            "level follows the pipe: down while the compressor is what slows the backup, "
            "up while it waits, within 1-6; the levels used are in status.artifact."
            "compression), zstd:auto:LOW-HIGH (other bounds, LOW <= HIGH), zstd[:LEVEL] with "
            "LEVEL 1-19 (pinned), gzip[:LEVEL] with LEVEL 1-9, or none. Default: zstd:auto. "
            "Example: zstd:3.", default="zstd:auto", maxLength=16, pattern=COMPRESSION),
        "verify": boolean(
            "After the upload, re-read the stored object and check its size and SHA-256 "
            "against the manifest, the OpenPGP MDC, the compression trailer and (custom "
            "format) that pg_restore --list reads the archive; the backup is Completed "
            "only when all hold (phase Verifying meanwhile). Default: true.", default=True),
        "files": files_block(
            "Also archive a folder of files kept beside the database (an uploads folder): "
            "tar, streamed, with the same compression and encryption, stored as its own "
            "object of the backup. The claim is mounted read-only. Default: unset, the "
            "database only. Example: {claimName: app-uploads, path: media}.",
            "Folder inside the claim to archive. Default: the whole volume. Example: "
            "media."),
        "deletionPolicy": string(
            "What deleting this resource does to the stored backup: Retain keeps it in "
            "storage (lifeboat list still finds it); Delete removes it first (a finalizer "
            "runs lifeboat delete and the resource goes away only once that succeeded). "
            "Default: Retain. The one spec field that may change after creation, e.g. to "
            "keep a backup that was created with Delete.",
            enum=["Retain", "Delete"], default="Retain"),
        "jobTemplate": job_template_block(),
    }


def backup_spec(desc, immutable):
    props = backup_spec_props()
    rules = None
    if immutable:
        # Every field but deletionPolicy keeps its value: self == oldSelf,
        # field by field, with has() for the fields that may be absent.
        parts = []
        required = ["database", "storage"]
        for k in props:
            if k == "deletionPolicy":
                continue
            if k in required:
                parts.append("self.%s == oldSelf.%s" % (k, k))
            else:
                parts.append("has(self.%s) == has(oldSelf.%s) && (!has(self.%s) || "
                             "self.%s == oldSelf.%s)" % (k, k, k, k, k))
        rules = [rule(" && ".join(parts),
                      "spec is immutable once created (only deletionPolicy may change): a "
                      "DatabaseBackup records one backup as it was taken; create a new "
                      "DatabaseBackup instead")]
    return obj(desc, props, required=["database", "storage"], rules=rules)


@shared("conditions")
def condition_block(types_desc):
    return array(
        "The latest observations of the resource's state, one per type, as in every "
        "Kubernetes API (kubectl wait --for=condition=Ready works). " + types_desc,
        obj("One condition (the Kubernetes metav1.Condition shape).", {
            "type": string("Type of the condition, CamelCase: Ready, ...", maxLength=316,
                           pattern=CONDITION_TYPE),
            "status": string("True, False or Unknown.", enum=["True", "False", "Unknown"]),
            "observedGeneration": integer(
                "The metadata.generation the condition was set for; older than the "
                "resource's generation means it is out of date.", fmt="int64", minimum=0),
            "lastTransitionTime": timestamp("When status last changed."),
            "reason": string("Why, in one CamelCase word, for programs: InvalidSpec, "
                             "Succeeded, StorageError, ...", minLength=1, maxLength=1024,
                             pattern=CONDITION_REASON),
            "message": string("Why, for people: what happened, where, and what to do.",
                              maxLength=32768),
        }, required=["type", "status", "lastTransitionTime", "reason", "message"]),
        32, list_type="map", map_keys=["type"])


def common_status(phases_desc, phases, types_desc):
    props = {
        "observedGeneration": integer(
            "The metadata.generation the operator last acted on; when it is behind, the "
            "status does not describe the current spec yet.", fmt="int64", minimum=0),
        "phase": string(phases_desc, enum=phases) if phases else None,
        "message": string("One human sentence on the current state, e.g. the error of a "
                          "failed run and what to do about it.", maxLength=32768),
        "conditions": condition_block(types_desc),
    }
    return {k: v for k, v in props.items() if v is not None}


def object_ref(desc, name_desc):
    return obj(desc, {"name": name_field(name_desc)}, required=["name"],
               **{"x-kubernetes-map-type": "atomic"})


def meta_props(kind_desc):
    return {
        "apiVersion": string(
            "APIVersion of this object: lifeboat.dev/v1alpha1. More: "
            "https://git.k8s.io/community/contributors/devel/sig-architecture/"
            "api-conventions.md#resources"),
        "kind": string("Kind of this object: %s." % kind_desc),
        # The API server allows no description here (nor anything but name and
        # generateName): metadata is the standard ObjectMeta.
        "metadata": {"type": "object"},
    }


# --- the three kinds --------------------------------------------------------

PHASE_RUN_DESC = ("Pending: accepted, nothing running yet (or the spec is invalid: see "
                  "conditions). Running: the backup Job runs. Verifying: the stored backup "
                  "is being re-read and checked. Completed: stored, checked when verify is "
                  "true, and described by artifact. Failed: see message and the Ready "
                  "condition; nothing partial is left as a complete backup. Deleting: "
                  "deletionPolicy Delete is removing the stored objects.")


def backup_status():
    props = common_status(
        PHASE_RUN_DESC, ["Pending", "Running", "Verifying", "Completed", "Failed", "Deleting"],
        "Types: Ready (True once Completed; False with the reason of a failure: "
        "InvalidSpec, DatabaseError, StorageError, IntegrityCheckFailed, OOMKilled, "
        "DeadlineExceeded, ...) and Verified (True once the stored backup was re-read and "
        "checked).")
    props.update({
        "jobName": string("Name of the Job that runs (or ran) the backup."),
        "startTime": timestamp("When the backup Job started."),
        "completionTime": timestamp("When the backup reached Completed or Failed."),
        "durationSeconds": {"description": "Wall time of the dump and upload, in seconds.",
                            "type": "number"},
        "artifact": obj("What was stored, copied from the job's result. No credentials.", {
            "location": string("The backup's folder, e.g. "
                               "s3://acme-db-backups/prod/app/nightly-202611210200/."),
            "objects": array(
                "Every object of the backup: the dump, the files archive when there is one, "
                "the manifest.",
                obj("One stored object.", {
                    "key": string("Object key below the backup's folder, e.g. "
                                  "db-3f9a2c1e.dump.zst.pgp (db-ATTEMPT: each attempt "
                                  "writes objects of its own name)."),
                    "size": integer("Stored size in bytes.", fmt="int64", minimum=0),
                    "sha256": string("SHA-256 of the stored bytes, hex.", pattern=SHA256),
                }, required=["key"]), 64),
            "size": integer("Stored size of the dump object in bytes (after compression and "
                            "encryption).", fmt="int64", minimum=0),
            "sha256": string("SHA-256 of the stored dump object, hex: compare with "
                             "sha256sum of the downloaded object.", pattern=SHA256),
            "plaintextSize": integer("Size of pg_dump's output in bytes, before compression "
                                     "and encryption.", fmt="int64", minimum=0),
            "plaintextSha256": string("SHA-256 of pg_dump's output, before compression and "
                                      "encryption, hex.", pattern=SHA256),
            "encrypted": boolean("Whether the dump is OpenPGP-encrypted; false means anyone "
                                 "who can read the storage can read the data."),
            "format": string("custom or plain.", enum=["custom", "plain"]),
            "compression": string("The compression used: zstd:3 (pinned), zstd:auto(1-3) "
                                  "(zstd:auto: the levels it used), gzip:6 or none."),
            "createdAt": timestamp("When the dump started (the manifest's createdAt)."),
            "files": obj("The spec.files folder's archive (a tar, compressed and encrypted "
                         "like the dump), when spec.files is set.", {
                "object": string("Object key below the backup's folder, e.g. "
                                 "files-3f9a2c1e.tar.zst.pgp."),
                "size": integer("Stored size in bytes.", fmt="int64", minimum=0),
                "sha256": string("SHA-256 of the stored archive, hex.", pattern=SHA256),
                "count": integer("Entries archived: files, folders and symlinks.",
                                 fmt="int64", minimum=0),
            }),
        }),
        "database": obj("What was dumped, from the pre-flight queries.", {
            "name": string("The database's name."),
            "serverVersion": string("PostgreSQL server version, e.g. 15.18."),
            "dumpVersion": string("pg_dump version, e.g. 15.18."),
            "sizeBytes": integer("pg_database_size before the dump.", fmt="int64",
                                 minimum=0),
            "tableCount": integer("Number of user tables.", fmt="int64", minimum=0),
            "rowEstimate": integer("Estimated number of rows (planner statistics).",
                                   fmt="int64"),
            "schemaVersion": string("The first value of spec.database.schemaVersionQuery, "
                                    "when set."),
        }),
        "verification": obj("The check of the stored backup (spec.verify).", {
            "verified": boolean("true: the stored backup was re-read and every check "
                                "passed."),
            "time": timestamp("When the check finished."),
            "method": string("What was checked, e.g. sha256+mdc+pg_restore-list."),
            "message": string("Why the check failed, when it did."),
        }),
        "scheduleRef": object_ref("The BackupSchedule that created this backup, if one did.",
                                  "Name of the BackupSchedule in this namespace."),
    })
    return obj("What the operator observed: phase, conditions, and what was stored. "
               "Written by the operator only.", props)


def schedule_spec():
    annotation_rule = rule(
        "self.all(k, k.matches('%s'))" % LABEL_KEY.replace("\\", "\\\\"),
        "keys must be annotation keys: [prefix/]name, name at most 63 characters of "
        "letters, digits, '-', '_', '.'")
    label_rules = [
        rule("self.all(k, k.matches('%s'))" % LABEL_KEY.replace("\\", "\\\\"),
             "keys must be label keys: [prefix/]name, name at most 63 characters of "
             "letters, digits, '-', '_', '.'"),
        rule("self.all(k, !k.startsWith('lifeboat.dev/'))",
             "keys under lifeboat.dev/ are set by the operator"),
    ]
    return obj(
        "When to back up, how many backups to keep, and what each backup is.", {
            "schedule": string(
                "When to run, in cron syntax, in timeZone: five fields (minute hour "
                "day-of-month month day-of-week) with *, numbers, ranges (1-5), steps "
                "(*/15), lists, names (JAN, mon-fri) and 7 for Sunday; or @yearly, "
                "@annually, @monthly, @weekly, @daily, @midnight, @hourly. Checked by the "
                "operator (an error is condition Ready=False, reason InvalidSpec, naming the "
                "field and the value). Example: \"0 2 * * *\" (02:00 every day).",
                minLength=1, maxLength=256),
            "timeZone": string(
                "IANA time zone the schedule is read in; daylight-saving changes are handled "
                "(a time in the spring-forward gap runs once, right after it; a time in the "
                "repeated autumn hour runs once, at its first occurrence). Default: UTC. "
                "Example: Europe/Stockholm.", default="UTC", minLength=1, maxLength=64,
                pattern=TIME_ZONE),
            "suspend": boolean(
                "true: start no new runs (running ones finish). Resuming does not replay "
                "the runs missed meanwhile. Default: false.", default=False),
            "concurrencyPolicy": string(
                "What to do when a run is due while the previous one is still active: "
                "Forbid skips the new run (counted and evented), Allow runs both, Replace "
                "deletes the active backup and starts the new one. Default: Forbid.",
                enum=["Forbid", "Allow", "Replace"], default="Forbid"),
            "startingDeadlineSeconds": integer(
                "How late a missed run may still start, e.g. after the operator was down: "
                "at most one run (the latest missed) starts if it is within this many "
                "seconds of its time; the others are counted in status.missedCount and "
                "evented. Default: unset, the latest missed run always starts, however late. "
                "Example: 3600.", fmt="int64", minimum=0),
            "retention": obj(
                "Which of this schedule's backups to keep, applied after each successful "
                "run. A backup is kept when any rule keeps it (restic's semantics, as K8up "
                "uses them); the newest successful backup, running backups and backups a "
                "DatabaseRestore refers to are never deleted. Pruning deletes the "
                "DatabaseBackup, and its deletionPolicy decides about the stored objects: "
                "set backupTemplate.spec.deletionPolicy: Delete to free the storage too "
                "(with Retain, the default, the objects stay in storage). Default: unset, "
                "every backup is kept. Example: "
                "{keepLast: 7, keepWeekly: 4, keepMonthly: 6}.", {
                    "keepLast": integer("Keep the newest N successful backups. At least 1.",
                                        minimum=1, maximum=10000),
                    "maxAge": string(
                        "Keep every successful backup younger than this: a number and a "
                        "unit h (hours), d (days) or w (weeks). Example: 30d.",
                        maxLength=8, pattern=MAX_AGE),
                    "keepDaily": integer(
                        "Keep the newest successful backup of each of the last N days that "
                        "have one (days in timeZone).", minimum=1, maximum=10000),
                    "keepWeekly": integer(
                        "Keep the newest successful backup of each of the last N ISO weeks "
                        "that have one.", minimum=1, maximum=10000),
                    "keepMonthly": integer(
                        "Keep the newest successful backup of each of the last N months "
                        "that have one.", minimum=1, maximum=10000),
                    "keepFailed": integer(
                        "Keep the newest N failed backups (for their status and events) and "
                        "delete older failed ones. Default: unset, failed backups are kept.",
                        minimum=0, maximum=10000),
                }, rules=[
                    rule("has(self.keepLast) || has(self.maxAge) || has(self.keepDaily) || "
                         "has(self.keepWeekly) || has(self.keepMonthly)",
                         "set at least one of keepLast, maxAge, keepDaily, keepWeekly and "
                         "keepMonthly (leave retention out to keep every backup)"),
                ]),
            "backupTemplate": obj(
                "The DatabaseBackup each run creates, named "
                "<schedule>-<yyyymmddhhmm> (the scheduled time in UTC), owned by the "
                "schedule and labelled lifeboat.dev/schedule=<schedule>.", {
                    "metadata": obj("Labels and annotations for each backup.", {
                        "labels": string_map("Labels for each backup.", 32,
                                             "Label value: at most 63 characters.",
                                             key_rules=label_rules, value_max=63,
                                             value_pattern=LABEL_VALUE),
                        "annotations": string_map("Annotations for each backup.", 32,
                                                  "Annotation value.",
                                                  key_rules=[annotation_rule], value_max=4096),
                    }),
                    "spec": backup_spec(
                        "The spec of each DatabaseBackup (see kubectl explain "
                        "databasebackup.spec). Editing it affects the next run only.",
                        immutable=False),
                }, required=["spec"]),
        }, required=["schedule", "backupTemplate"])


def schedule_status():
    props = common_status(
        None, None,
        "Types: Ready (True while the schedule is valid and runs are being scheduled; "
        "False with reason InvalidSpec, naming the field) and LastBackupSucceeded (the "
        "outcome of the latest finished backup).")
    props.update({
        "lastScheduleTime": timestamp("Scheduled time of the latest run that was started."),
        "nextScheduleTime": timestamp("When the next run is due (absent while suspended)."),
        "lastSuccessfulTime": timestamp("Scheduled time of the latest run whose backup "
                                        "Completed."),
        "lastFailureTime": timestamp("Scheduled time of the latest run whose backup Failed."),
        "lastBackup": obj("The latest backup this schedule created.", {
            "name": string("Name of the DatabaseBackup."),
            "phase": string("Its phase.", enum=["Pending", "Running", "Verifying", "Completed",
                                                "Failed", "Deleting"]),
        }),
        "active": array(
            "Backups of this schedule that are still running.",
            obj("A running backup.", {"name": string("Name of the DatabaseBackup.")},
                required=["name"]), 64, list_type="map", map_keys=["name"]),
        "successCount": integer("Runs whose backup Completed.", fmt="int64", minimum=0),
        "failureCount": integer("Runs whose backup Failed.", fmt="int64", minimum=0),
        "missedCount": integer("Runs that never started: missed past "
                               "startingDeadlineSeconds, or skipped by concurrencyPolicy "
                               "Forbid.", fmt="int64", minimum=0),
    })
    return obj("What the operator observed. Written by the operator only.", props)


def restore_spec():
    return obj(
        "What to restore, into which database, and how carefully. The spec cannot change "
        "after creation: a restore is a one-shot record; create another to restore again.", {
            "backupRef": object_ref(
                "The DatabaseBackup to restore, in this namespace; it must be Completed. "
                "Exactly one of backupRef and source. Example: {name: "
                "nightly-202611210200}.", "Name of the DatabaseBackup."),
            "source": obj(
                "A backup found in storage alone, for disaster recovery in a cluster that "
                "has no DatabaseBackup for it (only the bucket and the passphrase): the "
                "Job reads the backup's manifest from storage. Exactly one of backupRef and "
                "source. Example: {storage: {s3: {...}}, path: app/nightly-202611210200, "
                "encryption: {passphraseSecretRef: {name: backup-passphrase, key: "
                "passphrase}}}.", {
                    "storage": storage_block(
                        "Where the backup is stored: exactly one of s3, azure, gcs and "
                        "volume, as in the DatabaseBackup that made it."),
                    "path": string(
                        "The backup's folder below the storage prefix, "
                        "<namespace>/<name>, as lifeboat list prints it (its NAMESPACE and "
                        "NAME columns). Example: app/nightly-202611210200.", maxLength=317,
                        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?/?$"),
                    "encryption": encryption_block(
                        "The passphrase of an encrypted backup. Default: unset, for a backup "
                        "that is not encrypted."),
                }, required=["storage", "path"]),
            "target": database_block(
                "The database to restore into (the same block as a backup's spec.database). "
                "Default: the database of the backup that backupRef names; required with "
                "source. Example: {host: app-db-rw.app.svc, user: app, passwordSecretRef: "
                "{name: app-db, key: password}, database: app}."),
            "confirm": string(
                "The target database's name, typed as a confirmation that it may be "
                "overwritten. The restore is refused (nothing launched) when it differs: "
                "condition Ready=False, reason ConfirmationMismatch. Example: app.",
                minLength=1, maxLength=63),
            "safetyBackup": obj(
                "A backup of the target taken before anything is changed, as a "
                "DatabaseBackup owned by this restore (deletionPolicy Retain); it must be "
                "Completed before the restore starts. Default: enabled.", {
                    "enabled": boolean(
                        "false: restore without a safety backup (a Warning event, and "
                        "status.safetyBackup.enabled false). Default: true.", default=True),
                    "storage": storage_block(
                        "Where the safety backup goes: exactly one of s3, azure, gcs and "
                        "volume. Default: the restored backup's storage."),
                }, rules=[
                    rule("self.enabled || !has(self.storage)",
                         "storage is set but enabled is false: no safety backup would be "
                         "taken"),
                ], default={}),
            "clean": boolean(
                "true: empty the target first (every user schema and large object is "
                "dropped) inside the restore's single transaction, so the database ends up "
                "holding exactly the backup's content and a failed restore still changes "
                "nothing. false: apply the backup to the database as it is (into a "
                "populated one the first existing table fails the restore, which is rolled "
                "back). Default: true.", default=True),
            "schemaPolicy": string(
                "How to treat a schema version (spec.database.schemaVersionQuery) that "
                "differs between the backup and the target, checked before anything "
                "changes: Ignore does not compare, Warn records the difference and goes on, "
                "RequireMatch refuses the restore. The result is in status.schemaCheck. "
                "Default: Warn.", enum=["Ignore", "Warn", "RequireMatch"], default="Warn"),
            "ownership": obj(
                "Who owns the restored objects; for restoring into another cluster whose "
                "server lacks the backup's roles (which fails with role \"...\" does not "
                "exist, rolled back).", {
                    "mode": string(
                        "Keep: restore the original owners (ALTER ... OWNER TO). NoOwner: "
                        "skip ownership, so objects belong to the restoring user or role "
                        "(pg_restore --no-owner). Default: Keep.",
                        enum=["Keep", "NoOwner"], default="Keep"),
                    "role": string(
                        "Role to SET ROLE to before restoring (pg_restore --role), e.g. "
                        "the application's owner role. Default: the connecting user.",
                        minLength=1, maxLength=63),
                }, default={}),
            "privileges": string(
                "Keep: restore the backup's GRANTs and REVOKEs. Skip: leave them out "
                "(pg_restore --no-privileges), e.g. when the roles they name do not exist "
                "on the target. Default: Keep.", enum=["Keep", "Skip"], default="Keep"),
            "files": files_block(
                "Restore the backup's files archive (spec.files of the backup) into this "
                "claim's folder: unpacked into a fresh folder and swapped in only after "
                "the database restore committed, so a failure leaves the old files in "
                "place. Default: unset, the database only. Example: {claimName: "
                "app-uploads, path: media}.",
                "Folder inside the claim to restore into. Default: the volume's root. "
                "Example: media."),
            "jobTemplate": job_template_block(),
        }, required=["confirm"], rules=[
            rule("self == oldSelf",
                 "spec is immutable: a DatabaseRestore is a one-shot record of one "
                 "restore; create a new DatabaseRestore to restore again"),
            rule("has(self.backupRef) != has(self.source)",
                 message_expression="has(self.backupRef) ? 'set exactly one of backupRef "
                 "and source, not both' : 'set exactly one of backupRef (a DatabaseBackup "
                 "in this namespace) and source (a backup in storage)'"),
            rule("!has(self.source) || has(self.target)",
                 "target is required with source: there is no DatabaseBackup to take the "
                 "database from", field_path=".target", reason="FieldValueRequired"),
            rule("!has(self.target) || !has(self.target.database) || "
                 "self.confirm == self.target.database",
                 message_expression="'confirm must equal the target database name: confirm "
                 "is \"' + self.confirm + '\", target.database is \"' + "
                 "self.target.database + '\"'", field_path=".confirm"),
        ])


def restore_status():
    props = common_status(
        "Pending: accepted, nothing launched yet (or refused: see conditions). "
        "SafetyBackup: the safety backup of the target runs. Restoring: the restore Job "
        "runs. Completed: the target holds the backup's content. Failed: see message; "
        "targetUnchanged says whether the target was left as it was.",
        ["Pending", "SafetyBackup", "Restoring", "Completed", "Failed"],
        "Types: Ready (True once Completed; False with the reason: InvalidSpec, "
        "ConfirmationMismatch, BackupNotCompleted, SafetyBackupFailed, SchemaMismatch, "
        "RestoreFailed, IntegrityCheckFailed, WrongPassphrase, ...), SafetyBackupCompleted "
        "and SchemaCompatible.")
    props.update({
        "jobName": string("Name of the restore Job."),
        "startTime": timestamp("When the restore began (its safety backup included)."),
        "completionTime": timestamp("When the restore reached Completed or Failed."),
        "requestedBy": string(
            "Who created this restore: the user name and groups the API server "
            "authenticated, as the admission webhook recorded them in the annotation "
            "lifeboat.dev/requested-by; \"unknown (admission webhook not installed)\" "
            "without the webhook."),
        "target": string("The target database, as postgresql://USER@HOST:PORT/DBNAME "
                         "(never a password)."),
        "restoredBackup": obj("The backup that was restored.", {
            "name": string("Name of the DatabaseBackup, or <namespace>/<name> for a "
                           "restore from source."),
            "location": string("The backup's folder in storage."),
            "sha256": string("SHA-256 of the stored dump object, checked during the "
                             "restore.", pattern=SHA256),
            "createdAt": timestamp("When the backup was taken."),
            "schemaVersion": string("The backup's schema version, when recorded."),
        }),
        "safetyBackup": obj("The backup of the target taken before the restore.", {
            "enabled": boolean("false when spec.safetyBackup.enabled was false."),
            "name": string("Name of the safety DatabaseBackup (owned by this restore)."),
            "location": string("Its folder in storage."),
            "sha256": string("SHA-256 of its dump object.", pattern=SHA256),
        }),
        "schemaCheck": obj("The schema-version comparison (spec.schemaPolicy).", {
            "policy": string("The policy applied.", enum=["Ignore", "Warn", "RequireMatch"]),
            "backupVersion": string("The backup's schema version."),
            "targetVersion": string("The target's schema version before the restore."),
            "result": string("Match, Mismatch, Unknown (a version is missing) or Skipped "
                             "(policy Ignore).",
                             enum=["Match", "Mismatch", "Unknown", "Skipped"]),
        }),
        "targetUnchanged": boolean(
            "On failure: true when the target was left exactly as it was (the restore's "
            "single transaction was rolled back, or nothing had started)."),
        "auditRecord": string(
            "Where the restore's audit record (JSON: who, when, what, the target, the "
            "safety backup, the schema check, the outcome) is kept in storage, so the "
            "history outlives the database and the cluster, e.g. "
            "s3://acme-db-backups/prod/app/_restores/2026/11/restore-app.json."),
    })
    return obj("What the operator observed, step by step. Written by the operator only.",
               props)


def crd(plural, singular, kind, short, kind_desc, spec, status, columns, root_desc):
    props = meta_props(kind)
    props["spec"] = spec
    props["status"] = status
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": "%s.%s" % (plural, GROUP),
            "labels": {"app.kubernetes.io/name": "lifeboat",
                       "app.kubernetes.io/part-of": "lifeboat"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "plural": plural, "singular": singular, "kind": kind,
                "listKind": kind + "List", "shortNames": [short],
                "categories": ["lifeboat"],
            },
            "versions": [{
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
                "schema": {"openAPIV3Schema": {
                    "description": root_desc,
                    "type": "object",
                    "required": ["spec"],
                    "properties": props,
                }},
            }],
        },
    }


def col(name, typ, path, desc, priority=0):
    c = {"name": name, "type": typ, "jsonPath": path, "description": desc}
    if priority:
        c["priority"] = priority
    return c


AGE = col("Age", "date", ".metadata.creationTimestamp", "Time since the resource was created.")


def databasebackups():
    return crd(
        "databasebackups", "databasebackup", "DatabaseBackup", "dbb", "DatabaseBackup",
        backup_spec("What to back up, where to, and how. Immutable once created, except "
                    "deletionPolicy: the status always describes the spec it shows.",
                    immutable=True),
        backup_status(),
        [col("Phase", "string", ".status.phase", "Pending, Running, Verifying, Completed, "
             "Failed or Deleting."),
         col("Size", "integer", ".status.artifact.size", "Stored size of the dump in bytes."),
         col("Verified", "boolean", ".status.verification.verified",
             "Whether the stored backup was re-read and checked."),
         col("Schedule", "string", ".status.scheduleRef.name",
             "The BackupSchedule that created it."),
         AGE,
         col("Database", "string", ".status.database.name", "The database dumped.", 1),
         col("Encrypted", "boolean", ".status.artifact.encrypted",
             "Whether the dump is encrypted.", 1),
         col("Message", "string", ".status.message", "The current state in a sentence.", 1)],
        "DatabaseBackup is one backup of one PostgreSQL database: lifeboat runs pg_dump in "
        "a Job, compresses, encrypts (OpenPGP) and checksums the stream and stores it in "
        "S3, Azure Blob Storage, Google Cloud Storage or a volume, then verifies it. "
        "Create one for an on-demand backup; a BackupSchedule creates them on a schedule.")


def backupschedules():
    return crd(
        "backupschedules", "backupschedule", "BackupSchedule", "dbs", "BackupSchedule",
        schedule_spec(), schedule_status(),
        [col("Schedule", "string", ".spec.schedule", "The cron schedule."),
         col("TimeZone", "string", ".spec.timeZone", "The time zone it is read in."),
         col("Suspend", "boolean", ".spec.suspend", "Whether new runs are suspended."),
         col("Last", "date", ".status.lastScheduleTime",
             "Time since the latest run was scheduled."),
         col("Next", "string", ".status.nextScheduleTime",
             "When the next run is due (a timestamp: kubectl shows future dates as "
             "<invalid> in a date column)."),
         AGE,
         col("Last-Backup", "string", ".status.lastBackup.name",
             "The latest backup created.", 1),
         col("Last-Phase", "string", ".status.lastBackup.phase", "Its phase.", 1),
         col("Missed", "integer", ".status.missedCount", "Runs that never started.", 1)],
        "BackupSchedule creates a DatabaseBackup from its backupTemplate on a cron "
        "schedule, in a time zone, and prunes the backups it made by a retention policy.")


def databaserestores():
    return crd(
        "databaserestores", "databaserestore", "DatabaseRestore", "dbr", "DatabaseRestore",
        restore_spec(), restore_status(),
        [col("Phase", "string", ".status.phase", "Pending, SafetyBackup, Restoring, "
             "Completed or Failed."),
         col("Backup", "string", ".status.restoredBackup.name", "The backup restored."),
         col("Target", "string", ".spec.confirm", "The target database (its name, as "
             "confirmed)."),
         col("Requested-By", "string", ".status.requestedBy", "Who created the restore."),
         AGE,
         col("Safety-Backup", "string", ".status.safetyBackup.name",
             "The backup of the target taken first.", 1),
         col("Message", "string", ".status.message", "The current state in a sentence.", 1)],
        "DatabaseRestore restores one backup into a PostgreSQL database, atomically: it "
        "needs a typed confirmation, takes a safety backup of the target first, checks "
        "the schema version, restores in a single transaction (a corrupt or wrong artifact "
        "leaves the target unchanged) and writes an audit record to storage.")


FILES = {
    "databasebackups.yaml": databasebackups,
    "backupschedules.yaml": backupschedules,
    "databaserestores.yaml": databaserestores,
}

HEADER = ("# Generated by crds/gen.py from one definition of the blocks the three lifeboat.dev\n"
          "# CRDs share; do not edit by hand: change crds/gen.py and run it. docs/api.md\n"
          "# documents every field.\n")

# --- a small YAML writer ----------------------------------------------------

PLAIN = re.compile(r"^[A-Za-z_/][-A-Za-z0-9_./]*$")
RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"}


def scalar(v):
    """A value on one line: plain when YAML reads it back as the same string,
    else single-quoted (no escapes but ''), else JSON's double quotes."""
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    if PLAIN.match(v) and v.lower() not in RESERVED:
        return v
    if v.isascii() and v.isprintable():
        return "'%s'" % v.replace("'", "''")
    return json.dumps(v)


def foldable(s):
    return (len(s) > 60 and " " in s and "  " not in s and s == s.strip()
            and s.isascii() and s.isprintable())


def fold(s, indent, width=100):
    """A `>-` block whose lines, folded back, give s exactly: break only at
    single spaces, never start or end a line with one."""
    words = s.split(" ")
    lines, cur = [], ""
    for w in words:
        if cur and len(indent) + len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = cur + " " + w if cur else w
    lines.append(cur)
    return ">-\n" + "\n".join(indent + line for line in lines)


def emit(v, indent, out):
    """Writes the mapping or sequence v at indent (a string of spaces)."""
    if isinstance(v, dict):
        for k, x in v.items():
            key = scalar(k)
            if isinstance(x, dict) and x:
                out.append("%s%s:" % (indent, key))
                emit(x, indent + "  ", out)
            elif isinstance(x, list) and x:
                if all(not isinstance(i, (dict, list)) for i in x):
                    out.append("%s%s: [%s]" % (indent, key, ", ".join(scalar(i) for i in x)))
                else:
                    out.append("%s%s:" % (indent, key))
                    emit(x, indent, out)
            elif isinstance(x, (dict, list)):
                out.append("%s%s: %s" % (indent, key, "{}" if isinstance(x, dict) else "[]"))
            elif isinstance(x, str) and foldable(x):
                out.append("%s%s: %s" % (indent, key, fold(x, indent + "  ")))
            else:
                out.append("%s%s: %s" % (indent, key, scalar(x)))
    else:
        for x in v:
            if isinstance(x, dict) and x:
                sub = []
                emit(x, indent + "  ", sub)
                sub[0] = indent + "- " + sub[0][len(indent) + 2:]
                out.extend(sub)
            else:
                out.append("%s- %s" % (indent, scalar(x)))


def render(obj_):
    out = []
    emit(obj_, "", out)
    return HEADER + "\n".join(out) + "\n"


def strip(node):
    """The object without the generator's own marks (keys starting "__")."""
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if not k.startswith("__")}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def built():
    return {name: strip(make()) for name, make in FILES.items()}


# --- the field reference of docs/api.md -------------------------------------

DOC_BEGIN = "<!-- BEGIN crds/gen.py reference: generated, edit crds/gen.py instead -->"
DOC_END = "<!-- END crds/gen.py reference -->"


def md_type(n):
    if "anyOf" in n:
        return "int-or-string"
    t = n.get("type", "")
    if t == "integer":
        return "integer (%s)" % n.get("format", "int64")
    if t == "string" and n.get("format"):
        return "string (%s)" % n["format"]
    if t == "array":
        return "array of %s" % md_type(n["items"])
    if t == "object" and "additionalProperties" in n:
        return "map of %s" % md_type(n["additionalProperties"])
    if t == "object" and n.get("x-kubernetes-preserve-unknown-fields"):
        return "object (free-form)"
    return t


def code(v):
    v = json.dumps(v) if not isinstance(v, str) else v
    return "`` %s ``" % v if "`" in v else "`%s`" % v


def md_checks(n, required):
    out = []
    if required:
        out.append("required")
    if "default" in n:
        out.append("default %s" % code(n["default"]))
    if "enum" in n:
        out.append("one of " + ", ".join(code(e) for e in n["enum"]))
    lo, hi = n.get("minLength"), n.get("maxLength")
    if lo is not None and hi is not None:
        out.append("%d-%d characters" % (lo, hi))
    elif hi is not None:
        out.append("at most %d characters" % hi)
    elif lo is not None:
        out.append("at least %d characters" % lo)
    lo, hi = n.get("minimum"), n.get("maximum")
    if lo is not None and hi is not None:
        out.append("%s to %s" % (lo, hi))
    elif lo is not None:
        out.append("at least %s" % lo)
    elif hi is not None:
        out.append("at most %s" % hi)
    if "pattern" in n:
        out.append("pattern %s" % code(n["pattern"]))
    if "maxItems" in n:
        out.append("at most %d items" % n["maxItems"])
    if "maxProperties" in n:
        out.append("at most %d entries" % n["maxProperties"])
    if n.get("x-kubernetes-list-type") == "map":
        out.append("a list map keyed by %s" % ", ".join(n["x-kubernetes-list-map-keys"]))
    return out


def prose(text):
    """A description as Markdown text: <placeholders> and * shown literally."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("*", "\\*")


def md_rules(n, indent):
    lines = []
    for r in n.get("x-kubernetes-validations", []):
        why = r.get("message") or "(message computed by %s)" % code(r["messageExpression"])
        where = " on %s" % code(r["fieldPath"]) if "fieldPath" in r else ""
        lines.append("%s- rule%s: %s\n%s  refused with: %s" % (
            indent, where, code(r["rule"]), indent, prose(why)))
    return lines


def md_fields(n, path, out, depth=0, top=True):
    """One bullet per field below n; shared blocks (but not the one being
    documented, top) become a link to their own section."""
    req = set(n.get("required", []))
    for k, v in n.get("properties", {}).items():
        p = "%s.%s" % (path, k) if path else k
        block = v.get("__block__")
        node = v["items"] if v.get("type") == "array" and "items" in v else v
        checks = md_checks(v, k in req)
        head = "%s- **`%s`** %s" % ("  " * depth, p, md_type(v))
        if block:
            head += ": the [`%s` block](#block-%s)" % (block, block.lower())
        if checks:
            head += "; " + "; ".join(checks)
        out.append(head + ".")
        out.append("%s  %s" % ("  " * depth, prose(v["description"])))
        if block:
            continue
        out.extend(md_rules(v, "  " * (depth + 1)))
        child = node.get("additionalProperties") if isinstance(node.get("additionalProperties"), dict) else node
        if child is not node:
            out.extend(md_rules(child, "  " * (depth + 1)))
        md_fields(child, p + ("[]" if node is not v else ""), out, depth + 1, top=False)


def md_block(title, anchor, n, path):
    out = ['<a id="%s"></a>' % anchor, "", "#### %s" % title, "", prose(n["description"]), ""]
    out.extend(md_rules(n, ""))
    if "x-kubernetes-validations" in n:
        out.append("")
    node = n["items"] if n.get("type") == "array" else n
    md_fields(node, path + ("[]" if node is not n else ""), out)
    return out


def markdown():
    crds = {name: make() for name, make in FILES.items()}
    out = [DOC_BEGIN, ""]
    blocks = {}

    def find(n):
        if isinstance(n, dict):
            b = n.get("__block__")
            if b and b not in blocks:
                blocks[b] = n
            for v in n.values():
                find(v)
        elif isinstance(n, list):
            for v in n:
                find(v)
    for c in crds.values():
        find(c)
    for name in ["databasebackups.yaml", "backupschedules.yaml", "databaserestores.yaml"]:
        c = crds[name]
        kind = c["spec"]["names"]["kind"]
        v = c["spec"]["versions"][0]
        root = v["schema"]["openAPIV3Schema"]
        out += ["### %s reference" % kind, "",
                "`kubectl explain %s` shows the same text. Short name `%s`, category "
                "`lifeboat`, namespaced." % (kind.lower(), c["spec"]["names"]["shortNames"][0]),
                ""]
        for part in ["spec", "status"]:
            out += md_block("%s `%s`" % (kind, part), "%s-%s" % (kind.lower(), part),
                            root["properties"][part], part)
            out.append("")
        out += ["#### %s printer columns" % kind, "",
                "| column | from | shown |", "|---|---|---|"]
        for col_ in v["additionalPrinterColumns"]:
            out.append("| %s | `%s` (%s) | %s |" % (
                col_["name"], col_["jsonPath"], col_["type"],
                "`-o wide`" if col_.get("priority") else "always"))
        out.append("")
    out += ["### Shared blocks", "",
            "These blocks are the same, field for field, wherever they appear (crds/gen.py "
            "builds all three CRDs from one definition of each; tests/crds checks it).", ""]
    for b in ["database", "storage", "encryption", "jobTemplate", "conditions"]:
        out += md_block("The `%s` block" % b, "block-%s" % b.lower(), blocks[b], b)
        out.append("")
    out.append(DOC_END)
    return "\n".join(out) + "\n"


def with_reference(doc):
    """docs/api.md with its generated part replaced (or None without markers)."""
    if DOC_BEGIN not in doc or DOC_END not in doc:
        return None
    a = doc.index(DOC_BEGIN)
    b = doc.index(DOC_END) + len(DOC_END) + 1
    return doc[:a] + markdown() + doc[b:]


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    if argv[1:] == ["--json"]:
        print(json.dumps(built(), indent=1))
        return 0
    if argv[1:] == ["--markdown"]:
        sys.stdout.write(markdown())
        return 0
    check = argv[1:] == ["--check"]
    if argv[1:] and not check:
        sys.stderr.write(__doc__)
        return 2
    outputs = {os.path.join(here, name): render(obj_) for name, obj_ in built().items()}
    doc_path = os.path.join(here, "..", "docs", "api.md")
    if os.path.exists(doc_path):
        with open(doc_path, encoding="utf-8") as f:
            doc = f.read()
        new = with_reference(doc)
        if new is None:
            print("crds/gen.py: docs/api.md has no %s ... %s markers" % (DOC_BEGIN, DOC_END))
            return 1
        outputs[doc_path] = new
    stale = 0
    for path, text in outputs.items():
        shown = os.path.relpath(os.path.normpath(path), os.path.join(here, ".."))
        if check:
            try:
                with open(path, encoding="utf-8") as f:
                    have = f.read()
            except FileNotFoundError:
                have = ""
            if have != text:
                stale += 1
                sys.stdout.writelines(difflib.unified_diff(
                    have.splitlines(True), text.splitlines(True), shown,
                    "crds/gen.py output", n=2))
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    if check and stale:
        print("crds/gen.py --check: %d file(s) differ from the generator's output; run "
              "crds/gen.py" % stale)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
