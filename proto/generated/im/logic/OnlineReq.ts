// Original file: proto/im.logic.proto


export interface OnlineReq {
  'server'?: (string);
  'roomCount'?: ({[key: string]: number});
  'connCount'?: (number);
  'ipCount'?: (number);
}

export interface OnlineReq__Output {
  'server': (string);
  'roomCount': ({[key: string]: number});
  'connCount': (number);
  'ipCount': (number);
}
