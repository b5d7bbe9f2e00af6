# -*- coding: utf-8 -*-
# Copyright: kops.state_store contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options of the Vault administration modules, named as community.hashi_vault names them; the
    # same settings as the vault:// store options vault_token, vault_aws_iam_role, vault_ca_cert, vault_validate_certs.
    DOCUMENTATION = r'''
options:
  url:
    description:
      - Address of the Vault server, for example V(https://vault.example.com:8200).
      - Defaults to the E(VAULT_ADDR) environment variable.
    type: str
    required: true
  token:
    description:
      - Vault token. Defaults to the E(VAULT_TOKEN) environment variable.
      - When neither is set, the module logs in with AWS IAM at C(auth/aws/login) as kOps does (a signed
        STS GetCallerIdentity request whose C(X-Vault-AWS-IAM-Server-ID) header is the host name of O(url)).
      - The alias C(vault_token) is deprecated and will be removed in version 1.0.0.
    type: str
    aliases: [vault_token]
  role_id:
    description:
      - The Vault role of the AWS IAM login; when not set, Vault picks the role named like the IAM principal.
      - The alias C(vault_aws_iam_role) is deprecated and will be removed in version 1.0.0.
    type: str
    aliases: [vault_aws_iam_role]
  ca_cert:
    description:
      - CA bundle that signs the Vault server's certificate. Defaults to E(VAULT_CACERT), else the system CAs.
      - The alias C(vault_ca_cert) is deprecated and will be removed in version 1.0.0.
    type: path
    aliases: [vault_ca_cert]
  validate_certs:
    description:
      - Set to V(false) to skip the check of the Vault server's certificate (test servers only).
      - Default V(true).
      - The alias C(vault_validate_certs) is deprecated and will be removed in version 1.0.0.
    type: bool
    aliases: [vault_validate_certs]
requirements:
  - hvac
  - botocore (only for the AWS IAM login)
'''
