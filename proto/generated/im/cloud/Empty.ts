// Original file: proto/im.cloud.proto


export interface Empty {
}

export interface Empty__Output {
}
