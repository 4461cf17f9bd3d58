import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topicFilterProblem, topicNameProblem } from '../../src/mqtt/topic';

test('publish topics: no wildcards, not empty, no NUL, at most 65,535 bytes', () => {
  assert.equal(topicNameProblem('home/sample_topic'), null);
  assert.match(topicNameProblem('home/+')!, /wildcards/);
  assert.match(topicNameProblem('home/#')!, /wildcards/);
  assert.match(topicNameProblem('')!, /empty/);
  assert.match(topicNameProblem('a\u0000b')!, /NUL/);
  assert.match(topicNameProblem('é'.repeat(40000))!, /at most 65535 bytes, this one is 80000/);
});

test('subscribe filters: wildcards only as whole levels, # last', () => {
  for (const ok of ['#', 'home/#', 'home/+/t', '+', '+/+']) assert.equal(topicFilterProblem(ok), null, ok);
  assert.match(topicFilterProblem('home/#/t')!, /'#' must be a whole level and the last one/);
  assert.match(topicFilterProblem('home#')!, /'#'/);
  assert.match(topicFilterProblem('home/a+')!, /'\+' must be a whole level/);
});
