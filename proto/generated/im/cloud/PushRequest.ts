// Original file: proto/im.cloud.proto

import type { PushMsgReq as _im_cloud_PushMsgReq, PushMsgReq__Output as _im_cloud_PushMsgReq__Output } from '../../im/cloud/PushMsgReq';
import type { BroadcastRoomReq as _im_cloud_BroadcastRoomReq, BroadcastRoomReq__Output as _im_cloud_BroadcastRoomReq__Output } from '../../im/cloud/BroadcastRoomReq';
import type { BroadcastReq as _im_cloud_BroadcastReq, BroadcastReq__Output as _im_cloud_BroadcastReq__Output } from '../../im/cloud/BroadcastReq';

export interface PushRequest {
  'id'?: (number);
  'pushMsg'?: (_im_cloud_PushMsgReq | null);
  'broadcastRoom'?: (_im_cloud_BroadcastRoomReq | null);
  'broadcast'?: (_im_cloud_BroadcastReq | null);
  'call'?: "pushMsg"|"broadcastRoom"|"broadcast";
}

export interface PushRequest__Output {
  'id': (number);
  'pushMsg'?: (_im_cloud_PushMsgReq__Output | null);
  'broadcastRoom'?: (_im_cloud_BroadcastRoomReq__Output | null);
  'broadcast'?: (_im_cloud_BroadcastReq__Output | null);
  'call'?: "pushMsg"|"broadcastRoom"|"broadcast";
}
