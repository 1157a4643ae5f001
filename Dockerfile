# Tailor's server image. It mirrors the Makefile: scripts/onnxruntime.sh
# fetches ONNX Runtime 1.24.1 (`make ort`), `go build` builds the binaries
# (`make build`), and the server runs on the bundled models and data
# (`make run`).
#
#   docker build -t tailor .
#   docker run --rm -p 8080:8080 tailor
#
# The ONNX Runtime library is linux/x64 only, so every stage is linux/amd64.
# No HEALTHCHECK: the slim image has no curl; probe GET /healthz (live) and
# GET /readyz (ready) from the orchestrator instead.

# (a) ONNX Runtime 1.24.1 from the onnxruntime-node package, sha256-checked
# by the script and once more here.
FROM --platform=linux/amd64 node:20-bookworm-slim AS onnxruntime
WORKDIR /src
COPY scripts/onnxruntime.sh scripts/onnxruntime.sh
RUN unset TAILOR_ONNXRUNTIME_LIB \
 && XDG_CACHE_HOME=/cache bash scripts/onnxruntime.sh \
 && echo "53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4  /cache/tailor/onnxruntime-1.24.1/libonnxruntime.so.1" \
    | sha256sum -c -

# (b) The binaries, with cgo (ONNX Runtime is loaded through it).
FROM --platform=linux/amd64 golang:1.26-bookworm AS build
ENV CGO_ENABLED=1
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -o /out/tailor-serve ./cmd/serve \
 && go build -o /out/tailor-train ./cmd/train

# (c) The runtime: the server, the library, the default models and the data.
FROM --platform=linux/amd64 debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --user-group --no-create-home --home-dir /app --shell /usr/sbin/nologin tailor
COPY --from=onnxruntime /cache/tailor/onnxruntime-1.24.1/libonnxruntime.so.1 /usr/local/lib/libonnxruntime.so.1
COPY --from=build /out/tailor-serve /out/tailor-train /usr/local/bin/
WORKDIR /app
COPY models/ /app/models/
COPY data/ /app/data/
# The online feature store (bbolt) is written at start-up from data/features:
# it needs a writable place; mount a volume there to keep it across restarts.
RUN mkdir -p /app/var && chown 10001:10001 /app/var
ENV TAILOR_ONNXRUNTIME_LIB=/usr/local/lib/libonnxruntime.so.1 \
    TAILOR_ADDR=:8080 \
    TAILOR_MODELS_DIR=/app/models \
    TAILOR_FEATURES_DIR=/app/data/features \
    TAILOR_STORE_PATH=/app/var/profiles.db
# On SIGTERM the server answers for TAILOR_DRAIN_DELAY (5 s) with /readyz at 503,
# then drains; docker stop's 10 s grace covers both unless they are raised.
EXPOSE 8080
USER 10001
ENTRYPOINT ["/usr/local/bin/tailor-serve"]
