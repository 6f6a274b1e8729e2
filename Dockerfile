# One image for the scraper, processor and lake-query services (the command picks the part).
# Multi-stage: dependencies and the dashboard are built in `build`; the runtime stage holds only
# production dependencies (tsx among them: the sources run as TypeScript), the sources and the
# DuckDB extensions, and runs as the unprivileged `node` user. No secret is baked in: credentials
# come from the environment.

# --- DuckDB's extensions, from PyPI, at the exact DuckDB version of @duckdb/node-api: httpfs (S3),
# ducklake (the table format), postgres_scanner and sqlite_scanner (its catalog databases). Each
# wheel holds <name>.duckdb_extension under duckdb_extension_<name>/extensions/v<version>/. ---
FROM python:3.14.7-slim AS duckdb-extensions
ARG DUCKDB_VERSION=1.5.5
RUN pip install --no-cache-dir --no-deps --target /opt/wheels \
      "duckdb-extension-httpfs==${DUCKDB_VERSION}" \
      "duckdb-extension-ducklake==${DUCKDB_VERSION}" \
      "duckdb-extension-postgres-scanner==${DUCKDB_VERSION}" \
      "duckdb-extension-sqlite-scanner==${DUCKDB_VERSION}" \
 && platform="$(case "$(uname -m)" in aarch64) echo linux_arm64 ;; *) echo linux_amd64 ;; esac)" \
 && mkdir -p "/opt/duckdb-extensions/v${DUCKDB_VERSION}/${platform}" \
 && cp /opt/wheels/duckdb_extension_*/extensions/v${DUCKDB_VERSION}/*.duckdb_extension \
       "/opt/duckdb-extensions/v${DUCKDB_VERSION}/${platform}/" \
 && test "$(ls "/opt/duckdb-extensions/v${DUCKDB_VERSION}/${platform}" | wc -l)" -eq 4

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
COPY --from=duckdb-extensions --chown=node:node /opt/duckdb-extensions ./duckdb-extensions
USER node
# The build fails unless every extension loads into this image's DuckDB with the network unused.
RUN node --input-type=module -e "import { DuckDBInstance } from '@duckdb/node-api'; \
  const db = await DuckDBInstance.create(':memory:', { extension_directory: process.env.DUCKDB_EXTENSION_DIR, \
    autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' }); \
  const connection = await db.connect(); \
  for (const name of ['httpfs', 'ducklake', 'postgres_scanner', 'sqlite_scanner']) await connection.run('LOAD ' + name);"
EXPOSE 8080
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["main.ts"]
