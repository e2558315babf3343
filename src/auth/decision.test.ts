import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AccessFacts, decide } from './decision.ts';
import { ANONYMOUS, type Principal } from './principal.ts';

const facts = (over: Partial<AccessFacts> = {}): AccessFacts => ({ enabled: true, pkg: { visibility: 'private' }, orgRole: null, grants: [], ...over });
const user = (name: string, over: Partial<Principal> = {}): Principal => ({ kind: 'user', name, admin: false, ...over });
const all = ['pull', 'push', 'delete'] as const;

describe('the access decision', () => {
  test('roles: owner, org owner and member, grants, visibility, and what each may do', () => {
    assert.deepEqual([...decide(user('alice'), 'alice/web', facts()).actions], [...all]);
    assert.deepEqual([...decide(user('olivia'), 'acme/web', facts({ orgRole: 'owner' })).actions], [...all]);
    assert.equal(decide(user('max'), 'acme/new', facts({ pkg: null, orgRole: 'member' })).role, 'write', 'members create packages');
    assert.equal(decide(user('max'), 'acme/web', facts({ orgRole: 'member' })).role, null, 'an existing package needs a grant');
    assert.equal(decide(user('max'), 'acme/web', facts({ orgRole: 'member', grants: ['read', 'write'] })).role, 'write');
    assert.equal(decide(user('sam'), 'acme/web', facts({ pkg: { visibility: 'internal' } })).role, 'read');
    assert.equal(decide(ANONYMOUS, 'acme/web', facts({ pkg: { visibility: 'internal' } })).role, null, 'internal is for signed-in users');
    assert.equal(decide(ANONYMOUS, 'acme/web', facts({ pkg: { visibility: 'public' } })).role, 'read');
    assert.deepEqual([...decide(ANONYMOUS, 'acme/web', facts({ enabled: false })).actions], [...all], 'auth off');
  });

  test('a refusal names the missing role, and reads the same for a private and a missing package', () => {
    const sam = user('sam');
    assert.equal(decide(sam, 'alice/secret', facts()).why(['pull']), 'sam has no access to alice/secret (pull needs read)');
    assert.equal(decide(sam, 'alice/secret', facts({ pkg: null })).why(['pull']), 'sam has no access to alice/secret (pull needs read)');
    assert.equal(decide(sam, 'alice/web', facts({ pkg: { visibility: 'public' } })).why(['push']), 'sam has read access to alice/web; push needs write');
    const max = decide(user('max'), 'acme/web', facts({ orgRole: 'member', grants: ['write'] }));
    assert.equal(max.why(['delete']), 'max has write access to acme/web; delete needs admin');
    assert.equal(decide(ANONYMOUS, 'acme/web', facts({ pkg: { visibility: 'public' } })).why(['push']), 'an anonymous caller has read access to acme/web; push needs write');
  });

  test('the credential narrows the role, and the refusal says which limit', () => {
    const readOnly = user('alice', { token: { id: 't1', actions: new Set(['pull']), owners: null, packages: null } });
    const d = decide(readOnly, 'alice/web', facts());
    assert.deepEqual([...d.actions], ['pull']);
    assert.equal(d.why(['push']), 'the token does not allow push (it allows pull)');
    const limited = user('alice', { token: { id: 't2', actions: new Set(['pull', 'push']), owners: null, packages: ['alice/api'] } });
    const l = decide(limited, 'alice/web', facts());
    assert.equal(l.actions.size, 0);
    assert.equal(l.why(['pull']), 'the token is limited to alice/api');
    const ci: Principal = { kind: 'ci', name: 'ci:https://token.actions.example#repo:acme/web', admin: false, ci: [{ owner: 'acme', repo: 'acme/web', role: 'read' }] };
    assert.equal(decide(ci, 'acme/web', facts()).why(['push']), 'CI identity ci:https://token.actions.example#repo:acme/web has read access to acme/web; push needs write');
    assert.equal(decide(ci, 'acme/api', facts()).role, null, 'a trust for one package only');
  });
});
