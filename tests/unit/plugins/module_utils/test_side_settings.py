"""The settings of one side of a copy (sync's source_options and destination_options) over the task's shared ones."""

from ansible_collections.kops.state_store.plugins.module_utils.ansible_support import (
    side_settings,
    side_settings_spec,
    store_argument_spec,
)

SHARED = dict((name, None) for name in store_argument_spec())
SHARED.update(state_store='s3://shared', access_key='AKIASHARED', secret_key='shared-secret', region='eu-west-1')


def test_a_side_takes_the_shared_settings_where_it_gives_none():
    assert side_settings(SHARED, None) == SHARED
    assert side_settings(SHARED, dict((name, None) for name in side_settings_spec()['options'])) == SHARED


def test_each_key_a_side_gives_replaces_the_shared_one_for_that_side_only():
    side = dict(access_key='AKIASIDE', secret_key='side-secret', vault_validate_certs=False, region=None)
    settings = side_settings(SHARED, side)
    assert settings == dict(SHARED, access_key='AKIASIDE', secret_key='side-secret', vault_validate_certs=False)
    assert SHARED['access_key'] == 'AKIASHARED'  # the shared settings, and so the other side, are unchanged


def test_alias_keys_ansible_keeps_beside_the_names_are_left_out():
    # ansible's validation sets profile from aws_profile and keeps aws_profile in the side's dict too
    settings = side_settings(SHARED, dict(profile='old-account', aws_profile='old-account'))
    assert settings['profile'] == 'old-account' and 'aws_profile' not in settings


def test_the_side_spec_has_every_store_setting_with_credentials_no_log():
    options = side_settings_spec()['options']
    assert sorted(options) == sorted(name for name in store_argument_spec() if name not in ('state_store', 'max_entry_size'))
    credentials = ('access_key', 'secret_key', 'session_token', 'vault_token', 'oss_access_key_secret',
                   'openstack_auth', 'gcp_service_account_contents')
    assert all(options[name].get('no_log') for name in credentials)
