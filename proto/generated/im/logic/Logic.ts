// Original file: proto/im.logic.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { ConnectReply as _im_logic_ConnectReply, ConnectReply__Output as _im_logic_ConnectReply__Output } from '../../im/logic/ConnectReply';
import type { ConnectReq as _im_logic_ConnectReq, ConnectReq__Output as _im_logic_ConnectReq__Output } from '../../im/logic/ConnectReq';
import type { DisconnectReply as _im_logic_DisconnectReply, DisconnectReply__Output as _im_logic_DisconnectReply__Output } from '../../im/logic/DisconnectReply';
import type { DisconnectReq as _im_logic_DisconnectReq, DisconnectReq__Output as _im_logic_DisconnectReq__Output } from '../../im/logic/DisconnectReq';
import type { Empty as _im_logic_Empty, Empty__Output as _im_logic_Empty__Output } from '../../im/logic/Empty';
import type { HeartbeatReq as _im_logic_HeartbeatReq, HeartbeatReq__Output as _im_logic_HeartbeatReq__Output } from '../../im/logic/HeartbeatReq';
import type { NodesReply as _im_logic_NodesReply, NodesReply__Output as _im_logic_NodesReply__Output } from '../../im/logic/NodesReply';
import type { NodesReq as _im_logic_NodesReq, NodesReq__Output as _im_logic_NodesReq__Output } from '../../im/logic/NodesReq';
import type { OnlineReply as _im_logic_OnlineReply, OnlineReply__Output as _im_logic_OnlineReply__Output } from '../../im/logic/OnlineReply';
import type { OnlineReq as _im_logic_OnlineReq, OnlineReq__Output as _im_logic_OnlineReq__Output } from '../../im/logic/OnlineReq';
import type { PushAllReq as _im_logic_PushAllReq, PushAllReq__Output as _im_logic_PushAllReq__Output } from '../../im/logic/PushAllReq';
import type { PushKeysReq as _im_logic_PushKeysReq, PushKeysReq__Output as _im_logic_PushKeysReq__Output } from '../../im/logic/PushKeysReq';
import type { PushMidsReq as _im_logic_PushMidsReq, PushMidsReq__Output as _im_logic_PushMidsReq__Output } from '../../im/logic/PushMidsReq';
import type { PushReply as _im_logic_PushReply, PushReply__Output as _im_logic_PushReply__Output } from '../../im/logic/PushReply';
import type { PushRoomReq as _im_logic_PushRoomReq, PushRoomReq__Output as _im_logic_PushRoomReq__Output } from '../../im/logic/PushRoomReq';
import type { ReceiveReq as _im_logic_ReceiveReq, ReceiveReq__Output as _im_logic_ReceiveReq__Output } from '../../im/logic/ReceiveReq';

export interface LogicClient extends grpc.Client {
  Close(argument: _im_logic_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  Close(argument: _im_logic_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  Close(argument: _im_logic_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  Close(argument: _im_logic_Empty, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  
  Connect(argument: _im_logic_ConnectReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_ConnectReply__Output>): grpc.ClientUnaryCall;
  Connect(argument: _im_logic_ConnectReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_ConnectReply__Output>): grpc.ClientUnaryCall;
  Connect(argument: _im_logic_ConnectReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_ConnectReply__Output>): grpc.ClientUnaryCall;
  Connect(argument: _im_logic_ConnectReq, callback: grpc.requestCallback<_im_logic_ConnectReply__Output>): grpc.ClientUnaryCall;
  connect(argument: _im_logic_ConnectReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_ConnectReply__Output>): grpc.ClientUnaryCall;
  connect(argument: _im_logic_ConnectReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_ConnectReply__Output>): grpc.ClientUnaryCall;
  connect(argument: _im_logic_ConnectReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_ConnectReply__Output>): grpc.ClientUnaryCall;
  connect(argument: _im_logic_ConnectReq, callback: grpc.requestCallback<_im_logic_ConnectReply__Output>): grpc.ClientUnaryCall;
  
  Disconnect(argument: _im_logic_DisconnectReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_DisconnectReply__Output>): grpc.ClientUnaryCall;
  Disconnect(argument: _im_logic_DisconnectReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_DisconnectReply__Output>): grpc.ClientUnaryCall;
  Disconnect(argument: _im_logic_DisconnectReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_DisconnectReply__Output>): grpc.ClientUnaryCall;
  Disconnect(argument: _im_logic_DisconnectReq, callback: grpc.requestCallback<_im_logic_DisconnectReply__Output>): grpc.ClientUnaryCall;
  disconnect(argument: _im_logic_DisconnectReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_DisconnectReply__Output>): grpc.ClientUnaryCall;
  disconnect(argument: _im_logic_DisconnectReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_DisconnectReply__Output>): grpc.ClientUnaryCall;
  disconnect(argument: _im_logic_DisconnectReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_DisconnectReply__Output>): grpc.ClientUnaryCall;
  disconnect(argument: _im_logic_DisconnectReq, callback: grpc.requestCallback<_im_logic_DisconnectReply__Output>): grpc.ClientUnaryCall;
  
  Heartbeat(argument: _im_logic_HeartbeatReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _im_logic_HeartbeatReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _im_logic_HeartbeatReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _im_logic_HeartbeatReq, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _im_logic_HeartbeatReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _im_logic_HeartbeatReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _im_logic_HeartbeatReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _im_logic_HeartbeatReq, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  
  Nodes(argument: _im_logic_NodesReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_NodesReply__Output>): grpc.ClientUnaryCall;
  Nodes(argument: _im_logic_NodesReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_NodesReply__Output>): grpc.ClientUnaryCall;
  Nodes(argument: _im_logic_NodesReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_NodesReply__Output>): grpc.ClientUnaryCall;
  Nodes(argument: _im_logic_NodesReq, callback: grpc.requestCallback<_im_logic_NodesReply__Output>): grpc.ClientUnaryCall;
  nodes(argument: _im_logic_NodesReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_NodesReply__Output>): grpc.ClientUnaryCall;
  nodes(argument: _im_logic_NodesReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_NodesReply__Output>): grpc.ClientUnaryCall;
  nodes(argument: _im_logic_NodesReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_NodesReply__Output>): grpc.ClientUnaryCall;
  nodes(argument: _im_logic_NodesReq, callback: grpc.requestCallback<_im_logic_NodesReply__Output>): grpc.ClientUnaryCall;
  
  Ping(argument: _im_logic_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  Ping(argument: _im_logic_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  Ping(argument: _im_logic_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  Ping(argument: _im_logic_Empty, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  ping(argument: _im_logic_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  ping(argument: _im_logic_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  ping(argument: _im_logic_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  ping(argument: _im_logic_Empty, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  
  PushAll(argument: _im_logic_PushAllReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  PushAll(argument: _im_logic_PushAllReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  PushAll(argument: _im_logic_PushAllReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  PushAll(argument: _im_logic_PushAllReq, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  pushAll(argument: _im_logic_PushAllReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  pushAll(argument: _im_logic_PushAllReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  pushAll(argument: _im_logic_PushAllReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  pushAll(argument: _im_logic_PushAllReq, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  
  PushKeys(argument: _im_logic_PushKeysReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  PushKeys(argument: _im_logic_PushKeysReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  PushKeys(argument: _im_logic_PushKeysReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  PushKeys(argument: _im_logic_PushKeysReq, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  pushKeys(argument: _im_logic_PushKeysReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  pushKeys(argument: _im_logic_PushKeysReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  pushKeys(argument: _im_logic_PushKeysReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  pushKeys(argument: _im_logic_PushKeysReq, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  
  PushMids(argument: _im_logic_PushMidsReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  PushMids(argument: _im_logic_PushMidsReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  PushMids(argument: _im_logic_PushMidsReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  PushMids(argument: _im_logic_PushMidsReq, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  pushMids(argument: _im_logic_PushMidsReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  pushMids(argument: _im_logic_PushMidsReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  pushMids(argument: _im_logic_PushMidsReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  pushMids(argument: _im_logic_PushMidsReq, callback: grpc.requestCallback<_im_logic_PushReply__Output>): grpc.ClientUnaryCall;
  
  PushRoom(argument: _im_logic_PushRoomReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  PushRoom(argument: _im_logic_PushRoomReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  PushRoom(argument: _im_logic_PushRoomReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  PushRoom(argument: _im_logic_PushRoomReq, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  pushRoom(argument: _im_logic_PushRoomReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  pushRoom(argument: _im_logic_PushRoomReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  pushRoom(argument: _im_logic_PushRoomReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  pushRoom(argument: _im_logic_PushRoomReq, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  
  Receive(argument: _im_logic_ReceiveReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  Receive(argument: _im_logic_ReceiveReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  Receive(argument: _im_logic_ReceiveReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  Receive(argument: _im_logic_ReceiveReq, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  receive(argument: _im_logic_ReceiveReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  receive(argument: _im_logic_ReceiveReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  receive(argument: _im_logic_ReceiveReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  receive(argument: _im_logic_ReceiveReq, callback: grpc.requestCallback<_im_logic_Empty__Output>): grpc.ClientUnaryCall;
  
  RenewOnline(argument: _im_logic_OnlineReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_OnlineReply__Output>): grpc.ClientUnaryCall;
  RenewOnline(argument: _im_logic_OnlineReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_OnlineReply__Output>): grpc.ClientUnaryCall;
  RenewOnline(argument: _im_logic_OnlineReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_OnlineReply__Output>): grpc.ClientUnaryCall;
  RenewOnline(argument: _im_logic_OnlineReq, callback: grpc.requestCallback<_im_logic_OnlineReply__Output>): grpc.ClientUnaryCall;
  renewOnline(argument: _im_logic_OnlineReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_OnlineReply__Output>): grpc.ClientUnaryCall;
  renewOnline(argument: _im_logic_OnlineReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_logic_OnlineReply__Output>): grpc.ClientUnaryCall;
  renewOnline(argument: _im_logic_OnlineReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_logic_OnlineReply__Output>): grpc.ClientUnaryCall;
  renewOnline(argument: _im_logic_OnlineReq, callback: grpc.requestCallback<_im_logic_OnlineReply__Output>): grpc.ClientUnaryCall;
  
}

export interface LogicHandlers extends grpc.UntypedServiceImplementation {
  Close: grpc.handleUnaryCall<_im_logic_Empty__Output, _im_logic_Empty>;
  
  Connect: grpc.handleUnaryCall<_im_logic_ConnectReq__Output, _im_logic_ConnectReply>;
  
  Disconnect: grpc.handleUnaryCall<_im_logic_DisconnectReq__Output, _im_logic_DisconnectReply>;
  
  Heartbeat: grpc.handleUnaryCall<_im_logic_HeartbeatReq__Output, _im_logic_Empty>;
  
  Nodes: grpc.handleUnaryCall<_im_logic_NodesReq__Output, _im_logic_NodesReply>;
  
  Ping: grpc.handleUnaryCall<_im_logic_Empty__Output, _im_logic_Empty>;
  
  PushAll: grpc.handleUnaryCall<_im_logic_PushAllReq__Output, _im_logic_Empty>;
  
  PushKeys: grpc.handleUnaryCall<_im_logic_PushKeysReq__Output, _im_logic_PushReply>;
  
  PushMids: grpc.handleUnaryCall<_im_logic_PushMidsReq__Output, _im_logic_PushReply>;
  
  PushRoom: grpc.handleUnaryCall<_im_logic_PushRoomReq__Output, _im_logic_Empty>;
  
  Receive: grpc.handleUnaryCall<_im_logic_ReceiveReq__Output, _im_logic_Empty>;
  
  RenewOnline: grpc.handleUnaryCall<_im_logic_OnlineReq__Output, _im_logic_OnlineReply>;
  
}

export interface LogicDefinition extends grpc.ServiceDefinition {
  Close: MethodDefinition<_im_logic_Empty, _im_logic_Empty, _im_logic_Empty__Output, _im_logic_Empty__Output>
  Connect: MethodDefinition<_im_logic_ConnectReq, _im_logic_ConnectReply, _im_logic_ConnectReq__Output, _im_logic_ConnectReply__Output>
  Disconnect: MethodDefinition<_im_logic_DisconnectReq, _im_logic_DisconnectReply, _im_logic_DisconnectReq__Output, _im_logic_DisconnectReply__Output>
  Heartbeat: MethodDefinition<_im_logic_HeartbeatReq, _im_logic_Empty, _im_logic_HeartbeatReq__Output, _im_logic_Empty__Output>
  Nodes: MethodDefinition<_im_logic_NodesReq, _im_logic_NodesReply, _im_logic_NodesReq__Output, _im_logic_NodesReply__Output>
  Ping: MethodDefinition<_im_logic_Empty, _im_logic_Empty, _im_logic_Empty__Output, _im_logic_Empty__Output>
  PushAll: MethodDefinition<_im_logic_PushAllReq, _im_logic_Empty, _im_logic_PushAllReq__Output, _im_logic_Empty__Output>
  PushKeys: MethodDefinition<_im_logic_PushKeysReq, _im_logic_PushReply, _im_logic_PushKeysReq__Output, _im_logic_PushReply__Output>
  PushMids: MethodDefinition<_im_logic_PushMidsReq, _im_logic_PushReply, _im_logic_PushMidsReq__Output, _im_logic_PushReply__Output>
  PushRoom: MethodDefinition<_im_logic_PushRoomReq, _im_logic_Empty, _im_logic_PushRoomReq__Output, _im_logic_Empty__Output>
  Receive: MethodDefinition<_im_logic_ReceiveReq, _im_logic_Empty, _im_logic_ReceiveReq__Output, _im_logic_Empty__Output>
  RenewOnline: MethodDefinition<_im_logic_OnlineReq, _im_logic_OnlineReply, _im_logic_OnlineReq__Output, _im_logic_OnlineReply__Output>
}
