#!/usr/bin/env bash
# Builds the connector image with no network: copies the working tree (files
# git tracks or would track) into a temporary context, adds a vendor/
# directory there with `go mod vendor` (uses the host's module cache, filled
# from the Go module proxy if needed), and runs
#   docker build --network none --build-arg GO_IMAGE=... --build-arg RUNTIME_IMAGE=...
# The repository itself never gets a vendor/ directory.
#
# Environment: IMAGE (default source-zoom/source-zoom:dev), GO_IMAGE (default
# local/go-builder:1.26), RUNTIME_IMAGE (default local/runtime:busybox).
# The image is also tagged <dockerRepository>:<dockerImageTag> from
# metadata.yaml, and VERSION is that tag. Extra arguments go to docker build.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

meta() { sed -n "s/^  $1: *//p" metadata.yaml | head -n 1 | tr -d "\"' \r"; }
repo=$(meta dockerRepository)
version=$(meta dockerImageTag)
if [[ -z $repo || -z $version ]]; then
	echo "build-image: dockerRepository/dockerImageTag not found in metadata.yaml" >&2
	exit 1
fi

IMAGE=${IMAGE:-$repo:dev}
GO_IMAGE=${GO_IMAGE:-local/go-builder:1.26}
RUNTIME_IMAGE=${RUNTIME_IMAGE:-local/runtime:busybox}

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Tracked and untracked-but-not-ignored files that exist now.
	while IFS= read -r -d '' f; do
		if [[ -e $f || -L $f ]]; then printf '%s\0' "$f"; fi
	done < <(git ls-files -z --cached --others --exclude-standard) |
		tar --null -T - -cf - | tar -C "$ctx" -xf -
else
	tar --exclude=./.git --exclude=./vendor -cf - . | tar -C "$ctx" -xf -
fi
rm -rf "$ctx/vendor"
(cd "$ctx" && go mod vendor)

echo "build-image: building $IMAGE (version $version) from $GO_IMAGE and $RUNTIME_IMAGE" >&2
docker build --network none \
	--build-arg GO_IMAGE="$GO_IMAGE" \
	--build-arg RUNTIME_IMAGE="$RUNTIME_IMAGE" \
	--build-arg VERSION="$version" \
	-t "$IMAGE" -t "$repo:$version" \
	-f "$ctx/Dockerfile" "$@" "$ctx" >&2

# The legacy builder leaves the build stage behind as an untagged image, and
# the previous build of this image loses its tags: remove both (prune without
# -a only touches untagged images).
docker image prune -f --filter label=io.source-zoom.stage=build >/dev/null
docker image prune -f --filter "label=io.airbyte.name=$repo" >/dev/null

size=$(docker image inspect -f '{{.Size}}' "$IMAGE")
echo "build-image: $IMAGE is $size bytes ($((size / 1024 / 1024)) MiB)" >&2
