/** The phases of a connection actor, and the node's gauges of connections by phase (im_connections). */
import type { GaugeHandle, Metrics } from '../system/metrics';
import type { Transport } from './ports';

export type Phase = 'awaitingAuth' | 'authenticating' | 'online' | 'closing' | 'closed';
/** The phases a running connection actor can be in ('closed' ones stop). */
export type LivePhase = Exclude<Phase, 'closed'>;

/** The node's count of connection actors in each live phase, per transport (im_connections). */
export type PhaseGauges = Readonly<Record<Transport, Readonly<Record<LivePhase, GaugeHandle>>>>;

export function phaseGauges(metrics: Metrics): PhaseGauges {
  const of = (transport: Transport): Record<LivePhase, GaugeHandle> => ({
    awaitingAuth: metrics.gaugeOf('im_connections', { transport, phase: 'awaitingAuth' }),
    authenticating: metrics.gaugeOf('im_connections', { transport, phase: 'authenticating' }),
    online: metrics.gaugeOf('im_connections', { transport, phase: 'online' }),
    closing: metrics.gaugeOf('im_connections', { transport, phase: 'closing' }),
  });
  return { ws: of('ws'), tcp: of('tcp'), wss: of('wss'), tls: of('tls') };
}
