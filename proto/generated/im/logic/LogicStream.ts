// Original file: proto/im.logic.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { StreamReply as _im_logic_StreamReply, StreamReply__Output as _im_logic_StreamReply__Output } from '../../im/logic/StreamReply';
import type { StreamRequest as _im_logic_StreamRequest, StreamRequest__Output as _im_logic_StreamRequest__Output } from '../../im/logic/StreamRequest';

export interface LogicStreamClient extends grpc.Client {
  Calls(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_im_logic_StreamRequest, _im_logic_StreamReply__Output>;
  Calls(options?: grpc.CallOptions): grpc.ClientDuplexStream<_im_logic_StreamRequest, _im_logic_StreamReply__Output>;
  calls(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_im_logic_StreamRequest, _im_logic_StreamReply__Output>;
  calls(options?: grpc.CallOptions): grpc.ClientDuplexStream<_im_logic_StreamRequest, _im_logic_StreamReply__Output>;
  
}

export interface LogicStreamHandlers extends grpc.UntypedServiceImplementation {
  Calls: grpc.handleBidiStreamingCall<_im_logic_StreamRequest__Output, _im_logic_StreamReply>;
  
}

export interface LogicStreamDefinition extends grpc.ServiceDefinition {
  Calls: MethodDefinition<_im_logic_StreamRequest, _im_logic_StreamReply, _im_logic_StreamRequest__Output, _im_logic_StreamReply__Output>
}
