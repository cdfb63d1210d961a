# syntax=docker/dockerfile:1
# A static binary on distroless: no shell, no package manager, CA
# certificates and a non-root user (65532). Build it with
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t project-api .
# make image-rootfs builds the same binary the same way (make static) and
# runs it in an empty root without Docker.
ARG GO_VERSION=1.26.8

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD_DATE=unknown
RUN make static STATIC_BIN=/out/api VERSION=${VERSION} COMMIT=${COMMIT} BUILD_DATE=${BUILD_DATE} \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/api /api
# The embedded SQLite, if it is used, writes here: mount a volume.
COPY --from=build --chown=65532:65532 /out/data /data
# A container listens on all its interfaces; make run stays on loopback.
ENV HTTP_ADDR=:8000 \
    APP_ENV=production \
    DATABASE_URL=sqlite:///data/api.db
VOLUME ["/data"]
EXPOSE 8000
USER 65532:65532
ENTRYPOINT ["/api"]
CMD ["serve"]
