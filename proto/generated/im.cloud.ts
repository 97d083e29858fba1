import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { BroadcastReq as _im_cloud_BroadcastReq, BroadcastReq__Output as _im_cloud_BroadcastReq__Output } from './im/cloud/BroadcastReq';
import type { BroadcastRoomReq as _im_cloud_BroadcastRoomReq, BroadcastRoomReq__Output as _im_cloud_BroadcastRoomReq__Output } from './im/cloud/BroadcastRoomReq';
import type { CloudClient as _im_cloud_CloudClient, CloudDefinition as _im_cloud_CloudDefinition } from './im/cloud/Cloud';
import type { CloudStreamClient as _im_cloud_CloudStreamClient, CloudStreamDefinition as _im_cloud_CloudStreamDefinition } from './im/cloud/CloudStream';
import type { Empty as _im_cloud_Empty, Empty__Output as _im_cloud_Empty__Output } from './im/cloud/Empty';
import type { PushMsgReq as _im_cloud_PushMsgReq, PushMsgReq__Output as _im_cloud_PushMsgReq__Output } from './im/cloud/PushMsgReq';
import type { PushReply as _im_cloud_PushReply, PushReply__Output as _im_cloud_PushReply__Output } from './im/cloud/PushReply';
import type { PushRequest as _im_cloud_PushRequest, PushRequest__Output as _im_cloud_PushRequest__Output } from './im/cloud/PushRequest';
import type { RoomsReply as _im_cloud_RoomsReply, RoomsReply__Output as _im_cloud_RoomsReply__Output } from './im/cloud/RoomsReply';
import type { Proto as _im_protocol_Proto, Proto__Output as _im_protocol_Proto__Output } from './im/protocol/Proto';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  im: {
    cloud: {
      BroadcastReq: MessageTypeDefinition<_im_cloud_BroadcastReq, _im_cloud_BroadcastReq__Output>
      BroadcastRoomReq: MessageTypeDefinition<_im_cloud_BroadcastRoomReq, _im_cloud_BroadcastRoomReq__Output>
      Cloud: SubtypeConstructor<typeof grpc.Client, _im_cloud_CloudClient> & { service: _im_cloud_CloudDefinition }
      CloudStream: SubtypeConstructor<typeof grpc.Client, _im_cloud_CloudStreamClient> & { service: _im_cloud_CloudStreamDefinition }
      Empty: MessageTypeDefinition<_im_cloud_Empty, _im_cloud_Empty__Output>
      PushMsgReq: MessageTypeDefinition<_im_cloud_PushMsgReq, _im_cloud_PushMsgReq__Output>
      PushReply: MessageTypeDefinition<_im_cloud_PushReply, _im_cloud_PushReply__Output>
      PushRequest: MessageTypeDefinition<_im_cloud_PushRequest, _im_cloud_PushRequest__Output>
      RoomsReply: MessageTypeDefinition<_im_cloud_RoomsReply, _im_cloud_RoomsReply__Output>
    }
    protocol: {
      Proto: MessageTypeDefinition<_im_protocol_Proto, _im_protocol_Proto__Output>
    }
  }
}

