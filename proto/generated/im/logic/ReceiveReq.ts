// Original file: proto/im.logic.proto

import type { Proto as _im_protocol_Proto, Proto__Output as _im_protocol_Proto__Output } from '../../im/protocol/Proto';
import type { Long } from '@grpc/proto-loader';

export interface ReceiveReq {
  'mid'?: (number | string | Long);
  'proto'?: (_im_protocol_Proto | null);
}

export interface ReceiveReq__Output {
  'mid': (string);
  'proto': (_im_protocol_Proto__Output | null);
}
