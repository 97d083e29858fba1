// Original file: proto/im.cloud.proto


export interface PushReply {
  'id'?: (number);
  'code'?: (number);
  'details'?: (string);
}

export interface PushReply__Output {
  'id': (number);
  'code': (number);
  'details': (string);
}
