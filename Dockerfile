# One image for every peer of a swarm (storage peers and clients); see docker-compose.yml and README.
FROM node:22-bookworm-slim
WORKDIR /app
COPY . .
# npm ci also builds (the `prepare` script: the WebAssembly kernel and the TypeScript sources).
RUN npm ci && npm cache clean --force && chmod +x deploy/entrypoint.sh bin/p2pbackup.js
ENV P2PBACKUP_HOME=/data
VOLUME ["/data"]
EXPOSE 7171
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
