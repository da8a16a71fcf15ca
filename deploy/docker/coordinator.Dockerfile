# syntax=docker/dockerfile:1
# The ratchet coordinator: Node 20 + git (smart HTTP for workers) + Python (compile checks of
# proposals). Build from the repository root:
#   docker build -f deploy/docker/coordinator.Dockerfile -t ratchet-coordinator .
ARG NODE_IMAGE=node:20.19.0-bookworm-slim

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
COPY tracks tracks
COPY deploy/docker/entrypoint.sh deploy/docker/entrypoint.sh

FROM ${NODE_IMAGE} AS coordinator
RUN apt-get update \
 && apt-get install -y --no-install-recommends git python3 tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --create-home --home-dir /var/lib/ratchet ratchet \
 && mkdir -p /run/ratchet && chown ratchet:ratchet /run/ratchet
COPY --from=app /opt/tsx /opt/tsx
COPY --from=app /app /app
ENV NODE_ENV=production \
    RATCHET_DATA_DIR=/var/lib/ratchet \
    RATCHET_HOST=0.0.0.0 \
    RATCHET_PORT=8787 \
    RATCHET_TRACKS=/app/tracks/tiny \
    RATCHET_PYTHON=/usr/bin/python3
USER ratchet
WORKDIR /var/lib/ratchet
VOLUME /var/lib/ratchet
EXPOSE 8787
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.RATCHET_PORT||8787)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["tini", "--", "/app/deploy/docker/entrypoint.sh"]
CMD ["coordinator"]
