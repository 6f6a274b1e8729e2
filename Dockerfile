# One image for the scraper, processor and lake-query services (the command picks the part).
# Multi-stage: dependencies and the dashboard are built in `build`; the runtime stage holds only
# production dependencies (tsx among them: the sources run as TypeScript), the sources and the
# DuckDB httpfs extension, and runs as the unprivileged `node` user. No secret is baked in:
# credentials come from the environment.

# --- DuckDB's httpfs extension, from PyPI, at the exact DuckDB version of @duckdb/node-api ---
FROM python:3.11-slim AS httpfs
ARG DUCKDB_VERSION=1.5.5
RUN pip install --no-cache-dir --no-deps --target /opt/httpfs "duckdb-extension-httpfs==${DUCKDB_VERSION}" \
 && platform="$(case "$(uname -m)" in aarch64) echo linux_arm64 ;; *) echo linux_amd64 ;; esac)" \
 && mkdir -p "/opt/duckdb-extensions/v${DUCKDB_VERSION}/${platform}" \
 && cp /opt/httpfs/duckdb_extension_httpfs/extensions/v${DUCKDB_VERSION}/httpfs.duckdb_extension \
       "/opt/duckdb-extensions/v${DUCKDB_VERSION}/${platform}/"

# --- dependencies and the dashboard bundle ---
FROM node:24.19.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build:dashboard \
 && npm prune --omit=dev

# --- runtime ---
FROM node:24.19.0-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    DUCKDB_EXTENSION_DIR=/app/duckdb-extensions
WORKDIR /app
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/core ./core
COPY --from=build --chown=node:node /app/scraper ./scraper
COPY --from=build --chown=node:node /app/processor ./processor
COPY --from=build --chown=node:node /app/lake-query ./lake-query
COPY --from=build --chown=node:node /app/dashboard/dist ./dashboard/dist
COPY --from=build --chown=node:node /app/main.ts ./
COPY --from=httpfs --chown=node:node /opt/duckdb-extensions ./duckdb-extensions
USER node
EXPOSE 8080
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["main.ts"]
