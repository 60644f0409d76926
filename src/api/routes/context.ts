// What every route module is given: the peer (the service, which knows no HTTP) and the path guard.
// Route config flags read by app.ts's hooks: `public: true` (no token needed), `writes: true`
// (refused with ERR_READ_ONLY on a read-only light node).
import type { FastifyInstance } from 'fastify';
import { UnsupportedError } from '../../common/errors.ts';
import type { PeerService } from '../service.ts';
import type { PathGuard } from '../paths.ts';

export interface RouteContext {
  peer: PeerService;
  allowed: PathGuard;
}

export type Routes = (app: FastifyInstance, ctx: RouteContext) => void;

export function foldersOf(peer: PeerService) {
  if (!peer.folders) throw new UnsupportedError('this peer runs without folders');
  return peer.folders;
}
