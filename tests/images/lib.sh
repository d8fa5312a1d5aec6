# shellcheck shell=bash
# tests/images/lib.sh: where the image tests keep buildah's storage, and how
# they call buildah (chroot isolation, vfs storage: no daemon, no overlay
# mounts, works as root on this machine).
#   LIFEBOAT_CACHE   cache root (default ~/.cache/lifeboat); images in $LIFEBOAT_CACHE/images
#   IMG_STORAGE      buildah's storage root (default $LIFEBOAT_CACHE/images/storage)
#   BUILDAH          the buildah binary (default buildah)
IMG_CACHE=${LIFEBOAT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lifeboat}/images
IMG_STORAGE=${IMG_STORAGE:-$IMG_CACHE/storage}
IMG_RUNROOT=${IMG_RUNROOT:-$IMG_CACHE/runroot}
IMG_BASE_NAME=localhost/lifeboat-base:bookworm-minbase
export STORAGE_DRIVER=vfs BUILDAH_ISOLATION=chroot IMG_CACHE IMG_STORAGE IMG_RUNROOT IMG_BASE_NAME
img_buildah() {
	"${BUILDAH:-buildah}" --root "$IMG_STORAGE" --runroot "$IMG_RUNROOT" --storage-driver vfs "$@"
}
