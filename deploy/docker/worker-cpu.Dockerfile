# syntax=docker/dockerfile:1
# A ratchet CPU worker: Node 20 (the worker) + Python 3.11 with PyTorch (CPU wheels) + git.
# uv is there for tracks whose run command is `uv run train.py` (upstream's).
#   docker build -f deploy/docker/worker-cpu.Dockerfile -t ratchet-worker-cpu .
ARG NODE_IMAGE=node:20.19.0-bookworm-slim
ARG PYTHON_IMAGE=python:3.11.10-slim-bookworm

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

FROM ${PYTHON_IMAGE} AS worker-cpu
RUN apt-get update \
 && apt-get install -y --no-install-recommends git tini ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.5.1 \
 && pip install --no-cache-dir numpy==2.1.3 uv==0.5.4 \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /home/ratchet ratchet \
 && mkdir -p /home/ratchet/.cache/ratchet && chown -R ratchet:ratchet /home/ratchet
COPY --from=app /usr/local/bin/node /usr/local/bin/node
COPY --from=app /opt/tsx /opt/tsx
COPY --from=app /app /app
ENV NODE_ENV=production \
    RATCHET_PYTHON=/usr/local/bin/python3
USER ratchet
WORKDIR /home/ratchet
# Per-job checkouts, prepare outputs and the track data cache.
VOLUME /home/ratchet/.cache/ratchet
ENTRYPOINT ["tini", "--", "/app/deploy/docker/entrypoint.sh"]
CMD ["worker", "--backend", "cpu"]
