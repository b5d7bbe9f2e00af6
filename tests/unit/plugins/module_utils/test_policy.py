import copy

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.policy import (
    PolicyError,
    dump_policy,
    merge_statements,
    parse_policy,
    policies_equal,
)

BUCKET = 'arn:aws:s3:::state'


def allow(sid, actions, resources, principal='arn:aws:iam::111111111111:root'):
    return dict(Sid=sid, Effect='Allow', Principal={'AWS': principal}, Action=actions, Resource=resources)


def policy(*statements):
    return {'Version': '2012-10-17', 'Statement': list(statements)}


SEED = policy(allow('123', ['s3:*'], [BUCKET, BUCKET + '/*'], ['arn:aws:iam::111111111111:root']))


@pytest.mark.parametrize('other', [
    # statement order
    policy(allow('b', 's3:GetObject', BUCKET + '/*'), SEED['Statement'][0]),
    # action, resource and principal order; string equals one-item list
    policy(SEED['Statement'][0], allow('b', ['s3:GetObject'], [BUCKET + '/*'], ['arn:aws:iam::111111111111:root'])),
    # action names are case-insensitive; duplicates do not count
    policy(SEED['Statement'][0], allow('b', ['S3:getobject', 's3:GetObject'], BUCKET + '/*')),
    # an account id principal is stored by AWS as the account's root ARN
    policy(SEED['Statement'][0], allow('b', 's3:GetObject', BUCKET + '/*', '111111111111')),
])
def test_equal_policies(other):
    mine = policy(SEED['Statement'][0], allow('b', 's3:GetObject', BUCKET + '/*'))
    assert policies_equal(mine, other)
    assert policies_equal(other, mine)


def test_reordered_lists_inside_a_statement():
    one = allow('a', ['s3:GetObject', 's3:PutObject'], [BUCKET, BUCKET + '/*'], ['arn:aws:iam::1:user/x', '*'])
    two = allow('a', ['s3:PutObject', 's3:GetObject'], [BUCKET + '/*', BUCKET], ['*', 'arn:aws:iam::1:user/x'])
    assert policies_equal(policy(one), policy(two))


def test_condition_values_compared_as_sets():
    one = dict(SEED['Statement'][0], Condition={'StringEquals': {'s3:x-amz-acl': ['a', 'b']}})
    two = dict(SEED['Statement'][0], Condition={'StringEquals': {'s3:x-amz-acl': ['b', 'a']}})
    three = dict(SEED['Statement'][0], Condition={'StringEquals': {'s3:x-amz-acl': ['a']}})
    assert policies_equal(policy(one), policy(two))
    assert not policies_equal(policy(one), policy(three))


def _with_condition(condition):
    return policy(dict(SEED['Statement'][0], Condition=condition))


@pytest.mark.parametrize('mine, stored', [
    # YAML's unquoted false is a JSON boolean; S3 may give the policy back with the text "false"
    ({'Bool': {'aws:SecureTransport': False}}, {'Bool': {'aws:SecureTransport': 'false'}}),
    ({'Bool': {'aws:SecureTransport': [True]}}, {'Bool': {'aws:SecureTransport': 'true'}}),
    ({'NumericLessThan': {'s3:max-keys': 10}}, {'NumericLessThan': {'s3:max-keys': '10'}}),
    # condition key names are case-insensitive in IAM
    ({'StringEquals': {'S3:X-Amz-Acl': 'bucket-owner-full-control'}},
     {'StringEquals': {'s3:x-amz-acl': ['bucket-owner-full-control']}}),
])
def test_condition_values_compared_as_iam_does(mine, stored):
    assert policies_equal(_with_condition(mine), _with_condition(stored))
    merge = merge_statements(_with_condition(stored), _with_condition(mine)['Statement'])
    assert merge.updated == []


@pytest.mark.parametrize('mine, stored', [
    ({'Bool': {'aws:SecureTransport': False}}, {'Bool': {'aws:SecureTransport': 'true'}}),
    ({'Bool': {'aws:SecureTransport': False}}, {'Bool': {'aws:SecureTransport': 'False'}}),  # values keep their case
    ({'NumericLessThan': {'s3:max-keys': 10}}, {'NumericLessThan': {'s3:max-keys': '11'}}),
    ({'StringEquals': {'s3:x-amz-acl': 'private'}}, {'StringLike': {'s3:x-amz-acl': 'private'}}),
])
def test_different_conditions(mine, stored):
    assert not policies_equal(_with_condition(mine), _with_condition(stored))


@pytest.mark.parametrize('condition', ['aws:SecureTransport', {'Bool': 'false'}, {'Bool': ['x']}])
def test_malformed_condition(condition):
    with pytest.raises(PolicyError, match="statement 'a': Condition is a dictionary of operators"):
        merge_statements(None, [dict(allow('a', 's3:*', BUCKET), Condition=condition)])


@pytest.mark.parametrize('change', [
    dict(Effect='Deny'),
    dict(Action=['s3:*', 's3:GetObject']),
    dict(Resource=[BUCKET]),
    dict(Principal={'AWS': 'arn:aws:iam::222222222222:root'}),
    dict(Sid='other'),
])
def test_different_policies(change):
    other = copy.deepcopy(SEED)
    other['Statement'][0].update(change)
    assert not policies_equal(SEED, other)


def test_no_policy():
    assert policies_equal(None, None)
    assert not policies_equal(None, SEED)
    assert not policies_equal(SEED, None)


def test_parse_single_statement_object_and_errors():
    parsed = parse_policy('{"Version": "2012-10-17", "Statement": %s}' % dump_policy(SEED['Statement'][0]))
    assert parsed['Statement'] == SEED['Statement']
    with pytest.raises(PolicyError, match='not valid JSON'):
        parse_policy('{"Statement": [')
    with pytest.raises(PolicyError, match='JSON object'):
        parse_policy('[]')


def test_add_update_keep_others():
    other = allow('other', 's3:GetObject', BUCKET + '/x/*', 'arn:aws:iam::333333333333:root')
    current = policy(other, allow('mine', 's3:GetObject', BUCKET + '/*'))
    new_mine = allow('mine', ['s3:GetObject', 's3:PutObject'], BUCKET + '/*')
    extra = allow('extra', 's3:ListBucket', BUCKET)
    merge = merge_statements(current, [new_mine, extra])
    assert merge.after['Statement'] == [other, new_mine, extra]
    assert (merge.added, merge.updated, merge.removed) == (['extra'], ['mine'], [])
    assert current['Statement'][1]['Action'] == 's3:GetObject'  # input left untouched


def test_same_statements_in_another_form_are_no_update():
    current = policy(allow('mine', ['s3:GetObject', 's3:PutObject'], BUCKET + '/*'))
    merge = merge_statements(current, [allow('mine', ['s3:putobject', 's3:GetObject'], [BUCKET + '/*'])])
    assert merge.updated == [] and merge.added == []
    assert policies_equal(merge.after, current)


def test_purge_replaces_everything():
    current = policy(allow('a', 's3:GetObject', BUCKET + '/*'), dict(allow('x', 's3:*', BUCKET), Sid=None))
    wanted = allow('b', 's3:ListBucket', BUCKET)
    merge = merge_statements(current, [wanted], purge=True)
    assert merge.after['Statement'] == [wanted]
    assert merge.removed == ['a', '(statements without Sid)']


def test_remove_by_sid_and_last_statement_removes_policy():
    current = policy(allow('a', 's3:GetObject', BUCKET + '/*'), allow('b', 's3:ListBucket', BUCKET))
    merge = merge_statements(current, [{'Sid': 'a'}, {'Sid': 'missing'}], present=False)
    assert merge.after['Statement'] == [current['Statement'][1]] and merge.removed == ['a']
    merge = merge_statements(merge.after, [{'Sid': 'b'}], present=False)
    assert merge.after is None and merge.removed == ['b']
    assert merge_statements(current, [], present=False, purge=True).after is None


def test_new_policy_gets_a_version():
    merge = merge_statements(None, [allow('a', 's3:GetObject', BUCKET + '/*')])
    assert merge.after['Version'] == '2012-10-17'


@pytest.mark.parametrize('statements, message', [
    ([allow(None, 's3:*', BUCKET)], 'no Sid'),
    ([dict(allow('a', 's3:*', BUCKET), Effect='allow')], 'Effect must be Allow or Deny'),
    ([dict(allow('a', 's3:*', BUCKET), NotAction='s3:GetObject')], 'exactly one of Action or NotAction'),
    ([dict(allow('a', 's3:*', BUCKET), Resource=None)], 'exactly one of Resource or NotResource'),
    ([dict(allow('a', 's3:*', BUCKET), Principal=None)], 'exactly one of Principal or NotPrincipal'),
    ([allow('a', 's3:*', BUCKET), allow('a', 's3:GetObject', BUCKET)], 'Sid a is given more than once'),
    (['s3:*'], 'must be a dictionary'),
])
def test_malformed_statements(statements, message):
    with pytest.raises(PolicyError, match=message):
        merge_statements(None, statements)


def test_remove_needs_sid():
    with pytest.raises(PolicyError, match='removed by Sid'):
        merge_statements(SEED, [{'Effect': 'Allow'}], present=False)


def test_principal_must_be_star_or_dict():
    with pytest.raises(PolicyError, match='a principal is'):
        merge_statements(None, [dict(allow('a', 's3:*', BUCKET), Principal='arn:aws:iam::1:root')])
    merge_statements(None, [dict(allow('a', 's3:*', BUCKET), Principal='*')])
