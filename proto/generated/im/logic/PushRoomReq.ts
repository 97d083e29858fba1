// Original file: proto/im.logic.proto


export interface PushRoomReq {
  'room'?: (string);
  'type'?: (string);
  'msg'?: (Buffer | Uint8Array | string);
  'operation'?: (number);
}

export interface PushRoomReq__Output {
  'room': (string);
  'type': (string);
  'msg': (Buffer);
  'operation': (number);
}
