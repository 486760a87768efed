# Built elsewhere (no Docker engine on the dev machines): docker build -t liftpush .
FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so a source change does not re-download them.
COPY go.mod go.sum ./
RUN go mod download
COPY cmd ./cmd
COPY internal ./internal
ARG VERSION=dev
ARG REVISION=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/prometheus/common/version.Version=${VERSION} -X github.com/prometheus/common/version.Revision=${REVISION} -X github.com/prometheus/common/version.Branch=main -X github.com/prometheus/common/version.BuildUser=docker" \
      -o /out/liftpush ./cmd/liftpush

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/liftpush /usr/bin/liftpush
# 65532 is distroless' nonroot; numeric so runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/usr/bin/liftpush"]
CMD ["run", "--once", "--config.file=/etc/liftpush/liftpush.yml"]
