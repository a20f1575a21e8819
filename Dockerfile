# SalesPulse container image: build in the Rust image, run in a slim Debian
# as an unprivileged user. `docker build -t salespulse .` from the repo root;
# deploy/compose.yaml builds it for the full stack.
FROM rust:1-bookworm AS build
WORKDIR /src
# librdkafka is built from source by rdkafka-sys (make, a C compiler, perl).
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked --bin salespulse \
    && strip target/release/salespulse

FROM debian:bookworm-slim
# curl for the health check; CA certificates for TLS to the brokers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home salespulse
COPY --from=build /src/target/release/salespulse /usr/local/bin/salespulse
COPY config /etc/salespulse/defaults
USER 10001:10001
# http.listen: /metrics, /healthz, /readyz and the /v1 API.
ENV SALESPULSE__HTTP__LISTEN=0.0.0.0:9898
EXPOSE 9898
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:9898/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/salespulse"]
CMD ["run"]
