"""The bucket_policy module through ansible-playbook on the moto server: another tool writing the same bucket
policy at the same time (tests/servers/s3_policy_race.py writes it right after the module read it, or right
after the module wrote it), and condition values the way S3 may give them back."""

import json
import uuid

import pytest

from servers.moto import clean_aws_environment

PLAYBOOK = 'tests/integration/playbooks/bucket_policy_task.yml'


def _statement(sid, bucket, account='111111111111', **extra):
    return dict(dict(Sid=sid, Effect='Allow', Principal={'AWS': 'arn:aws:iam::%s:root' % account},
                     Action=['s3:GetObject'], Resource=['arn:aws:s3:::%s/*' % bucket]), **extra)


def _policy(*statements):
    return {'Version': '2012-10-17', 'Statement': list(statements)}


def _sids(admin, bucket):
    return sorted(statement['Sid'] for statement in json.loads(admin.get_bucket_policy(Bucket=bucket)['Policy'])['Statement'])


@pytest.fixture
def race(s3_policy_race):
    return s3_policy_race


@pytest.fixture
def bucket(race):
    name = 'policy-%s' % uuid.uuid4().hex[:12]
    race.admin.create_bucket(Bucket=name)
    return name


def _run(run_playbook, tmp_path, endpoint, bucket, statements, **variables):
    result_file = tmp_path / ('result-%s.json' % uuid.uuid4().hex[:6])
    run = run_playbook(PLAYBOOK, dict(variables, bucket=bucket, statements=statements, result_file=str(result_file)),
                       env=clean_aws_environment(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing',
                                                 AWS_REGION='us-east-1', AWS_ENDPOINT_URL=endpoint))
    assert run.rc == 0, run
    return json.loads(result_file.read_text())


def _add_to_policy(admin, bucket, statement):
    """What another tool's read-modify-write does: add one statement to the policy there now."""
    try:
        current = json.loads(admin.get_bucket_policy(Bucket=bucket)['Policy'])
    except admin.exceptions.ClientError:
        current = _policy()
    current['Statement'] = [s for s in current['Statement'] if s['Sid'] != statement['Sid']] + [statement]
    admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(current))


def test_statement_added_between_read_and_write_is_kept(race, bucket, run_playbook, tmp_path):
    race.admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(_policy(_statement('Existing', bucket))))
    written = []

    def other_tool(name):
        if not written:  # once: right after the module's first read, before it gets the answer
            written.append(name)
            _add_to_policy(race.admin, name, _statement('AddedMeanwhile', name, account='333333333333'))

    race.after_read = other_tool
    outcome = _run(run_playbook, tmp_path, race.endpoint, bucket, [_statement('Mine', bucket)])
    assert written == [bucket]
    assert not outcome.get('failed') and outcome['changed'] and outcome['added'] == ['Mine'], outcome
    assert _sids(race.admin, bucket) == ['AddedMeanwhile', 'Existing', 'Mine']
    assert [statement['Sid'] for statement in outcome['policy']['Statement']] == ['Existing', 'AddedMeanwhile', 'Mine']


def test_write_replaced_right_after_it_is_merged_again(race, bucket, run_playbook, tmp_path):
    """Another tool that read the policy before the module wrote it writes its own version right after: the
    module's statement would be gone; reading back shows it, and the module merges again."""
    stale = _policy(_statement('Existing', bucket), _statement('TheirOwn', bucket, account='333333333333'))

    def other_tool(name):
        if race.writes == 1:
            race.admin.put_bucket_policy(Bucket=name, Policy=json.dumps(stale))

    race.admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(_policy(_statement('Existing', bucket))))
    race.after_write = other_tool
    outcome = _run(run_playbook, tmp_path, race.endpoint, bucket, [_statement('Mine', bucket)])
    assert not outcome.get('failed') and outcome['changed'], outcome
    assert race.writes == 2
    assert _sids(race.admin, bucket) == ['Existing', 'Mine', 'TheirOwn']


def test_policy_that_keeps_changing_fails_without_dropping_statements(race, bucket, run_playbook, tmp_path):
    race.admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(_policy(_statement('Existing', bucket))))

    def other_tool(name):  # a new statement after every read
        _add_to_policy(race.admin, name, _statement('Busy%d' % race.reads, name, account='333333333333'))

    race.after_read = other_tool
    outcome = _run(run_playbook, tmp_path, race.endpoint, bucket, [_statement('Mine', bucket)])
    assert outcome.get('failed'), outcome
    assert outcome['msg'] == ('the policy of bucket %s was changed by someone else in each of 5 rounds of reading and '
                              'merging; nothing was written; run the task again when the other writer is done' % bucket)
    assert race.writes == 0
    assert _sids(race.admin, bucket) == sorted(['Existing'] + ['Busy%d' % n for n in range(1, 11)])


@pytest.mark.parametrize('written', [False, 'false'])
def test_boolean_condition_is_no_change_whatever_s3_gives_back(race, bucket, run_playbook, tmp_path, written):
    """An unquoted ``aws:SecureTransport: false`` is a JSON boolean; S3 may store and give back the text."""
    deny = dict(Sid='DenyInsecureTransport', Effect='Deny', Principal='*', Action='s3:*',
                Resource='arn:aws:s3:::%s/*' % bucket, Condition={'Bool': {'aws:SecureTransport': 'false'}})
    race.admin.put_bucket_policy(Bucket=bucket, Policy=json.dumps(_policy(deny)))
    mine = dict(deny, Condition={'Bool': {'aws:SecureTransport': written}})
    outcome = _run(run_playbook, tmp_path, race.endpoint, bucket, [mine])
    assert not outcome.get('failed') and not outcome['changed'] and outcome['updated'] == [], outcome
    assert race.writes == 0
