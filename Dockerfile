# deployer's image: the binary, CA certificates and a shell (CircleCI's Docker executor needs
# /bin/sh), no Docker CLI. The base images are build arguments so the image builds offline:
# the tests build it with deployer itself from bases imported from this machine's Debian
# packages (scripts/image-bases.sh). Built with Debian's classic builder and with BuildKit.
ARG RUST_IMAGE=docker.io/library/rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim
# Where deployer comes from: "source" compiles it here (releases, `docker build .`); "prebuilt"
# takes a binary built beforehand (`cargo build --profile dist` for a release) on a machine with the runtime's
# glibc, from a build context that holds only that `deployer` file (tests/image.rs does, to skip
# the compile). "prebuilt" needs BuildKit: the classic builder builds every stage (and so copies
# the context into the unused "prebuilt" one, which is harmless).
ARG BINARY=source

FROM ${RUST_IMAGE} AS source
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src src
COPY emulator/Cargo.toml emulator/Cargo.toml
COPY emulator/src emulator/src
RUN cargo build --profile dist --locked -p deployer --bin deployer \
 && mkdir -p /out \
 && cp target/dist/deployer /out/deployer

FROM ${RUST_IMAGE} AS prebuilt
ARG BINARY
COPY . /context/
RUN mkdir -p /out && if [ "$BINARY" = prebuilt ]; then cp /context/deployer /out/deployer; fi

FROM ${BINARY} AS build
RUN ln -s deployer /out/docker-credential-deployer \
 && /out/deployer --version

FROM ${RUNTIME_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="deployer" \
      org.opencontainers.image.description="Build, push and deploy container images to Amazon ECR and ECS from CI" \
      org.opencontainers.image.source="https://github.com/deployer-dev/deployer" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# deployer, and docker-credential-deployer (a link to it) for `deployer ecr-login --credential-helper`.
COPY --from=build /out/ /usr/local/bin/
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/usr/local/bin/deployer"]
CMD ["--help"]
