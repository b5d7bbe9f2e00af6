"""Options that belong to the task: module groups for module_defaults, the lookup's play variables and ansible.cfg,
the 0.1.0 names as deprecated aliases, and modules refusing options of backends they cannot use."""

import os
import uuid

import boto3

from servers.moto import clean_aws_environment
from servers.openbao import clean_vault_environment


def test_groups_variables_and_old_names(run_playbook, moto_server, openbao_server, tmp_path):
    bucket = 'options-%s' % uuid.uuid4().hex[:8]
    boto3.client('s3', endpoint_url=moto_server.endpoint, region_name='us-east-1', aws_access_key_id='testing',
                 aws_secret_access_key='testing').create_bucket(Bucket=bucket)
    run = run_playbook('tests/integration/playbooks/option_model.yml', dict(
        bucket=bucket, endpoint=moto_server.endpoint, vault_url=openbao_server.address,
        vault_token=openbao_server.root_token, copy_dest='file://%s' % (tmp_path / 'copy')),
        env=clean_vault_environment(**clean_aws_environment()))
    assert run.rc == 0, run
    output = ' '.join(run.output.split())
    for alias in ('src', 'dest', 'vault_token', 'name'):
        assert "Alias '%s' is deprecated" % alias in output, alias


def test_lookup_store_from_ansible_cfg(run_playbook, tmp_path):
    store = tmp_path / 'store'
    (store / 'c1').mkdir(parents=True)
    (store / 'c1' / 'config').write_text('from the store named in ansible.cfg\n')
    config = tmp_path / 'ansible.cfg'
    config.write_text('[kops_state_store]\nstate_store = file://%s\n' % store)
    playbook = tmp_path / 'lookup.yml'
    playbook.write_text('- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.assert:\n'
                        "        that: lookup('kops.state_store.entry', 'c1/config') == 'from the store named in "
                        "ansible.cfg\\n'\n")
    environment = dict((key, value) for key, value in os.environ.items() if key != 'KOPS_STATE_STORE')
    environment.update(ANSIBLE_CONFIG=str(config))
    run = run_playbook(str(playbook), env=environment)
    assert run.rc == 0, run


def test_modules_take_only_their_backends_options(run_playbook, tmp_path):
    playbook = tmp_path / 'refused.yml'
    playbook.write_text(
        '- hosts: localhost\n  gather_facts: false\n  tasks:\n'
        '    - kops.state_store.bucket_policy: {bucket: b, vault_token: t, statements: []}\n'
        '      register: bucket_policy\n      ignore_errors: true\n'
        '    - kops.state_store.cluster_info: {state_store: "file://%s", vault_token: t}\n'
        '      register: cluster_info\n      ignore_errors: true\n'
        '    - ansible.builtin.assert:\n        that:\n'
        "          - \"'Unsupported parameters' in bucket_policy.msg and 'vault_token' in bucket_policy.msg\"\n"
        "          - \"'Unsupported parameters' in cluster_info.msg and 'vault_token' in cluster_info.msg\"\n"
        % (tmp_path / 'store'))
    run = run_playbook(str(playbook))
    assert run.rc == 0, run
