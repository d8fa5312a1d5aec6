# Lifeboat container images: two targets, built on Debian bookworm.
#
#   operator  /usr/local/bin/lifeboat-operator
#   job       /usr/local/bin/lifeboat, with pg_dump, pg_restore and psql of
#             PostgreSQL ${PG_MAJOR}
#
# Both runtime images are `scratch` plus a root assembled by
# packaging/image-rootfs.sh: the binaries, the shared libraries they load,
# CA certificates, time zones, /etc/passwd with the runtime user 65532 and the
# Debian copyright and status of every package a file came from. There is no
# shell and no package manager in them; ENTRYPOINT is the binary (exec form).
#
# Build arguments:
#   BASE_IMAGE         Debian bookworm to build on (default debian:bookworm-slim;
#                      the tests pass a local debootstrap-made image)
#   PG_MAJOR           the PostgreSQL client major of the job image (default 15,
#                      bookworm's own; another major comes from apt.postgresql.org)
#   VERSION            the version in the labels (the Makefile's VERSION)
#   REVISION           the source revision for the labels (tests/images/build.sh:
#                      the last commit that changed the build's inputs)
#   SOURCE_DATE_EPOCH  the time of the labels and of every file; with
#                      `buildah bud --timestamp $SOURCE_DATE_EPOCH` two builds
#                      of the same sources give the same image (docs/images.md)
# `make images` builds both with buildah and tags them
# lifeboat-operator:${VERSION} and lifeboat-job:${VERSION}-pg${PG_MAJOR}.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS builder
ARG DEBIAN_FRONTEND=noninteractive
# The -dev packages of the Makefile's PKGS (pkg-config libcurl json-c
# yaml-0.1 libpq openssl libzstd zlib libwebsockets), the CA bundle and tzdata
# for the runtime roots. apt's lists and logs go in the same layer.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
	gcc libc6-dev make pkg-config \
	libcurl4-openssl-dev libjson-c-dev libyaml-dev libpq-dev libssl-dev \
	libwebsockets-dev libzstd-dev zlib1g-dev \
	ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
WORKDIR /src
COPY Makefile ./
COPY common/ common/
COPY job/ job/
COPY operator/ operator/
COPY packaging/image-rootfs.sh /usr/local/bin/image-rootfs.sh
# The release build of the Makefile (-O2, FORTIFY, stack protector, full RELRO).
RUN make -j"$(nproc)" BUILD=/build all

# The runtime roots. Each also gets /usr/share/lifeboat/build-info (name,
# version, revision, created): the labels' values as content, so that a
# cached build whose sources did not change still rebuilds the final stage
# when a label would change (buildah's cache key for COPY ignores mtimes and
# for LABEL the values of the build arguments).
FROM builder AS operator-root
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG SOURCE_DATE_EPOCH
RUN mkdir -p /rootfs/usr/share/lifeboat \
 && install -m 0755 /build/lifeboat-operator /usr/local/bin/lifeboat-operator \
 && printf 'name=lifeboat-operator\nversion=%s\nrevision=%s\ncreated=%s\n' "${VERSION}" "${REVISION}" "${CREATED}" \
	>/rootfs/usr/share/lifeboat/build-info \
 && image-rootfs.sh /rootfs /usr/local/bin/lifeboat-operator

FROM builder AS job-root
ARG PG_MAJOR=15
ARG DEBIAN_FRONTEND=noninteractive
# PostgreSQL ${PG_MAJOR}'s client: bookworm's own when it has that major,
# else from apt.postgresql.org (PGDG; its key fetched over https).
RUN set -e; apt-get update; \
	if ! apt-cache show "postgresql-client-${PG_MAJOR}" >/dev/null 2>&1; then \
		echo "PostgreSQL ${PG_MAJOR} is not in bookworm: adding apt.postgresql.org" >&2; \
		apt-get install -y --no-install-recommends curl; \
		curl -fsSL -o /usr/share/keyrings/pgdg.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc \
			|| { echo "cannot fetch the PGDG signing key for PostgreSQL ${PG_MAJOR}" >&2; exit 1; }; \
		echo "deb [signed-by=/usr/share/keyrings/pgdg.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
			>/etc/apt/sources.list.d/pgdg.list; \
		apt-get update; \
	fi; \
	apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}"; \
	v=$("/usr/lib/postgresql/${PG_MAJOR}/bin/pg_dump" --version); \
	case "$v" in "pg_dump (PostgreSQL) ${PG_MAJOR}."*) ;; \
	*) echo "pg_dump is not PostgreSQL ${PG_MAJOR}: $v" >&2; exit 1 ;; esac; \
	rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG SOURCE_DATE_EPOCH
RUN set -e; bin=/usr/lib/postgresql/${PG_MAJOR}/bin; \
	install -m 0755 /build/lifeboat /usr/local/bin/lifeboat; \
	mkdir -p /rootfs/usr/share/lifeboat /rootfs/usr/bin; \
	printf 'name=lifeboat-job\nversion=%s-pg%s\nrevision=%s\ncreated=%s\npostgresql=%s\n' "${VERSION}" "${PG_MAJOR}" \
		"${REVISION}" "${CREATED}" "$("$bin/pg_dump" --version)" >/rootfs/usr/share/lifeboat/build-info; \
	for t in pg_dump pg_restore psql; do ln -s "../lib/postgresql/${PG_MAJOR}/bin/$t" "/rootfs/usr/bin/$t"; done; \
	image-rootfs.sh /rootfs /usr/local/bin/lifeboat "$bin/pg_dump" "$bin/pg_restore" "$bin/psql"

# The final stages start with the COPY: its cache key is the root's content
# (build-info included), so a cached build never mixes in steps recorded
# under another epoch, version or revision.
FROM scratch AS operator
COPY --from=operator-root /rootfs/ /
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ENV PATH=/usr/local/bin:/usr/bin:/bin
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/lifeboat-operator"]
LABEL org.opencontainers.image.title="lifeboat-operator" \
	org.opencontainers.image.description="Lifeboat: the Kubernetes operator for PostgreSQL backups" \
	org.opencontainers.image.version="${VERSION}" \
	org.opencontainers.image.revision="${REVISION}" \
	org.opencontainers.image.created="${CREATED}" \
	org.opencontainers.image.base.name="scratch" \
	org.opencontainers.image.documentation="docs/images.md"

FROM scratch AS job
COPY --from=job-root /rootfs/ /
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG PG_MAJOR=15
ENV PATH=/usr/local/bin:/usr/bin:/bin
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/lifeboat"]
LABEL org.opencontainers.image.title="lifeboat-job" \
	org.opencontainers.image.description="Lifeboat: the backup and restore job, with the PostgreSQL ${PG_MAJOR} client" \
	org.opencontainers.image.version="${VERSION}-pg${PG_MAJOR}" \
	org.opencontainers.image.revision="${REVISION}" \
	org.opencontainers.image.created="${CREATED}" \
	org.opencontainers.image.base.name="scratch" \
	org.opencontainers.image.documentation="docs/images.md" \
	dev.lifeboat.postgresql.major="${PG_MAJOR}"
