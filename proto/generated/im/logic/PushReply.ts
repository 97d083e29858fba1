// Original file: proto/im.logic.proto


export interface PushReply {
  'targets'?: (number);
  'nodes'?: (number);
}

export interface PushReply__Output {
  'targets': (number);
  'nodes': (number);
}
