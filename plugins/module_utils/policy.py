# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""IAM-style policy documents (S3 bucket policies): semantic comparison and merging by Sid.

Two policies are equal when they grant the same thing: the order of statements, actions, principals,
resources and condition values does not matter, a single string equals a one-item list, action names
and condition key names are case-insensitive, condition values compare as IAM compares them (as text:
``false`` equals ``"false"``, ``3`` equals ``"3"``), and an account id principal equals that account's
root ARN (AWS stores it so).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

DEFAULT_VERSION = '2012-10-17'

# IAM action names are case-insensitive.
_CASE_INSENSITIVE = ('Action', 'NotAction')
_ACCOUNT_ID = re.compile(r'^\d{12}$')


class PolicyError(ValueError):
    """A policy document or statement that cannot be used."""


def _canonical_principal(key, value):
    if key == 'AWS' and _ACCOUNT_ID.match(value):
        return 'arn:aws:iam::%s:root' % value
    return value


def _condition_value(value):
    """IAM evaluates condition values as text: a JSON boolean or number means its JSON spelling."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return value


def _canonical_condition(condition):
    return dict(
        (operator, dict((name.lower(), _canonical_set([_condition_value(item) for item in _as_list(values)]))
                        for name, values in block.items()))
        for operator, block in condition.items())


def _canonical(value, key=None):
    """A form where equal policies are equal values: dicts keep their keys, every list (and every
    string that could be a list) becomes a sorted tuple without duplicates."""
    if key in ('Version', 'Id', 'Sid', 'Effect'):
        return value
    if key == 'Condition':
        return _canonical_condition(value)
    if key in ('Principal', 'NotPrincipal'):
        value = {'AWS': '*'} if value == '*' else value
        return dict((k, _canonical_set([_canonical_principal(k, v) for v in _as_list(value[k])])) for k in value)
    if isinstance(value, dict):
        return dict((k, _canonical(v, k)) for k, v in value.items())
    if key in _CASE_INSENSITIVE:
        return _canonical_set([item.lower() for item in _as_list(value)])
    if key is None:
        return value
    # Statement, Resource, NotResource: one item or a list, order irrelevant
    return _canonical_set([_canonical(item) for item in _as_list(value)])


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _canonical_set(items):
    unique = dict((json.dumps(item, sort_keys=True), item) for item in items)
    return tuple(unique[k] for k in sorted(unique))


def policies_equal(first, second):
    """True when two policies (dicts, or None for no policy) grant the same thing."""
    if first is None or second is None:
        return first is second
    return _canonical(first) == _canonical(second)


def statements_equal(first, second):
    return _canonical(first) == _canonical(second)


def parse_policy(text):
    """The policy dict of a JSON document; statements always as a list."""
    try:
        policy = json.loads(text)
    except ValueError as exc:
        raise PolicyError('the policy is not valid JSON: %s' % exc)
    if not isinstance(policy, dict):
        raise PolicyError('the policy must be a JSON object')
    policy['Statement'] = _as_list(policy.get('Statement', []))
    return policy


def dump_policy(policy):
    """Stable, readable JSON (for diffs and the S3 API)."""
    return json.dumps(policy, indent=2, sort_keys=True)


def validate_statement(statement, index, require_sid=True):
    """Raise PolicyError unless ``statement`` has the elements a bucket policy statement needs."""
    where = 'statement %d' % (index + 1)
    if not isinstance(statement, dict):
        raise PolicyError('%s must be a dictionary' % where)
    if statement.get('Sid'):
        where = "statement '%s'" % statement['Sid']
    elif require_sid:
        raise PolicyError('%s has no Sid; statements are added, updated and removed by Sid' % where)
    if statement.get('Effect') not in ('Allow', 'Deny'):
        raise PolicyError('%s: Effect must be Allow or Deny' % where)
    for pair in (('Action', 'NotAction'), ('Resource', 'NotResource'), ('Principal', 'NotPrincipal')):
        if sum(1 for name in pair if statement.get(name)) != 1:
            raise PolicyError('%s needs exactly one of %s' % (where, ' or '.join(pair)))
    principal = statement.get('Principal') or statement.get('NotPrincipal')
    if principal != '*' and not isinstance(principal, dict):
        raise PolicyError('%s: a principal is "*" or a dictionary such as {"AWS": [ARN, ...]}' % where)
    condition = statement.get('Condition', {})
    if not isinstance(condition, dict) or not all(isinstance(block, dict) for block in condition.values()):
        raise PolicyError('%s: Condition is a dictionary of operators, each a dictionary of condition keys and '
                          'values, such as {"Bool": {"aws:SecureTransport": "false"}}' % where)


class Merge(object):
    """Outcome of merging statements into a policy: ``after`` is None when no policy is left."""

    __slots__ = ('after', 'added', 'updated', 'removed')

    def __init__(self, after, added, updated, removed):
        self.after = after
        self.added = added
        self.updated = updated
        self.removed = removed


def merge_statements(current, statements, present=True, purge=False):
    """Policy that results from applying ``statements`` to ``current`` (a policy dict or None).

    present: add or replace the statements with the same Sid, keep every other statement; with
    purge, the policy becomes exactly ``statements``. absent: remove the statements with the given
    Sids (only Sid is read); with purge, remove the whole policy. A policy left without statements
    is None (S3 refuses an empty one)."""
    for index, statement in enumerate(statements):
        if present:
            validate_statement(statement, index, require_sid=not purge)
        elif not isinstance(statement, dict) or not statement.get('Sid'):
            raise PolicyError('statement %d has no Sid; statements are removed by Sid' % (index + 1))
    sids = [statement['Sid'] for statement in statements if statement.get('Sid')]
    duplicates = sorted(set(sid for sid in sids if sids.count(sid) > 1))
    if duplicates:
        raise PolicyError('Sid %s is given more than once' % ', '.join(duplicates))

    base = dict(current or {'Version': DEFAULT_VERSION})
    existing = list(base.get('Statement', []))
    by_sid = dict((statement.get('Sid'), statement) for statement in existing if statement.get('Sid'))
    if not present:
        if purge:
            return Merge(None, [], [], sorted(sid for sid in by_sid))
        removed = [sid for sid in sids if sid in by_sid]
        kept = [statement for statement in existing if statement.get('Sid') not in removed]
        return Merge(_with_statements(base, kept), [], [], removed)

    added = [sid for sid in sids if sid not in by_sid]
    updated = [sid for sid in sids if sid in by_sid and not statements_equal(by_sid[sid], _by_sid(statements, sid))]
    if purge:
        wanted = set(sids)
        removed = sorted(sid for sid in by_sid if sid not in wanted)
        if any(not statement.get('Sid') for statement in existing):
            removed.append('(statements without Sid)')
        return Merge(_with_statements(base, list(statements)), added, updated, removed)
    merged = [_by_sid(statements, statement.get('Sid')) or statement for statement in existing]
    merged += [statement for statement in statements if statement['Sid'] in added]
    return Merge(_with_statements(base, merged), added, updated, [])


def _by_sid(statements, sid):
    for statement in statements:
        if sid and statement.get('Sid') == sid:
            return statement
    return None


def _with_statements(base, statements):
    if not statements:
        return None
    policy = dict(base)
    policy['Statement'] = statements
    return policy
