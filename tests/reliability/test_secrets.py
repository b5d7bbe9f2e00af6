"""Secrets in the output: every module, the lookup and the migrate role run at -vvvv with --diff (see
playbooks/secrets.yml) with known secret values in credentials and in secrets/ and pki/ entries; the
whole output is scanned for them. The last task reveals one on purpose: the scan must find it there,
which shows it can find a leak."""

import base64
import uuid

from reliability.summary import FIGURES

MARKER = 'TASK [REVEAL'


def test_no_secret_in_any_output(run_playbook, moto_server, openbao_server, vault_mount, tmp_path):
    import boto3

    bucket = 'secrets-%s' % uuid.uuid4().hex[:8]
    boto3.client('s3', endpoint_url=moto_server.endpoint, region_name='us-east-1', aws_access_key_id='testing',
                 aws_secret_access_key='testing').create_bucket(Bucket=bucket)
    vault_token = openbao_server.client().auth.token.create(policies=['root'], ttl='10m')['auth']['client_token']
    secrets = {
        'entry content': 'Entry-Secret-%s' % uuid.uuid4().hex,
        'S3 secret key': 'S3-Secret-%s' % uuid.uuid4().hex,
        'Vault token': vault_token,
    }
    extra_vars = dict(
        s3_store='s3://%s/state' % bucket, s3_endpoint=moto_server.endpoint, s3_secret=secrets['S3 secret key'],
        vault_store='vault://127.0.0.1:%d/%s/state' % (openbao_server.port, vault_mount),
        vault_token=vault_token, secret=secrets['entry content'],
        src='file://%s' % (tmp_path / 'src'), dest='file://%s' % (tmp_path / 'dest'))
    environment = dict(S3_ENDPOINT=moto_server.endpoint, S3_ACCESS_KEY_ID='testing',
                       S3_SECRET_ACCESS_KEY=secrets['S3 secret key'])
    result = run_playbook('tests/reliability/playbooks/secrets.yml', extra_vars, args=['-vvvv', '--diff'],
                          env=environment)
    assert result.rc == 0, result
    assert MARKER in result.output
    before, revealed = result.output.split(MARKER, 1)
    forms = dict((name, (value, base64.b64encode(value.encode()).decode())) for name, value in secrets.items())
    leaks = dict((name, sum(before.count(form) for form in values)) for name, values in forms.items())
    FIGURES.add(operations=result.output.count('TASK ['), leaks_found=sum(leaks.values()))
    for name, values in forms.items():
        FIGURES.row('Secrets in -vvvv --diff output (entry, entry_info, cluster, cluster_info, sync, lookup, '
                    'migrate role)', ['secret', 'leaks while hidden', 'shown once revealed on purpose'],
                    [name, leaks[name], ('yes' if values[0] in revealed else 'no') if name == 'entry content'
                     else 'n/a: credentials are never shown'])
    assert leaks == dict((name, 0) for name in secrets)
    assert forms['entry content'][0] in revealed  # the scan finds a secret where one is shown
