"""A stand-in for the kops binary, for the tests that run `kops update cluster --yes` through the migrate_state_store
role (tests/integration/test_migrate_state_store.py, test_documented_invocations.py): ``KOPS_STAND_IN % dict(python=...)``
is the script's text; ``install(folder)`` writes it as ``folder/kops``."""

import os
import sys

# A stand-in for the kops binary that does to the state store what `kops update cluster --name N --state S
# --yes` does (kOps 1.30), and nothing to any cloud. Like kOps, it finds the store from --state, else
# KOPS_STATE_STORE, and reaches S3 through the environment only: S3_ENDPOINT with S3_ACCESS_KEY_ID,
# S3_SECRET_ACCESS_KEY and S3_REGION (path style; do:// requires it), otherwise the AWS SDK's chain (AWS_*
# variables, AWS_ENDPOINT_URL). It reads the cluster from the store (config, instancegroup/*) and writes below
# the cluster's spec.configBase - not below the store it read - the entries kOps writes there:
# cluster-completed.spec (the cluster with configBase, keyStore and secretStore filled in),
# kops-version.txt, igconfig/<role>/<group>/nodeupconfig.yaml (the configBase nodes boot from), the bootstrap
# channel under addons/ and a manifest under manifests/. Entries already equal are not rewritten; it then
# prints "No changes need to be applied", as kOps does. Each call is appended to $KOPS_STAND_IN_LOG.
KOPS_STAND_IN = r"""#!%(python)s
import os
import sys
from urllib.parse import urlparse

import boto3
import yaml
from botocore.config import Config

VERSION = '1.30.4'
ROLES = {'Node': 'node', 'ControlPlane': 'control-plane', 'Master': 'control-plane', 'APIServer': 'apiserver',
         'Bastion': 'bastion'}


def fail(message):
    sys.stderr.write('Error: %%s\n' %% message)
    sys.exit(1)


def s3_client(scheme):
    endpoint = os.environ.get('S3_ENDPOINT')
    if endpoint:
        key, secret = os.environ.get('S3_ACCESS_KEY_ID'), os.environ.get('S3_SECRET_ACCESS_KEY')
        if not key or not secret:
            fail('S3_ACCESS_KEY_ID cannot be empty when S3_ENDPOINT is set')
        return boto3.client('s3', endpoint_url=endpoint if '://' in endpoint else 'https://' + endpoint,
                            aws_access_key_id=key, aws_secret_access_key=secret,
                            region_name=os.environ.get('S3_REGION') or 'us-east-1',
                            config=Config(s3={'addressing_style': 'path'}))
    if scheme != 's3':
        fail('%%s:// state stores require S3_ENDPOINT' %% scheme)
    return boto3.client('s3', region_name=os.environ.get('AWS_REGION') or 'us-east-1')


def split(location):
    parsed = urlparse(location)
    if parsed.scheme not in ('s3', 'do'):
        fail('this stand-in serves s3:// and do:// stores only, not %%s' %% location)
    return parsed.scheme, parsed.netloc, parsed.path.strip('/')


def key(prefix, *parts):
    return '/'.join(part for part in (prefix,) + parts if part)


def read(client, bucket, name):
    try:
        return client.get_object(Bucket=bucket, Key=name)['Body'].read()
    except client.exceptions.NoSuchKey:
        return None


def main(arguments):
    if arguments[:2] != ['update', 'cluster'] or '--yes' not in arguments:
        fail('this stand-in only runs "update cluster --name N --state S --yes"')
    options = dict(zip(arguments[2::2], arguments[3::2]))
    name = options.get('--name')
    store = (options.get('--state') or os.environ.get('KOPS_STATE_STORE') or '').rstrip('/')
    scheme, bucket, prefix = split(store)
    client = s3_client(scheme)
    config = read(client, bucket, key(prefix, name, 'config'))
    if config is None:
        fail('cluster "%%s" not found' %% name)
    cluster = yaml.safe_load(config)
    spec = cluster['spec']
    config_base = spec.get('configBase') or '%%s/%%s' %% (store, name)
    completed = dict(cluster, spec=dict(spec, configBase=config_base,
                                        keyStore=spec.get('keyStore') or config_base + '/pki',
                                        secretStore=spec.get('secretStore') or config_base + '/secrets'))
    written = {
        'cluster-completed.spec': yaml.safe_dump(completed),
        'kops-version.txt': VERSION,
        'addons/bootstrap-channel.yaml': yaml.safe_dump(dict(
            kind='Addons', metadata=dict(name='bootstrap'), spec=dict(addons=[dict(
                name='kops-controller.addons.k8s.io', manifest='kops-controller.addons.k8s.io/k8s-1.16.yaml')]))),
        'manifests/channels/kops-channels.yaml': 'channel: stable\nkopsVersion: %%s\n' %% VERSION,
    }
    listed = client.list_objects_v2(Bucket=bucket, Prefix=key(prefix, name, 'instancegroup') + '/').get('Contents', [])
    for item in listed:
        group = yaml.safe_load(read(client, bucket, item['Key']))
        group_name, role = group['metadata']['name'], group['spec']['role']
        written['igconfig/%%s/%%s/nodeupconfig.yaml' %% (ROLES[role], group_name)] = yaml.safe_dump(dict(
            configBase=config_base, instanceGroupName=group_name, instanceGroupRole=role,
            kubernetesVersion=spec.get('kubernetesVersion')))
    base_scheme, base_bucket, base_prefix = split(config_base)
    changed = False
    for path, text in sorted(written.items()):
        if read(client, base_bucket, key(base_prefix, path)) != text.encode():
            client.put_object(Bucket=base_bucket, Key=key(base_prefix, path), Body=text.encode(),
                              **({} if base_scheme == 'do' else {'ServerSideEncryption': 'AES256'}))
            changed = True
    if changed:
        print('kOps has set your kubectl context to %%s\n\nCluster changes have been applied to the cloud.\n\n'
              'Changes may require instances to restart: kops rolling-update cluster' %% name)
    else:
        print('No changes need to be applied')


with open(os.environ['KOPS_STAND_IN_LOG'], 'a') as log:
    log.write('%%s %%s\n' %% (os.environ.get('KOPS_STATE_STORE', ''), ' '.join(sys.argv[1:])))
main(sys.argv[1:])
"""


def install(folder):
    """``folder/kops``, executable, run by this Python; it appends each call to $KOPS_STAND_IN_LOG."""
    path = os.path.join(str(folder), 'kops')
    with open(path, 'w') as handle:
        handle.write(KOPS_STAND_IN % dict(python=sys.executable))
    os.chmod(path, 0o755)
    return path
