# syntax=docker/dockerfile:1
# Baton's `baton` command on Node.js 24, run as a non-root user. docker-compose.yml runs it with
# Redis: `baton server` and a `baton pool` of workers. On its own:
#
#   docker build -t baton .
#   docker run --rm baton --version
#   docker run --init --rm -v baton-data:/data -p 127.0.0.1:7400:7400 \
#     -e BATON_API_TOKENS="$(openssl rand -hex 32):admin" baton     # the API on a SQLite store
#
# The image's command is `baton`; its default arguments start the HTTP API on 0.0.0.0:7400,
# which needs BATON_API_TOKENS (see .env.example). The store defaults to /data/baton.db.

ARG NODE_IMAGE=node:24-bookworm-slim

# 1. build: compile src/ to dist/ and the dashboard to web/dist with the dev dependencies, then pack exactly what npm would
#    publish (package.json "files"), so the image holds the same package as `npm pack`.
FROM ${NODE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: nothing to build natively, and the node@24 dev dependency is not needed here
# (the image has Node 24).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json README.md ./
COPY bin ./bin
COPY src ./src
COPY web ./web
RUN npm run build \
  && npm run build:web \
  && npm pack --ignore-scripts --pack-destination /tmp \
  && mkdir /app \
  && tar -xzf /tmp/baton-queue-*.tgz --strip-components=1 -C /app

# 2. runtime: the packed package and its production dependencies, exactly as locked; no
#    compiler, no TypeScript sources, no dev dependencies.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app ./
COPY package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force \
  && ln -s /app/bin/baton.js /usr/local/bin/baton \
  && mkdir -p /data \
  && chown node:node /data

# The base image's unprivileged user (uid 1000). /data is its working directory: the SQLite
# store when BATON_STORE is not set otherwise, and the files shell tasks write.
USER node
WORKDIR /data
VOLUME ["/data"]
ENV BATON_STORE=sqlite:/data/baton.db
EXPOSE 7400
ENTRYPOINT ["baton"]
CMD ["server", "--host", "0.0.0.0", "--port", "7400"]
