// Original file: proto/im.logic.proto

import type { ConnectReq as _im_logic_ConnectReq, ConnectReq__Output as _im_logic_ConnectReq__Output } from '../../im/logic/ConnectReq';
import type { DisconnectReq as _im_logic_DisconnectReq, DisconnectReq__Output as _im_logic_DisconnectReq__Output } from '../../im/logic/DisconnectReq';
import type { HeartbeatReq as _im_logic_HeartbeatReq, HeartbeatReq__Output as _im_logic_HeartbeatReq__Output } from '../../im/logic/HeartbeatReq';

export interface StreamRequest {
  'id'?: (number);
  'connect'?: (_im_logic_ConnectReq | null);
  'disconnect'?: (_im_logic_DisconnectReq | null);
  'heartbeat'?: (_im_logic_HeartbeatReq | null);
  'call'?: "connect"|"disconnect"|"heartbeat";
}

export interface StreamRequest__Output {
  'id': (number);
  'connect'?: (_im_logic_ConnectReq__Output | null);
  'disconnect'?: (_im_logic_DisconnectReq__Output | null);
  'heartbeat'?: (_im_logic_HeartbeatReq__Output | null);
  'call'?: "connect"|"disconnect"|"heartbeat";
}
