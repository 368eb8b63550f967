# syntax=docker/dockerfile:1
# OTA update server: build once, run as a non-root user (docs/deployment.md).
#   docker build -t ota-server .
#   docker run -p 8080:8080 -v ota-data:/var/lib/ota -v /etc/ota/trust:/etc/ota/trust:ro ota-server

FROM node:20-bookworm-slim AS build
WORKDIR /src
# better-sqlite3 builds from source when no prebuilt binary matches.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# Dependencies in their own layer. --ignore-scripts: the root's `prepare` builds, and the sources
# are not here yet; better-sqlite3 is the only dependency with an install script, rebuilt here.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    OTA_DATA_DIR=/var/lib/ota \
    OTA_TRUST_DIR=/etc/ota/trust \
    OTA_DEMO=false
WORKDIR /app
RUN groupadd --system ota && useradd --system --gid ota --home-dir /var/lib/ota --shell /usr/sbin/nologin ota \
    && mkdir -p /var/lib/ota /etc/ota/trust && chown ota:ota /var/lib/ota && chmod 0700 /var/lib/ota
COPY --from=build --chown=root:root /src/package.json /src/package-lock.json ./
COPY --from=build --chown=root:root /src/node_modules ./node_modules
COPY --from=build --chown=root:root /src/dist ./dist
COPY --from=build --chown=root:root /src/manifests ./manifests
COPY --from=build --chown=root:root /src/bin ./bin
USER ota
EXPOSE 8080
VOLUME ["/var/lib/ota"]
# /healthz answers 200 while the database answers (protocol §7 operations routes).
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/server/main.js"]
