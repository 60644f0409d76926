// `cap show`: check a cap, name its kind, derive its verify cap, draw it as a QR code. Pure computation
// on the cap: no daemon needed (a borrowed machine can show a cap offline).
import QRCode from 'qrcode';
import type { Command } from 'commander';
import { resolveCaps, withCapFile, type Context } from '../context.ts';
import { renderCapShow } from '../render.ts';

export function registerCap(program: Command, ctx: Context): void {
  const capCmd = program.command('cap').description('capabilities: inspect, derive, show as a QR code');
  withCapFile(
    capCmd
      .command('show')
      .description('check a cap, name its kind, derive its verify cap; --qr draws it for a phone')
      .argument('[cap]', 'the cap, or - to read it from stdin')
      .option('--qr', 'draw the cap as a QR code in the terminal')
  ).action(async (arg: string | undefined, o) => {
    const {
      caps: [text]
    } = await resolveCaps(ctx.io, 1, [arg], o.capFile);
    const { parseCap, formatCap, toVerifyCap } = await import('../../caps/index.ts');
    const cap = parseCap(text);
    const r = { cap: formatCap(cap), type: cap.type, verifyCap: cap.type === 'lit' || cap.type === 'blob' ? null : formatCap(toVerifyCap(cap)) };
    const qr = o.qr ? await QRCode.toString(r.cap, { type: 'terminal', small: true, errorCorrectionLevel: 'M' }) : null;
    ctx.out(o.qr && ctx.json() ? { ...r, qr } : r, () => renderCapShow(r, qr));
  });
}
