# source-zoom: an Airbyte source for Zoom, as a small image Airbyte can run.
#
# Build (needs the Go module proxy unless the context holds a vendor/ dir):
#   docker build -t source-zoom/source-zoom:0.1.0 .
# Offline build from locally made base images (what CI does):
#   .ci/build-image.sh
#
# Airbyte ignores ENTRYPOINT and runs `sh -c 'eval "$AIRBYTE_ENTRYPOINT <cmd> ..."'`
# as uid 1000 with all capabilities dropped, so the runtime image needs
# /bin/sh, AIRBYTE_ENTRYPOINT, and a binary that uid 1000 can execute.
# Keep VERSION equal to dockerImageTag and the name label equal to
# dockerRepository in metadata.yaml (integration_tests/docker_test.go checks).

ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=busybox:1.37

FROM ${GO_IMAGE} AS build
ARG VERSION=0.1.0
# Lets .ci/build-image.sh prune this stage's leftover image (about 350 MB).
LABEL io.source-zoom.stage=build
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
WORKDIR /src
COPY . .
# With a vendor/ directory in the context (see .ci/build-image.sh) the build
# needs no network: go uses vendor/ automatically when vendor/modules.txt exists.
RUN if [ -f vendor/modules.txt ]; then echo "using vendor/"; else go mod download; fi \
 && go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/source-zoom . \
 && mkdir -p /out/etc/ssl/certs \
 && cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/ca-certificates.crt

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
# A static binary: the runtime needs only /bin/sh (for Airbyte's launcher
# script) and CA certificates (for https://zoom.us and https://api.zoom.us).
COPY --from=build /out/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# Written directly: not every busybox build has adduser/addgroup.
RUN { grep -q '^airbyte:' /etc/group || echo 'airbyte:x:1000:' >> /etc/group; } \
 && { grep -q '^airbyte:' /etc/passwd || echo 'airbyte:x:1000:1000:airbyte:/airbyte:/bin/sh' >> /etc/passwd; } \
 && mkdir -p /airbyte \
 && chown 1000:1000 /airbyte
# Root-owned: the connector cannot rewrite its own binary.
COPY --from=build /out/source-zoom /airbyte/source-zoom
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    AIRBYTE_ENTRYPOINT="/airbyte/source-zoom"
WORKDIR /airbyte
LABEL io.airbyte.name="source-zoom/source-zoom" \
      io.airbyte.version="${VERSION}" \
      org.opencontainers.image.title="source-zoom" \
      org.opencontainers.image.source="https://github.com/source-zoom/source-zoom" \
      org.opencontainers.image.licenses="MIT"
USER airbyte
ENTRYPOINT ["/airbyte/source-zoom"]
