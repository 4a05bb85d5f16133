# syntax=docker/dockerfile:1
# RunnerHub: multi-stage build. The build stage compiles TypeScript and the native SQLite driver; the runtime stage
# holds only production dependencies and the compiled service, and runs as the unprivileged `node` user.

FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
# better-sqlite3 compiles from source here when no prebuilt binary fits; the full node image has python3, make and g++.
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ormconfig.ts ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    RUNNERHUB_DATA_DIR=/var/lib/runnerhub
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/package.json ./package.json
RUN mkdir -p /var/lib/runnerhub && chown node:node /var/lib/runnerhub
VOLUME ["/var/lib/runnerhub"]
USER node
EXPOSE 3000
# Liveness of the process itself; readiness (engine and database) is /health/ready for the orchestrator to probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
STOPSIGNAL SIGTERM
CMD ["node", "dist/apps/runnerhub/apps/runnerhub/src/main.js"]
