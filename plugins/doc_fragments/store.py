# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import yaml

from ansible_collections.kops.state_store.plugins.module_utils.backends import gcs, oss, s3, swift, vault_kv
from ansible_collections.kops.state_store.plugins.module_utils.registry import ENTRY_BACKENDS, STATE_STORE_BACKENDS

#: the fragment (an attribute below) documenting each backend's settings
FRAGMENT_OF = {s3: 'S3', gcs: 'GCS', swift: 'SWIFT', oss: 'OSS', vault_kv: 'VAULT'}

SIDE_OPTIONS_DESCRIPTION = [
    'Backend settings of the source only, with the same keys as the store options of this module (O(access_key), '
    'O(secret_key), O(profile), O(endpoint_url), O(gcp_service_account_file), ...).',
    'Each key given here replaces, for the source, the option of the same name; a key left out keeps it. The '
    'environment (E(AWS_PROFILE), E(S3_ENDPOINT), ...) applies to both sides, below the options.',
    'When the two sides use different identities, give each side its whole identity in its own options (both keys, '
    'or a profile), so that none is half taken from the shared options.',
    'Credentials are never logged.',
]
DESTINATION_OPTIONS_DESCRIPTION = [
    'Backend settings of the destination only, as O(source_options) for the source.',
    'An S3 to S3 entry is copied inside the server (C(CopyObject)) only when both sides reach the same service with '
    'the same identity; otherwise it is read with the source\'s settings and written with the destination\'s.',
]


def backends_options(fragment, backend_modules):
    """One fragment documenting the settings of every backend of ``backend_modules`` (the registry's own tuples, which
    also build the modules' argument specs), from the per-backend fragments of ``fragment``."""
    options = {}
    for backend_module in backend_modules:
        options.update(yaml.safe_load(getattr(fragment, FRAGMENT_OF[backend_module]))['options'])
    return json.dumps(dict(options=options), indent=2)


def cluster_option(former_name=False):
    """The cluster a cluster-scoped module works on (docs/architecture.md: the cluster is O(cluster)); with
    ``former_name``, the deprecated alias O(name) the etcd modules took before."""
    description = ['The kOps cluster, for example V(demo.k8s.local). Defaults to the E(KOPS_CLUSTER_NAME) environment '
                   'variable, as in kOps.']
    option = dict(description=description, type='str', required=True)
    if former_name:
        description.append('The alias O(name) is deprecated and will be removed in version 1.0.0.')
        option['aliases'] = ['name']
    return json.dumps(dict(options=dict(cluster=option)), indent=2)


def side_options(backend_modules):
    """The documentation of source_options and destination_options, written from the argument specs of the backends
    (their OPTIONS), which also validate the two options (ansible_support.side_settings_spec): one source for both.
    JSON is YAML."""
    suboptions = {}
    for backend_module in backend_modules:
        for name, spec in backend_module.OPTIONS.items():
            suboptions[name] = dict(description='As O(%s).' % name, type=spec['type'])
            if spec.get('aliases'):
                suboptions[name]['aliases'] = list(spec['aliases'])
    return json.dumps(dict(options=dict(
        source_options=dict(description=SIDE_OPTIONS_DESCRIPTION, type='dict', suboptions=suboptions),
        destination_options=dict(description=DESTINATION_OPTIONS_DESCRIPTION, type='dict', suboptions=suboptions),
    )), indent=2)


class ModuleDocFragment(object):
    # The store location, which every module and the lookup take. Modules read the environment and the kOps
    # config files of the host they run on, the lookup those of the controller. The settings of each backend
    # are fragments of their own below; each backend reads its environment variables itself (kOps's rules),
    # so modules and the lookup read them alike.
    DOCUMENTATION = r'''
options:
  state_store:
    description:
      - The kOps state store, for example V(s3://my-bucket), V(file:///srv/kops-review) or a bare local path.
      - When not set, the location is taken, in kOps's order, from the E(KOPS_STATE_STORE) environment
        variable, then from the key C(kops_state_store) of C(~/.kops.yaml) or, when that file does not
        exist, C(~/.kops/config). One trailing C(/) is removed.
      - A C(vault://) location is refused here; Vault can only hold a cluster's secrets and keys.
      - Supported schemes are C(s3://), C(do://), C(gs://), C(swift://), C(oss://), C(file://) and
        C(memfs://); a backend not yet shipped in this version fails with a clear message.
      - C(memfs://NAME) stores live in memory for one module run, or for the controller process in the lookup
        (demos and tests).
    type: str
notes:
  - Any C(http://) endpoint that carries credentials (an S3 or OSS endpoint, a C(vault://) location with
    C(?tls=false), Swift's identity or object-store URL, a GCS emulator given a key) gives a warning in the task's
    result, as credentials and entries travel in clear there.
'''

    # s3:// and do:// stores (AWS and S3-compatible services).
    S3 = r'''
options:
  access_key:
    description:
      - AWS access key id for C(s3://) stores. Defaults to E(AWS_ACCESS_KEY_ID), then E(AWS_ACCESS_KEY).
      - When E(S3_ENDPOINT) is set, or for C(do://), defaults to E(S3_ACCESS_KEY_ID) instead, as in kOps
        (then required, with O(secret_key)).
      - Without keys the standard AWS credential chain is used (shared files, O(profile), web identity,
        container and instance roles).
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - AWS secret access key for C(s3://) stores. Defaults to E(AWS_SECRET_ACCESS_KEY), then E(AWS_SECRET_KEY);
        with E(S3_ENDPOINT) or for C(do://), to E(S3_SECRET_ACCESS_KEY).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - AWS session token for temporary credentials. Defaults to E(AWS_SESSION_TOKEN), then
        E(AWS_SECURITY_TOKEN) (which AWX injects). Not read from the environment with E(S3_ENDPOINT).
    type: str
    aliases: [aws_session_token, security_token]
  profile:
    description:
      - AWS profile of the shared credentials and config files. Defaults to E(AWS_PROFILE) (read by boto3).
      - When set as an option, the key environment variables are not used.
    type: str
    aliases: [aws_profile]
  region:
    description:
      - AWS region of the first S3 call, which finds the bucket's own region (GetBucketLocation, else HeadBucket),
        as kOps does. Defaults to E(AWS_REGION) (not E(AWS_DEFAULT_REGION)), then the instance's region when
        running on EC2, then V(us-east-1).
      - With E(S3_ENDPOINT) or for C(do://), the region of every call; defaults to E(S3_REGION), then V(us-east-1).
    type: str
    aliases: [aws_region]
  endpoint_url:
    description:
      - URL of the S3 API, for S3-compatible servers. An endpoint without a scheme means C(https://).
      - For C(s3://) defaults to E(S3_ENDPOINT), which, as in kOps, also switches to path-style requests and the
        E(S3_ACCESS_KEY_ID)/E(S3_SECRET_ACCESS_KEY)/E(S3_REGION) variables; otherwise to E(AWS_ENDPOINT_URL_S3),
        E(AWS_ENDPOINT_URL), then E(AWS_URL) (AWS rules still apply), else AWS itself.
      - C(do://) stores require E(S3_ENDPOINT) or this option (for example V(nyc3.digitaloceanspaces.com)).
      - S3 requests are retried with backoff on throttling, server errors and connection errors, 5 attempts in
        botocore's standard mode unless E(AWS_MAX_ATTEMPTS) or E(AWS_RETRY_MODE) say otherwise.
    type: str
    aliases: [aws_endpoint_url, s3_url]
'''

    # gs:// stores.
    GCS = r'''
options:
  gcp_service_account_file:
    description:
      - Service-account key file (JSON) for C(gs://) stores. Defaults to E(GCP_SERVICE_ACCOUNT_FILE).
      - Without a key, C(gs://) uses Google Application Default Credentials as kOps does
        (E(GOOGLE_APPLICATION_CREDENTIALS), the C(gcloud auth application-default login) file, then the
        metadata server), with the C(devstorage.read_write) scope.
      - When E(STORAGE_EMULATOR_HOST) is set, C(gs://) talks to that emulator, anonymously unless a key is given.
    type: path
  gcp_service_account_contents:
    description:
      - Service-account key (the JSON document, as a string or a dictionary) for C(gs://) stores; takes
        precedence over O(gcp_service_account_file). Defaults to E(GCP_SERVICE_ACCOUNT_CONTENTS).
    type: raw
'''

    # swift:// stores (OpenStack).
    SWIFT = r'''
options:
  openstack_cloud:
    description:
      - Name of a cloud in C(clouds.yaml) for C(swift://) stores, as the openstack.cloud collection takes it.
        Defaults to E(OS_CLOUD), which is used only when the E(OS_AUTH_URL) credentials below are incomplete.
      - Without this option or O(openstack_auth), C(swift://) takes credentials in kOps's order. First the
        environment - E(OS_AUTH_URL), E(OS_USERNAME) or E(OS_USERID), E(OS_PASSWORD), E(OS_PROJECT_ID)/E(OS_PROJECT_NAME)
        (else E(OS_TENANT_ID)/E(OS_TENANT_NAME)), E(OS_DOMAIN_ID)/E(OS_DOMAIN_NAME) (and E(OS_USER_DOMAIN_NAME),
        E(OS_PROJECT_DOMAIN_NAME) and their C(_ID) forms), or an application credential
        (E(OS_APPLICATION_CREDENTIAL_ID) or C(_NAME), with E(OS_APPLICATION_CREDENTIAL_SECRET)).
        Then the INI file named by E(OPENSTACK_CREDENTIAL_FILE), else C(~/.openstack/config), section C([Default])
        with C(identity), C(password), C(user) or C(user_id), C(domain_name) or C(domain_id), C(tenant_name) or
        C(tenant_id).
      - Certificates are checked unless E(KOPS_OS_TLS_INSECURE_SKIP_VERIFY) is V(true) or V(1); E(OS_CACERT) names a CA bundle.
      - The alias C(cloud) is deprecated and will be removed in version 1.0.0.
    type: str
    aliases: [cloud]
  openstack_auth:
    description:
      - Keystone credentials for C(swift://) stores, as the openstack.cloud collection takes them (C(auth_url),
        C(username), C(password), C(project_name), C(user_domain_name), C(project_domain_name), ...; or
        C(application_credential_id) and C(application_credential_secret)). With O(openstack_cloud), overrides
        the cloud's own.
      - The alias C(auth) is deprecated and will be removed in version 1.0.0.
    type: dict
    aliases: [auth]
  openstack_region_name:
    description:
      - Region of the object-store endpoint for C(swift://) stores. Defaults to E(OS_REGION_NAME) (single quotes
        removed), then C(region) in the C([Global]) section of the credential file, as in kOps; with
        O(openstack_cloud) or O(openstack_auth) to the cloud's region.
      - The alias C(region_name) is deprecated and will be removed in version 1.0.0.
    type: str
    aliases: [region_name]
'''

    # oss:// stores (Aliyun).
    OSS = r'''
options:
  oss_region:
    description:
      - OSS region of C(oss://) stores, in OSS form (V(oss-cn-hangzhou)), used verbatim as by kOps to build
        the endpoint C(https://<region>.aliyuncs.com). Defaults to E(OSS_REGION).
      - When E(ALIYUN_OSS_INTERNAL) has any non-empty value (even V(false), as in kOps), the internal endpoint
        C(https://<region>-internal.aliyuncs.com) is used.
    type: str
  oss_endpoint:
    description:
      - OSS endpoint URL, for private deployments and tests; replaces the endpoint built from the region.
        Defaults to E(OSS_ENDPOINT). An endpoint without a scheme means C(https://).
    type: str
  oss_access_key_id:
    description:
      - Aliyun access key id for C(oss://) stores. Defaults to E(ALIYUN_ACCESS_KEY_ID). Required (the ECS RAM
        role kOps could fall back to is not supported).
    type: str
  oss_access_key_secret:
    description:
      - Aliyun access key secret; required with the key id. Defaults to E(ALIYUN_ACCESS_KEY_SECRET).
    type: str
'''

    # vault:// locations, which hold a cluster's secret and key stores only.
    VAULT = r'''
options:
  vault_token:
    description:
      - Vault token for C(vault://) locations (full entry locations such as
        V(vault://vault.example.com:8200/kv/clusters/c1/secrets/admin)).
      - When neither this option nor the E(VAULT_TOKEN) environment variable is set, the collection logs
        in as kOps does, with AWS IAM at C(auth/aws/login) (a signed STS GetCallerIdentity request whose
        C(X-Vault-AWS-IAM-Server-ID) header is the location's host name without port).
    type: str
  vault_aws_iam_role:
    description:
      - The Vault role of the AWS IAM login. When not set, Vault picks the role named like the IAM
        principal (for example C(nodes.mycluster.example.com)), as with kOps.
    type: str
  vault_ca_cert:
    description:
      - CA bundle that signs the Vault server's certificate. Defaults to E(VAULT_CACERT), else the system CAs.
      - C(vault://) locations use HTTPS unless they end with C(?tls=false).
    type: path
  vault_validate_certs:
    description:
      - Set to V(false) to skip the check of the Vault server's certificate (test servers only).
      - Default V(true).
    type: bool
'''

    # The modules that open the key and secret stores a cluster's config names (keyset_info, secret, ssh_public_key).
    VAULT_ADDRESSES = r'''
options:
  vault_addresses:
    description:
      - The Vault servers the cluster's C(spec.keyStore) and C(spec.secretStore) may name, as V(https://host:port)
        (or V(http://host:port) for a C(?tls=false) store), besides the one in the E(VAULT_ADDR) environment variable.
      - Those locations are read from the state store, so whoever can write the store could name a host of theirs
        there. A Vault token (O(vault_token), E(VAULT_TOKEN)) or AWS IAM login goes only to a Vault that this option
        or E(VAULT_ADDR) names; a C(vault://) store on any other is refused, before any connection, with an error
        naming its address. Scheme, host and port must all match (a default port may be left out), so naming
        V(https://vault.example.com:8200) does not admit C(vault://vault.example.com:8200/...?tls=false).
      - The same rule keeps a local path (C(file://), or a plain path) read from the config to the inside of a local
        state store. Key and secret stores on C(s3://), C(do://), C(gs://), C(swift://) and C(oss://) are opened as
        kOps opens them - their requests go to the service the task and its environment configure, never to a
        host named by the store.
    type: list
    elements: str
'''

    # Where the lookup also takes the store options from, merged into the options above (the lookup lists this
    # fragment after them): play variables and ansible.cfg, so a playbook or a project sets the store once.
    PLUGINS = r'''
options:
  state_store:
    vars:
      - name: kops_state_store
    ini:
      - section: kops_state_store
        key: state_store
  access_key:
    vars:
      - name: kops_state_store_access_key
  secret_key:
    vars:
      - name: kops_state_store_secret_key
  session_token:
    vars:
      - name: kops_state_store_session_token
  profile:
    vars:
      - name: kops_state_store_profile
    ini:
      - section: kops_state_store
        key: profile
  region:
    vars:
      - name: kops_state_store_region
    ini:
      - section: kops_state_store
        key: region
  endpoint_url:
    vars:
      - name: kops_state_store_endpoint_url
    ini:
      - section: kops_state_store
        key: endpoint_url
  gcp_service_account_file:
    vars:
      - name: kops_state_store_gcp_service_account_file
  openstack_cloud:
    vars:
      - name: kops_state_store_openstack_cloud
    ini:
      - section: kops_state_store
        key: openstack_cloud
  oss_region:
    vars:
      - name: kops_state_store_oss_region
  oss_endpoint:
    vars:
      - name: kops_state_store_oss_endpoint
  vault_token:
    vars:
      - name: kops_state_store_vault_token
  vault_ca_cert:
    vars:
      - name: kops_state_store_vault_ca_cert
    ini:
      - section: kops_state_store
        key: vault_ca_cert
notes:
  - The lookup also takes the store options from play variables (V(kops_state_store) for the location,
    C(kops_state_store_<option>) for a setting, for example V(kops_state_store_endpoint_url)) and some from the
    C([kops_state_store]) section of C(ansible.cfg); an argument of the lookup call wins over a variable, a variable
    over C(ansible.cfg). Without any of them the location comes from E(KOPS_STATE_STORE) and kOps's config files.
'''

    SECRETS = r'''
options:
  reveal_secrets:
    description:
      - Show the content of secret entries. Otherwise their content is replaced by a note in results and diffs,
        their hashes are left out, and the lookup refuses to read them.
      - Secret entries are every C(vault://) entry; entries below a C(secrets/), C(pki/), C(private/) or C(backups/)
        folder anywhere in their full location (kOps's secret store, key store and etcd backups, wherever a
        cluster's C(secretStore) and C(keyStore) put them); entries whose content is secret material in one of
        kOps's formats (a PEM private key, a keyset with C(privateMaterial), a secret in the secret store's JSON
        form with its single C(Data) key);
        and entries matching O(secret_patterns). See C(docs/secrets.md).
    type: bool
    default: false
'''

    SECRET_PATTERNS = r'''
options:
  secret_patterns:
    description:
      - More entries to treat as secret, as glob patterns (C(fnmatch), case-sensitive; C(*) also matches C(/))
        matched against the entry's path relative to the store and against its full location, for example
        V(*/tokens/*) or V(s3://my-kops-state/*/addons/*-credentials*).
      - They add to the entries the collection always treats as secret; nothing can make those public.
    type: list
    elements: str
    default: []
'''

    def __init__(self):
        # Built, not written out (ansible-test reads only string constants of a fragment class, and skips this).
        # The settings of the backends a module serves, as the registry's tuples give them to its argument spec:
        # those that hold state stores, and those that hold entries (Vault too).
        self.STATE_STORE_BACKENDS = backends_options(self, STATE_STORE_BACKENDS)
        self.ENTRY_BACKENDS = backends_options(self, ENTRY_BACKENDS)
        # sync's sides take every backend's settings, move_clusters's those of the backends that hold clusters
        self.SIDES = side_options(ENTRY_BACKENDS)
        self.STATE_STORE_SIDES = side_options(STATE_STORE_BACKENDS)
        self.CLUSTER = cluster_option()
        self.CLUSTER_FORMERLY_NAME = cluster_option(former_name=True)
