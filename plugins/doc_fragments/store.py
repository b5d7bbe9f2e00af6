# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options every module and the lookup share. Modules read the environment and the kOps config
    # files of the host they run on, the lookup those of the controller. Each backend's settings
    # take their environment variables inside the backend (kOps's rules), so both read them alike.
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

    SECRETS = r'''
options:
  reveal_secrets:
    description:
      - Show the content of secret entries. Entries in a C(secrets/) or C(pki/) folder (and entries
        marked secret) are otherwise replaced by a note in results and diffs, and their hashes are left out.
    type: bool
    default: false
'''
