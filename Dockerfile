# One image for both processes; the command picks which one runs:
#   docker build -t txhook .
#   docker run --init -e MONGODB_URL=... -p 3000:3000 txhook                      # api (default)
#   docker run --init -e MONGODB_URL=... txhook node --max-semi-space-size=4 apps/worker/dist/main.js  # worker
# --init (or `init: true` in compose) is recommended: a tiny init as PID 1 forwards signals and
# reaps children; the apps install their own SIGTERM/SIGINT handlers first thing at start-up.
# The api health check lives in docker-compose.yml (api service only), not here, because a
# HEALTHCHECK in the image would also run against the worker, whose only HTTP is /metrics.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------- build: install everything, compile, then reinstall production deps only ----------
FROM ${NODE_IMAGE} AS build
# CI=true: pnpm never waits for a confirmation prompt.
ENV CI=true
RUN npm i -g pnpm@10.34.8
WORKDIR /repo

# `pnpm fetch` needs only the lockfile and workspace file, so this (slow) layer stays cached
# until dependencies change, whatever else is edited.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN pnpm fetch --frozen-lockfile

COPY . .
RUN pnpm install --frozen-lockfile --offline
RUN pnpm build

# `pnpm prune` does not work across a workspace; the documented way to drop devDependencies is
# to delete node_modules and reinstall with --prod (offline, from the store filled above).
RUN rm -rf node_modules apps/*/node_modules packages/*/node_modules \
 && pnpm install --frozen-lockfile --offline --prod

# Collect what runs: manifests (for the package "exports"), dist output and node_modules.
# node_modules holds relative symlinks (apps/*/node_modules/@txhook/platform -> packages/platform,
# deps -> node_modules/.pnpm); cp -a keeps them, and the layout is kept identical so they resolve.
# packages/embedded-mongo is dev-only and left out.
RUN mkdir /out \
 && cp -a node_modules /out/ \
 && for pkg in packages/platform packages/transactions apps/api apps/worker; do \
      mkdir -p "/out/$pkg" && cp -a "$pkg/package.json" "$pkg/dist" "$pkg/node_modules" "/out/$pkg/"; \
    done

# ---------- runtime ----------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000
WORKDIR /app
# Owned by root and only readable by the app user: the running process cannot rewrite its code.
COPY --from=build /out/ ./
USER node
EXPOSE 3000
CMD ["node", "apps/api/dist/main.js"]
