# One image for every peer of a swarm (storage peers and clients); see docker-compose.yml and README.
# Built from the npm package, so the image and `npm install -g p2pbackup` ship the same bits: the first
# stage packs the tarball (`npm pack`: its prepack builds dist/, the WebAssembly kernels and the web UI),
# the second installs that tarball globally, as a user would, with npm's default script policy.
FROM node:22-bookworm-slim AS pack
WORKDIR /src
COPY . .
RUN npm ci --ignore-scripts && npm pack --pack-destination /tmp && mv /tmp/p2pbackup-*.tgz /tmp/p2pbackup.tgz

FROM node:22-bookworm-slim
COPY --from=pack /tmp/p2pbackup.tgz /tmp/p2pbackup.tgz
RUN npm install -g /tmp/p2pbackup.tgz && rm /tmp/p2pbackup.tgz && npm cache clean --force
ENV P2PBACKUP_HOME=/data
VOLUME ["/data"]
EXPOSE 7171
ENTRYPOINT ["/usr/local/lib/node_modules/p2pbackup/deploy/entrypoint.sh"]
