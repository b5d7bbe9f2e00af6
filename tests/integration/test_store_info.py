"""store_info through ansible-playbook on the test moto, the GCS emulator and file:// stores, against clusters laid out as
kOps and etcd-manager leave them (tests/support/store_health.py): exactly the findings the fleet holds and no others,
what the caller may not read as "not checked", nothing written, nothing secret shown, no snapshot, secret or Vault
address read; and the store's own settings checked one by one against what kOps and each provider recommend."""

import datetime
import http.server
import json
import os
import threading
import time

import pytest

from ansible_collections.kops.state_store.plugins.module_utils.kops import cluster as cl
from ansible_collections.kops.state_store.plugins.module_utils.lock import LOCK_FOLDER
from ansible_collections.kops.state_store.plugins.module_utils.registry import open_store
from ansible_collections.kops.state_store.plugins.module_utils.workflows.store_audit import audit_store
from servers.moto import admin_client, iam_user, object_versions
from support import store_health as sh

PLAYBOOK = 'tests/integration/playbooks/store_info.yml'
ALL_BLOCKED = dict(BlockPublicAcls=True, IgnorePublicAcls=True, BlockPublicPolicy=True, RestrictPublicBuckets=True)
# a bucket policy that makes reading any etcd snapshot or secret value fail: an audit that tried would report it
NO_SNAPSHOTS_OR_SECRETS = {'Version': '2012-10-17', 'Statement': [{
    'Sid': 'NeverRead', 'Effect': 'Deny', 'Principal': '*', 'Action': 's3:GetObject',
    'Resource': ['arn:aws:s3:::%(bucket)s/*/etcd.backup.gz', 'arn:aws:s3:::%(bucket)s/*/secrets/*']}]}


def findings(result):
    """(cluster or None, check, severity) of every finding, sorted."""
    return sorted(((finding['cluster'] or ''), finding['check'], finding['severity']) for finding in result['findings'])


def expected(store_findings):
    found = [('', check, severity) for check, severity in store_findings]
    found += [(name, check, severity) for name, listed in sh.CLUSTER_FINDINGS.items() for check, severity in listed]
    return sorted(found)


def audit(run_playbook, tmp_path, location, environment, **extra):
    result_file = tmp_path / 'audit.json'
    run = run_playbook(PLAYBOOK, dict(store=location, result_file=str(result_file), **extra), env=environment)
    assert run.rc == 0, run
    results = json.loads(result_file.read_text())
    assert not results['audit']['changed'] and not results['checked']['changed']
    assert findings(results['checked']) == findings(results['audit'])  # check mode is the same audit
    return run, results['audit'], result_file.read_text()


def assert_nothing_secret(text):
    """No secret value, no private key material and no etcd snapshot content in ``text``."""
    assert sh.SECRET_VALUES and sh.PRIVATE_PEMS
    assert sh.leaked(text) == []
    assert 'Backup-Secret' not in text and 'privateMaterial' not in text


def assert_fleet_facts(result):
    clusters = dict((cluster['name'], cluster) for cluster in result['clusters'])
    assert sorted(clusters) == sorted(sh.CLUSTER_FINDINGS)
    for name, cluster in clusters.items():
        assert cluster['not_checked'] == [], name
        assert cluster['applied'] and cluster['config_base'].endswith('/' + name)
        assert sorted((finding['check'], finding['severity']) for finding in cluster['findings']) == sorted(
            sh.CLUSTER_FINDINGS[name])
        assert cluster['severity'] == (max((severity for _check, severity in sh.CLUSTER_FINDINGS[name]),
                                           key=['info', 'low', 'medium', 'high', 'critical'].index)
                                       if sh.CLUSTER_FINDINGS[name] else None)
    assert clusters[sh.EXPIRED_CA]['ca_expiry']['keyset'] == 'kubernetes-ca'
    assert clusters[sh.EXPIRED_CA]['ca_expiry']['days_left'] < 0
    assert clusters[sh.FINE]['ca_expiry']['days_left'] >= 3649
    assert clusters[sh.STALE_BACKUP_CLUSTER]['etcd_backups']['main']['age_hours'] >= 72
    assert clusters[sh.FINE]['etcd_backups']['main']['age_hours'] < 24  # 20 minutes when laid out
    assert clusters[sh.INVALID_CONFIG]['validation_findings'] == 1
    assert [(item['etcd_cluster']) for item in clusters[sh.PENDING_RESTORE]['pending_restores']] == ['main']
    assert all(cluster['pending_restores'] == [] for name, cluster in clusters.items() if name != sh.PENDING_RESTORE)
    by_check = dict((finding['check'], finding) for finding in result['findings'])
    assert 'kops create keypair kubernetes-ca' in by_check['ca expiry']['fix']
    assert 'kubernetesVerison' in by_check['validation']['reason']
    assert 'state: absent' in by_check['etcd restore']['fix'] and sh.PENDING_RESTORE in by_check['etcd restore']['fix']


@pytest.fixture
def s3_fleet(aws_environment, s3_bucket, stores):
    """(location, backend, environment, bucket) of the health fleet in a bucket with Block Public Access and
    bucket-owner-enforced ownership, but neither versioning nor default encryption, whose policy denies every read of
    an etcd snapshot or a secret."""
    bucket = s3_bucket('health')
    client = admin_client(aws_environment['AWS_ENDPOINT_URL'])
    client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=ALL_BLOCKED)
    client.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=dict(Rules=[
        dict(ObjectOwnership='BucketOwnerEnforced')]))
    location = 's3://%s' % bucket
    backend = stores(location)
    sh.lay_out_health_fleet(backend)
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(NO_SNAPSHOTS_OR_SECRETS) % dict(bucket=bucket))
    return location, backend, aws_environment, bucket


def test_s3_fleet_reports_exactly_its_findings(run_playbook, tmp_path, s3_fleet):
    location, backend, environment, bucket = s3_fleet
    endpoint = environment['AWS_ENDPOINT_URL']
    before = object_versions(endpoint, bucket)
    run, result, text = audit(run_playbook, tmp_path, location, environment)
    assert findings(result) == expected([('versioning', 'high'), ('default encryption', 'medium')])
    assert result['store']['not_checked'] == []
    checks = dict((check['check'], check) for check in result['store']['checks'])
    assert checks['region'] == dict(check='region', status='ok', severity=None, reason=None, fix=None, value='us-east-1')
    assert checks['block public access']['status'] == checks['object ownership']['status'] == 'ok'
    assert checks['versioning']['fix'] == ('aws s3api put-bucket-versioning --bucket %s --endpoint-url %s '
                                           '--versioning-configuration Status=Enabled' % (bucket, endpoint))
    assert result['counts'] == dict(info=0, low=0, medium=2, high=3, critical=1) and result['severity'] == 'critical'
    assert_fleet_facts(result)
    assert object_versions(endpoint, bucket) == before  # nothing written, not even a probe
    assert_nothing_secret(run.output + text)


def test_gcs_fleet_reports_what_the_emulator_tells(run_playbook, tmp_path, gcs_server, gcs_environment):
    bucket = gcs_server.create_bucket('health')
    uniform = dict(uniformBucketLevelAccess=dict(enabled=True), publicAccessPrevention='enforced')
    gcs_server.patch_bucket(bucket, dict(iamConfiguration=uniform))
    location = 'gs://%s' % bucket
    backend = open_store(location)
    sh.lay_out_health_fleet(backend)
    before = gcs_server.object_names(bucket)
    run, result, text = audit(run_playbook, tmp_path, location, gcs_environment)
    assert gcs_server.object_names(bucket) == before  # nothing written
    assert findings(result) == expected([('versioning', 'high')])
    checks = dict((check['check'], (check['status'], check['value'])) for check in result['store']['checks'])
    assert checks == {'versioning': ('finding', None), 'uniform bucket-level access': ('ok', True),
                      'public access prevention': ('ok', 'enforced'), 'location': ('ok', 'US')}
    assert_fleet_facts(result)
    assert_nothing_secret(run.output + text)

    gcs_server.patch_bucket(bucket, dict(versioning=dict(enabled=True), iamConfiguration=dict(
        uniformBucketLevelAccess=dict(enabled=False), publicAccessPrevention='inherited')))
    checks = dict((check.name, check) for check in backend.store_checks(os.environ))
    assert (checks['versioning'].status, checks['uniform bucket-level access'].severity,
            checks['public access prevention'].severity) == ('ok', 'medium', 'high')
    assert checks['public access prevention'].fix == 'gcloud storage buckets update gs://%s --public-access-prevention' % bucket


@pytest.mark.parametrize('settings, acl, wanted', [
    (dict(ownership=None), None, ('object ownership', 'finding', 'medium')),
    (dict(ownership='ObjectWriter'), 'bucket-owner-full-control', ('object ownership', 'ok', None)),
    (dict(ownership='BucketOwnerEnforced'), 'bucket-owner-full-control', ('object ownership', 'ok', None)),
    (dict(ownership='BucketOwnerEnforced'), 'private', ('object ownership', 'finding', 'high')),
    (dict(ownership='BucketOwnerPreferred'), 'public-read', ('object ownership', 'finding', 'high')),
    (dict(versioning='Suspended'), None, ('versioning', 'finding', 'high')),
    (dict(versioning='Enabled'), None, ('versioning', 'ok', None)),
    (dict(encryption='AES256'), None, ('default encryption', 'ok', None)),
    (dict(encryption='aws:kms'), None, ('default encryption', 'ok', None)),
    (dict(blocks=dict(ALL_BLOCKED, BlockPublicPolicy=False)), None, ('block public access', 'finding', 'high')),
    (dict(blocks=None), None, ('block public access', 'finding', 'high')),
])
def test_s3_bucket_settings_one_by_one(aws_environment, s3_bucket, stores, settings, acl, wanted):
    bucket = s3_bucket('settings')
    client = admin_client(aws_environment['AWS_ENDPOINT_URL'])
    if settings.get('ownership'):
        client.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=dict(Rules=[
            dict(ObjectOwnership=settings['ownership'])]))
    if settings.get('versioning'):
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=dict(Status='Enabled'))
        if settings['versioning'] == 'Suspended':
            client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=dict(Status='Suspended'))
    if settings.get('encryption'):
        client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=dict(Rules=[dict(
            ApplyServerSideEncryptionByDefault=dict(SSEAlgorithm=settings['encryption']))]))
    if settings.get('blocks'):
        client.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=settings['blocks'])
    environ = dict(KOPS_STATE_S3_ACL=acl) if acl else {}
    checks = dict((check.name, check) for check in stores('s3://%s' % bucket).store_checks(environ))
    check = checks[wanted[0]]
    assert (check.name, check.status, check.severity) == wanted
    if check.status == 'finding':
        assert check.reason and check.fix.startswith(('aws s3api ', 'unset KOPS_STATE_S3_ACL'))
    if wanted[0] == 'versioning' and check.status == 'finding':
        assert check.reason.startswith('versioning is suspended')
    if wanted[0] == 'block public access' and settings['blocks']:
        assert 'off for BlockPublicPolicy:' in check.reason


def test_settings_the_caller_may_not_read_are_not_checked(authenticating, stores):
    """A principal allowed to list and read objects only: the bucket settings it may not read are "not checked",
    naming the permission, and the audit still runs. (moto authorizes GetBucketVersioning and GetBucketEncryption
    against IAM, not GetPublicAccessBlock or GetBucketOwnershipControls, which all go through the same code.)"""
    endpoint = authenticating.endpoint
    bucket = 'reader-%d' % int(time.time() * 1000)
    admin_client(endpoint).create_bucket(Bucket=bucket)
    key_id, secret = iam_user(endpoint, {'Version': '2012-10-17', 'Statement': [{
        'Effect': 'Allow', 'Action': ['s3:ListBucket', 's3:GetObject', 's3:GetBucketLocation'], 'Resource': '*'}]})
    settings = dict(endpoint_url=endpoint, access_key=key_id, secret_key=secret, region='us-east-1')
    admin = open_store('s3://%s' % bucket, dict(settings, access_key='testing', secret_key='testing'))
    sh.lay_out_applied(admin, sh.FINE, datetime.datetime.now(datetime.timezone.utc))
    authenticating.authentication(True)
    result = audit_store(open_store('s3://%s' % bucket, settings), settings, environ={})
    status = dict((check['check'], (check['status'], check['reason'])) for check in result['store']['checks'])
    for name, permission in (('versioning', 's3:GetBucketVersioning'),
                             ('default encryption', 's3:GetEncryptionConfiguration')):
        assert status[name] == ('not checked', 'the caller may not read it (needs %s)' % permission)
    assert status['region'][0] == 'ok'
    assert not [finding for finding in result['findings'] if finding['check'] in ('versioning', 'default encryption')]
    assert result['clusters'][0]['findings'] == [] and result['clusters'][0]['not_checked'] == []


class Spy(object):
    """An HTTP server on 127.0.0.1 that records every request (a Vault a config names, which must get none)."""

    def __init__(self):
        self.requests = []
        spy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the method name http.server calls)
                spy.requests.append((self.command, self.path, dict(self.headers)))
                self.send_response(404)
                self.end_headers()

            do_POST = do_PUT = do_LIST = do_GET

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_file_store_findings_locks_and_stores_named_by_the_config(run_playbook, tmp_path):
    """On a file:// store: "review only"; a config that does not parse; a configBase naming another store (its key,
    secret and backup stores then not opened); Vault key and secret stores named by the config, never contacted,
    with VAULT_TOKEN set; a stale lock entry and a live one."""
    location = 'file://%s' % (tmp_path / 'store')
    backend = open_store(location)
    now = datetime.datetime.now(datetime.timezone.utc)
    sh.lay_out_applied(backend, sh.FINE, now)
    sh.lay_out_applied(backend, 'locked.example.com', now)
    backend.write('broken.example.com/config', b'apiVersion: kops.k8s.io/v1alpha2\nkind: [Cluster\n')

    def old_store(cluster, groups):
        cluster['spec']['configBase'] = 's3://old-kops-state/moved.example.com'
    sh.lay_out_applied(backend, 'moved.example.com', now, change=old_store)
    spy = Spy()
    vault = 'vault://127.0.0.1:%d/kv/clusters/vault.example.com/%%s?tls=false' % spy.port

    def in_vault(cluster, groups):
        cluster['spec'].update(keyStore=vault % 'keys', secretStore=vault % 'secrets')
    sh.lay_out_applied(backend, 'vault.example.com', now, change=in_vault)
    stale = '%s/locked.example.com' % LOCK_FOLDER
    backend.write(stale, json.dumps(dict(owner='a' * 32, ttl=60, host='ci-runner-7', pid=4242)).encode())
    ten_minutes_ago = time.time() - 600
    os.utime(str(tmp_path / 'store' / LOCK_FOLDER / 'locked.example.com'), (ten_minutes_ago, ten_minutes_ago))
    backend.write('%s/%s' % (LOCK_FOLDER, sh.FINE), json.dumps(dict(owner='b' * 32, ttl=60)).encode())
    try:
        run, result, _text = audit(run_playbook, tmp_path, location, dict(VAULT_TOKEN='s.spy-must-never-see-this'))
    finally:
        spy.stop()
    assert spy.requests == []
    assert findings(result) == [
        ('', 'review only', 'info'),
        ('broken.example.com', 'config', 'critical'),
        ('locked.example.com', 'stale lock', 'low'),
        ('moved.example.com', 'config base', 'high'),
    ]
    clusters = dict((cluster['name'], cluster) for cluster in result['clusters'])
    by_check = dict(((finding['cluster'], finding['check']), finding) for finding in result['findings'])
    assert 'at line 3, column 1' in by_check['broken.example.com', 'config']['reason']
    assert 'pid 4242 on ci-runner-7' in by_check['locked.example.com', 'stale lock']['reason']
    assert by_check['locked.example.com', 'stale lock']['fix'] == (
        'remove it: kops.state_store.entry with path: %s, state: absent' % backend.render(stale))
    moved = dict((item['check'], item['reason']) for item in clusters['moved.example.com']['not_checked'])
    assert moved == {
        'key store': 's3://old-kops-state/moved.example.com/pki is outside this store, and a s3:// location named '
                     'by the store is not opened',
        'ca expiry': 's3://old-kops-state/moved.example.com/pki is outside this store, and a s3:// location named '
                     'by the store is not opened',
        'secret store': 's3://old-kops-state/moved.example.com/secrets is outside this store, and a s3:// location '
                        'named by the store is not opened',
        'etcd backups': 'etcd-manager keeps its backups below configBase, which is not this cluster\'s folder'}
    assert 'spec.configBase names s3://old-kops-state/moved.example.com' in by_check[
        'moved.example.com', 'config base']['reason']
    in_vault = dict((item['check'], item['reason']) for item in clusters['vault.example.com']['not_checked'])
    assert in_vault == {
        'key store': 'Vault address comes from the store (%s)' % (vault % 'keys'),
        'ca expiry': 'Vault address comes from the store (%s)' % (vault % 'keys'),
        'secret store': 'Vault address comes from the store (%s)' % (vault % 'secrets')}
    assert clusters[sh.FINE]['not_checked'] == [] and clusters[sh.FINE]['findings'] == []
    assert 's.spy-must-never-see-this' not in run.output


def test_named_clusters_and_one_missing(run_playbook, tmp_path):
    location = 'file://%s' % (tmp_path / 'store')
    backend = open_store(location)
    now = datetime.datetime.now(datetime.timezone.utc)
    sh.lay_out_applied(backend, sh.FINE, now)
    sh.lay_out_applied(backend, sh.EXPIRED_CA, now, expired=('kubernetes-ca',))
    _run, result, _text = audit(run_playbook, tmp_path, location, {}, clusters=[sh.FINE, 'gone.example.com'])
    assert [cluster['name'] for cluster in result['clusters']] == [sh.FINE]
    assert findings(result) == [('', 'cluster missing', 'high'), ('', 'review only', 'info')]
    assert result['store']['clusters'] == 2


def test_probe_entries_left_behind(aws_environment, s3_bucket, stores):
    """A probe of a conditional write left in a cluster's folder (a run killed between writing and removing it) is a
    finding once it is older than a write could take; a fresh one may be a write going on. One left in
    instancegroup/ also makes the cluster unreadable, as it makes it for kOps."""
    location = 's3://%s' % s3_bucket('probes')
    backend = stores(location)
    sh.lay_out_applied(backend, sh.FINE, datetime.datetime.now(datetime.timezone.utc))
    client = admin_client(aws_environment['AWS_ENDPOINT_URL'])
    probe = '%s/%sdeadbeef' % (sh.FINE, backend.probe_prefix)
    client.put_object(Bucket=backend.bucket, Key=probe, Body=b'')
    assert audit_store(backend, environ={})['clusters'][0]['findings'] == []
    left = audit_store(backend, environ={}, probe_min_age=-1)
    finding, = left['clusters'][0]['findings']
    assert (finding['check'], finding['severity'], finding['value']) == ('leftover probe', 'medium', [probe])
    assert finding['fix'] == 'remove it with kops.state_store.entry (state: absent)'

    in_groups = '%s/instancegroup/%sfeedface' % (sh.FINE, backend.probe_prefix)
    client.put_object(Bucket=backend.bucket, Key=in_groups, Body=b'')
    found = audit_store(backend, environ={}, probe_min_age=-1)['clusters'][0]['findings']
    assert [(item['check'], item['severity']) for item in found] == [('config', 'critical'), ('leftover probe', 'medium')]
    assert in_groups in found[0]['reason'] and found[1]['value'] == [probe, in_groups]


def test_drift_since_the_last_snapshot(run_playbook, tmp_path):
    location = 'file://%s' % (tmp_path / 'store')
    backend = open_store(location)
    now = datetime.datetime.now(datetime.timezone.utc)
    sh.lay_out_applied(backend, sh.FINE, now)
    sh.lay_out_applied(backend, 'edited.example.com', now)
    sh.lay_out_applied(backend, 'removed.example.com', now)
    repository = str(tmp_path / 'history')
    snapshot = run_playbook('tests/integration/playbooks/history_snapshot.yml',
                            dict(store=location, repository=repository))
    assert snapshot.rc == 0, snapshot
    cl.update_cluster(backend, cl.ClusterRequest('edited.example.com', groups=[dict(name='nodes', spec=dict(
        maxSize=7))]))
    for entry in backend.list('removed.example.com', recursive=True):
        backend.delete(entry.path)
    sh.lay_out_applied(backend, 'added.example.com', now)
    _run, result, _text = audit(run_playbook, tmp_path, location, {}, history_repository=repository)
    assert findings(result) == [('', 'drift', 'low'), ('', 'review only', 'info'), ('added.example.com', 'drift', 'low'),
                                ('edited.example.com', 'drift', 'low')]
    clusters = dict((cluster['name'], cluster) for cluster in result['clusters'])
    assert clusters['edited.example.com']['drift'] == dict(added=0, changed=1, removed=0)  # instancegroup/nodes
    assert clusters[sh.FINE]['drift'] == dict(added=0, changed=0, removed=0)
    gone, = [finding for finding in result['findings'] if finding['check'] == 'drift' and not finding['cluster']]
    assert gone['value'] == 'removed.example.com'


def test_swift_container_settings(os_environment, swift_server):
    """What a Swift container tells: no public read ACL but no versioning; then a read ACL for everyone."""
    container = 'health-%d' % int(time.time() * 1000)
    store = open_store('swift://%s' % container)
    store.create('.keep', b'')  # creates the container, as kOps's CreateFile does
    checks = dict((check.name, (check.status, check.severity)) for check in store.store_checks(os.environ))
    assert checks == {'public read': ('ok', None), 'versioning': ('finding', 'high'),
                      'encryption at rest': ('not checked', None)}
    swift_server.post_container(container, {'X-Container-Read': '.r:*,.rlistings'})
    public, = [check for check in store.store_checks(os.environ) if check.name == 'public read']
    assert (public.status, public.severity, public.fix) == ('finding', 'high', "swift post %s --read-acl ''" % container)
    assert '.r:*' in public.reason


def test_oss_bucket_settings(oss_environment, oss_server, moto_server):
    """What GetBucketInfo tells of an OSS bucket (through the OSS front over moto): its ACL, versioning and
    server-side encryption."""
    bucket = oss_server.create_bucket('health')
    store = open_store('oss://%s' % bucket)
    checks = dict((check.name, (check.status, check.severity, check.value)) for check in store.store_checks(os.environ))
    assert checks == {'public read': ('ok', None, 'private'), 'versioning': ('finding', 'high', None),
                      'default encryption': ('finding', 'medium', None), 'location': ('ok', None, 'oss-us-east-1')}
    client = admin_client(moto_server.endpoint)
    client.put_bucket_acl(Bucket=bucket, ACL='public-read')
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=dict(Status='Enabled'))
    client.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=dict(Rules=[dict(
        ApplyServerSideEncryptionByDefault=dict(SSEAlgorithm='AES256'))]))
    checks = dict((check.name, check) for check in store.store_checks(os.environ))
    assert [(name, checks[name].status, checks[name].severity) for name in sorted(checks)] == [
        ('default encryption', 'ok', None), ('location', 'ok', None), ('public read', 'finding', 'high'),
        ('versioning', 'ok', None)]
    assert checks['public read'].fix == 'ossutil set-acl oss://%s private -b' % bucket


def test_key_and_secret_stores_where_the_config_says(aws_environment, s3_bucket, stores):
    """A key store in another bucket is listed once and read there (its CA expiry too); a key store and a secret store
    the config names that hold nothing, while the cluster's own folders do, are findings saying so."""
    location, keys_bucket = 's3://%s' % s3_bucket('health'), s3_bucket('keys')
    backend, keys = stores(location), stores('s3://%s' % keys_bucket)
    now = datetime.datetime.now(datetime.timezone.utc)

    def keys_elsewhere(cluster, groups):
        cluster['spec']['keyStore'] = 's3://%s/elsewhere.example.com/pki' % keys_bucket
    sh.lay_out_applied(backend, 'elsewhere.example.com', now, change=keys_elsewhere)
    for entry in backend.list('elsewhere.example.com/pki', recursive=True):
        keys.write(entry.path, backend.read(entry.path)[0])
        backend.delete(entry.path)
    keys.write('elsewhere.example.com/pki/private/etcd-clients-ca/keyset.yaml',
               sh.keyset_entries(expired=('etcd-clients-ca',))['etcd-clients-ca'])

    def repointed(cluster, groups):
        cluster['spec'].update(keyStore=backend.render('repointed.example.com/pki-new'),
                               secretStore=backend.render('repointed.example.com/secrets-new'))
    sh.lay_out_applied(backend, 'repointed.example.com', now, change=repointed)
    settings = dict(endpoint_url=aws_environment['AWS_ENDPOINT_URL'], access_key='testing', secret_key='testing',
                    region='us-east-1')
    result = audit_store(backend, settings, environ={})
    cluster_findings = sorted((finding['cluster'], finding['check'], finding['severity'])
                              for finding in result['findings'] if finding['cluster'])
    assert cluster_findings == [('elsewhere.example.com', 'ca expiry', 'critical'),
                                ('repointed.example.com', 'key store', 'high'),
                                ('repointed.example.com', 'secret store', 'high')]
    reasons = dict(((finding['cluster'], finding['check']), finding['reason']) for finding in result['findings'])
    assert reasons['repointed.example.com', 'key store'].endswith(
        '; %s holds them' % backend.render('repointed.example.com/pki'))
    assert 'kops update cluster would issue new CAs there' in reasons['repointed.example.com', 'key store']
    assert reasons['repointed.example.com', 'secret store'].endswith(
        '; %s holds them' % backend.render('repointed.example.com/secrets'))
    elsewhere = [cluster for cluster in result['clusters'] if cluster['name'] == 'elsewhere.example.com'][0]
    assert elsewhere['key_store'] == 's3://%s/elsewhere.example.com/pki' % keys_bucket
    assert elsewhere['ca_expiry']['keyset'] == 'etcd-clients-ca' and elsewhere['not_checked'] == []
