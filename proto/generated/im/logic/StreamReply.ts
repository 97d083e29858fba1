// Original file: proto/im.logic.proto

import type { ConnectReply as _im_logic_ConnectReply, ConnectReply__Output as _im_logic_ConnectReply__Output } from '../../im/logic/ConnectReply';
import type { DisconnectReply as _im_logic_DisconnectReply, DisconnectReply__Output as _im_logic_DisconnectReply__Output } from '../../im/logic/DisconnectReply';
import type { Empty as _im_logic_Empty, Empty__Output as _im_logic_Empty__Output } from '../../im/logic/Empty';

export interface StreamReply {
  'id'?: (number);
  'code'?: (number);
  'details'?: (string);
  'connect'?: (_im_logic_ConnectReply | null);
  'disconnect'?: (_im_logic_DisconnectReply | null);
  'heartbeat'?: (_im_logic_Empty | null);
  'reply'?: "connect"|"disconnect"|"heartbeat";
}

export interface StreamReply__Output {
  'id': (number);
  'code': (number);
  'details': (string);
  'connect'?: (_im_logic_ConnectReply__Output | null);
  'disconnect'?: (_im_logic_DisconnectReply__Output | null);
  'heartbeat'?: (_im_logic_Empty__Output | null);
  'reply'?: "connect"|"disconnect"|"heartbeat";
}
