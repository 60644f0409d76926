// The local REST API the CLI (and later the web UI) talks to: built without listening, bearer-token auth,
// errors as { code, message } from one table (errors.ts).
// const app = createApp({ peer, token }); await app.listen({ host: '127.0.0.1', port: 0 });
// curl -H "authorization: Bearer $(cat HOME/api-token)" http://127.0.0.1:PORT/api/status
export { createApp, type AppInit } from './app.ts';
export { httpStatusOf, errorBody } from './errors.ts';
export type { PeerService, PutOptions, PutResult, PeerInfo, StatusReport, ProgressEvent } from './service.ts';
