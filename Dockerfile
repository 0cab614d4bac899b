# syntax=docker/dockerfile:1
# The idp-server image: built with the workspace's toolchain, run as a non-root user on a slim
# Debian. Build:  docker build -t idp-server .
# Run:            docker run -p 8080:8080 -v idp-data:/var/lib/idp idp-server
# (docs/operations.md has the production setup; deploy/docker-compose.yml runs two replicas.)

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep the registry and target/ between builds; the binary is copied out of the
# cached target/ because cache mounts do not end up in the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p idp-server \
 && install -D -m 0755 target/release/idp-server /out/idp-server

FROM debian:bookworm-slim
# ca-certificates: SMTP over TLS, the SMS webhook and KYC provider over https.
# curl: the HEALTHCHECK below.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/idp --shell /usr/sbin/nologin idp \
 && install -d -o idp -g idp -m 0750 /var/lib/idp /var/lib/idp/blobs
COPY --from=build /out/idp-server /usr/local/bin/idp-server

USER idp
WORKDIR /var/lib/idp
# The embedded database (SQLite + WAL), the file outbox and uploads live here; with
# IDP_DATABASE_URL=postgres://… only the outbox and uploads do.
VOLUME ["/var/lib/idp"]
ENV IDP_LISTEN=0.0.0.0:8080 \
    IDP_DATA_DIR=/var/lib/idp \
    IDP_LOG_FORMAT=json \
    RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
# serve handles SIGTERM: in-flight requests get http.shutdown_grace_secs to finish.
STOPSIGNAL SIGTERM
ENTRYPOINT ["idp-server"]
CMD ["serve"]
