# The image `just image` writes without a container daemon (internal/tools/image),
# for those who build with Docker or Podman:
#
#   docker build -t takedown:dev .
#   docker run --rm -v "$PWD/ws:/work" takedown:dev run
#
# Same content: the static binary at /usr/local/bin/takedown, the CA certificates,
# an empty /tmp and /work (the working directory; mount the workspace there), user
# 65534. A test (internal/tools/image) checks that the settings below match the
# tool's. The base is scratch: no shell. `takedown plan --engine k8s|argo` starts
# its pods through /bin/sh, so for those build on a base with one:
#
#   docker build --build-arg BASE=busybox:musl -t takedown:dev-sh .
ARG BASE=scratch

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/usr/local/bin/takedown ./cmd/takedown \
 && mkdir -p /out/tmp /out/work && chmod 1777 /out/tmp && chmod 777 /out/work

FROM ${BASE}
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ /
ENV PATH=/usr/local/bin
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENV TMPDIR=/tmp
ENV HOME=/work
WORKDIR /work
USER 65534:65534
VOLUME /work
ENTRYPOINT ["/usr/local/bin/takedown"]
CMD ["--help"]
