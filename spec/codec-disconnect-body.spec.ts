import { expect } from 'chai';
import { disconnectBody, parseDisconnectBody } from '../system/codec/disconnect-body';
import { parseErrorAck } from '../system/codec/error-ack';
import { ImError } from '../system/errors';

describe('codec/disconnect body (op 6)', () => {
  it('is the error\'s code and reason, as every op 6 has been', () => {
    const body = disconnectBody(new ImError('KICKED'));
    expect(JSON.parse(body)).to.deep.equal({ code: 'E_KICKED', reason: 'an operator closed this connection' });
    expect(parseDisconnectBody(Buffer.from(body))).to.deep.equal({ code: 'E_KICKED', reason: 'an operator closed this connection' });
  });

  it('a draining node adds when to reconnect, and a client reads it back', () => {
    const body = disconnectBody(new ImError('NODE_DRAINING'), { afterMs: 731 });
    expect(JSON.parse(body)).to.deep.equal({ code: 'E_NODE_DRAINING', reason: 'node is shutting down', reconnect: { afterMs: 731 } });
    expect(parseDisconnectBody(Buffer.from(body))?.reconnect).to.deep.equal({ afterMs: 731 });
  });

  it('fields it does not know are ignored (a later node may say more)', () => {
    const body = '{"code":"E_NODE_DRAINING","reason":"r","reconnect":{"afterMs":5,"to":"elsewhere"},"more":1}';
    expect(parseDisconnectBody(Buffer.from(body))).to.deep.equal({ code: 'E_NODE_DRAINING', reason: 'r', reconnect: { afterMs: 5 } });
  });

  for (const [what, body] of [
    ['plain text', 'bye'],
    ['a JSON array', '[1]'],
    ['no reason', '{"code":"E_KICKED"}'],
    ['a code that is not catalogued', '{"code":"kicked","reason":"r"}'],
    ['a hint without afterMs', '{"code":"E_NODE_DRAINING","reason":"r","reconnect":{}}'],
    ['a negative afterMs', '{"code":"E_NODE_DRAINING","reason":"r","reconnect":{"afterMs":-1}}'],
    ['a fractional afterMs', '{"code":"E_NODE_DRAINING","reason":"r","reconnect":{"afterMs":1.5}}'],
  ] as const) {
    it(`is not an op-6 body: ${what}`, () => {
      expect(parseDisconnectBody(Buffer.from(body))).to.equal(null);
    });
  }

  it('an op-5 error ack with a reconnect hint beside its fields is still an error ack', () => {
    const body = '{"code":-500,"error":"E_NODE_DRAINING","message":"node is shutting down","reconnect":{"afterMs":10}}';
    expect(parseErrorAck(Buffer.from(body))).to.deep.equal({ code: -500, error: 'E_NODE_DRAINING', message: 'node is shutting down' });
  });
});
