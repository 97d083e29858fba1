// Original file: proto/im.cloud.proto

import type { Proto as _im_protocol_Proto, Proto__Output as _im_protocol_Proto__Output } from '../../im/protocol/Proto';

export interface PushMsgReq {
  'keys'?: (string)[];
  'proto'?: (_im_protocol_Proto | null);
  'protoOp'?: (number);
}

export interface PushMsgReq__Output {
  'keys': (string)[];
  'proto': (_im_protocol_Proto__Output | null);
  'protoOp': (number);
}
