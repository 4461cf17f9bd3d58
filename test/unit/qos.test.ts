import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveQos, flowPackets, parseQos, QOS_LEVELS } from '../../src/mqtt/qos';
import { explainDelivery, describeGrant } from '../../src/cli/notes';

test('effective QoS is MIN(publish QoS, subscription QoS) for all nine pairs', () => {
  const table = QOS_LEVELS.map((pub) => QOS_LEVELS.map((sub) => effectiveQos(pub, sub)));
  assert.deepEqual(table, [
    [0, 0, 0],
    [0, 1, 1],
    [0, 1, 2],
  ]);
});

test('parseQos takes exactly 0, 1 or 2', () => {
  assert.deepEqual(['0', '1', '2', 2, ' 1 '].map(parseQos), [0, 1, 2, 2, 1]);
  for (const bad of ['3', '-1', 'abc', '1.5', '', '01', undefined, null]) assert.equal(parseQos(bad), null, String(bad));
});

test('each QoS level has its own packet flow on a leg', () => {
  assert.deepEqual(flowPackets(0), ['publish']);
  assert.deepEqual(flowPackets(1), ['publish', 'puback']);
  assert.deepEqual(flowPackets(2), ['publish', 'pubrec', 'pubrel', 'pubcomp']);
});

test('a downgrade is explained, a full-QoS delivery is not', () => {
  assert.equal(explainDelivery(1, 1), null);
  assert.equal(explainDelivery(2, 1), null);
  assert.match(explainDelivery(0, 1)!, /MIN\(publish 0, subscription 1\) = 0/);
});

test('a SUBACK granting less than asked is called out', () => {
  assert.equal(describeGrant({ topic: 'a', requested: 1, granted: 1 }), "subscribed to 'a': asked for QoS 1, broker granted QoS 1");
  assert.match(describeGrant({ topic: 'a', requested: 2, granted: 1 }), /granted QoS 1; messages will arrive at QoS 1 at most/);
  assert.match(describeGrant({ topic: 'a', requested: 2, granted: 0x80 }), /refused by the broker: 0x80 unspecified error/);
});
