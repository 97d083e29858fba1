// Original file: proto/im.logic.proto


export interface ConnectReq {
  'server'?: (string);
  'cookie'?: (string);
  'token'?: (Buffer | Uint8Array | string);
  'connId'?: (string);
}

export interface ConnectReq__Output {
  'server': (string);
  'cookie': (string);
  'token': (Buffer);
  'connId': (string);
}
