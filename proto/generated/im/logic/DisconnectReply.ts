// Original file: proto/im.logic.proto


export interface DisconnectReply {
  'has'?: (boolean);
}

export interface DisconnectReply__Output {
  'has': (boolean);
}
