import { expect } from 'chai';
import { errorAckBody, parseErrorAck } from '../system/codec/error-ack';
import { ImError } from '../system/errors';

describe('codec/error ack (op 5 that reports a failure)', () => {
  it('carries goim\'s ServerErr code, the catalogued code and the catalogue message, never the detail', () => {
    const body = errorAckBody(new ImError('RECEIVE_REFUSED', 'INTERNAL: Receive on 10.0.0.7:3119: sink down'));
    expect(JSON.parse(body)).to.deep.equal({ code: -500, error: 'E_RECEIVE_REFUSED', message: 'logic did not accept the upstream message' });
    expect(parseErrorAck(Buffer.from(body))).to.deep.equal({ code: -500, error: 'E_RECEIVE_REFUSED', message: 'logic did not accept the upstream message' });
  });

  for (const [what, body] of [
    ['plain text', 'hello upstream'],
    ['bytes that are not UTF-8 JSON', '\u0000\u00ff{'],
    ['a JSON array', '[1,2]'],
    ['JSON null', 'null'],
    ['a JSON object without error', '{"code":-500,"message":"m"}'],
    ['an error that is not a catalogued code', '{"code":-500,"error":"oops","message":"m"}'],
    ['a non-numeric code', '{"code":"-500","error":"E_X","message":"m"}'],
  ] as const) {
    it(`is not an error ack: ${what}`, () => {
      expect(parseErrorAck(Buffer.from(body, 'latin1'))).to.equal(null);
    });
  }
});
