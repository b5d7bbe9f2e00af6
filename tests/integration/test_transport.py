"""Credentials never travel in clear without a warning: http:// endpoints (S3, Vault ?tls=false, a plain-HTTP
Vault URL) warn in the task result, failed tasks included, and in the lookup; HTTPS does not; a scheme-less OSS
endpoint means HTTPS, as in kOps (oss2 alone would use plain HTTP)."""

import json
import uuid

import boto3

from servers.moto import clean_aws_environment
from servers.openbao import clean_vault_environment


def test_plain_http_is_warned_and_oss_uses_https(run_playbook, moto_server, openbao_server,
                                                 openbao_tls_server, oss_server, tmp_path):
    bucket = 'transport-%s' % uuid.uuid4().hex[:8]
    s3 = boto3.client('s3', endpoint_url=moto_server.endpoint, region_name='us-east-1',
                      aws_access_key_id='testing', aws_secret_access_key='testing')
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key='c1/config', Body=b'kind: Cluster\n')
    oss_bucket = oss_server.create_bucket()
    for server in (openbao_server, openbao_tls_server):
        server.client().secrets.kv.v2.create_or_update_secret('c1/secrets/x', {'file': 'eA=='}, mount_point='secret')
    run = run_playbook('tests/integration/playbooks/transport_warnings.yml', dict(
        s3_location='s3://%s/c1/config' % bucket,
        vault_plain='vault://127.0.0.1:%d/secret/c1/secrets/x?tls=false' % openbao_server.port,
        vault_tls='vault://127.0.0.1:%d/secret/c1/secrets/x' % openbao_tls_server.port,
        vault_ca=openbao_tls_server.ca_cert, vault_url=openbao_server.address, vault_token=openbao_server.root_token,
        oss_location='oss://%s/c1/config' % oss_bucket, oss_endpoint=oss_server.endpoint.split('://', 1)[1],
        result_file=str(tmp_path / 'results.json'),
    ), env=clean_vault_environment(**clean_aws_environment(
        S3_ENDPOINT=moto_server.endpoint, S3_ACCESS_KEY_ID='testing', S3_SECRET_ACCESS_KEY='testing',
        ALIYUN_ACCESS_KEY_ID=oss_server.key_id, ALIYUN_ACCESS_KEY_SECRET=oss_server.secret)))
    assert run.rc == 0, run
    results = json.loads((tmp_path / 'results.json').read_text())
    plain = 'plain HTTP, without TLS'

    def warnings(name):
        return ' '.join(results[name].get('warnings', []))

    s3_host = 'http://127.0.0.1:%d' % moto_server.port
    assert plain in warnings('s3_read') and s3_host in warnings('s3_read') and 'S3 requests' in warnings('s3_read')
    assert results['s3_failed']['failed'] and plain in warnings('s3_failed')
    assert plain in warnings('vault_plain') and 'Vault token' in warnings('vault_plain')
    assert plain in warnings('policy') and 'Vault token' in warnings('policy')
    assert warnings('vault_tls') == '' and results['vault_tls']['exists']
    # the OSS front speaks plain HTTP: a scheme-less endpoint must have been tried over TLS, and fail
    assert results["oss"]["failed"] and 'https://%s' % oss_server.endpoint.split('://', 1)[1] in results['oss']['msg']
    assert '[WARNING]: S3 requests signed with your access key' in ' '.join(run.output.split())
    # warnings name the host and port, never a credential
    assert 'testing' not in warnings('s3_read') + warnings('s3_failed')
    assert openbao_server.root_token not in run.output
