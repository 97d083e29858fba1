import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { Backoff as _im_logic_Backoff, Backoff__Output as _im_logic_Backoff__Output } from './im/logic/Backoff';
import type { ConnectReply as _im_logic_ConnectReply, ConnectReply__Output as _im_logic_ConnectReply__Output } from './im/logic/ConnectReply';
import type { ConnectReq as _im_logic_ConnectReq, ConnectReq__Output as _im_logic_ConnectReq__Output } from './im/logic/ConnectReq';
import type { DisconnectReply as _im_logic_DisconnectReply, DisconnectReply__Output as _im_logic_DisconnectReply__Output } from './im/logic/DisconnectReply';
import type { DisconnectReq as _im_logic_DisconnectReq, DisconnectReq__Output as _im_logic_DisconnectReq__Output } from './im/logic/DisconnectReq';
import type { Empty as _im_logic_Empty, Empty__Output as _im_logic_Empty__Output } from './im/logic/Empty';
import type { HeartbeatReq as _im_logic_HeartbeatReq, HeartbeatReq__Output as _im_logic_HeartbeatReq__Output } from './im/logic/HeartbeatReq';
import type { LogicClient as _im_logic_LogicClient, LogicDefinition as _im_logic_LogicDefinition } from './im/logic/Logic';
import type { LogicStreamClient as _im_logic_LogicStreamClient, LogicStreamDefinition as _im_logic_LogicStreamDefinition } from './im/logic/LogicStream';
import type { NodesReply as _im_logic_NodesReply, NodesReply__Output as _im_logic_NodesReply__Output } from './im/logic/NodesReply';
import type { NodesReq as _im_logic_NodesReq, NodesReq__Output as _im_logic_NodesReq__Output } from './im/logic/NodesReq';
import type { OnlineReply as _im_logic_OnlineReply, OnlineReply__Output as _im_logic_OnlineReply__Output } from './im/logic/OnlineReply';
import type { OnlineReq as _im_logic_OnlineReq, OnlineReq__Output as _im_logic_OnlineReq__Output } from './im/logic/OnlineReq';
import type { PushAllReq as _im_logic_PushAllReq, PushAllReq__Output as _im_logic_PushAllReq__Output } from './im/logic/PushAllReq';
import type { PushKeysReq as _im_logic_PushKeysReq, PushKeysReq__Output as _im_logic_PushKeysReq__Output } from './im/logic/PushKeysReq';
import type { PushMidsReq as _im_logic_PushMidsReq, PushMidsReq__Output as _im_logic_PushMidsReq__Output } from './im/logic/PushMidsReq';
import type { PushReply as _im_logic_PushReply, PushReply__Output as _im_logic_PushReply__Output } from './im/logic/PushReply';
import type { PushRoomReq as _im_logic_PushRoomReq, PushRoomReq__Output as _im_logic_PushRoomReq__Output } from './im/logic/PushRoomReq';
import type { ReceiveReq as _im_logic_ReceiveReq, ReceiveReq__Output as _im_logic_ReceiveReq__Output } from './im/logic/ReceiveReq';
import type { StreamReply as _im_logic_StreamReply, StreamReply__Output as _im_logic_StreamReply__Output } from './im/logic/StreamReply';
import type { StreamRequest as _im_logic_StreamRequest, StreamRequest__Output as _im_logic_StreamRequest__Output } from './im/logic/StreamRequest';
import type { Proto as _im_protocol_Proto, Proto__Output as _im_protocol_Proto__Output } from './im/protocol/Proto';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  im: {
    logic: {
      Backoff: MessageTypeDefinition<_im_logic_Backoff, _im_logic_Backoff__Output>
      ConnectReply: MessageTypeDefinition<_im_logic_ConnectReply, _im_logic_ConnectReply__Output>
      ConnectReq: MessageTypeDefinition<_im_logic_ConnectReq, _im_logic_ConnectReq__Output>
      DisconnectReply: MessageTypeDefinition<_im_logic_DisconnectReply, _im_logic_DisconnectReply__Output>
      DisconnectReq: MessageTypeDefinition<_im_logic_DisconnectReq, _im_logic_DisconnectReq__Output>
      Empty: MessageTypeDefinition<_im_logic_Empty, _im_logic_Empty__Output>
      HeartbeatReq: MessageTypeDefinition<_im_logic_HeartbeatReq, _im_logic_HeartbeatReq__Output>
      Logic: SubtypeConstructor<typeof grpc.Client, _im_logic_LogicClient> & { service: _im_logic_LogicDefinition }
      LogicStream: SubtypeConstructor<typeof grpc.Client, _im_logic_LogicStreamClient> & { service: _im_logic_LogicStreamDefinition }
      NodesReply: MessageTypeDefinition<_im_logic_NodesReply, _im_logic_NodesReply__Output>
      NodesReq: MessageTypeDefinition<_im_logic_NodesReq, _im_logic_NodesReq__Output>
      OnlineReply: MessageTypeDefinition<_im_logic_OnlineReply, _im_logic_OnlineReply__Output>
      OnlineReq: MessageTypeDefinition<_im_logic_OnlineReq, _im_logic_OnlineReq__Output>
      PushAllReq: MessageTypeDefinition<_im_logic_PushAllReq, _im_logic_PushAllReq__Output>
      PushKeysReq: MessageTypeDefinition<_im_logic_PushKeysReq, _im_logic_PushKeysReq__Output>
      PushMidsReq: MessageTypeDefinition<_im_logic_PushMidsReq, _im_logic_PushMidsReq__Output>
      PushReply: MessageTypeDefinition<_im_logic_PushReply, _im_logic_PushReply__Output>
      PushRoomReq: MessageTypeDefinition<_im_logic_PushRoomReq, _im_logic_PushRoomReq__Output>
      ReceiveReq: MessageTypeDefinition<_im_logic_ReceiveReq, _im_logic_ReceiveReq__Output>
      StreamReply: MessageTypeDefinition<_im_logic_StreamReply, _im_logic_StreamReply__Output>
      StreamRequest: MessageTypeDefinition<_im_logic_StreamRequest, _im_logic_StreamRequest__Output>
    }
    protocol: {
      Proto: MessageTypeDefinition<_im_protocol_Proto, _im_protocol_Proto__Output>
    }
  }
}

