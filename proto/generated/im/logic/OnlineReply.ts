// Original file: proto/im.logic.proto


export interface OnlineReply {
  'allRoomCount'?: ({[key: string]: number});
}

export interface OnlineReply__Output {
  'allRoomCount': ({[key: string]: number});
}
