// Caps: check one and derive its verify cap, or draw it as a QR code (SVG or PNG) for a phone.
import QRCode from 'qrcode';
import { formatCap, parseCap, toVerifyCap } from '../../caps/index.ts';
import { capString, errors } from './schemas.ts';
import type { Routes } from './context.ts';

/** The QR options every drawing of a cap uses (the web UI test compares against these). */
export const QR_OPTIONS = { errorCorrectionLevel: 'M', margin: 2 } as const;

const KIND: Record<string, string> = {
  chk: 'file read cap', slice: 'read cap of a byte range of a pack (a small file or directory of a backup)', chkv: 'file verify cap', lit: 'literal file (the data is in the cap)',
  mw: 'folder write cap', mr: 'folder root read cap', mv: 'folder verify cap'
};

export const capRoutes: Routes = (app) => {
  app.get('/api/caps/verify', {
    schema: {
      summary: 'check a cap and derive its verify cap (lets a peer check shares without reading them)', tags: ['caps'],
      querystring: { type: 'object', required: ['cap'], properties: { cap: capString } },
      response: {
        200: { type: 'object', properties: { cap: { type: 'string' }, type: { type: 'string' }, kind: { type: 'string' }, verifyCap: { type: ['string', 'null'] } } },
        ...errors
      }
    }
  }, async (req) => {
    const text = (req.query as { cap: string }).cap;
    const cap = parseCap(text);
    return { cap: formatCap(cap), type: cap.type, kind: KIND[cap.type], verifyCap: cap.type === 'lit' ? null : formatCap(toVerifyCap(cap)) };
  });

  app.get('/api/caps/qr', {
    schema: {
      summary: 'a cap as a QR code (SVG or PNG); the cap is checked first', tags: ['caps'],
      querystring: { type: 'object', required: ['cap'], properties: { cap: capString, format: { type: 'string', enum: ['svg', 'png'], default: 'svg' } } },
      response: {
        200: { description: 'the QR code', content: { 'image/svg+xml': { schema: { type: 'string' } }, 'image/png': { schema: { type: 'string', format: 'binary' } } } },
        ...errors
      }
    }
  }, async (req, reply) => {
    const q = req.query as { cap: string; format: 'svg' | 'png' };
    const text = formatCap(parseCap(q.cap));
    reply.header('cache-control', 'no-store');
    if (q.format === 'png') return reply.type('image/png').send(await QRCode.toBuffer(text, { ...QR_OPTIONS, type: 'png', scale: 6 }));
    return reply.type('image/svg+xml').send(await QRCode.toString(text, { ...QR_OPTIONS, type: 'svg' }));
  });
};
