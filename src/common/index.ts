// Shared building blocks every layer may use: the error base class.
// import { P2PBackupError } from '../common/index.ts';
// throw new P2PBackupError('ERR_X', 'what went wrong and what to do');
export { P2PBackupError } from './errors.ts';
export { faultPoint } from './fault.ts';
