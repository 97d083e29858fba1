// Original file: proto/im.logic.proto

import type { Long } from '@grpc/proto-loader';

export interface HeartbeatReq {
  'mid'?: (number | string | Long);
  'key'?: (string);
  'server'?: (string);
  'connId'?: (string);
}

export interface HeartbeatReq__Output {
  'mid': (string);
  'key': (string);
  'server': (string);
  'connId': (string);
}
