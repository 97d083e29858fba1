// Original file: proto/im.cloud.proto

import type { Proto as _im_protocol_Proto, Proto__Output as _im_protocol_Proto__Output } from '../../im/protocol/Proto';

export interface BroadcastRoomReq {
  'roomID'?: (string);
  'proto'?: (_im_protocol_Proto | null);
}

export interface BroadcastRoomReq__Output {
  'roomID': (string);
  'proto': (_im_protocol_Proto__Output | null);
}
