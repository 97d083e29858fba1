// Original file: proto/im.logic.proto


export interface PushKeysReq {
  'keys'?: (string)[];
  'msg'?: (Buffer | Uint8Array | string);
  'operation'?: (number);
}

export interface PushKeysReq__Output {
  'keys': (string)[];
  'msg': (Buffer);
  'operation': (number);
}
