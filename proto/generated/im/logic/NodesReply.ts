// Original file: proto/im.logic.proto

import type { Backoff as _im_logic_Backoff, Backoff__Output as _im_logic_Backoff__Output } from '../../im/logic/Backoff';

export interface NodesReply {
  'domain'?: (string);
  'tcp_port'?: (number);
  'ws_port'?: (number);
  'wss_port'?: (number);
  'heartbeat'?: (number);
  'nodes'?: (string)[];
  'backoff'?: (_im_logic_Backoff | null);
  'heartbeat_max'?: (number);
}

export interface NodesReply__Output {
  'domain': (string);
  'tcp_port': (number);
  'ws_port': (number);
  'wss_port': (number);
  'heartbeat': (number);
  'nodes': (string)[];
  'backoff': (_im_logic_Backoff__Output | null);
  'heartbeat_max': (number);
}
