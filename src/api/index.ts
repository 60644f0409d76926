// The local REST API the CLI and the web UI talk to: built without listening, bearer-token auth,
// errors as { code, message } from one table (errors.ts), JSON schemas on every route and the OpenAPI
// document generated from them (/api/openapi.json), an SSE event stream, Prometheus metrics.
// const app = await createApp({ peer, token }); await app.listen({ host: '127.0.0.1', port: 0 });
// curl -H "authorization: Bearer $(cat HOME/api-token)" http://127.0.0.1:PORT/api/status
export { createApp, ndjson, type AppInit } from './app.ts';
export { httpStatusOf, errorBody, HTTP_STATUS, UnauthorizedError, ReadOnlyError, PathNotAllowedError, ApiError } from './errors.ts';
export { createPathGuard, type PathGuard } from './paths.ts';
export type { PeerService, FolderService, PutOptions, PutResult, PeerInfo, StatusReport, ProgressEvent, CheckRequest, CheckReport } from './service.ts';
