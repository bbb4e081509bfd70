# The edgeforge operator image: a static Go binary on distroless (no shell, no package manager),
# running as the distroless "nonroot" user.
#
#   make docker-build IMG=registry.example.com/edgeforge/edgeforge:v0.1.0
#   docker buildx build --platform linux/amd64,linux/arm64 -t IMG --push .   # multi-arch
#
# With BuildKit/buildx, TARGETOS and TARGETARCH are set per platform and Go cross-compiles.
# The legacy builder leaves them empty: then GOOS defaults to linux and GOARCH to the builder's.

# Build stage.
FROM docker.io/library/golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH

WORKDIR /workspace
# Modules first: this layer is reused until go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download

# Only what the binaries are built from (.dockerignore keeps the rest out of the context).
# internal/ may hold go:embed files (dashboards, rules), so it is copied whole.
COPY main.go main.go
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/
COPY cmd/ cmd/

# The manager, and edgeforge-index: the tool of the Job that pushes a multi-platform ImageBuild's
# image index (the install runs that Job with this same image, --index-image).
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w" -o manager . && \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "-s -w" -o edgeforge-index ./cmd/edgeforge-index

# Run stage: distroless static, non-root (uid/gid 65532), no shell.
FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager /manager
COPY --from=builder /workspace/edgeforge-index /edgeforge-index
USER 65532:65532
ENTRYPOINT ["/manager"]
