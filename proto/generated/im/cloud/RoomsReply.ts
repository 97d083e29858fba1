// Original file: proto/im.cloud.proto


export interface RoomsReply {
  'rooms'?: ({[key: string]: boolean});
}

export interface RoomsReply__Output {
  'rooms': ({[key: string]: boolean});
}
