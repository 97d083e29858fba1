// Original file: proto/im.logic.proto


export interface Backoff {
  'max_delay'?: (number);
  'base_delay'?: (number);
  'factor'?: (number | string);
  'jitter'?: (number | string);
}

export interface Backoff__Output {
  'max_delay': (number);
  'base_delay': (number);
  'factor': (number);
  'jitter': (number);
}
