// Original file: proto/im.logic.proto


export interface Empty {
}

export interface Empty__Output {
}
