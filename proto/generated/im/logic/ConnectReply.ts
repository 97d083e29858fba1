// Original file: proto/im.logic.proto

import type { Long } from '@grpc/proto-loader';

export interface ConnectReply {
  'mid'?: (number | string | Long);
  'key'?: (string);
  'roomID'?: (string);
  'accepts'?: (number)[];
  'heartbeat'?: (number | string | Long);
}

export interface ConnectReply__Output {
  'mid': (string);
  'key': (string);
  'roomID': (string);
  'accepts': (number)[];
  'heartbeat': (string);
}
