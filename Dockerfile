# Image for every role of callback-listener: standalone (default), ingest,
# query, migrate. Build: docker build -t callback-listener .
#
# Plain COPY + build (no BuildKit cache mounts) so it also builds with the
# legacy builder that docker-compose 1.x uses.
# The context has no .git: pass the commit for cl_build_info with
#   docker build --build-arg CL_GIT_COMMIT=$(git rev-parse --short=12 HEAD) .

FROM rust:1-bookworm AS builder
WORKDIR /src
ARG CL_GIT_COMMIT=unknown
ENV CL_GIT_COMMIT=${CL_GIT_COMMIT}
COPY . .
# --locked: the image is built from exactly the dependencies CI tested.
RUN cargo build --release --locked --bin callback-listener \
 && install -m 0755 target/release/callback-listener /usr/local/bin/callback-listener

FROM debian:bookworm-slim
# ca-certificates: TLS to NATS/Postgres (and replay targets) outside the cluster.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Fixed non-root uid so Kubernetes runAsNonRoot/runAsUser can check it.
RUN groupadd --system --gid 10001 callback-listener \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/callback-listener \
      --create-home --shell /usr/sbin/nologin callback-listener \
 && install -d -o 10001 -g 10001 /var/lib/callback-listener/data
COPY --from=builder /usr/local/bin/callback-listener /usr/local/bin/callback-listener
# standalone keeps its SQLite file in ./data: mount a volume here to keep it.
WORKDIR /var/lib/callback-listener
USER 10001:10001
# Reachable from outside the container. The query role must set its own
# CL_LISTEN (e.g. 0.0.0.0:8081), as docker-compose.yml and the manifests do.
ENV CL_LISTEN=0.0.0.0:8080
EXPOSE 8080 8081
# No HEALTHCHECK here (roles differ); orchestrators run
# `callback-listener healthcheck http://127.0.0.1:PORT/health/ready` (no curl in this image).
ENTRYPOINT ["callback-listener"]
CMD ["standalone"]
