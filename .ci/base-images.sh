#!/usr/bin/env bash
# Builds the local base images that stand in for the public ones when no
# image registry is reachable, with `docker import` of tarballs made on this
# machine:
#   local/runtime:busybox   static busybox (/bin/sh and applets), /etc/passwd,
#                           /etc/group, /tmp: a stand-in for busybox:1.37
#   local/go-builder:1.26   the same plus the host's Go toolchain at
#                           /usr/local/go and CA certificates: a stand-in for
#                           golang:1.26-bookworm
# An image that already exists is kept; FORCE=1 rebuilds both.
# Needs: a static busybox (Debian: busybox-static), ca-certificates, Go.
set -euo pipefail

RUNTIME_IMAGE=${RUNTIME_IMAGE:-local/runtime:busybox}
GO_IMAGE=${GO_IMAGE:-local/go-builder:1.26}
FORCE=${FORCE:-0}

have() { [[ $FORCE != 1 ]] && docker image inspect "$1" >/dev/null 2>&1; }

busybox=$(command -v busybox || true)
certs=/etc/ssl/certs/ca-certificates.crt

# rootfs DIR: a minimal busybox root file system in DIR.
rootfs() {
	local d=$1
	if [[ -z $busybox ]]; then
		echo "base-images: busybox not found (apt-get install busybox-static)" >&2
		exit 1
	fi
	if ldd "$busybox" >/dev/null 2>&1; then
		echo "base-images: $busybox is dynamically linked; install busybox-static" >&2
		exit 1
	fi
	mkdir -p "$d"/{bin,etc,root,tmp,usr/bin,usr/local/bin,var}
	chmod 1777 "$d/tmp"
	chmod 0700 "$d/root"
	install -m 0755 "$busybox" "$d/bin/busybox"
	local a
	for a in $("$busybox" --list); do
		[[ $a == busybox ]] || ln -sf busybox "$d/bin/$a"
	done
	ln -sf /bin/env "$d/usr/bin/env"
	printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$d/etc/passwd"
	printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$d/etc/group"
}

# import DIR IMAGE CHANGES...: docker import of DIR as root-owned files.
import() {
	local d=$1 image=$2
	shift 2
	local changes=()
	local c
	for c in "$@"; do changes+=(-c "$c"); done
	tar -C "$d" --numeric-owner --owner=0 --group=0 -cf - . | docker import "${changes[@]}" - "$image" >/dev/null
	echo "base-images: built $image ($(docker image inspect -f '{{.Size}}' "$image") bytes)" >&2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if have "$RUNTIME_IMAGE"; then
	echo "base-images: $RUNTIME_IMAGE exists" >&2
else
	rootfs "$work/runtime"
	import "$work/runtime" "$RUNTIME_IMAGE" \
		'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'CMD ["sh"]'
fi

if have "$GO_IMAGE"; then
	echo "base-images: $GO_IMAGE exists" >&2
else
	goroot=$(go env GOROOT)
	gover=$(go env GOVERSION)
	if [[ ! -f $certs ]]; then
		echo "base-images: $certs missing (apt-get install ca-certificates)" >&2
		exit 1
	fi
	rootfs "$work/go"
	mkdir -p "$work/go/etc/ssl/certs" "$work/go/usr/local" "$work/go/go"
	cp "$certs" "$work/go/etc/ssl/certs/ca-certificates.crt"
	cp -a "$goroot" "$work/go/usr/local/go"
	import "$work/go" "$GO_IMAGE" \
		'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		'ENV GOPATH=/go' \
		'ENV GOTOOLCHAIN=local' \
		"LABEL local.go.version=$gover" \
		'WORKDIR /go' \
		'CMD ["sh"]'
fi
