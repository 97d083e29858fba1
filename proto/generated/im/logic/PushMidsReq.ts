// Original file: proto/im.logic.proto


export interface PushMidsReq {
  'mids'?: (string)[];
  'msg'?: (Buffer | Uint8Array | string);
  'operation'?: (number);
}

export interface PushMidsReq__Output {
  'mids': (string)[];
  'msg': (Buffer);
  'operation': (number);
}
