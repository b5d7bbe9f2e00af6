"""Secrets in the output: every module, the lookup and the migrate role run at -vvvv with --diff (see
playbooks/secrets.yml) with known secret values in credentials, in secrets/, pki/, backups/ and Vault key
store entries, and in tasks that fail; the whole output and every module's log lines (the journal, through
the stand-in in journal/) are scanned for them. The last task reveals one on purpose: the scan must find
it there, which shows it can find a leak."""

import base64
import json
import os
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
    journal = tmp_path / 'journal.jsonl'
    environment = dict(S3_ENDPOINT=moto_server.endpoint, S3_ACCESS_KEY_ID='testing',
                       S3_SECRET_ACCESS_KEY=secrets['S3 secret key'], KOPS_TEST_JOURNAL=str(journal),
                       PYTHONPATH=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'journal'))
    result = run_playbook('tests/reliability/playbooks/secrets.yml', extra_vars, args=['-vvvv', '--diff'],
                          env=environment)
    assert result.rc == 0, result
    assert MARKER in result.output
    before, revealed = result.output.split(MARKER, 1)
    logged = [json.loads(line) for line in journal.read_text().splitlines()]
    invocations = [entry['MESSAGE'] for entry in logged if 'Invoked with' in entry['MESSAGE']]
    assert len(invocations) >= result.output.count('TASK [') // 2  # every module run logged its invocation
    log_before = '\n'.join(invocations[:-1])  # the last one is the REVEAL task's
    forms = dict((name, (value, base64.b64encode(value.encode()).decode())) for name, value in secrets.items())
    leaks = dict((name, sum(text.count(form) for form in values for text in (before, log_before)))
                 for name, values in forms.items())
    FIGURES.add(operations=result.output.count('TASK ['), leaks_found=sum(leaks.values()),
                log_lines_scanned=len(logged))
    for name, values in forms.items():
        FIGURES.row('Secrets in -vvvv --diff output and module log lines (entry, entry_info, cluster, '
                    'cluster_info, sync, lookup, migrate role; failing tasks too)', ['secret', 'leaks while hidden', 'shown once revealed on purpose'],
                    [name, leaks[name], ('yes' if values[0] in revealed else 'no') if name == 'entry content'
                     else 'n/a: credentials are never shown'])
    assert leaks == dict((name, 0) for name in secrets)
    assert forms['entry content'][0] in revealed  # the scan finds a secret where one is shown


def test_keyset_info_never_shows_private_keys(run_playbook, moto_server, tmp_path):
    """keyset_info reads entries that hold the CAs' private keys (real ones, made with cryptography): its output at
    -vvvv --diff and its module log lines hold no form of them - readable keysets, broken ones (YAML that does not
    parse, a private key where the certificate belongs) and failing tasks included."""
    import boto3

    from support.kops_material import KeyStoreLayout, b64, cluster_config, leaked_private_material

    bucket, cluster = 'keysets-%s' % uuid.uuid4().hex[:8], 'c1.example.com'
    client = boto3.client('s3', endpoint_url=moto_server.endpoint, region_name='us-east-1',
                          aws_access_key_id='testing', aws_secret_access_key='testing')
    client.create_bucket(Bucket=bucket)
    layout = KeyStoreLayout()
    entries = dict(layout.entries())
    swapped = layout.private_pems[0]
    entries['private/not-pem/keyset.yaml'] = layout.keysets['etcd-clients-ca'].replace(
        b64(layout.cas['etcd'].certificate_pem).encode(), b64(swapped).encode())
    entries['private/not-yaml/keyset.yaml'] = layout.keysets['kubernetes-ca'] + b'  - id: [unclosed\n'
    client.put_object(Bucket=bucket, Key='state/%s/config' % cluster,
                      Body=cluster_config(cluster, 's3://%s/state/%s' % (bucket, cluster)))
    for path, data in entries.items():
        client.put_object(Bucket=bucket, Key='state/%s/pki/%s' % (cluster, path), Body=data)
    journal = tmp_path / 'journal.jsonl'
    result = run_playbook('tests/reliability/playbooks/secrets_keyset_info.yml',
                          dict(s3_store='s3://%s/state' % bucket, s3_endpoint=moto_server.endpoint, cluster=cluster),
                          args=['-vvvv', '--diff'],
                          env=dict(KOPS_TEST_JOURNAL=str(journal),
                                   PYTHONPATH=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'journal')))
    assert result.rc == 0, result
    before, revealed = result.output.split(MARKER, 1)
    logged = [line for line in journal.read_text().splitlines() if 'keyset_info' in line]
    assert sum('Invoked with' in line for line in logged) == 3  # every keyset_info run logged its invocation
    leaks = leaked_private_material(before + '\n'.join(logged), layout.private_pems)
    FIGURES.row('Private keys in keyset_info\'s -vvvv --diff output and module log lines (readable and broken '
                'keysets, failing tasks)', ['private keys read', 'forms searched', 'leaks'],
                [len(layout.private_pems), 'each PEM line, any 35 characters of kOps\'s base64', len(leaks)])
    assert leaks == []
    assert leaked_private_material(revealed, layout.private_pems) != []  # the scan finds a key where one is shown
