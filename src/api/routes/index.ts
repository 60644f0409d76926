// The API's routes, one module per noun; each is `(app, { peer, allowed }) => void` (ui: async).
// coreRoutes(app, ctx); folderRoutes(app, ctx); capRoutes(app, ctx);   // as createApp does
// await uiRoutes(app);                                                 // static build/web at /
export { coreRoutes } from './core.ts';
export { folderRoutes, publicFolder } from './folders.ts';
export { capRoutes, QR_OPTIONS } from './caps.ts';
export { eventRoutes } from './events.ts';
export { metricRoutes } from './metrics.ts';
export { healthRoutes } from './health.ts';
export { operationRoutes } from './operations.ts';
export { uiRoutes, WEB_ROOT } from './ui.ts';
export type { RouteContext, Routes } from './context.ts';
