// Original file: proto/im.cloud.proto

import type { Proto as _im_protocol_Proto, Proto__Output as _im_protocol_Proto__Output } from '../../im/protocol/Proto';

export interface BroadcastReq {
  'protoOp'?: (number);
  'proto'?: (_im_protocol_Proto | null);
  'speed'?: (number);
}

export interface BroadcastReq__Output {
  'protoOp': (number);
  'proto': (_im_protocol_Proto__Output | null);
  'speed': (number);
}
