# Builds the gatehouse binary and runs it on a slim Debian.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY .cargo .cargo
COPY .sqlx .sqlx
COPY src src
COPY fake-exact fake-exact
COPY migrations migrations
COPY templates templates
COPY static static
RUN cargo build --release --locked -p gatehouse -p fake-exact --bin gatehouse --bin fake-exact

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/gatehouse gatehouse
COPY --from=build /src/target/release/gatehouse /src/target/release/fake-exact /usr/local/bin/
USER gatehouse
ENV GATEHOUSE_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=6s --start-period=10s CMD ["gatehouse", "ready"]
ENTRYPOINT ["gatehouse"]
CMD ["serve"]
