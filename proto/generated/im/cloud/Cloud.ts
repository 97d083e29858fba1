// Original file: proto/im.cloud.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { BroadcastReq as _im_cloud_BroadcastReq, BroadcastReq__Output as _im_cloud_BroadcastReq__Output } from '../../im/cloud/BroadcastReq';
import type { BroadcastRoomReq as _im_cloud_BroadcastRoomReq, BroadcastRoomReq__Output as _im_cloud_BroadcastRoomReq__Output } from '../../im/cloud/BroadcastRoomReq';
import type { Empty as _im_cloud_Empty, Empty__Output as _im_cloud_Empty__Output } from '../../im/cloud/Empty';
import type { PushMsgReq as _im_cloud_PushMsgReq, PushMsgReq__Output as _im_cloud_PushMsgReq__Output } from '../../im/cloud/PushMsgReq';
import type { RoomsReply as _im_cloud_RoomsReply, RoomsReply__Output as _im_cloud_RoomsReply__Output } from '../../im/cloud/RoomsReply';

export interface CloudClient extends grpc.Client {
  Broadcast(argument: _im_cloud_BroadcastReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  Broadcast(argument: _im_cloud_BroadcastReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  Broadcast(argument: _im_cloud_BroadcastReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  Broadcast(argument: _im_cloud_BroadcastReq, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  broadcast(argument: _im_cloud_BroadcastReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  broadcast(argument: _im_cloud_BroadcastReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  broadcast(argument: _im_cloud_BroadcastReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  broadcast(argument: _im_cloud_BroadcastReq, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  
  BroadcastRoom(argument: _im_cloud_BroadcastRoomReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  BroadcastRoom(argument: _im_cloud_BroadcastRoomReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  BroadcastRoom(argument: _im_cloud_BroadcastRoomReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  BroadcastRoom(argument: _im_cloud_BroadcastRoomReq, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  broadcastRoom(argument: _im_cloud_BroadcastRoomReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  broadcastRoom(argument: _im_cloud_BroadcastRoomReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  broadcastRoom(argument: _im_cloud_BroadcastRoomReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  broadcastRoom(argument: _im_cloud_BroadcastRoomReq, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  
  CClose(argument: _im_cloud_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  CClose(argument: _im_cloud_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  CClose(argument: _im_cloud_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  CClose(argument: _im_cloud_Empty, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  cClose(argument: _im_cloud_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  cClose(argument: _im_cloud_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  cClose(argument: _im_cloud_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  cClose(argument: _im_cloud_Empty, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  
  Close(argument: _im_cloud_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  Close(argument: _im_cloud_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  Close(argument: _im_cloud_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  Close(argument: _im_cloud_Empty, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  
  Ping(argument: _im_cloud_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  Ping(argument: _im_cloud_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  Ping(argument: _im_cloud_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  Ping(argument: _im_cloud_Empty, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  ping(argument: _im_cloud_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  ping(argument: _im_cloud_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  ping(argument: _im_cloud_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  ping(argument: _im_cloud_Empty, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  
  PushMsg(argument: _im_cloud_PushMsgReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  PushMsg(argument: _im_cloud_PushMsgReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  PushMsg(argument: _im_cloud_PushMsgReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  PushMsg(argument: _im_cloud_PushMsgReq, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  pushMsg(argument: _im_cloud_PushMsgReq, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  pushMsg(argument: _im_cloud_PushMsgReq, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  pushMsg(argument: _im_cloud_PushMsgReq, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  pushMsg(argument: _im_cloud_PushMsgReq, callback: grpc.requestCallback<_im_cloud_Empty__Output>): grpc.ClientUnaryCall;
  
  Rooms(argument: _im_cloud_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_RoomsReply__Output>): grpc.ClientUnaryCall;
  Rooms(argument: _im_cloud_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_RoomsReply__Output>): grpc.ClientUnaryCall;
  Rooms(argument: _im_cloud_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_RoomsReply__Output>): grpc.ClientUnaryCall;
  Rooms(argument: _im_cloud_Empty, callback: grpc.requestCallback<_im_cloud_RoomsReply__Output>): grpc.ClientUnaryCall;
  rooms(argument: _im_cloud_Empty, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_RoomsReply__Output>): grpc.ClientUnaryCall;
  rooms(argument: _im_cloud_Empty, metadata: grpc.Metadata, callback: grpc.requestCallback<_im_cloud_RoomsReply__Output>): grpc.ClientUnaryCall;
  rooms(argument: _im_cloud_Empty, options: grpc.CallOptions, callback: grpc.requestCallback<_im_cloud_RoomsReply__Output>): grpc.ClientUnaryCall;
  rooms(argument: _im_cloud_Empty, callback: grpc.requestCallback<_im_cloud_RoomsReply__Output>): grpc.ClientUnaryCall;
  
}

export interface CloudHandlers extends grpc.UntypedServiceImplementation {
  Broadcast: grpc.handleUnaryCall<_im_cloud_BroadcastReq__Output, _im_cloud_Empty>;
  
  BroadcastRoom: grpc.handleUnaryCall<_im_cloud_BroadcastRoomReq__Output, _im_cloud_Empty>;
  
  CClose: grpc.handleUnaryCall<_im_cloud_Empty__Output, _im_cloud_Empty>;
  
  Close: grpc.handleUnaryCall<_im_cloud_Empty__Output, _im_cloud_Empty>;
  
  Ping: grpc.handleUnaryCall<_im_cloud_Empty__Output, _im_cloud_Empty>;
  
  PushMsg: grpc.handleUnaryCall<_im_cloud_PushMsgReq__Output, _im_cloud_Empty>;
  
  Rooms: grpc.handleUnaryCall<_im_cloud_Empty__Output, _im_cloud_RoomsReply>;
  
}

export interface CloudDefinition extends grpc.ServiceDefinition {
  Broadcast: MethodDefinition<_im_cloud_BroadcastReq, _im_cloud_Empty, _im_cloud_BroadcastReq__Output, _im_cloud_Empty__Output>
  BroadcastRoom: MethodDefinition<_im_cloud_BroadcastRoomReq, _im_cloud_Empty, _im_cloud_BroadcastRoomReq__Output, _im_cloud_Empty__Output>
  CClose: MethodDefinition<_im_cloud_Empty, _im_cloud_Empty, _im_cloud_Empty__Output, _im_cloud_Empty__Output>
  Close: MethodDefinition<_im_cloud_Empty, _im_cloud_Empty, _im_cloud_Empty__Output, _im_cloud_Empty__Output>
  Ping: MethodDefinition<_im_cloud_Empty, _im_cloud_Empty, _im_cloud_Empty__Output, _im_cloud_Empty__Output>
  PushMsg: MethodDefinition<_im_cloud_PushMsgReq, _im_cloud_Empty, _im_cloud_PushMsgReq__Output, _im_cloud_Empty__Output>
  Rooms: MethodDefinition<_im_cloud_Empty, _im_cloud_RoomsReply, _im_cloud_Empty__Output, _im_cloud_RoomsReply__Output>
}
