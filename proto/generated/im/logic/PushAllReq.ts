// Original file: proto/im.logic.proto


export interface PushAllReq {
  'msg'?: (Buffer | Uint8Array | string);
  'operation'?: (number);
  'speed'?: (number);
}

export interface PushAllReq__Output {
  'msg': (Buffer);
  'operation': (number);
  'speed': (number);
}
