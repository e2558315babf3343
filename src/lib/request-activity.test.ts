import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RequestActivity } from './request-activity.ts';

test('a probe sees requests in flight and requests that came and went since its last call', () => {
  const activity = new RequestActivity();
  const probe = activity.probe();
  assert.equal(probe(), false);
  const end = activity.begin();
  assert.equal(probe(), true);
  assert.equal(probe(), true, 'still in flight');
  end();
  end(); // a second end (finish, then close) counts once
  assert.equal(probe(), false);
  activity.begin()();
  assert.equal(probe(), true, 'a short request between two calls');
  assert.equal(probe(), false);
  // Each consumer has its own view.
  const other = activity.probe();
  assert.equal(other(), false);
});
