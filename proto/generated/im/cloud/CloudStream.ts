// Original file: proto/im.cloud.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { PushReply as _im_cloud_PushReply, PushReply__Output as _im_cloud_PushReply__Output } from '../../im/cloud/PushReply';
import type { PushRequest as _im_cloud_PushRequest, PushRequest__Output as _im_cloud_PushRequest__Output } from '../../im/cloud/PushRequest';

export interface CloudStreamClient extends grpc.Client {
  Pushes(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_im_cloud_PushRequest, _im_cloud_PushReply__Output>;
  Pushes(options?: grpc.CallOptions): grpc.ClientDuplexStream<_im_cloud_PushRequest, _im_cloud_PushReply__Output>;
  pushes(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_im_cloud_PushRequest, _im_cloud_PushReply__Output>;
  pushes(options?: grpc.CallOptions): grpc.ClientDuplexStream<_im_cloud_PushRequest, _im_cloud_PushReply__Output>;
  
}

export interface CloudStreamHandlers extends grpc.UntypedServiceImplementation {
  Pushes: grpc.handleBidiStreamingCall<_im_cloud_PushRequest__Output, _im_cloud_PushReply>;
  
}

export interface CloudStreamDefinition extends grpc.ServiceDefinition {
  Pushes: MethodDefinition<_im_cloud_PushRequest, _im_cloud_PushReply, _im_cloud_PushRequest__Output, _im_cloud_PushReply__Output>
}
