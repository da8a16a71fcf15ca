# syntax=docker/dockerfile:1
# A ratchet CUDA worker on PyTorch's CUDA runtime image (Ubuntu 22.04, conda Python).
# Needs the NVIDIA Container Toolkit on the host (`--gpus all`, or compose's `gpu` profile).
#   docker build -f deploy/docker/worker-cuda.Dockerfile -t ratchet-worker-cuda .
ARG NODE_IMAGE=node:20.19.0-bookworm-slim
ARG TORCH_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

FROM ${NODE_IMAGE} AS app
WORKDIR /app
RUN npm install -g --no-audit --no-fund pnpm@12.4.2 \
 && npm install --prefix /opt/tsx --no-audit --no-fund tsx@4.23.15
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY shared/package.json shared/
COPY proposers/package.json proposers/
COPY coordinator/package.json coordinator/
COPY worker/package.json worker/
COPY cli/package.json cli/
RUN pnpm install --frozen-lockfile --prod
COPY shared shared
COPY proposers proposers
COPY coordinator coordinator
COPY worker worker
COPY cli cli
COPY deploy/docker/entrypoint.sh deploy/docker/entrypoint.sh

FROM ${TORCH_IMAGE} AS worker-cuda
RUN apt-get update \
 && apt-get install -y --no-install-recommends git tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir uv==0.5.4 \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/ratchet ratchet \
 && mkdir -p /home/ratchet/.cache/ratchet && chown -R ratchet:ratchet /home/ratchet
COPY --from=app /usr/local/bin/node /usr/local/bin/node
COPY --from=app /opt/tsx /opt/tsx
COPY --from=app /app /app
ENV NODE_ENV=production \
    RATCHET_PYTHON=/opt/conda/bin/python \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER ratchet
WORKDIR /home/ratchet
VOLUME /home/ratchet/.cache/ratchet
ENTRYPOINT ["tini", "--", "/app/deploy/docker/entrypoint.sh"]
CMD ["worker", "--backend", "cuda"]
