// Original file: proto/im.logic.proto


export interface NodesReq {
  'platform'?: (string);
  'clientIP'?: (string);
}

export interface NodesReq__Output {
  'platform': (string);
  'clientIP': (string);
}
