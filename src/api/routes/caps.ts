// Caps: check one and derive its verify cap, or draw it as a QR code (SVG or PNG) for a phone.
import QRCode from 'qrcode';
import { formatCap, parseCap, toVerifyCap } from '../../caps/index.ts';
import { capString, errors } from './schemas.ts';
import type { Routes } from './context.ts';

/** The QR options every drawing of a cap uses (the web UI test compares against these). */
export const QR_OPTIONS = { errorCorrectionLevel: 'M', margin: 2 } as const;

const KIND: Record<string, string> = {
  blob: 'read cap of one file, directory or snapshot (it opens that and nothing else)',
  pack: 'pack cap (check and repair one stored pack; reads nothing)',
  lit: 'literal file (the data is in the cap)',
  mw: 'folder write cap',
  mr: 'folder root read cap',
  mv: 'folder verify cap'
};
/** A cap's verify cap, or null: literal caps store nothing, and a blob is checked through the packs it reaches. */
const verifyCapOf = (cap: ReturnType<typeof parseCap>) => (cap.type === 'lit' || cap.type === 'blob' ? null : formatCap(toVerifyCap(cap)));

export const capRoutes: Routes = (app) => {
  app.get(
    '/api/caps/verify',
    {
      schema: {
        summary: 'check a cap and derive its verify cap (lets a peer check shares without reading them)',
        tags: ['caps'],
        querystring: { type: 'object', required: ['cap'], properties: { cap: capString } },
        response: {
          200: {
            type: 'object',
            properties: { cap: { type: 'string' }, type: { type: 'string' }, kind: { type: 'string' }, verifyCap: { type: ['string', 'null'] } }
          },
          ...errors
        }
      }
    },
    async (req) => {
      const text = (req.query as { cap: string }).cap;
      const cap = parseCap(text);
      return { cap: formatCap(cap), type: cap.type, kind: KIND[cap.type], verifyCap: verifyCapOf(cap) };
    }
  );

  app.get(
    '/api/caps/qr',
    {
      schema: {
        summary: 'a cap as a QR code (SVG or PNG); the cap is checked first',
        tags: ['caps'],
        querystring: { type: 'object', required: ['cap'], properties: { cap: capString, format: { type: 'string', enum: ['svg', 'png'], default: 'svg' } } },
        response: {
          200: {
            description: 'the QR code',
            content: { 'image/svg+xml': { schema: { type: 'string' } }, 'image/png': { schema: { type: 'string', format: 'binary' } } }
          },
          ...errors
        }
      }
    },
    async (req, reply) => {
      const q = req.query as { cap: string; format: 'svg' | 'png' };
      const text = formatCap(parseCap(q.cap));
      reply.header('cache-control', 'no-store');
      if (q.format === 'png') return reply.type('image/png').send(await QRCode.toBuffer(text, { ...QR_OPTIONS, type: 'png', scale: 6 }));
      return reply.type('image/svg+xml').send(await QRCode.toString(text, { ...QR_OPTIONS, type: 'svg' }));
    }
  );
};
